"""Scheduler tables: one row per run of a periodic job, and timers that run later work once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.models.base import created_at_field, json_field, optional_time_field
from storage.types import UTCDateTime


class JobRun(SQLModel, table=True):
    """One run of a periodic job, by whichever process ran it.

    A scheduled run of a unique job carries its slot (the start of its wall-clock period): the
    unique key on (job, slot_start) is the claim, so one process in all replicas runs each slot.
    Runs started by hand, at start-up, or of jobs every process runs have no slot.
    """

    __tablename__ = "job_run"
    __table_args__ = (sa.UniqueConstraint("job", "slot_start"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=100)
    slot_start: datetime | None = optional_time_field()
    trigger: str = Field(default="schedule", max_length=20)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    finished_at: datetime | None = optional_time_field()
    # None while running; a run whose process died stays None.
    ok: bool | None = None
    outcome: str = ""
    hostname: str = Field(default="", max_length=255)
    pid: int = 0
    # Tells apart processes that share a host and a pid (every container's bot is pid 1).
    instance: str = Field(default="", max_length=32)


class ScheduledAction(SQLModel, table=True):
    """Work to do at a given time (remind the commander in 30 minutes…), run once by one process.

    `key` makes scheduling idempotent: a retried flow that schedules the same key again gets the
    first row back. A claimed row whose process died is claimable again once its lease expires.
    """

    __tablename__ = "scheduled_action"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=50)
    key: str = Field(max_length=200, unique=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", ondelete="CASCADE", index=True)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    payload: dict[str, Any] = json_field()
    status: str = Field(default="pending", max_length=20, index=True)
    attempts: int = 0
    last_error: str | None = None
    claimed_at: datetime | None = optional_time_field()
    claimed_by: str | None = Field(default=None, max_length=300)
    done_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
