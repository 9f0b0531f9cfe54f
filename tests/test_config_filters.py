"""The filter language: combinator laws, word matching, storage form and the absent-filter rule."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.config.filters import (
    ABSENT_FILTER_MATCHES,
    Filter,
    IncidentFacts,
    describe,
    from_column,
    matches,
    matches_stored,
    to_column,
)

TYPES = ["Security Incident", "Service Outage", "Simulation"]
PRIORITIES = ["Low", "Medium", "High"]
SEVERITIES = ["Undetermined", "Low", "High"]
TAGS = ["postgres", "redis", "payments"]
WORDS = ["database", "checkout", "lag", "breach"]

facts_strategy = st.builds(
    IncidentFacts,
    project=st.sampled_from(["default", "security"]),
    type=st.none() | st.sampled_from(TYPES),
    priority=st.none() | st.sampled_from(PRIORITIES),
    severity=st.none() | st.sampled_from(SEVERITIES),
    status=st.sampled_from(["active", "stable", "closed"]),
    visibility=st.sampled_from(["open", "restricted"]),
    tags=st.frozensets(st.sampled_from(TAGS), max_size=2),
    title=st.lists(st.sampled_from([*WORDS, "the", "is", "slow"]), max_size=5).map(" ".join),
    description=st.lists(st.sampled_from([*WORDS, "replication", "down"]), max_size=5).map(" ".join),
)


def _some(values: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True)


condition_strategy = st.fixed_dictionaries(
    {},
    optional={
        "project": _some(["default", "security"]),
        "type": _some(TYPES),
        "priority": _some(PRIORITIES),
        "severity": _some(SEVERITIES),
        "status": _some(["active", "stable", "closed"]),
        "visibility": _some(["open", "restricted"]),
        "tags": _some(TAGS),
        "words": _some([*WORDS, "replication lag"]),
    },
).filter(bool)

filter_dicts: st.SearchStrategy[dict[str, Any]] = st.recursive(
    condition_strategy,
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda items: {"any": items}),
        st.lists(children, max_size=3).map(lambda items: {"all": items}),
        children.map(lambda child: {"not": child}),
    ),
    max_leaves=6,
)
filters = filter_dicts.map(Filter.model_validate)


@given(filters, facts_strategy)
def test_not_inverts(filter: Filter, facts: IncidentFacts) -> None:
    assert matches(Filter.model_validate({"not": to_column(filter)}), facts) is not matches(filter, facts)


@given(filters, facts_strategy)
def test_all_or_any_of_one_is_that_one(filter: Filter, facts: IncidentFacts) -> None:
    single = to_column(filter)
    assert matches(Filter.model_validate({"all": [single]}), facts) == matches(filter, facts)
    assert matches(Filter.model_validate({"any": [single]}), facts) == matches(filter, facts)


@given(st.lists(filter_dicts, max_size=3), facts_strategy)
def test_de_morgan(children: list[dict[str, Any]], facts: IncidentFacts) -> None:
    negated_any = Filter.model_validate({"not": {"any": children}})
    all_negated = Filter.model_validate({"all": [{"not": child} for child in children]})
    assert matches(negated_any, facts) == matches(all_negated, facts)


@given(facts_strategy)
def test_empty_any_never_matches_and_empty_all_always_does(facts: IncidentFacts) -> None:
    assert matches(Filter.model_validate({"any": []}), facts) is False
    assert matches(Filter.model_validate({"all": []}), facts) is True


@given(filters)
def test_column_form_round_trips(filter: Filter) -> None:
    assert from_column(to_column(filter)) == filter


@given(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    st.lists(st.sampled_from(["-", "!", ", ", "...", " (", ") ", "_", "'", " / "]), min_size=4, max_size=4),
    st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_words_ignore_case_and_punctuation(
    phrase: list[str], separators: list[str], upper: list[bool]
) -> None:
    cased = [word.upper() if up else word.capitalize() for word, up in zip(phrase, upper, strict=False)]
    title = separators[0] + separators[1].join(cased) + separators[2] + "tail" + separators[3]
    facts = IncidentFacts(project="default", title=title)
    assert matches(Filter(words=[" ".join(phrase)]), facts)
    assert matches(Filter(words=["-".join(phrase).upper() + "!"]), facts)


@given(st.sampled_from(WORDS), st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=3))
def test_words_match_whole_words_only(word: str, glue: str) -> None:
    glued = IncidentFacts(project="default", title=f"{glue}{word} {word}{glue}", description=f"{glue}{word}")
    assert not matches(Filter(words=[word]), glued)


def test_a_phrase_does_not_straddle_title_and_description() -> None:
    facts = IncidentFacts(project="default", title="checkout is slow", description="database down")
    assert not matches(Filter(words=["slow database"]), facts)
    assert matches(Filter(words=["Slow"]), facts)


@given(st.sampled_from(TYPES))
def test_names_compare_case_insensitively(incident_type: str) -> None:
    facts = IncidentFacts(project="Default", type=incident_type.upper())
    assert matches(Filter(type=[incident_type.lower()], project=["default"]), facts)


def test_conditions_and_fields_or_values() -> None:
    filter = Filter(type=["Service Outage"], priority=["High", "Medium"])
    assert matches(filter, IncidentFacts(project="p", type="Service Outage", priority="Medium"))
    assert not matches(filter, IncidentFacts(project="p", type="Service Outage", priority="Low"))
    assert not matches(filter, IncidentFacts(project="p", type="Simulation", priority="High"))


def test_a_field_the_incident_lacks_does_not_hold() -> None:
    assert not matches(Filter(severity=["High"]), IncidentFacts(project="p", severity=None))
    assert matches(Filter.model_validate({"not": {"severity": "High"}}), IncidentFacts(project="p"))


def test_tags_hold_when_any_listed_tag_is_present() -> None:
    filter = Filter(tags=["postgres", "redis"])
    assert matches(filter, IncidentFacts(project="p", tags=frozenset({"Redis", "payments"})))
    assert not matches(filter, IncidentFacts(project="p", tags=frozenset({"payments"})))


def test_a_single_value_may_be_written_without_a_list() -> None:
    assert Filter.model_validate({"type": "Simulation"}).type == ["Simulation"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "empty filter"),
        ({"type": [], "priority": ["High"]}, "at least 1 item"),
        ({"type": ["A"], "any": []}, "either conditions or one of any/all/not"),
        ({"any": [], "all": []}, "one of any/all/not"),
        ({"words": ["?!"]}, "no letters or digits"),
        ({"status": ["open"]}, "'active', 'stable' or 'closed'"),
        ({"colour": ["red"]}, "Extra inputs are not permitted"),
    ],
)
def test_malformed_filters_are_rejected(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Filter.model_validate(data)


def test_absent_filters_notify_everything_but_engage_nobody() -> None:
    facts = IncidentFacts(project="default", type="Simulation")
    assert to_column(None) == {}
    assert matches_stored({}, facts, when_absent=ABSENT_FILTER_MATCHES["notification"])
    for owner in ("individual", "team", "service", "document"):
        assert not matches_stored({}, facts, when_absent=ABSENT_FILTER_MATCHES[owner])
    assert matches_stored({"type": ["simulation"]}, facts, when_absent=False)


def test_describe_reads_like_english() -> None:
    filter = Filter.model_validate(
        {"all": [{"type": ["Service Outage"]}, {"not": {"priority": ["Low"]}}, {"words": ["db lag"]}]}
    )
    assert describe(filter) == "type is Service Outage and not priority is Low and mentions db lag"
    assert describe(None) == "every incident"
    assert describe(None, when_absent=False).startswith("no incident")
