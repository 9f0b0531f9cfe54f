"""Incident tables: the incident, its people and roles, its timeline, resources and resumable flow steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.models.base import Timestamped, created_at_field, json_field, optional_time_field, project_fk


class IncidentCounter(SQLModel, table=True):
    """The last number handed out per project; incremented atomically in the database."""

    __tablename__ = "incident_counter"

    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE", primary_key=True)
    last_number: int = 0


class Incident(Timestamped, table=True):
    __table_args__ = (
        sa.UniqueConstraint("project_id", "number"),
        sa.UniqueConstraint("project_id", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = project_fk()
    number: int
    name: str = Field(max_length=100)
    title: str = Field(max_length=3000)
    description: str = ""
    resolution: str = ""
    status: str = Field(default="active", max_length=20, index=True)
    visibility: str = Field(default="open", max_length=20)
    incident_type_id: int | None = Field(default=None, foreign_key="incident_type.id", ondelete="SET NULL")
    incident_severity_id: int | None = Field(
        default=None, foreign_key="incident_severity.id", ondelete="SET NULL"
    )
    incident_priority_id: int | None = Field(
        default=None, foreign_key="incident_priority.id", ondelete="SET NULL"
    )
    tags: list[str] = json_field(list)
    reporter_user_id: str = Field(max_length=50)
    # The key of the request that reported it (a view submission), so a redelivery finds this row.
    request_key: str | None = Field(default=None, max_length=200, unique=True)
    reported_at: datetime = created_at_field()
    stable_at: datetime | None = optional_time_field()
    closed_at: datetime | None = optional_time_field()


class Participant(Timestamped, table=True):
    __table_args__ = (sa.UniqueConstraint("incident_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=50)
    email: str | None = None
    name: str = ""
    team: str = ""
    department: str = ""
    timezone: str | None = None
    added_by: str | None = None
    added_reason: str = ""
    message_count: int = 0
    # Each said once per person and incident, however many threads or late-night messages follow.
    thread_reminded: bool = False
    after_hours_warned: bool = False


class ParticipantRole(SQLModel, table=True):
    """One role held by a participant for a span of time; an open span has no `renounced_at`."""

    __tablename__ = "participant_role"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=50)
    assumed_at: datetime = created_at_field()
    renounced_at: datetime | None = optional_time_field()


class TimelineEvent(SQLModel, table=True):
    __tablename__ = "timeline_event"
    __table_args__ = (sa.UniqueConstraint("incident_id", "dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=50)
    source: str = Field(default="dispatch-bot", max_length=100)
    description: str
    actor: str | None = Field(default=None, max_length=100)
    occurred_at: datetime = created_at_field()
    details: dict[str, Any] = json_field()
    is_key_event: bool = False
    # Set when one external fact must give at most one event (a reacted message, say).
    dedupe_key: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()


class TimelineClaim(SQLModel, table=True):
    """A reaction capture in progress: the capture writes its event only if the claim is still there.

    Removing the reaction deletes the message's claims, so an add and a remove racing on different
    replicas are ordered by the database: whichever deletes the claim row first decides.
    """

    __tablename__ = "timeline_claim"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE")
    dedupe_key: str = Field(max_length=200)
    created_at: datetime = created_at_field()

    __table_args__ = (sa.Index("ix_timeline_claim_incident_key", "incident_id", "dedupe_key"),)


class Resource(Timestamped, table=True):
    """Something external the incident owns: its channel, document, folder, ticket, conference, group."""

    __table_args__ = (sa.UniqueConstraint("incident_id", "kind", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=50)
    name: str = Field(default="", max_length=200)
    external_id: str = Field(max_length=300)
    weblink: str | None = None
    details: dict[str, Any] = json_field()


class FlowStep(Timestamped, table=True):
    """One external step of a resumable flow, so a restart or a retry finishes what was left undone."""

    __tablename__ = "flow_step"
    __table_args__ = (sa.UniqueConstraint("incident_id", "flow", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    flow: str = Field(max_length=50)
    step: str = Field(max_length=50)
    status: str = Field(default="pending", max_length=20, index=True)
    attempts: int = 0
    result: dict[str, Any] = json_field()
    last_error: str | None = None
    next_attempt_at: datetime | None = optional_time_field()
    # The process running the step (`bot_process.instance`): once it is dead, the lease does not count.
    claimed_by: str | None = Field(default=None, max_length=32)


class Subscription(SQLModel, table=True):
    """Someone outside the response who asked to be told about every update of an incident."""

    __table_args__ = (sa.UniqueConstraint("incident_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=50)
    created_at: datetime = created_at_field()


class Feedback(SQLModel, table=True):
    """A participant's rating of how the response went, asked for when the incident closes."""

    __table_args__ = (sa.UniqueConstraint("incident_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    # Kept even when anonymous, so one person gives one rating; never shown when `anonymous`.
    user_id: str = Field(max_length=50)
    rating: int
    text: str = ""
    anonymous: bool = False
    created_at: datetime = created_at_field()


class IncidentMemory(SQLModel, table=True):
    """What the bot did once for an incident and must not do again: a document suggested, a term
    explained, a tag someone removed by hand (never found again).

    `effect_key` names the message that suggests or explains it, so a retried message keeps what
    it claimed and two messages never claim the same thing.
    """

    __tablename__ = "incident_memory"
    __table_args__ = (sa.UniqueConstraint("incident_id", "kind", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=40)
    name: str = Field(max_length=200)
    effect_key: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()
