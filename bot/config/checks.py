"""The cross-checks a schema alone cannot express: names unique, one default, references that resolve."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter
from typing import Any

from bot.config.filters import references
from bot.config.schema import (
    BUILTIN_RESOLUTION_REASONS,
    BUILTIN_ROLE_NAMES,
    TEMPLATE_FIELDS,
    Issue,
    Loc,
    ProjectConfig,
    ResolutionReasonConfig,
    RoleConfig,
    WorkspaceConfig,
    builtin_roles,
)
from storage.models.cost import RESPONSE_COST


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


def _one_default(items: Sequence[Any], where: Loc, list_name: str, what: str) -> Iterator[Issue]:
    """Exactly one default: the bot falls back to it whenever nobody chose."""
    yield from _single_default(enumerate(items), where, list_name, what)
    if not any(item.default for item in items):
        yield (
            (*where, list_name),
            f"one {what} must be the default (default: true); "
            f"leave {list_name}: out to get the built-in ones",
        )


def _missing_builtins(names: Iterable[str], builtins: Sequence[str]) -> list[str]:
    present = {_fold(name) for name in names}
    return [name for name in builtins if _fold(name) not in present]


def check_roles(roles: Sequence[RoleConfig]) -> list[Issue]:
    issues = list(_duplicates(enumerate(roles), lambda role: role.name, (), "roles", "role name"))
    missing = _missing_builtins((role.name for role in roles), BUILTIN_ROLE_NAMES)
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


def check_resolution_reasons(reasons: Sequence[ResolutionReasonConfig]) -> list[Issue]:
    list_name = "case_resolution_reasons"
    issues = list(_duplicates(enumerate(reasons), lambda r: r.name, (), list_name, "resolution reason"))
    missing = _missing_builtins((reason.name for reason in reasons), BUILTIN_RESOLUTION_REASONS)
    if missing:
        plural = "s" if len(missing) > 1 else ""
        issues.append(
            (
                (list_name,),
                f"missing built-in resolution reason{plural} {', '.join(map(repr, missing))}: the bot closes "
                "escalated cases as Escalated and auto_close cases as User Acknowledged; list them, "
                f"or leave {list_name}: out to get the defaults",
            )
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
        ("case_types", "case type name", "name"),
        ("case_priorities", "case priority name", "name"),
        ("case_severities", "case severity name", "name"),
        ("signals", "signal name", "name"),
        ("definitions", "defined term", "term"),
    ):
        items = getattr(project, list_name)
        issues += _duplicates(enumerate(items), attrgetter(key), at, list_name, what, key)
    # Lists inside list items: (parent list, child list, child key, what a duplicate is called).
    nested: tuple[tuple[str, str, str, Callable[[Any], str]], ...] = (
        ("tag_types", "tags", "name", lambda tag_type: f"tag name in {tag_type.name!r}"),
        ("workflows", "parameters", "key", lambda _: "parameter key"),
        ("cost_models", "activities", "kind", lambda _: "activity"),
        ("signals", "entity_types", "name", lambda signal: f"entity type name in {signal.name!r}"),
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
    issues += _check_cases(at, project)

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


def _check_cases(at: Loc, project: ProjectConfig) -> Iterator[Issue]:
    """Case types, priorities and severities each have one default; case types and signals name
    things that exist in the project."""
    yield from _one_default(project.case_types, at, "case_types", "case type")
    yield from _one_default(project.case_priorities, at, "case_priorities", "case priority")
    yield from _one_default(project.case_severities, at, "case_severities", "case severity")
    # An external id is how an alert names its definition, so two definitions cannot share one.
    with_ids = [(i, s) for i, s in enumerate(project.signals) if s.external_id is not None]
    yield from _duplicates(
        with_ids, attrgetter("external_id"), at, "signals", "signal external_id", "external_id"
    )

    services = [s.name for s in project.services]
    incident_types = [t.name for t in project.incident_types]
    for index, case_type in enumerate(project.case_types):
        loc = (*at, "case_types", index)
        if case_type.default and not case_type.enabled:
            yield (*loc, "enabled"), "the default case type cannot be disabled; make another one the default"
        if case_type.oncall_service is not None:
            yield from _unknown(
                case_type.oncall_service, services, (*loc, "oncall_service"), "on-call service"
            )
        if case_type.incident_type is not None:
            yield from _unknown(
                case_type.incident_type, incident_types, (*loc, "incident_type"), "incident type"
            )

    case_types = {_fold(t.name): t for t in project.case_types}
    enabled_types = [t.name for t in project.case_types if t.enabled]
    priorities = [p.name for p in project.case_priorities]
    for index, signal in enumerate(project.signals):
        loc = (*at, "signals", index)
        if signal.case_type is not None:
            named = case_types.get(_fold(signal.case_type))
            if named is not None and not named.enabled:
                yield (
                    (*loc, "case_type"),
                    f"case type {named.name!r} is disabled, so no case could be opened "
                    f"({_known(enabled_types)})",
                )
            else:
                yield from _unknown(signal.case_type, enabled_types, (*loc, "case_type"), "case type")
        if signal.case_priority is not None:
            yield from _unknown(signal.case_priority, priorities, (*loc, "case_priority"), "case priority")
        for entity_index, entity_type in enumerate(signal.entity_types):
            if entity_type.json_path is None and entity_type.regex is None:
                yield (
                    (*loc, "entity_types", entity_index),
                    f"entity type {entity_type.name!r} needs a json_path, a regex, or both",
                )


def _unknown(name: str, known: Sequence[str], loc: Loc, what: str) -> Iterator[Issue]:
    if _fold(name) not in {_fold(k) for k in known}:
        yield loc, f"unknown {what} {name!r} ({_known(known)})"


def check_workspace(config: WorkspaceConfig) -> list[Issue]:
    """Every cross-check of a schema-valid config; an empty list means the config can be applied."""
    return check_parts(
        config.roles, list(enumerate(config.projects)), resolution_reasons=config.case_resolution_reasons
    )


def check_parts(
    roles: Sequence[RoleConfig] | None,
    projects: Sequence[tuple[int, ProjectConfig]],
    *,
    role_names: Sequence[str] | None = None,
    project_names: Sequence[str] | None = None,
    resolution_reasons: Sequence[ResolutionReasonConfig] | None = None,
) -> list[Issue]:
    """Cross-checks over the parts of a file that passed the schema, keeping their indices in the file.

    The loader uses this when some parts are invalid, so that one typo does not hide every other
    problem; `role_names` and `project_names` then come from the raw file. Parts given as None (roles,
    resolution reasons) failed the schema and are not cross-checked.
    """
    issues = check_roles(roles) if roles is not None else []
    if resolution_reasons is not None:
        issues += check_resolution_reasons(resolution_reasons)
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
