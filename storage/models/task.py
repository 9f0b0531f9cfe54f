"""Tasks: follow-up work someone takes on during (or after) an incident."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.models.base import Timestamped, optional_time_field


class Task(Timestamped, table=True):
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    description: str
    status: str = Field(default="open", max_length=20, index=True)
    creator_user_id: str = Field(max_length=50)
    # Who answers for the task getting done; the incident's commander when it was created.
    owner_user_id: str = Field(max_length=50)
    resolve_by: datetime | None = optional_time_field()
    resolved_at: datetime | None = optional_time_field()
    resolved_by: str | None = Field(default=None, max_length=50)
    reminders: bool = True
    last_reminded_at: datetime | None = optional_time_field()
    # The channel message showing the task, edited in place when its status changes.
    message_ts: str | None = Field(default=None, max_length=50)
    # The submission that created it, so a redelivered submission finds this row.
    request_key: str | None = Field(default=None, max_length=200, unique=True)
    # A task kept in a document too (an assigned comment): its id there, the resolved state the
    # document showed at the last sync (so a change on either side can be told apart), and its link.
    external_id: str | None = Field(default=None, max_length=200)
    external_resolved: bool | None = None
    weblink: str | None = Field(default=None, max_length=500)


class TaskAssignee(SQLModel, table=True):
    __tablename__ = "task_assignee"
    __table_args__ = (sa.UniqueConstraint("task_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=50, index=True)
