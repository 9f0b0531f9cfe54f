"""Case and signal configuration tables: what the config file declares about cases, applied with the rest.

Like the incident configuration, rows the file no longer lists are disabled (`enabled`), not deleted,
so cases keep the type, priority and resolution reason they had.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from storage.models.base import Timestamped, json_field, project_fk


class CaseType(Timestamped, table=True):
    """A kind of case: the on-call proposed as assignee, its triage channel, the incident type it becomes."""

    __tablename__ = "case_type"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    visibility: str = Field(default="open", max_length=20)
    oncall_service_id: int | None = Field(default=None, foreign_key="service.id", ondelete="SET NULL")
    # A Slack channel name or id; each case of the type is a thread there.
    conversation_target: str | None = Field(default=None, max_length=80)
    incident_type_id: int | None = Field(default=None, foreign_key="incident_type.id", ondelete="SET NULL")
    auto_close: bool = False
    # The config's `enabled`: a type switched off is not offered for new cases but stays in the file.
    active: bool = True
    is_default: bool = False
    # False once the config file no longer lists it.
    enabled: bool = True


class CasePriority(Timestamped, table=True):
    __tablename__ = "case_priority"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    view_order: int = 0
    page_assignee: bool = False
    delayed_message_warning: bool = True
    color: str | None = None
    is_default: bool = False
    enabled: bool = True


class CaseSeverity(Timestamped, table=True):
    __tablename__ = "case_severity"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    view_order: int = 0
    color: str | None = None
    is_default: bool = False
    enabled: bool = True


class CaseResolutionReason(Timestamped, table=True):
    """Why a case was closed (False Positive, Mitigated...), shared by all projects like the roles."""

    __tablename__ = "case_resolution_reason"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    description: str = ""
    enabled: bool = True


class SignalDefinition(Timestamped, table=True):
    """One kind of alert: how it is recognised, what is found in it, and the case it opens.

    `external_id` is unique among a project's definitions in the config file, not in this table: a
    definition renamed in the file leaves its disabled row holding the same id.
    """

    __tablename__ = "signal_definition"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    external_id: str | None = Field(default=None, max_length=200)
    variant: str | None = Field(default=None, max_length=50)
    case_type_id: int | None = Field(default=None, foreign_key="case_type.id", ondelete="SET NULL")
    case_priority_id: int | None = Field(default=None, foreign_key="case_priority.id", ondelete="SET NULL")
    create_case: bool = True
    dedupe_window_minutes: int = 60
    conversation_target: str | None = Field(default=None, max_length=80)
    match_pattern: str | None = None
    # [{"name": "Host", "description": "", "json_path": "$.labels.instance", "regex": null}, ...]
    entity_types: list[dict[str, Any]] = json_field(list)
    enabled: bool = True
