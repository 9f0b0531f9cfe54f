"""E-mails the bot sent (or tried to) about an incident, one row per purpose, so none goes out twice."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from storage.models.base import Timestamped, json_field, optional_time_field


class SentEmail(Timestamped, table=True):
    """One e-mail by its purpose (`key`: "welcome:U123", "report:7:tactical"...): claimed before sending.

    `status` is "sending" while it goes out, then "sent" or "failed" (a failed one may be tried again).
    """

    __tablename__ = "sent_email"
    __table_args__ = (sa.UniqueConstraint("incident_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    key: str = Field(max_length=200)
    recipients: list[str] = json_field(list)
    subject: str = Field(default="", max_length=500)
    status: str = Field(default="sending", max_length=20)
    # The process sending it (`bot_process.instance`): a send still going in a live process is never
    # started again, however long it takes; a dead process's is.
    claimed_by: str | None = Field(default=None, max_length=32)
    error: str | None = None
    sent_at: datetime | None = optional_time_field()
