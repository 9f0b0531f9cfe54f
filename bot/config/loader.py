"""Reads the workspace YAML file; every problem in it becomes an error naming its path and line."""

from __future__ import annotations

import copy
import difflib
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.config.checks import check_parts, check_workspace, format_loc
from bot.config.schema import (
    CasePriorityConfig,
    CaseSeverityConfig,
    CaseTypeConfig,
    EntityTypeConfig,
    Issue,
    Loc,
    ProjectConfig,
    ResolutionReasonConfig,
    RoleConfig,
    WorkspaceConfig,
)

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class ConfigError:
    """One problem in the file; `path` is empty for problems with the file as a whole."""

    path: str
    line: int | None
    message: str

    def render(self, source: str) -> str:
        """`config.yaml:12: projects[0].priorities[1].name: message`, as compilers print it."""
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class LoadResult:
    """The validated config (None when there are errors) and every error found."""

    source: str
    config: WorkspaceConfig | None
    errors: list[ConfigError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.config is not None and not self.errors

    def rendered_errors(self) -> list[str]:
        return [error.render(self.source) for error in self.errors]


class LineLoader(yaml.SafeLoader):
    """A SafeLoader that builds plain data, remembers the line where each path starts, and reports
    duplicate keys (which PyYAML would silently let the last one win)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines: dict[Loc, int] = {}
        self.problems: list[ConfigError] = []
        self._active: set[int] = set()

    def load_tracked(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        return self._build(node, ())

    def line_of(self, loc: Loc) -> int | None:
        """The line of the longest prefix of `loc` present in the file (a missing key → its mapping)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None

    def _build(self, node: Node, loc: Loc) -> Any:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in self._active:
            self.problems.append(ConfigError(format_loc(loc), node.start_mark.line + 1, "recursive alias"))
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, loc)
            if isinstance(node, SequenceNode):
                return [self._build(child, (*loc, index)) for index, child in enumerate(node.value)]
            return self._scalar(node)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[Any, Any]:
        explicit = sum(1 for key, _ in node.value if key.tag != _MERGE_TAG)
        self.flatten_mapping(node)
        # flatten_mapping puts keys merged in with `<<:` first; explicit keys may override those.
        merged = len(node.value) - explicit
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for position, (key_node, value_node) in enumerate(node.value):
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                self.problems.append(ConfigError(format_loc(loc), line, "a key must be a plain name"))
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            if position >= merged and key in first_line:
                self.problems.append(
                    ConfigError(
                        format_loc((*loc, key)),
                        line,
                        f"duplicate key {key!r} (first at line {first_line[key]})",
                    )
                )
                continue
            if position >= merged:
                first_line[key] = line
            self.lines[(*loc, key)] = line
            result[key] = self._build(value_node, (*loc, key))
        return result

    def _scalar(self, node: Node) -> Any:
        # YAML 1.1 reads 18:30 as the base-60 number 1110; a clock time is what people mean.
        if (
            isinstance(node, ScalarNode)
            and node.style is None
            and node.tag in (_INT_TAG, _FLOAT_TAG)
            and ":" in node.value
        ):
            return node.value
        return self.construct_object(node, deep=True)


def load_config(path: str | Path) -> LoadResult:
    """Read and validate the config file at `path`; errors are collected, never raised."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return LoadResult(source, None, [ConfigError("", None, f"cannot read the file: {error}")])
    return parse_config(text, source)


def parse_config(text: str, source: str = "<config>") -> LoadResult:
    """Validate config text; `source` is the name errors are reported under."""
    loader = LineLoader(text)
    try:
        data = loader.load_tracked()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "cannot parse"
        return LoadResult(source, None, [ConfigError("", line, f"YAML syntax error: {problem}")])
    except yaml.YAMLError as error:
        return LoadResult(source, None, [ConfigError("", None, f"YAML syntax error: {error}")])
    finally:
        loader.dispose()
    errors = list(loader.problems)
    if data is None:
        errors.append(ConfigError("", 1, "the file is empty; it needs at least a projects: list"))
        return LoadResult(source, None, errors)
    if not isinstance(data, dict):
        errors.append(ConfigError("", 1, "the file must be a mapping with a projects: list"))
        return LoadResult(source, None, errors)

    config: WorkspaceConfig | None = None
    try:
        config = WorkspaceConfig.model_validate(data)
    except ValidationError as error:
        errors += [_from_pydantic(details, loader) for details in error.errors()]
        issues = _check_valid_parts(data)
    else:
        issues = check_workspace(config)
    errors += [_from_issue(issue, loader) for issue in issues]
    errors.sort(key=lambda error: error.line or 0)
    return LoadResult(source, config if not errors else None, errors)


def _check_valid_parts(data: dict[Any, Any]) -> list[Issue]:
    """Cross-check the roles, resolution reasons and projects that passed the schema, so all problems
    show in one run."""
    reasons: list[ResolutionReasonConfig] | None = None
    raw_reasons = data.get("case_resolution_reasons")
    if raw_reasons is not None:
        try:
            reasons = TypeAdapter(list[ResolutionReasonConfig]).validate_python(raw_reasons)
        except ValidationError:
            reasons = None
    raw_roles = data.get("roles")
    roles: list[RoleConfig] | None
    role_names: list[str] | None = None
    if raw_roles is None:
        roles = None
    else:
        try:
            roles = TypeAdapter(list[RoleConfig]).validate_python(raw_roles)
        except ValidationError:
            roles = None
            role_names = _raw_names(raw_roles)
    raw_projects = data.get("projects")
    if not isinstance(raw_projects, list):
        return check_parts(roles, [], role_names=role_names, resolution_reasons=reasons)
    projects: list[tuple[int, ProjectConfig]] = []
    for index, raw in enumerate(raw_projects):
        project = _salvage(raw)
        if project is not None:
            projects.append((index, project))
    return check_parts(
        roles,
        projects,
        role_names=role_names,
        project_names=_raw_names(raw_projects),
        resolution_reasons=reasons,
    )


def _salvage(raw: Any) -> ProjectConfig | None:
    """The project with its invalid optional keys dropped, or None when that cannot make it valid.

    Only keys whose absence cannot cause a false cross-check error are dropped: never a list of
    named items (priorities, documents...), because references to them would then look unknown.
    """
    if not isinstance(raw, dict):
        return None
    data = copy.deepcopy(raw)
    for _ in range(100):
        try:
            return ProjectConfig.model_validate(data)
        except ValidationError as error:
            if not all(_drop(data, tuple(details["loc"])) for details in error.errors()):
                return None
    return None


# Invalid keys that are replaced rather than dropped: a project cannot go without its prefix, and an
# entity type without its regex or JSON path would look as if it had neither. Nothing refers to these
# values, so a stand-in lets the rest of the project be checked.
_STAND_INS: dict[tuple[type[BaseModel], str], Callable[[dict[Any, Any]], Any]] = {
    (ProjectConfig, "prefix"): lambda parent: f"INVALID{id(parent)}"[:20],
    (EntityTypeConfig, "regex"): lambda _: "(?!)",
    (EntityTypeConfig, "json_path"): lambda _: "$",
}
# Invalid keys that are neither dropped nor replaced: without them a list would seem to lack its default.
_NEEDED = {(CaseTypeConfig, "default"), (CasePriorityConfig, "default"), (CaseSeverityConfig, "default")}


def _drop(data: dict[Any, Any], loc: Loc) -> bool:
    loc = tuple(part for part in loc if part != "[key]")
    for end in range(len(loc), 0, -1):
        parent_loc, key = loc[: end - 1], loc[end - 1]
        parent = _get(data, parent_loc)
        if not isinstance(parent, dict) or key not in parent:
            continue
        annotation = _step(_annotation_at(ProjectConfig, parent_loc), key) if isinstance(key, str) else None
        model = _model_in(_annotation_at(ProjectConfig, parent_loc))
        info = model.model_fields.get(str(key)) if model is not None else None
        stand_in = _STAND_INS.get((model, str(key))) if model is not None else None
        if stand_in is not None:
            parent[key] = stand_in(parent)
            return True
        if (info is not None and info.is_required()) or (model, str(key)) in _NEEDED:
            return False
        if annotation is not None and any(
            get_origin(alt) is list and _model_in(get_args(alt)[0]) is not None
            for alt in _alternatives(annotation)
        ):
            return False
        del parent[key]
        return True
    return False


def _get(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _annotation_at(root: Any, loc: Loc) -> Any:
    current = root
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    return current


def _raw_names(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(item["name"]) for item in items if isinstance(item, dict) and "name" in item]


def _from_issue(issue: Issue, loader: LineLoader) -> ConfigError:
    loc, message = issue
    return ConfigError(format_loc(loc), loader.line_of(loc), message)


def _from_pydantic(details: ErrorDetails, loader: LineLoader) -> ConfigError:
    # Pydantic marks errors about a dict key with a trailing "[key]"; the key itself is the location.
    about_key = details["loc"][-1:] == ("[key]",)
    loc: Loc = tuple(part for part in details["loc"] if part != "[key]")
    message = details["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    kind = details["type"]
    if about_key and kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(details.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(str(loc[-1]), expected, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "expected one of " + ", ".join(expected)
        message = f"unknown key {loc[-1]!r} ({hint})"
    elif kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}" + _suggestion(loc)
    elif kind == "missing":
        message = f"missing required key {loc[-1]!r}"
    return ConfigError(format_loc(loc), loader.line_of(loc), message)


def _suggestion(loc: Loc) -> str:
    allowed = _keys_at(loc[:-1])
    if not allowed:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return " (expected one of " + ", ".join(allowed) + ")"


def _keys_at(loc: Loc) -> list[str]:
    """The keys the schema accepts for the mapping at `loc`, found by walking the model annotations."""
    model = _model_in(_annotation_at(WorkspaceConfig, loc))
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _step(annotation: Any, part: str | int) -> Any:
    model = _model_in(annotation)
    if model is not None and isinstance(part, str):
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    for candidate in _alternatives(annotation):
        origin = get_origin(candidate)
        if origin is list and isinstance(part, int):
            return get_args(candidate)[0]
        if origin is dict and isinstance(part, str):
            return get_args(candidate)[1]
    return None


def _alternatives(annotation: Any) -> list[Any]:
    if get_origin(annotation) is typing.Annotated:
        return _alternatives(get_args(annotation)[0])
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return [alt for arg in get_args(annotation) for alt in _alternatives(arg)]
    return [annotation]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for candidate in _alternatives(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None
