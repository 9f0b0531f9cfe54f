"""Pydantic models of the workspace config file, and the cross-checks a schema alone cannot express."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from bot.config.filters import Filter, references
from storage.models.cost import RESPONSE_COST

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


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _color(value: str) -> str:
    if not _COLOR.match(value):
        raise ValueError(f"{value!r} is not a colour; write it as #RRGGBB, e.g. #e53935")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
LongName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_email)]
Color = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_color)]


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
    """The whole file: participant roles shared by all projects, and the projects."""

    version: Literal[1] = 1
    roles: list[RoleConfig] = Field(default_factory=builtin_roles)
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
        ]
        for count_of, one, many in per_project:
            counts.append((sum(count_of(project) for project in self.projects), one, many))
        return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts)


class ConfigCheckError(ValueError):
    """A configuration that passed the schema but failed the cross-checks."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{format_loc(loc)}: {message}" for loc, message in issues))


def format_loc(loc: Iterable[str | int]) -> str:
    """`("projects", 0, "name")` → `projects[0].name`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _fold(value: str) -> str:
    return value.strip().casefold()


def _known(names: Iterable[str]) -> str:
    shown = list(dict.fromkeys(names))
    if not shown:
        return "none are defined"
    more = f", … ({len(shown) - 12} more)" if len(shown) > 12 else ""
    return "known: " + ", ".join(shown[:12]) + more


def _duplicates(
    items: Iterable[tuple[int, Any]],
    key: Callable[[Any], str],
    where: Loc,
    list_name: str,
    what: str,
    field: str = "name",
) -> Iterator[Issue]:
    # Items come with their index so that a partially valid file can be checked with its own numbering.
    seen: dict[str, int] = {}
    for index, item in items:
        folded = _fold(key(item))
        if folded in seen:
            yield (
                (*where, list_name, index, field),
                f"duplicate {what} {key(item)!r} (also at {list_name}[{seen[folded]}])",
            )
        else:
            seen[folded] = index


def _single_default(
    items: Iterable[tuple[int, Any]], where: Loc, list_name: str, what: str
) -> Iterator[Issue]:
    first: tuple[int, Any] | None = None
    for index, item in items:
        if not item.default:
            continue
        if first is None:
            first = index, item
            continue
        yield (
            (*where, list_name, index, "default"),
            f"only one {what} can be the default; {first[1].name!r} ({list_name}[{first[0]}]) already is",
        )


def check_roles(roles: Sequence[RoleConfig]) -> list[Issue]:
    issues = list(_duplicates(enumerate(roles), lambda role: role.name, (), "roles", "role name"))
    names = {_fold(role.name) for role in roles}
    missing = [name for name in BUILTIN_ROLE_NAMES if _fold(name) not in names]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        issues.append(
            (
                ("roles",),
                f"missing built-in role{plural} {', '.join(map(repr, missing))}: the bot needs "
                f"{', '.join(BUILTIN_ROLE_NAMES)}; list them all, or leave roles: out to get the defaults",
            )
        )
    for index, role in enumerate(roles):
        if _fold(role.name) == _fold("Incident Commander") and not role.single_holder:
            issues.append(
                (("roles", index, "single_holder"), "an incident has one Incident Commander at a time")
            )
    return issues


def check_project(
    index: int, project: ProjectConfig, *, role_names: Iterable[str], project_names: Iterable[str]
) -> list[Issue]:
    """Cross-checks inside one project: unique names, one default, and that every reference resolves."""
    at: Loc = ("projects", index)
    issues: list[Issue] = []
    for list_name, what, key in (
        ("incident_types", "incident type name", "name"),
        ("severities", "severity name", "name"),
        ("priorities", "priority name", "name"),
        ("role_policies", "role policy name", "name"),
        ("services", "service name", "name"),
        ("individuals", "individual e-mail", "email"),
        ("teams", "team name", "name"),
        ("notifications", "notification name", "name"),
        ("tag_types", "tag type name", "name"),
        ("documents", "document name", "name"),
        ("workflows", "workflow name", "name"),
        ("cost_models", "cost model name", "name"),
        ("cost_types", "cost type name", "name"),
    ):
        items = getattr(project, list_name)
        issues += _duplicates(enumerate(items), attrgetter(key), at, list_name, what, key)
    # Lists inside list items: (parent list, child list, child key, what a duplicate is called).
    nested: tuple[tuple[str, str, str, Callable[[Any], str]], ...] = (
        ("tag_types", "tags", "name", lambda tag_type: f"tag name in {tag_type.name!r}"),
        ("workflows", "parameters", "key", lambda _: "parameter key"),
        ("cost_models", "activities", "kind", lambda _: "activity"),
    )
    for list_name, children, key, what_of in nested:
        for parent_index, parent in enumerate(getattr(project, list_name)):
            issues += _duplicates(
                enumerate(getattr(parent, children)),
                attrgetter(key),
                (*at, list_name, parent_index),
                children,
                what_of(parent),
                key,
            )
    for cost_type_index, cost_type in enumerate(project.cost_types):
        if _fold(cost_type.name) == _fold(RESPONSE_COST):
            issues.append(
                (
                    (*at, "cost_types", cost_type_index, "name"),
                    f"{RESPONSE_COST!r} is the cost the bot computes; give this cost type another name",
                )
            )
    cost_models = [m.name for m in project.cost_models]
    for type_index, incident_type in enumerate(project.incident_types):
        if incident_type.cost_model is not None:
            loc = (*at, "incident_types", type_index, "cost_model")
            issues += _unknown(incident_type.cost_model, cost_models, loc, "cost model")
    issues += _single_default(enumerate(project.incident_types), at, "incident_types", "incident type")
    issues += _single_default(enumerate(project.severities), at, "severities", "severity")
    issues += _single_default(enumerate(project.priorities), at, "priorities", "priority")

    types = [t.name for t in project.incident_types]
    priorities = [p.name for p in project.priorities]
    severities = [s.name for s in project.severities]
    services = [s.name for s in project.services]
    tags = [tag.name for tag_type in project.tag_types for tag in tag_type.tags]
    roles = list(role_names)
    projects = list(project_names)

    documents = {_fold(d.name): d for d in project.documents}
    for type_index, incident_type in enumerate(project.incident_types):
        for field in TEMPLATE_FIELDS:
            wanted = getattr(incident_type, field)
            if wanted is None:
                continue
            document = documents.get(_fold(wanted))
            loc = (*at, "incident_types", type_index, field)
            if document is None:
                candidates = [d.name for d in project.documents if d.kind == field]
                issues.append((loc, f"unknown {field} document {wanted!r} ({_known(candidates)})"))
            elif document.kind != field:
                issues.append((loc, f"document {wanted!r} has kind {document.kind}, not {field}"))

    for policy_index, policy in enumerate(project.role_policies):
        loc = (*at, "role_policies", policy_index)
        issues += _unknown(policy.role, roles, (*loc, "role"), "role")
        for i, name in enumerate(policy.incident_types):
            issues += _unknown(name, types, (*loc, "incident_types", i), "incident type")
        for i, name in enumerate(policy.incident_priorities):
            issues += _unknown(name, priorities, (*loc, "incident_priorities", i), "priority")
        if policy.service is not None:
            issues += _unknown(policy.service, services, (*loc, "service"), "on-call service")

    if "email" not in project.plugins:
        for item_index, notification in enumerate(project.notifications):
            if notification.kind == "email":
                issues.append(
                    (
                        (*at, "notifications", item_index, "kind"),
                        "an e-mail notification needs an email plugin in the project "
                        "(plugins: {email: {plugin: google-gmail}}); without one nobody is e-mailed",
                    )
                )

    known_by_field = {
        "project": (projects, "project"),
        "type": (types, "incident type"),
        "priority": (priorities, "priority"),
        "severity": (severities, "severity"),
        "tags": (tags, "tag"),
    }
    for list_name in ("services", "individuals", "teams", "notifications", "documents"):
        for item_index, item in enumerate(getattr(project, list_name)):
            if item.filters is None:
                continue
            for loc, field, value in references(item.filters):
                known, what = known_by_field[field]
                issues += _unknown(value, known, (*at, list_name, item_index, "filters", *loc), what)
    return issues


def _unknown(name: str, known: Sequence[str], loc: Loc, what: str) -> Iterator[Issue]:
    if _fold(name) not in {_fold(k) for k in known}:
        yield loc, f"unknown {what} {name!r} ({_known(known)})"


def check_workspace(config: WorkspaceConfig) -> list[Issue]:
    """Every cross-check of a schema-valid config; an empty list means the config can be applied."""
    return check_parts(config.roles, list(enumerate(config.projects)))


def check_parts(
    roles: Sequence[RoleConfig] | None,
    projects: Sequence[tuple[int, ProjectConfig]],
    *,
    role_names: Sequence[str] | None = None,
    project_names: Sequence[str] | None = None,
) -> list[Issue]:
    """Cross-checks over the parts of a file that passed the schema, keeping their indices in the file.

    The loader uses this when some parts are invalid, so that one typo does not hide every other
    problem; `role_names` and `project_names` then come from the raw file.
    """
    issues = check_roles(roles) if roles is not None else []
    issues += _duplicates(projects, lambda p: p.name, (), "projects", "project name")
    issues += _duplicates(projects, lambda p: p.prefix, (), "projects", "project prefix", "prefix")
    issues += _single_default(projects, (), "projects", "project")
    if role_names is None:
        role_names = [role.name for role in roles or builtin_roles()]
    if project_names is None:
        project_names = [project.name for _, project in projects]
    for index, project in projects:
        issues += check_project(index, project, role_names=role_names, project_names=project_names)
    return issues
