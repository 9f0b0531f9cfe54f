"""Daily summaries the bot sent: one row per project and local date, so each goes once across replicas."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.models.base import created_at_field, project_fk


class DailySummary(SQLModel, table=True):
    """The summary of a project's incidents for one date in its time zone.

    The unique key is the claim: of two job runs or two processes, only the one whose insert lands
    posts it. Saved before posting, so a process dying mid-way loses that day's summary rather than
    posting it twice.
    """

    __tablename__ = "daily_summary"
    __table_args__ = (sa.UniqueConstraint("project_id", "local_date"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    local_date: date = Field(sa_type=sa.Date, nullable=False)
    incidents: int = 0
    messages: int = 0
    created_at: datetime = created_at_field()
