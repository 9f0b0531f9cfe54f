"""Reminders the bot sent: each row claims one due moment, so it is sent once across replicas."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.models.base import created_at_field
from storage.types import UTCDateTime


class Reminder(SQLModel, table=True):
    """One reminder to an incident's commander that a report of `kind` is due since `due_at`.

    The unique key is the claim: of two job runs or two processes, only the one whose insert lands
    sends the DM.
    """

    __table_args__ = (sa.UniqueConstraint("incident_id", "kind", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=20)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    user_id: str | None = Field(default=None, max_length=50)
    created_at: datetime = created_at_field()
