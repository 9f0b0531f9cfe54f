"""The filter language that picks incidents for contacts, notifications and runbook suggestions.

A filter is either a *condition* or a *combinator*:

* condition: a mapping of incident fields to accepted values, e.g. ``{type: [Security Incident],
  priority: [High]}``. Every field given must hold (AND); a field holds when the incident's value is one
  of the listed values (OR). Names compare case-insensitively. ``tags`` holds when the incident has at
  least one of the tags; ``words`` holds when at least one of the words or phrases occurs in the title
  or the description as whole words, ignoring case and punctuation ("Data-Breach!" contains the phrase
  "data breach"). A field the incident has no value for (no severity yet) does not hold.
* combinator: exactly one of ``any: [...]`` (at least one holds; ``any: []`` never matches),
  ``all: [...]`` (every one holds; ``all: []`` always matches) or ``not: {...}``.

An empty mapping ``{}`` is rejected rather than given a meaning, because it is almost always a mistake.
What an *absent* filter (``filters: null`` or no key) means depends on who owns it, see
`ABSENT_FILTER_MATCHES`: notification targets receive every incident, while contacts, on-call services
and documents are then never engaged or suggested automatically (only by hand or by a role policy).
Write ``filters: {all: []}`` to engage a contact on every incident.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

IncidentStatus = Literal["active", "stable", "closed"]
Visibility = Literal["open", "restricted"]

# Fields whose values name configured things; the cross-checks verify each reference.
NAMED_FIELDS = ("project", "type", "priority", "severity", "tags")
CONDITION_FIELDS = (*NAMED_FIELDS, "status", "visibility", "words")
COMBINATORS = ("any", "all", "not")

# Whether a row with no filter is engaged for every incident (True) or never automatically (False).
ABSENT_FILTER_MATCHES: Mapping[str, bool] = {
    "notification": True,
    "individual": False,
    "team": False,
    "service": False,
    "document": False,
}

_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """The words of `text`, case-folded, with punctuation and underscores treated as spaces."""
    return _TOKEN.findall(text.casefold())


def _listify(value: Any) -> Any:
    # A lone value is what people write for a single choice (`type: Security Incident`).
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [value]
    return value


def _phrase(value: str) -> str:
    if not tokens(value):
        raise ValueError(f"{value!r} has no letters or digits to match")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Names = Annotated[list[Name], BeforeValidator(_listify), Field(min_length=1)]
Phrase = Annotated[Name, BeforeValidator(lambda value: _phrase(value) if isinstance(value, str) else value)]


class Filter(BaseModel):
    """One node of a filter: conditions over incident fields, or one of any/all/not."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, coerce_numbers_to_str=True)

    project: Names | None = None
    type: Names | None = None
    priority: Names | None = None
    severity: Names | None = None
    tags: Names | None = None
    status: Annotated[list[IncidentStatus], BeforeValidator(_listify), Field(min_length=1)] | None = None
    visibility: Annotated[list[Visibility], BeforeValidator(_listify), Field(min_length=1)] | None = None
    words: Annotated[list[Phrase], BeforeValidator(_listify), Field(min_length=1)] | None = None
    any: list[Filter] | None = None
    all: list[Filter] | None = None
    not_: Filter | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _condition_or_one_combinator(self) -> Filter:
        conditions = [name for name in CONDITION_FIELDS if getattr(self, name) is not None]
        combinators = [name for name in COMBINATORS if self.combinator_value(name) is not None]
        if conditions and combinators:
            raise ValueError(
                f"a filter is either conditions or one of any/all/not, not both "
                f"(found {', '.join(conditions + combinators)}); put the conditions inside all: [...]"
            )
        if len(combinators) > 1:
            found = " and ".join(combinators)
            raise ValueError(f"a filter takes one of any/all/not, found {found}; nest them")
        if not conditions and not combinators:
            raise ValueError(
                "empty filter: give conditions (" + ", ".join(CONDITION_FIELDS) + ") or any/all/not; "
                "write all: [] to match every incident"
            )
        return self

    def combinator_value(self, name: str) -> list[Filter] | Filter | None:
        """The sub-filters under `any`, `all` or `not` (None when this node is not that combinator)."""
        value: list[Filter] | Filter | None = self.not_ if name == "not" else getattr(self, name)
        return value


@dataclass(frozen=True)
class IncidentFacts:
    """What a filter can see of an incident: names rather than ids, so it works on config and on rows."""

    project: str
    type: str | None = None
    priority: str | None = None
    severity: str | None = None
    status: str = "active"
    visibility: str = "open"
    tags: frozenset[str] = frozenset()
    title: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        # Callers naturally hold tags as a list (the incident row's JSON column).
        object.__setattr__(self, "tags", frozenset(self.tags))

    @cached_property
    def _folded_tags(self) -> frozenset[str]:
        return frozenset(tag.casefold() for tag in self.tags)

    @cached_property
    def _texts(self) -> tuple[str, str]:
        # Padded with spaces so a phrase only matches on word boundaries; title and description stay
        # apart so a phrase cannot straddle the end of one and the start of the other.
        return f" {' '.join(tokens(self.title))} ", f" {' '.join(tokens(self.description))} "

    def value(self, field: str) -> str | None:
        result: str | None = getattr(self, field)
        return result

    def has_tag(self, names: Iterable[str]) -> bool:
        return any(name.casefold() in self._folded_tags for name in names)

    def mentions(self, phrase: str) -> bool:
        needle = f" {' '.join(tokens(phrase))} "
        return needle.strip() != "" and any(needle in text for text in self._texts)


def matches(filter: Filter, facts: IncidentFacts) -> bool:
    """Whether the incident described by `facts` satisfies `filter` (see the module docstring)."""
    if filter.any is not None:
        return any(matches(child, facts) for child in filter.any)
    if filter.all is not None:
        return all(matches(child, facts) for child in filter.all)
    if filter.not_ is not None:
        return not matches(filter.not_, facts)
    return all(_condition_holds(field, values, facts) for field, values in _conditions(filter))


def _conditions(filter: Filter) -> Iterator[tuple[str, list[str]]]:
    for field in CONDITION_FIELDS:
        values = getattr(filter, field)
        if values is not None:
            yield field, list(values)


def _condition_holds(field: str, values: list[str], facts: IncidentFacts) -> bool:
    if field == "tags":
        return facts.has_tag(values)
    if field == "words":
        return any(facts.mentions(phrase) for phrase in values)
    actual = facts.value(field)
    return actual is not None and actual.casefold() in {value.casefold() for value in values}


def to_column(filter: Filter | None) -> dict[str, Any]:
    """The JSON stored in a table's `filters` column; `{}` stands for an absent filter."""
    if filter is None:
        return {}
    return filter.model_dump(mode="json", by_alias=True, exclude_none=True)


def from_column(data: Mapping[str, Any] | None) -> Filter | None:
    """The filter stored by `to_column` (None when the column holds an absent filter)."""
    if not data:
        return None
    return Filter.model_validate(dict(data))


def matches_stored(data: Mapping[str, Any] | None, facts: IncidentFacts, *, when_absent: bool) -> bool:
    """`matches` for a `filters` column; `when_absent` comes from `ABSENT_FILTER_MATCHES` for the owner."""
    filter = from_column(data)
    if filter is None:
        return when_absent
    return matches(filter, facts)


def references(filter: Filter) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    """Every name the filter mentions as (location inside the filter, field, name), for cross-checks."""
    for name in COMBINATORS:
        child = filter.combinator_value(name)
        if isinstance(child, Filter):
            for loc, field, value in references(child):
                yield (name, *loc), field, value
        elif child is not None:
            for index, item in enumerate(child):
                for loc, field, value in references(item):
                    yield (name, index, *loc), field, value
    for field in NAMED_FIELDS:
        for index, value in enumerate(getattr(filter, field) or []):
            yield (field, index), field, value


def describe(filter: Filter | None, *, when_absent: bool = True) -> str:
    """A short English rendering, for telling someone why they were engaged or notified."""
    if filter is None:
        return "every incident" if when_absent else "no incident (engaged by hand only)"
    if filter.any is not None:
        if not filter.any:
            return "no incident"
        return " or ".join(_grouped(child) for child in filter.any)
    if filter.all is not None:
        if not filter.all:
            return "every incident"
        return " and ".join(_grouped(child) for child in filter.all)
    if filter.not_ is not None:
        return f"not {_grouped(filter.not_)}"
    parts = []
    for field, values in _conditions(filter):
        shown = ", ".join(values)
        if field == "words":
            parts.append(f"mentions {shown}")
        elif field == "tags":
            parts.append(f"tagged {shown}")
        else:
            parts.append(f"{field} is {shown}" if len(values) == 1 else f"{field} in {shown}")
    return " and ".join(parts)


def _grouped(filter: Filter) -> str:
    text = describe(filter)
    return f"({text})" if " and " in text or " or " in text else text
