"""All tables, importable from one place (alembic reads `SQLModel.metadata` after importing this)."""

from storage.models.base import metadata
from storage.models.case import (
    CasePriority,
    CaseResolutionReason,
    CaseSeverity,
    CaseType,
    SignalDefinition,
)
from storage.models.config import (
    Definition,
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
from storage.models.cost import (
    CostModel,
    IncidentCost,
    IncidentCostState,
    IncidentCostType,
    ParticipantActivity,
)
from storage.models.effect import BotProcess, Effect
from storage.models.email import SentEmail
from storage.models.incident import (
    Feedback,
    FlowStep,
    Incident,
    IncidentCounter,
    IncidentMemory,
    Participant,
    ParticipantRole,
    Resource,
    Subscription,
    TimelineClaim,
    TimelineEvent,
)
from storage.models.reminder import Reminder
from storage.models.report import Report
from storage.models.scheduling import JobRun
from storage.models.summary import DailySummary
from storage.models.task import Task, TaskAssignee
from storage.models.workflow import WorkflowInstance

__all__ = [
    "BotProcess",
    "CasePriority",
    "CaseResolutionReason",
    "CaseSeverity",
    "CaseType",
    "CostModel",
    "DailySummary",
    "Definition",
    "Document",
    "Effect",
    "Feedback",
    "FlowStep",
    "Incident",
    "IncidentCost",
    "IncidentCostState",
    "IncidentCostType",
    "IncidentCounter",
    "IncidentMemory",
    "IncidentPriority",
    "IncidentSeverity",
    "IncidentType",
    "IndividualContact",
    "JobRun",
    "Notification",
    "Participant",
    "ParticipantActivity",
    "ParticipantRole",
    "Project",
    "Reminder",
    "Report",
    "Resource",
    "RoleDefinition",
    "RolePolicy",
    "SentEmail",
    "Service",
    "SignalDefinition",
    "Subscription",
    "Tag",
    "TagType",
    "Task",
    "TaskAssignee",
    "TeamContact",
    "TimelineClaim",
    "TimelineEvent",
    "Workflow",
    "WorkflowInstance",
    "metadata",
]
