"""The outbox: effects that must happen (a message, an archive, a DM, a timer), and the live processes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from storage.models.base import created_at_field, json_field, optional_time_field
from storage.types import UTCDateTime


class Effect(SQLModel, table=True):
    """One effect a change calls for, written in the same transaction as the change.

    Due now (an update's message, a close's archive) or later (a "remind me in 30 minutes"), it is
    run once by one process: `key` makes recording idempotent (a retried flow that records the same
    key again gets the first row back) and names what was done, so a retry after a crash can look
    for it (a message carries its effect's key in its metadata). A claim belongs to a live process
    (`bot_process`); a dead process's claims are taken again as soon as its heartbeat stops.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=50)
    key: str = Field(max_length=200, unique=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", ondelete="CASCADE", index=True)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    payload: dict[str, Any] = json_field()
    # pending → done, or abandoned after too many failures (and the commander told).
    status: str = Field(default="pending", max_length=20, index=True)
    # Attempts started: more than one on entry means an earlier attempt may have done the work.
    attempts: int = 0
    last_error: str | None = None
    claimed_at: datetime | None = optional_time_field()
    claimed_by: str | None = Field(default=None, max_length=32)
    # What the effect did (a message's ts…), kept for the record and for the next attempt.
    result: dict[str, Any] = json_field()
    done_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()


class BotProcess(SQLModel, table=True):
    """A running bot process: it writes its heartbeat every few seconds while it lives.

    Claims (on effects, on an opening's steps) name the process's `instance`; a claim whose process
    has not beaten for a few seconds is a dead process's and is taken again, not waited out.
    """

    __tablename__ = "bot_process"

    instance: str = Field(primary_key=True, max_length=32)
    hostname: str = Field(default="", max_length=255)
    pid: int = 0
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
