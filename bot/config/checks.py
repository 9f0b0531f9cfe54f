"""The cross-checks a schema alone cannot express: names unique, one default, references that resolve."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter
from typing import Any

from bot.config.filters import references
from bot.config.schema import (
    BUILTIN_ROLE_NAMES,
    TEMPLATE_FIELDS,
    Issue,
    Loc,
    ProjectConfig,
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
        ("definitions", "defined term", "term"),
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
