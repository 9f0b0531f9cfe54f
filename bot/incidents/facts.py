"""Plain descriptions of incidents and participants that flows build and views render."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Choice:
    """One selectable option of the report modal (a type, severity or priority)."""

    id: int
    name: str
    description: str = ""


@dataclass(frozen=True)
class ReportForm:
    """What the report modal offers for the chosen project."""

    projects: list[Choice]
    project_id: int
    types: list[Choice]
    severities: list[Choice]
    priorities: list[Choice]
    default_type_id: int | None
    default_severity_id: int | None
    default_priority_id: int | None
    tags: list[tuple[str, str]] = field(default_factory=list)
    title: str = ""
    description: str = ""


@dataclass(frozen=True)
class PersonCard:
    user_id: str
    roles: list[str]
    name: str = ""
    timezone: str | None = None


@dataclass(frozen=True)
class IncidentCard:
    """An incident as people see it: names, not ids."""

    id: int
    name: str
    title: str
    description: str
    status: str
    visibility: str
    project: str
    type: str
    severity: str
    priority: str
    reporter_id: str
    commander_id: str
    channel_id: str | None = None
    participants: list[PersonCard] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    type_description: str = ""
    # The incident's resources that have a link, by role ("conference", "storage", "document", "ticket"...).
    resources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One changed field of an incident, by its display name; `direction` is +1/-1 for a priority or
    severity moving."""

    field: str
    old: str
    new: str
    direction: int = 0
