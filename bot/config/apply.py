"""Turns a validated config into rows: the plan of changes, applying it, and exporting rows back to a config.

Rows are matched by natural key, compared case-insensitively so that re-casing a name updates the row:
the project name; (project, name) for its children; (project, e-mail) for individuals; (project, tag
type, name) for tags; the name for participant roles and case resolution reasons. Rows the file no
longer mentions are disabled, never deleted, because incidents and cases keep pointing at them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.checks import ConfigCheckError, check_workspace
from bot.config.filters import from_column, to_column
from bot.config.schema import (
    CaseTypeConfig,
    ProjectConfig,
    WorkspaceConfig,
    builtin_case_priorities,
    builtin_case_severities,
    builtin_case_types,
    builtin_resolution_reasons,
    builtin_roles,
)
from storage.models import (
    CasePriority,
    CaseResolutionReason,
    CaseSeverity,
    CaseType,
    CostModel,
    Definition,
    Document,
    IncidentCostType,
    IncidentPriority,
    IncidentSeverity,
    IncidentType,
    IndividualContact,
    Notification,
    Project,
    RoleDefinition,
    RolePolicy,
    Service,
    SignalDefinition,
    Tag,
    TagType,
    TeamContact,
    Workflow,
)

Action = Literal["create", "update", "disable"]
Row = TypeVar("Row", bound=SQLModel)

_SYMBOLS = {"create": "+", "update": "~", "disable": "-"}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    def render(self) -> str:
        return f"{self.field} {_show(self.old)} → {_show(self.new)}"


@dataclass(frozen=True)
class Change:
    """One row to create, update or disable; `project` is None for workspace-wide rows."""

    action: Action
    kind: str
    name: str
    project: str | None = None
    fields: tuple[FieldChange, ...] = ()
    scope: str | None = None

    def render(self) -> str:
        context = [self.scope] if self.scope else []
        if self.project is not None:
            context.append(f"project {self.project}")
        if self.action == "disable":
            context.append("not in file")
        suffix = f" ({', '.join(context)})" if context else ""
        line = f"{_SYMBOLS[self.action]} {self.action} {self.kind} {self.name!r}{suffix}"
        if self.fields:
            line += ": " + ", ".join(change.render() for change in self.fields)
        return line


@dataclass
class Plan:
    """The changes that make the database match a config, in the order they are (or were) made."""

    changes: list[Change] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def lines(self) -> list[str]:
        return [change.render() for change in self.changes]

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action == action)

    def summary(self, *, applied: bool = False) -> str:
        """ "2 to create, 1 to update, 0 to disable", or "2 created, ..." once `applied`."""
        return ", ".join(
            f"{self.count(action)} {action}d" if applied else f"{self.count(action)} to {action}"
            for action in ("create", "update", "disable")
        )

    def __str__(self) -> str:
        return "\n".join(self.lines()) if self.changes else "Nothing to change."


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)


def _fold(value: str) -> str:
    return value.strip().casefold()


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        return old is not None and new is not None and abs(float(old) - float(new)) < 1e-9
    return bool(old == new)


@dataclass
class _Differ:
    """Walks the config table by table; with `execute` it also writes, so plan and apply cannot drift."""

    session: AsyncSession
    execute: bool
    plan: Plan = field(default_factory=Plan)

    async def rows(self, model: type[Row], *where: Any) -> list[Row]:
        statement = select(model).where(*where).order_by(col(model.id))  # type: ignore[attr-defined]
        return list((await self.session.exec(statement)).all())

    async def project_rows(self, model: type[Row], project_id: int | None) -> list[Row]:
        # A project that a dry run would create has no rows yet.
        if project_id is None:
            return []
        return await self.rows(model, col(model.project_id) == project_id)  # type: ignore[attr-defined]

    async def sync(
        self,
        kind: str,
        model: type[Row],
        existing: Sequence[Row],
        desired: Iterable[dict[str, Any]],
        *,
        key: str = "name",
        project: str | None = None,
        scope: str | None = None,
        fixed: dict[str, Any] | None = None,
        read: Callable[[Row, str], Any] = getattr,
        write: Callable[[Row, str, Any], None] = setattr,
    ) -> dict[str, Row]:
        """Create, update and disable rows of `model` so that the enabled ones are `desired`.

        Returns the rows by folded key (rows that would be created are missing in a dry run).
        """
        by_key: dict[str, Row] = {}
        for existing_row in existing:
            by_key.setdefault(_fold(getattr(existing_row, key)), existing_row)
        result: dict[str, Row] = {}
        for values in desired:
            values = {**values, "enabled": True}
            folded = _fold(values[key])
            row: Row | None = by_key.pop(folded, None)
            if row is None:
                self.plan.changes.append(Change("create", kind, values[key], project, scope=scope))
                if self.execute:
                    row = model(**(fixed or {}))
                    for name, value in values.items():
                        write(row, name, value)
                    self.session.add(row)
            else:
                diffs = tuple(
                    FieldChange(name, read(row, name), value)
                    for name, value in values.items()
                    if not _same(read(row, name), value)
                )
                if diffs:
                    self.plan.changes.append(Change("update", kind, getattr(row, key), project, diffs, scope))
                    if self.execute:
                        for change in diffs:
                            write(row, change.field, change.new)
            if row is not None:
                result[folded] = row
        for stale in by_key.values():
            if getattr(stale, "enabled", False):
                self.plan.changes.append(Change("disable", kind, getattr(stale, key), project, scope=scope))
                if self.execute:
                    stale.enabled = False
        if self.execute:
            await self.session.flush()
        return result


@dataclass
class _Reference:
    """A config field naming another row of the project (`oncall_service: SRE`), stored as that row's id.

    `rows` are the referenced rows by folded name as synced (with ids, except creations in a dry run);
    `names` are the names of every referenced row by id, for reading what a row points at now.
    """

    column: str
    rows: dict[str, Any]
    names: dict[int | None, str]


def _reference(column: str, existing: Iterable[Any], synced: dict[str, Any]) -> _Reference:
    names = {row.id: row.name for row in existing}
    names.update({row.id: row.name for row in synced.values()})
    return _Reference(column, synced, names)


def _by_reference(
    references: dict[str, _Reference],
) -> tuple[Callable[[Any, str], Any], Callable[[Any, str, Any], None]]:
    """The `read` and `write` for `_Differ.sync` of rows with `references`: names in, ids stored."""

    def read(row: Any, field: str) -> Any:
        reference = references.get(field)
        if reference is None:
            return getattr(row, field)
        target = getattr(row, reference.column)
        return reference.names.get(target) if target is not None else None

    def write(row: Any, field: str, value: Any) -> None:
        reference = references.get(field)
        if reference is None:
            setattr(row, field, value)
        else:
            setattr(row, reference.column, reference.rows[_fold(value)].id if value is not None else None)

    return read, write


def _spelled(name: str | None, spellings: dict[str, str]) -> str | None:
    """A reference as the referenced item spells itself in the file (references match case-insensitively)."""
    return spellings.get(_fold(name), name) if name is not None else None


async def plan(session: AsyncSession, config: WorkspaceConfig) -> Plan:
    """What `apply` would change, without writing anything."""
    return await _run(session, config, execute=False)


async def apply(session: AsyncSession, config: WorkspaceConfig) -> Plan:
    """Make the database match `config` and return the changes made; the caller commits.

    Applying the same config again yields an empty plan.
    """
    return await _run(session, config, execute=True)


async def _run(session: AsyncSession, config: WorkspaceConfig, *, execute: bool) -> Plan:
    issues = check_workspace(config)
    if issues:
        raise ConfigCheckError(issues)
    differ = _Differ(session, execute)
    await differ.sync(
        "role",
        RoleDefinition,
        await differ.rows(RoleDefinition),
        [role.model_dump() for role in config.roles],
    )
    await differ.sync(
        "resolution reason",
        CaseResolutionReason,
        await differ.rows(CaseResolutionReason),
        [reason.model_dump() for reason in config.case_resolution_reasons],
    )
    projects = await differ.sync(
        "project",
        Project,
        await differ.rows(Project),
        [_project_values(project) for project in config.projects],
    )
    roles = {_fold(role.name): role.name for role in config.roles}
    for project_config in config.projects:
        row = projects.get(_fold(project_config.name))
        project_id = row.id if row is not None else None
        await _sync_project(differ, project_config, project_id, roles)
    return differ.plan


def _project_values(project: ProjectConfig) -> dict[str, Any]:
    # Everything the config has beyond the row's columns is a child list; plugin choices are a column.
    nested = set(ProjectConfig.model_fields) - set(Project.model_fields)
    values = project.model_dump(exclude=nested)
    values["is_default"] = project.default
    return values


def _with_default(values: dict[str, Any]) -> dict[str, Any]:
    values["is_default"] = values.pop("default")
    return values


async def _sync_project(
    differ: _Differ, project: ProjectConfig, project_id: int | None, roles: dict[str, str]
) -> None:
    name = project.name

    async def existing(model: type[Row]) -> list[Row]:
        return await differ.project_rows(model, project_id)

    fixed = {"project_id": project_id}
    documents = {_fold(d.name): d.name for d in project.documents}
    types = {_fold(t.name): t.name for t in project.incident_types}
    cost_models = {_fold(m.name): m.name for m in project.cost_models}
    priorities = {_fold(p.name): p.name for p in project.priorities}

    def type_values(incident_type: Any) -> dict[str, Any]:
        values = _with_default(incident_type.model_dump())
        for template in ("incident_template", "executive_template", "review_template", "tracking_template"):
            if values[template] is not None:
                values[template] = documents[_fold(values[template])]
        if values["cost_model"] is not None:
            values["cost_model"] = cost_models[_fold(values["cost_model"])]
        return values

    # Documents first: incident types name their templates.
    await differ.sync(
        "document",
        Document,
        await existing(Document),
        [{**d.model_dump(exclude={"filters"}), "filters": to_column(d.filters)} for d in project.documents],
        project=name,
        fixed=fixed,
    )
    # Cost models before the types that name them.
    await differ.sync(
        "cost model",
        CostModel,
        await existing(CostModel),
        [
            {
                "name": m.name,
                "description": m.description,
                "active": m.enabled,
                "activities": [a.model_dump() for a in m.activities],
            }
            for m in project.cost_models
        ],
        project=name,
        fixed=fixed,
    )
    # The computed response cost is the bot's own: the file lists only the types people add to.
    await differ.sync(
        "cost type",
        IncidentCostType,
        [row for row in await existing(IncidentCostType) if row.editable],
        [t.model_dump() for t in project.cost_types],
        project=name,
        fixed={**fixed, "editable": True},
    )
    existing_types = await existing(IncidentType)
    incident_types = await differ.sync(
        "incident type",
        IncidentType,
        existing_types,
        [type_values(t) for t in project.incident_types],
        project=name,
        fixed=fixed,
    )
    await differ.sync(
        "severity",
        IncidentSeverity,
        await existing(IncidentSeverity),
        [_with_default(s.model_dump()) for s in project.severities],
        project=name,
        fixed=fixed,
    )
    await differ.sync(
        "priority",
        IncidentPriority,
        await existing(IncidentPriority),
        [_with_default(p.model_dump()) for p in project.priorities],
        project=name,
        fixed=fixed,
    )

    existing_services = await existing(Service)
    services = await differ.sync(
        "on-call service",
        Service,
        existing_services,
        [{**s.model_dump(exclude={"filters"}), "filters": to_column(s.filters)} for s in project.services],
        project=name,
        fixed=fixed,
    )
    service_spelling = {_fold(s.name): s.name for s in project.services}
    service = _reference("service_id", existing_services, services)
    read_policy, write_policy = _by_reference({"service": service})

    await differ.sync(
        "role policy",
        RolePolicy,
        await existing(RolePolicy),
        [
            {
                "name": p.name,
                "role": roles[_fold(p.role)],
                "incident_types": [types[_fold(t)] for t in p.incident_types],
                "incident_priorities": [priorities[_fold(t)] for t in p.incident_priorities],
                "service": _spelled(p.service, service_spelling),
                "individual_email": p.individual,
            }
            for p in project.role_policies
        ],
        project=name,
        fixed=fixed,
        read=read_policy,
        write=write_policy,
    )

    await differ.sync(
        "individual",
        IndividualContact,
        await existing(IndividualContact),
        [{**i.model_dump(exclude={"filters"}), "filters": to_column(i.filters)} for i in project.individuals],
        key="email",
        project=name,
        fixed=fixed,
    )
    await differ.sync(
        "team",
        TeamContact,
        await existing(TeamContact),
        [{**t.model_dump(exclude={"filters"}), "filters": to_column(t.filters)} for t in project.teams],
        project=name,
        fixed=fixed,
    )
    await differ.sync(
        "notification",
        Notification,
        await existing(Notification),
        [
            {**n.model_dump(exclude={"filters"}), "filters": to_column(n.filters)}
            for n in project.notifications
        ],
        project=name,
        fixed=fixed,
    )
    await differ.sync(
        "definition",
        Definition,
        await existing(Definition),
        [d.model_dump() for d in project.definitions],
        key="term",
        project=name,
        fixed=fixed,
    )
    await differ.sync(
        "workflow",
        Workflow,
        await existing(Workflow),
        [w.model_dump() for w in project.workflows],
        project=name,
        fixed=fixed,
    )

    existing_tag_types = await existing(TagType)
    tag_types = await differ.sync(
        "tag type",
        TagType,
        existing_tag_types,
        [t.model_dump(exclude={"tags"}) for t in project.tag_types],
        project=name,
        fixed=fixed,
    )
    existing_tags = await existing(Tag)
    wanted_tags = {_fold(t.name): t for t in project.tag_types}
    # Tags of a tag type that left the file are disabled along with it.
    all_types = {_fold(t.name): t for t in existing_tag_types} | tag_types
    for folded, tag_type_row in all_types.items():
        tag_type_config = wanted_tags.get(folded)
        scope = f"tag type {tag_type_config.name if tag_type_config else tag_type_row.name}"
        await differ.sync(
            "tag",
            Tag,
            [tag for tag in existing_tags if tag.tag_type_id == tag_type_row.id],
            [tag.model_dump() for tag in (tag_type_config.tags if tag_type_config else [])],
            project=name,
            scope=scope,
            fixed={"project_id": project_id, "tag_type_id": tag_type_row.id},
        )
    for folded, tag_type_config in wanted_tags.items():
        if folded not in all_types:
            # A dry run for a tag type that does not exist yet: every tag is a creation.
            await differ.sync(
                "tag",
                Tag,
                [],
                [tag.model_dump() for tag in tag_type_config.tags],
                project=name,
                scope=f"tag type {tag_type_config.name}",
            )

    await _sync_cases(
        differ,
        project,
        project_id,
        oncall_service=_reference("oncall_service_id", existing_services, services),
        incident_type=_reference("incident_type_id", existing_types, incident_types),
    )


def _case_type_values(
    case_type: CaseTypeConfig, services: dict[str, str], incident_types: dict[str, str]
) -> dict[str, Any]:
    """A case type's columns, its references by name as the items named spell themselves."""
    return {
        **case_type.model_dump(exclude={"enabled", "default", "oncall_service", "incident_type"}),
        "oncall_service": _spelled(case_type.oncall_service, services),
        "incident_type": _spelled(case_type.incident_type, incident_types),
        # The config's `enabled` says whether it is offered; the row's `enabled` whether it is in the file.
        "active": case_type.enabled,
        "is_default": case_type.default,
    }


async def _sync_cases(
    differ: _Differ,
    project: ProjectConfig,
    project_id: int | None,
    *,
    oncall_service: _Reference,
    incident_type: _Reference,
) -> None:
    """The project's case types, priorities, severities and signal definitions, after the services and
    incident types that case types name."""
    name = project.name
    fixed = {"project_id": project_id}

    async def existing(model: type[Row]) -> list[Row]:
        return await differ.project_rows(model, project_id)

    services = {_fold(s.name): s.name for s in project.services}
    incident_types = {_fold(t.name): t.name for t in project.incident_types}
    existing_case_types = await existing(CaseType)
    read_type, write_type = _by_reference({"oncall_service": oncall_service, "incident_type": incident_type})
    case_types = await differ.sync(
        "case type",
        CaseType,
        existing_case_types,
        [_case_type_values(t, services, incident_types) for t in project.case_types],
        project=name,
        fixed=fixed,
        read=read_type,
        write=write_type,
    )
    existing_priorities = await existing(CasePriority)
    case_priorities = await differ.sync(
        "case priority",
        CasePriority,
        existing_priorities,
        [_with_default(p.model_dump()) for p in project.case_priorities],
        project=name,
        fixed=fixed,
    )
    await differ.sync(
        "case severity",
        CaseSeverity,
        await existing(CaseSeverity),
        [_with_default(s.model_dump()) for s in project.case_severities],
        project=name,
        fixed=fixed,
    )
    type_names = {_fold(t.name): t.name for t in project.case_types}
    priority_names = {_fold(p.name): p.name for p in project.case_priorities}
    read_signal, write_signal = _by_reference(
        {
            "case_type": _reference("case_type_id", existing_case_types, case_types),
            "case_priority": _reference("case_priority_id", existing_priorities, case_priorities),
        }
    )
    await differ.sync(
        "signal definition",
        SignalDefinition,
        await existing(SignalDefinition),
        [
            {
                **signal.model_dump(exclude={"case_type", "case_priority"}),
                "case_type": _spelled(signal.case_type, type_names),
                "case_priority": _spelled(signal.case_priority, priority_names),
            }
            for signal in project.signals
        ],
        project=name,
        fixed=fixed,
        read=read_signal,
        write=write_signal,
    )


async def apply_case_defaults(session: AsyncSession) -> Plan:
    """Give a database configured before cases existed the built-in case configuration; the caller commits.

    Every project without a case type, priority or severity row gets the built-in ones, and the
    workspace its resolution reasons when it has none. Tables with any row, even disabled, are left
    alone: they were configured.
    """
    differ = _Differ(session, execute=True)
    if not await differ.rows(CaseResolutionReason):
        await differ.sync(
            "resolution reason",
            CaseResolutionReason,
            [],
            [reason.model_dump() for reason in builtin_resolution_reasons()],
        )
    builtins: list[tuple[str, type[SQLModel], Callable[[], list[Any]]]] = [
        ("case type", CaseType, builtin_case_types),
        ("case priority", CasePriority, builtin_case_priorities),
        ("case severity", CaseSeverity, builtin_case_severities),
    ]
    # The built-in case type names no service or incident type.
    read, write = _by_reference(
        {
            "oncall_service": _Reference("oncall_service_id", {}, {}),
            "incident_type": _Reference("incident_type_id", {}, {}),
        }
    )
    for project in await differ.rows(Project):
        for kind, model, defaults in builtins:
            if await differ.project_rows(model, project.id):
                continue
            values = [
                _case_type_values(item, {}, {}) if model is CaseType else _with_default(item.model_dump())
                for item in defaults()
            ]
            await differ.sync(
                kind,
                model,
                [],
                values,
                project=project.name,
                fixed={"project_id": project.id},
                read=read,
                write=write,
            )
    return differ.plan


async def export(session: AsyncSession) -> dict[str, Any]:
    """The enabled configuration as a config-file structure; applying it back changes nothing."""
    roles = (
        await session.exec(
            select(RoleDefinition).where(col(RoleDefinition.enabled)).order_by(col(RoleDefinition.id))
        )
    ).all()
    reasons = (
        await session.exec(
            select(CaseResolutionReason)
            .where(col(CaseResolutionReason.enabled))
            .order_by(col(CaseResolutionReason.id))
        )
    ).all()
    projects = (
        await session.exec(select(Project).where(col(Project.enabled)).order_by(col(Project.id)))
    ).all()
    data: dict[str, Any] = {
        "version": 1,
        "roles": [
            {
                "name": r.name,
                "description": r.description,
                "single_holder": r.single_holder,
                "cost_multiplier": r.cost_multiplier,
            }
            for r in roles
        ]
        or [role.model_dump() for role in builtin_roles()],
        "case_resolution_reasons": [{"name": r.name, "description": r.description} for r in reasons]
        or [reason.model_dump() for reason in builtin_resolution_reasons()],
        "projects": [await _export_project(session, project) for project in projects],
    }
    if not data["projects"]:
        return data
    config = WorkspaceConfig.model_validate(data)
    compact = config.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    # Spelled out even when they equal the defaults, so the export documents what the bot uses.
    return {
        "version": 1,
        "roles": data["roles"],
        "case_resolution_reasons": data["case_resolution_reasons"],
        "projects": compact["projects"],
    }


_COMMON = {"id", "project_id", "created_at", "updated_at", "enabled"}


def _plain(row: SQLModel, *, drop: Iterable[str] = ()) -> dict[str, Any]:
    values = row.model_dump(exclude=_COMMON | set(drop))
    if "is_default" in values:
        values["default"] = values.pop("is_default")
    if "filters" in values:
        filter = from_column(values.pop("filters"))
        if filter is not None:
            values["filters"] = filter.model_dump(mode="json", by_alias=True, exclude_none=True)
    return values


async def _enabled(session: AsyncSession, model: type[Row], project: Project) -> Sequence[Row]:
    statement = (
        select(model)
        .where(col(model.project_id) == project.id, col(model.enabled))  # type: ignore[attr-defined]
        .order_by(col(model.id))  # type: ignore[attr-defined]
    )
    return (await session.exec(statement)).all()


async def _names(session: AsyncSession, model: type[Row], project: Project) -> dict[int | None, str]:
    """Names of the project's rows by id, disabled ones too: a reference exports as what it points at."""
    statement = select(model).where(col(model.project_id) == project.id)  # type: ignore[attr-defined]
    return {row.id: row.name for row in (await session.exec(statement)).all()}  # type: ignore[attr-defined]


async def _export_project(session: AsyncSession, project: Project) -> dict[str, Any]:
    async def enabled(model: type[Row]) -> Sequence[Row]:
        return await _enabled(session, model, project)

    services = await enabled(Service)
    all_services = await _names(session, Service, project)
    policies = []
    for policy in await enabled(RolePolicy):
        values = _plain(policy, drop={"service_id", "individual_email"})
        if policy.service_id is not None and policy.service_id in all_services:
            values["service"] = all_services[policy.service_id]
        elif policy.individual_email:
            values["individual"] = policy.individual_email
        else:
            continue  # its service was deleted, so the policy cannot assign anyone
        policies.append(values)
    tags = await enabled(Tag)
    tag_types = []
    for tag_type in await enabled(TagType):
        values = _plain(tag_type)
        values["tags"] = [_plain(tag, drop={"tag_type_id"}) for tag in tags if tag.tag_type_id == tag_type.id]
        tag_types.append(values)
    values = _plain(project)
    values.update(
        {
            "incident_types": [_plain(row) for row in await enabled(IncidentType)],
            "severities": [_plain(row) for row in await enabled(IncidentSeverity)],
            "priorities": [_plain(row) for row in await enabled(IncidentPriority)],
            "role_policies": policies,
            "services": [_plain(row) for row in services],
            "individuals": [_plain(row) for row in await enabled(IndividualContact)],
            "teams": [_plain(row) for row in await enabled(TeamContact)],
            "notifications": [_plain(row) for row in await enabled(Notification)],
            "tag_types": tag_types,
            "documents": [_plain(row) for row in await enabled(Document)],
            "workflows": [_plain(row) for row in await enabled(Workflow)],
            "definitions": [_plain(row) for row in await enabled(Definition)],
            "cost_types": [
                _plain(row, drop={"editable", "default"})
                for row in await enabled(IncidentCostType)
                if row.editable
            ],
            "cost_models": [
                {**_plain(row, drop={"active"}), "enabled": row.active} for row in await enabled(CostModel)
            ],
        }
    )
    values.update(await _export_cases(session, project))
    return values


async def _export_cases(session: AsyncSession, project: Project) -> dict[str, Any]:
    """The project's case sections; an empty one is left out (its built-ins then apply), since a
    database configured before cases existed has none."""
    services, incident_types = (
        await _names(session, Service, project),
        await _names(session, IncidentType, project),
    )
    case_types, priorities = (
        await _names(session, CaseType, project),
        await _names(session, CasePriority, project),
    )
    sections: dict[str, Any] = {
        "case_types": [
            {
                **_plain(row, drop={"oncall_service_id", "incident_type_id", "active"}),
                "oncall_service": services.get(row.oncall_service_id),
                "incident_type": incident_types.get(row.incident_type_id),
                "enabled": row.active,
            }
            for row in await _enabled(session, CaseType, project)
        ],
        "case_priorities": [_plain(row) for row in await _enabled(session, CasePriority, project)],
        "case_severities": [_plain(row) for row in await _enabled(session, CaseSeverity, project)],
        "signals": [
            {
                **_plain(row, drop={"case_type_id", "case_priority_id"}),
                "case_type": case_types.get(row.case_type_id),
                "case_priority": priorities.get(row.case_priority_id),
            }
            for row in await _enabled(session, SignalDefinition, project)
        ],
    }
    return {key: items for key, items in sections.items() if items}
