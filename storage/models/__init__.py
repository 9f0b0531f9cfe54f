"""All tables, importable from one place (alembic reads `SQLModel.metadata` after importing this)."""

from storage.models.base import metadata
from storage.models.config import (
    Document,
    IncidentPriority,
    IncidentSeverity,
    IncidentType,
    IndividualContact,
    Notification,
    Project,
    RoleDefinition,
    RolePolicy,
    Service,
    Tag,
    TagType,
    TeamContact,
    Workflow,
)
from storage.models.incident import (
    FlowStep,
    Incident,
    IncidentCounter,
    Participant,
    ParticipantRole,
    Resource,
    TimelineEvent,
)

__all__ = [
    "Document",
    "FlowStep",
    "Incident",
    "IncidentCounter",
    "IncidentPriority",
    "IncidentSeverity",
    "IncidentType",
    "IndividualContact",
    "Notification",
    "Participant",
    "ParticipantRole",
    "Project",
    "Resource",
    "RoleDefinition",
    "RolePolicy",
    "Service",
    "Tag",
    "TagType",
    "TeamContact",
    "TimelineEvent",
    "Workflow",
    "metadata",
]
