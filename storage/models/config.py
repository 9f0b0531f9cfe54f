"""Configuration tables: what the workspace config file declares, applied by `dispatch-bot config apply`.

Everything here belongs to a project. Rows removed from the config file are disabled rather than
deleted, so incidents keep pointing at the type or priority they were reported with.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from storage.models.base import Timestamped, json_field, project_fk


class Project(Timestamped, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    description: str = ""
    prefix: str = Field(max_length=20)
    owner_email: str | None = None
    annual_employee_cost: int = 50_000
    business_year_hours: int = 2_080
    allow_self_join: bool = True
    private_channels: bool = True
    send_daily_reports: bool = True
    daily_report_time: str = "09:00"
    timezone: str = "UTC"
    incident_name_pattern: str = "{prefix}-{number}"
    channel_name_pattern: str = "inc-{number}-{slug}"
    is_default: bool = False
    enabled: bool = True
    # Which plugin serves which role, as the config file writes it: {"oncall": {"plugin", "options"}}.
    plugins: dict[str, Any] = json_field()


class IncidentType(Timestamped, table=True):
    __tablename__ = "incident_type"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    visibility: str = Field(default="open", max_length=20)
    incident_template: str | None = None
    executive_template: str | None = None
    review_template: str | None = None
    tracking_template: str | None = None
    exclude_from_metrics: bool = False
    exclude_from_reminders: bool = False
    # Closing needs a resolution saying what fixed it (postmortem-bound types, say).
    resolution_required: bool = False
    cost_model: str | None = None
    plugin_metadata: dict[str, Any] = json_field()
    is_default: bool = False
    enabled: bool = True


class IncidentSeverity(Timestamped, table=True):
    __tablename__ = "incident_severity"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    view_order: int = 0
    color: str | None = None
    allowed_for_stable_incidents: bool = True
    is_default: bool = False
    enabled: bool = True


class IncidentPriority(Timestamped, table=True):
    __tablename__ = "incident_priority"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    view_order: int = 0
    tactical_report_reminder_hours: int | None = 24
    executive_report_reminder_hours: int | None = None
    page_commander: bool = False
    # Warn people writing outside the commander's working hours that answers may take a while.
    delayed_message_warning: bool = True
    color: str | None = None
    is_default: bool = False
    enabled: bool = True


class RoleDefinition(Timestamped, table=True):
    """A participant role the workspace uses (Incident Commander, Scribe, Observer...)."""

    __tablename__ = "role_definition"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50, unique=True)
    description: str = ""
    single_holder: bool = False
    cost_multiplier: float = 0.5
    enabled: bool = True


class Service(Timestamped, table=True):
    """An on-call service (a PagerDuty service, say) whose current on-call can be engaged."""

    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    plugin: str = Field(default="pagerduty", max_length=50)
    external_id: str = ""
    filters: dict[str, Any] = json_field()
    enabled: bool = True


class RolePolicy(Timestamped, table=True):
    """Who takes a role for incidents of a type and/or priority: an on-call service or a person."""

    __tablename__ = "role_policy"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    role: str = Field(max_length=50)
    incident_types: list[str] = json_field(list)
    incident_priorities: list[str] = json_field(list)
    service_id: int | None = Field(default=None, foreign_key="service.id", ondelete="SET NULL")
    individual_email: str | None = None
    enabled: bool = True


class IndividualContact(Timestamped, table=True):
    __tablename__ = "individual_contact"
    __table_args__ = (sa.UniqueConstraint("project_id", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    email: str = Field(max_length=255)
    name: str = ""
    title: str = ""
    weblink: str | None = None
    filters: dict[str, Any] = json_field()
    enabled: bool = True


class TeamContact(Timestamped, table=True):
    __tablename__ = "team_contact"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    email: str = ""
    description: str = ""
    filters: dict[str, Any] = json_field()
    enabled: bool = True


class Notification(Timestamped, table=True):
    """Where announcements go: a Slack channel or an e-mail address, chosen by filters."""

    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    kind: str = Field(default="conversation", max_length=20)
    target: str = Field(max_length=255)
    filters: dict[str, Any] = json_field()
    enabled: bool = True


class TagType(Timestamped, table=True):
    __tablename__ = "tag_type"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    exclusive: bool = False
    discoverable: bool = True
    enabled: bool = True


class Tag(Timestamped, table=True):
    __table_args__ = (sa.UniqueConstraint("project_id", "tag_type_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    tag_type_id: int = Field(foreign_key="tag_type.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    description: str = ""
    uri: str | None = None
    discoverable: bool = True
    enabled: bool = True


class Document(Timestamped, table=True):
    """A runbook or a document template, suggested or copied when its filters match."""

    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=200)
    kind: str = Field(default="runbook", max_length=40)
    description: str = ""
    weblink: str | None = None
    external_id: str | None = None
    filters: dict[str, Any] = json_field()
    enabled: bool = True


class Workflow(Timestamped, table=True):
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    name: str = Field(max_length=100)
    description: str = ""
    plugin: str = Field(default="webhook", max_length=50)
    external_id: str = ""
    parameters: list[dict[str, Any]] = json_field(list)
    enabled: bool = True


class Definition(Timestamped, table=True):
    """A term responders may not know, with its synonyms and what it means."""

    __table_args__ = (sa.UniqueConstraint("project_id", "term"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    term: str = Field(max_length=100)
    synonyms: list[str] = json_field(list)
    text: str = ""
    link: str | None = None
    enabled: bool = True
