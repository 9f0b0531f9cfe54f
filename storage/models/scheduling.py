"""Scheduler table: one row per run of a periodic job."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.models.base import optional_time_field
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
