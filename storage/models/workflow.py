"""Runs of the project's workflows started from an incident, followed until they finish."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from storage.models.base import Timestamped, json_field, optional_time_field


class WorkflowInstance(Timestamped, table=True):
    """One run: who asked and why, what the external system calls it, and how it stands.

    `request_key` is the submitted modal (one run however often Slack delivers it); `run_key` goes to
    the external system with every start of this run. `status` is "starting" until the system has
    answered, then its own word for the run ("failed" with `error` when it could not be started);
    `finished_at` is set once the status is final, after which nobody polls it.
    """

    __tablename__ = "workflow_instance"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    workflow_id: int | None = Field(default=None, foreign_key="workflow.id", ondelete="SET NULL")
    workflow_name: str = Field(max_length=100)
    creator_id: str = Field(max_length=50)
    reason: str = ""
    parameters: dict[str, Any] = json_field()
    request_key: str = Field(max_length=200)
    run_key: str = Field(max_length=50)
    external_id: str | None = Field(default=None, max_length=200)
    status: str = Field(default="starting", max_length=50)
    weblink: str | None = None
    status_url: str | None = None
    artifacts: list[dict[str, Any]] = json_field(list)
    error: str | None = None
    finished_at: datetime | None = optional_time_field()

    __table_args__ = (
        sa.UniqueConstraint("request_key"),
        sa.Index("ix_workflow_instance_unfinished", "finished_at"),
    )
