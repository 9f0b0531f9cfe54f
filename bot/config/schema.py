"""Pydantic models of the workspace config file; the cross-checks are in bot/config/checks.py."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonpath
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from bot.config.filters import Filter, tokens

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]

PluginRole = Literal[
    "storage",
    "document",
    "participant_group",
    "email",
    "conference",
    "oncall",
    "ticket",
    "task",
    "workflow",
    "contact",
    "metric",
]
PLUGIN_ROLES: tuple[str, ...] = get_args(PluginRole)
DocumentKind = Literal[
    "runbook", "incident_template", "review_template", "executive_template", "tracking_template"
]
TEMPLATE_FIELDS = ("incident_template", "executive_template", "review_template", "tracking_template")

# The bot's flows refer to these by name, so a config may tune them but not drop them.
BUILTIN_ROLE_NAMES = ("Incident Commander", "Scribe", "Liaison", "Reporter", "Participant", "Observer")
INCIDENT_NAME_FIELDS = ("prefix", "number", "project")
CHANNEL_NAME_FIELDS = ("prefix", "number", "slug", "name", "project")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,19}$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_CHANNEL_LITERAL = re.compile(r"^[a-z0-9_-]*$")
# RFC 9535 JSON paths, without the library's extensions, so a path means what it means elsewhere.
_JSON_PATHS = jsonpath.JSONPathEnvironment(strict=True)


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _color(value: str) -> str:
    if not _COLOR.match(value):
        raise ValueError(f"{value!r} is not a colour; write it as #RRGGBB, e.g. #e53935")
    return value


def _channel(value: str) -> str:
    # Slack users write channels with their '#'; the API wants the bare name.
    name = value.strip().removeprefix("#")
    if not name or any(character.isspace() for character in name) or len(name) > 80:
        raise ValueError(f"{value!r} is not a Slack channel name or id")
    return name


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"{value!r} is not a valid regular expression: {error}") from None
    return value


def _json_path(value: str) -> str:
    if not value.startswith("$"):
        raise ValueError(f"{value!r} is not a valid JSON path: it starts with $, as in $.labels.instance")
    try:
        _JSON_PATHS.compile(value)
    except jsonpath.JSONPathError as error:
        reason = str(error.args[0]) if error.args else "cannot parse"
        token = getattr(error, "token", None)
        index = getattr(token, "index", -1)
        where = f" at character {index + 1}" if isinstance(index, int) and index >= 0 else ""
        raise ValueError(
            f"{value!r} is not a valid JSON path: {reason}{where}; write it like $.labels.instance"
        ) from None
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
LongName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_email)]
Color = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_color)]
Channel = Annotated[str, AfterValidator(_channel)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Regex = Annotated[str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_regex)]
JsonPath = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), AfterValidator(_json_path)
]


class Section(BaseModel):
    """Base of every mapping in the file: unknown keys are errors, so typos never pass silently."""

    # Numbers become strings where a string is expected: a tag named 404 should not need quotes.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, populate_by_name=True)


class RoleConfig(Section):
    name: ShortName
    description: str = ""
    single_holder: bool = False
    cost_multiplier: float = Field(default=0.5, ge=0)


def builtin_roles() -> list[RoleConfig]:
    """Dispatch's participant roles with its cost engagement multipliers."""
    return [
        RoleConfig(
            name="Incident Commander",
            single_holder=True,
            cost_multiplier=1.0,
            description="Owns the incident: coordinates the response and keeps everyone informed.",
        ),
        RoleConfig(
            name="Scribe",
            single_holder=True,
            cost_multiplier=0.75,
            description="Keeps the timeline and the incident document up to date.",
        ),
        RoleConfig(
            name="Liaison",
            single_holder=True,
            cost_multiplier=0.75,
            description="Talks to stakeholders outside the response.",
        ),
        RoleConfig(name="Reporter", cost_multiplier=0.5, description="Reported the incident."),
        RoleConfig(name="Participant", cost_multiplier=0.5, description="Actively works on the incident."),
        RoleConfig(
            name="Observer",
            cost_multiplier=0.0,
            description="Follows the incident without taking part (yet).",
        ),
    ]


class IncidentTypeConfig(Section):
    name: Name
    description: str = ""
    visibility: Literal["open", "restricted"] = "open"
    incident_template: str | None = None
    executive_template: str | None = None
    review_template: str | None = None
    tracking_template: str | None = None
    exclude_from_metrics: bool = False
    exclude_from_reminders: bool = False
    resolution_required: bool = False
    cost_model: str | None = None
    plugin_metadata: dict[str, Any] = Field(default_factory=dict)
    default: bool = False


class SeverityConfig(Section):
    name: Name
    description: str = ""
    view_order: int = 0
    color: Color | None = None
    allowed_for_stable_incidents: bool = True
    default: bool = False


class PriorityConfig(Section):
    name: Name
    description: str = ""
    view_order: int = 0
    tactical_report_reminder_hours: int | None = Field(default=24, ge=1)
    executive_report_reminder_hours: int | None = Field(default=None, ge=1)
    page_commander: bool = False
    delayed_message_warning: bool = True
    color: Color | None = None
    default: bool = False


class ServiceConfig(Section):
    """An on-call service; its current on-call is resolved through the `plugin` by `external_id`."""

    name: Name
    description: str = ""
    plugin: ShortName = "pagerduty"
    external_id: str = Field(min_length=1)
    filters: Filter | None = None


class RolePolicyConfig(Section):
    """Who takes `role` for incidents of these types and priorities (an empty list means any)."""

    name: Name
    role: ShortName
    incident_types: list[Name] = Field(default_factory=list)
    incident_priorities: list[Name] = Field(default_factory=list)
    service: Name | None = None
    individual: Email | None = None

    @model_validator(mode="after")
    def _one_assignee(self) -> RolePolicyConfig:
        if (self.service is None) == (self.individual is None):
            raise ValueError("a role policy names exactly one of service (an on-call service) or individual")
        return self


class IndividualConfig(Section):
    email: Email
    name: str = ""
    title: str = ""
    weblink: str | None = None
    filters: Filter | None = None


class TeamConfig(Section):
    name: Name
    email: str = ""
    description: str = ""
    filters: Filter | None = None

    @field_validator("email")
    @classmethod
    def _optional_email(cls, value: str) -> str:
        return _email(value.strip()) if value.strip() else ""


class NotificationConfig(Section):
    """A Slack channel (`conversation`, by name or id) or an e-mail address that receives announcements."""

    name: Name
    description: str = ""
    kind: Literal["conversation", "email"] = "conversation"
    target: str = Field(min_length=1, max_length=255)
    filters: Filter | None = None

    @model_validator(mode="after")
    def _target_fits_kind(self) -> NotificationConfig:
        if self.kind == "conversation":
            # Slack users write channels with their '#'; the API wants the bare name.
            self.target = self.target.strip().removeprefix("#")
            if not self.target or " " in self.target:
                raise ValueError(f"target {self.target!r} is not a Slack channel name or id")
        else:
            self.target = _email(self.target.strip())
        return self


class TagConfig(Section):
    name: Name
    description: str = ""
    uri: str | None = None
    discoverable: bool = True


class TagTypeConfig(Section):
    name: Name
    description: str = ""
    exclusive: bool = False
    discoverable: bool = True
    tags: list[TagConfig] = Field(default_factory=list)


class DocumentConfig(Section):
    """A runbook (suggested when its filters match) or a document template copied for each incident."""

    name: LongName
    kind: DocumentKind = "runbook"
    description: str = ""
    weblink: str | None = None
    external_id: str | None = None
    filters: Filter | None = None

    @model_validator(mode="after")
    def _locatable(self) -> DocumentConfig:
        if self.kind == "runbook" and not (self.weblink or self.external_id):
            raise ValueError("a runbook needs a weblink or an external_id")
        if self.kind != "runbook" and not self.external_id:
            raise ValueError(f"a {self.kind} needs the external_id of the document the plugin copies")
        return self


def _has_words(value: str) -> str:
    if not tokens(value):
        raise ValueError(f"{value!r} has no letters or digits to match")
    return value


Term = Annotated[Name, AfterValidator(_has_words)]


class DefinitionConfig(Section):
    """A term explained to responders (`/dispatch-define`, *Explain terms*, and once per incident
    when its description first uses it); the synonyms are other ways of writing it."""

    term: Term
    synonyms: list[Term] = Field(default_factory=list)
    text: str = Field(min_length=1, max_length=2000)
    link: str | None = None


class WorkflowParameter(Section):
    key: Name
    value: str = ""
    description: str = ""


class WorkflowConfig(Section):
    name: Name
    description: str = ""
    plugin: ShortName = "webhook"
    external_id: str = Field(min_length=1)
    parameters: list[WorkflowParameter] = Field(default_factory=list)


CostActivityKind = Literal["slack_channel_activity", "slack_thread_activity"]
COST_ACTIVITY_KINDS: tuple[str, ...] = get_args(CostActivityKind)


class CostActivityConfig(Section):
    """One tracked activity: each message of this kind counts `response_time_seconds` of a person's effort."""

    kind: CostActivityKind
    response_time_seconds: int = Field(ge=1, le=86_400)
    enabled: bool = True


class CostModelConfig(Section):
    """An activity-based way of costing an incident, chosen per incident type (`cost_model: NAME`)."""

    name: Name
    description: str = ""
    enabled: bool = True
    activities: list[CostActivityConfig] = Field(default_factory=list)


class CostTypeConfig(Section):
    """A kind of cost people add to an incident by hand (`/dispatch-add-cost`): vendor support, credits…"""

    name: Name
    description: str = ""
    category: ShortName = "Primary"


# Cases and signals. The bot's case flows set these resolution reasons themselves: Escalated when a
# case becomes an incident, User Acknowledged when an auto_close type closes a case at once.
BUILTIN_RESOLUTION_REASONS = ("Escalated", "User Acknowledged")


class CaseTypeConfig(Section):
    """A kind of case: who is proposed as its assignee, where it is triaged, what it escalates to."""

    name: Name
    description: str = ""
    visibility: Literal["open", "restricted"] = "open"
    # The on-call service whose current on-call is proposed as the assignee.
    oncall_service: Name | None = None
    # The triage channel where each case of this type is a thread.
    conversation_target: Channel | None = None
    # The incident type an escalated case becomes, unless the person escalating picks another.
    incident_type: Name | None = None
    # Cases of this type are closed as soon as they are made (reason User Acknowledged).
    auto_close: bool = False
    enabled: bool = True
    default: bool = False


class CasePriorityConfig(Section):
    name: Name
    description: str = ""
    view_order: int = 0
    page_assignee: bool = False
    delayed_message_warning: bool = True
    color: Color | None = None
    default: bool = False


class CaseSeverityConfig(Section):
    name: Name
    description: str = ""
    view_order: int = 0
    color: Color | None = None
    default: bool = False


class ResolutionReasonConfig(Section):
    """Why a case was closed; the description is shown next to it when someone resolves a case."""

    name: Name
    description: str = ""


class EntityTypeConfig(Section):
    """Something found in an alert (a host, an account, an address): the values `json_path` selects,
    the matches of `regex` in the alert, or the matches of `regex` in what `json_path` selects."""

    name: Name
    description: str = ""
    # At least one of the two (a cross-check, so that a bad regex here hides no other problem).
    json_path: JsonPath | None = None
    regex: Regex | None = None


class SignalConfig(Section):
    """A signal definition: what one kind of alert is, and what the bot does when one arrives.

    An alert names its definition by `external_id` (or `name`); an alert posted in a channel may
    instead be recognised by `match_pattern`. Within `dedupe_window_minutes` an alert with the same
    entities as an earlier one joins that one's case instead of opening another.
    """

    name: Name
    description: str = ""
    external_id: ExternalId | None = None
    variant: ShortName | None = None
    case_type: Name | None = None
    case_priority: Name | None = None
    create_case: bool = True
    dedupe_window_minutes: int = Field(default=60, ge=0, le=10_080)
    conversation_target: Channel | None = None
    match_pattern: Regex | None = None
    entity_types: list[EntityTypeConfig] = Field(default_factory=list)


def builtin_case_types() -> list[CaseTypeConfig]:
    """One type, so that cases work in a project whose config says nothing about them."""
    return [
        CaseTypeConfig(
            name="General",
            default=True,
            description="Anything worth looking into that has no more specific type.",
        )
    ]


def builtin_case_priorities() -> list[CasePriorityConfig]:
    """Dispatch's case priorities: Low is the default, Critical pages the assignee."""
    return [
        CasePriorityConfig(
            name="Low",
            view_order=1,
            color="#8bc34a",
            default=True,
            description="Look at it during working hours.",
        ),
        CasePriorityConfig(name="Medium", view_order=2, color="#ff9800", description="Look at it today."),
        CasePriorityConfig(
            name="High", view_order=3, color="#e53935", description="Look at it now; someone is waiting."
        ),
        CasePriorityConfig(
            name="Critical",
            view_order=4,
            color="#b71c1c",
            page_assignee=True,
            delayed_message_warning=False,
            description="Drop everything: the assignee is paged.",
        ),
        CasePriorityConfig(
            name="Optional",
            view_order=5,
            color="#9e9e9e",
            description="Worth a look when there is time; nobody is waiting on it.",
        ),
    ]


def builtin_case_severities() -> list[CaseSeverityConfig]:
    return [
        CaseSeverityConfig(
            name="Undetermined",
            view_order=1,
            color="#9e9e9e",
            default=True,
            description="The impact has not been assessed yet.",
        ),
        CaseSeverityConfig(
            name="Low", view_order=2, color="#8bc34a", description="Little or no impact if it is real."
        ),
        CaseSeverityConfig(
            name="Medium",
            view_order=3,
            color="#ff9800",
            description="Some users or systems would be affected.",
        ),
        CaseSeverityConfig(
            name="High",
            view_order=4,
            color="#e53935",
            description="Many users, customers or their data at stake.",
        ),
    ]


def builtin_resolution_reasons() -> list[ResolutionReasonConfig]:
    """Dispatch's resolution reasons, each with a line saying when to choose it."""
    reasons = [
        ("Benign", "It happened, and it is harmless: nothing needs doing."),
        ("Contained", "The threat or fault was stopped from spreading; clean-up may still follow."),
        ("Escalated", "The case became an incident and is handled there."),
        ("False Positive", "The alert fired, but what it describes did not happen."),
        ("Information Gathered", "The case only collected facts; nothing more was asked of it."),
        ("Insufficient Information", "There was not enough to go on to reach a conclusion."),
        ("Mitigated", "It was real, and its impact has been reduced or removed."),
        ("Operational Error", "A mistake in how something was run or set up, not an attack or a fault."),
        ("Policy Violation", "Someone acted against a policy; its owners follow it up."),
        ("User Acknowledged", "The person concerned confirmed it was them and expected."),
    ]
    return [ResolutionReasonConfig(name=name, description=description) for name, description in reasons]


class PluginChoice(Section):
    plugin: ShortName
    options: dict[str, Any] = Field(default_factory=dict)


def _check_pattern(pattern: str, allowed: Sequence[str]) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as error:
        raise ValueError(f"{pattern!r} is not a valid pattern: {error}") from None
    fields = [field for _, field, _, _ in parsed if field is not None]
    unknown = [field for field in fields if field not in allowed]
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{unknown[0]}}} in {pattern!r}; use "
            + ", ".join("{" + name + "}" for name in allowed)
        )
    if "number" not in fields:
        raise ValueError(f"{pattern!r} needs {{number}} so that every incident gets a different name")
    return [literal for literal, _, _, _ in parsed]


class ProjectConfig(Section):
    name: Name
    prefix: str
    description: str = ""
    owner_email: Email | None = None
    annual_employee_cost: int = Field(default=50_000, ge=0)
    business_year_hours: int = Field(default=2_080, ge=1)
    allow_self_join: bool = True
    private_channels: bool = True
    send_daily_reports: bool = True
    daily_report_time: str = "09:00"
    timezone: str = "UTC"
    incident_name_pattern: str = "{prefix}-{number}"
    channel_name_pattern: str = "inc-{number}-{slug}"
    default: bool = False
    incident_types: list[IncidentTypeConfig] = Field(default_factory=list)
    severities: list[SeverityConfig] = Field(default_factory=list)
    priorities: list[PriorityConfig] = Field(default_factory=list)
    role_policies: list[RolePolicyConfig] = Field(default_factory=list)
    services: list[ServiceConfig] = Field(default_factory=list)
    individuals: list[IndividualConfig] = Field(default_factory=list)
    teams: list[TeamConfig] = Field(default_factory=list)
    notifications: list[NotificationConfig] = Field(default_factory=list)
    tag_types: list[TagTypeConfig] = Field(default_factory=list)
    documents: list[DocumentConfig] = Field(default_factory=list)
    workflows: list[WorkflowConfig] = Field(default_factory=list)
    cost_models: list[CostModelConfig] = Field(default_factory=list)
    cost_types: list[CostTypeConfig] = Field(default_factory=list)
    # Left out, each of these gives the project the built-in ones, so that cases work without config.
    case_types: list[CaseTypeConfig] = Field(default_factory=builtin_case_types)
    case_priorities: list[CasePriorityConfig] = Field(default_factory=builtin_case_priorities)
    case_severities: list[CaseSeverityConfig] = Field(default_factory=builtin_case_severities)
    signals: list[SignalConfig] = Field(default_factory=list)
    definitions: list[DefinitionConfig] = Field(default_factory=list)
    plugins: dict[PluginRole, PluginChoice] = Field(default_factory=dict)

    @field_validator("prefix")
    @classmethod
    def _prefix_format(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError(
                f"prefix {value!r} must be 1-20 upper-case letters or digits starting with a letter, e.g. INC"
            )
        return value

    @field_validator("daily_report_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        match = _TIME.match(value.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 09:00")
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Amsterdam"
            ) from None
        return value

    @field_validator("incident_name_pattern")
    @classmethod
    def _incident_name(cls, value: str) -> str:
        _check_pattern(value, INCIDENT_NAME_FIELDS)
        return value

    @field_validator("channel_name_pattern")
    @classmethod
    def _channel_name(cls, value: str) -> str:
        for literal in _check_pattern(value, CHANNEL_NAME_FIELDS):
            # Slack refuses upper case, spaces and most punctuation in channel names.
            if not _CHANNEL_LITERAL.match(literal):
                raise ValueError(
                    f"{value!r}: channel names may only contain lower-case letters, digits, '-' and '_'"
                )
        return value


class WorkspaceConfig(Section):
    """The whole file: the roles and case resolution reasons that all projects share, and the projects."""

    version: Literal[1] = 1
    roles: list[RoleConfig] = Field(default_factory=builtin_roles)
    case_resolution_reasons: list[ResolutionReasonConfig] = Field(default_factory=builtin_resolution_reasons)
    projects: list[ProjectConfig] = Field(min_length=1)

    def summary(self) -> str:
        """A one-line count of what the file declares, e.g. "2 projects, 6 roles, 5 incident types"."""
        counts = [
            (len(self.projects), "project", "projects"),
            (len(self.roles), "role", "roles"),
        ]
        per_project: list[tuple[Callable[[ProjectConfig], int], str, str]] = [
            (lambda p: len(p.incident_types), "incident type", "incident types"),
            (lambda p: len(p.severities), "severity", "severities"),
            (lambda p: len(p.priorities), "priority", "priorities"),
            (lambda p: len(p.role_policies), "role policy", "role policies"),
            (lambda p: len(p.services), "on-call service", "on-call services"),
            (lambda p: len(p.individuals) + len(p.teams), "contact", "contacts"),
            (lambda p: len(p.notifications), "notification", "notifications"),
            (lambda p: sum(len(t.tags) for t in p.tag_types), "tag", "tags"),
            (lambda p: len(p.documents), "document", "documents"),
            (lambda p: len(p.workflows), "workflow", "workflows"),
            (lambda p: len(p.case_types), "case type", "case types"),
            (lambda p: len(p.signals), "signal definition", "signal definitions"),
            (lambda p: len(p.definitions), "definition", "definitions"),
        ]
        for count_of, one, many in per_project:
            counts.append((sum(count_of(project) for project in self.projects), one, many))
        return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts)
