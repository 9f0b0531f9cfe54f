"""Reports on an incident: tactical (conditions, actions, needs) and executive (status for stakeholders)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.models.base import created_at_field, json_field, optional_time_field


class Report(SQLModel, table=True):
    """One report as its author sent it; reminders read the latest per incident and kind."""

    __table_args__ = (sa.Index("ix_report_incident_id_kind_created_at", "incident_id", "kind", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE")
    # "tactical" or "executive"; a validated string rather than a native enum (see DESIGN, pitfalls).
    kind: str = Field(max_length=20)
    author_user_id: str = Field(max_length=50)
    # The fields as written, by name: conditions/actions/needs or current_status/overview/next_steps.
    details: dict[str, Any] = json_field()
    # The key of the request that made it (a view submission), so a redelivery finds this row.
    request_key: str = Field(max_length=200, unique=True)
    # Where it was posted, recorded as soon as Slack answers, so a retry does not post it twice.
    channel_id: str | None = Field(default=None, max_length=50)
    message_ts: str | None = Field(default=None, max_length=50)
    pinned_at: datetime | None = optional_time_field()
    # When its Slack side was done with (posted, or refused and the author told); None after a
    # crash in between, which the resume job finishes.
    delivered_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
