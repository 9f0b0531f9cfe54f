"""Incident cost arithmetic: the documented examples, hand-computed classic cases and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from bot.costs.arithmetic import (
    RoleSpan,
    activity_cost,
    billable_hours,
    classic_cost,
    hourly_rate,
    merged_windows,
    review_hours,
    to_cents,
    window_seconds,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_first_documented_example_costs_16_67() -> None:
    messages = [("cookie", 100.0), ("nate", 200.0)]
    assert to_cents(activity_cost(messages, response_seconds=300, rate=100)) == Decimal("16.67")


def test_second_documented_example_merges_overlapping_windows_to_26_39() -> None:
    messages = [("cookie", 100.0), ("cookie", 150.0), ("nate", 200.0), ("cookie", 500.0)]
    assert merged_windows(messages, 300)["cookie"] == [(100.0, 450.0), (500.0, 800.0)]
    assert to_cents(activity_cost(messages, response_seconds=300, rate=100)) == Decimal("26.39")


def test_default_project_rate_is_25() -> None:
    assert hourly_rate(50_000, 2080) == 25
    assert hourly_rate(2080, 2080) == 1
    assert hourly_rate(2081, 2080) == 2


def test_classic_cost_weights_roles_and_skips_silent_holders_and_observers() -> None:
    spans = [
        RoleSpan("Incident Commander", T0, None, spoke=True),  # 2 h x 1
        RoleSpan("Scribe", T0 + timedelta(hours=1), None, spoke=True),  # 1 h x 0.75
        RoleSpan("Participant", T0, T0 + timedelta(minutes=30), spoke=True),  # 0.5 h x 0.5
        RoleSpan("Participant", T0, None, spoke=False),
        RoleSpan("Observer", T0, None, spoke=True),
    ]
    cost = classic_cost(spans, rate=25, since=None, until=T0 + timedelta(hours=2))
    assert cost == (2 + 0.75 + 0.25) * 25


def test_classic_cost_counts_only_time_since_the_last_update() -> None:
    spans = [RoleSpan("Incident Commander", T0, None, spoke=True)]
    since = T0 + timedelta(hours=1)
    assert classic_cost(spans, rate=25, since=since, until=T0 + timedelta(hours=3)) == 50
    gone = [RoleSpan("Scribe", T0, T0 + timedelta(minutes=20), spoke=True)]
    assert classic_cost(gone, rate=25, since=since, until=T0 + timedelta(hours=3)) == 0


def test_long_intervals_count_eight_working_hours_per_full_day() -> None:
    assert billable_hours(24 * 3600) == 24
    assert billable_hours(50 * 3600) == 2 * 8 + 2
    span = [RoleSpan("Incident Commander", T0, None, spoke=True)]
    assert classic_cost(span, rate=10, since=None, until=T0 + timedelta(hours=73)) == (3 * 8 + 1) * 10


def test_review_hours_are_added_once_at_stable() -> None:
    assert review_hours(4) == 3
    span = [RoleSpan("Reporter", T0, None, spoke=True)]
    cost = classic_cost(span, rate=25, since=None, until=T0 + timedelta(hours=2), review_participants=4)
    assert cost == (1 + 3) * 25


messages_strategy = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(min_value=0, max_value=10_000).map(float)),
    max_size=30,
)


@given(messages_strategy, st.integers(min_value=1, max_value=3600))
def test_windows_never_overlap_and_cover_every_message(messages: list[tuple[str, float]], rt: int) -> None:
    for person, windows in merged_windows(messages, rt).items():
        for (_, end), (start, _) in pairwise(windows):
            assert end < start
        for who, ts in messages:
            if who == person:
                assert any(s <= ts and ts + rt <= e for s, e in windows)


@given(messages_strategy, st.integers(min_value=1, max_value=3600))
def test_window_total_is_bounded_by_one_window_per_message(
    messages: list[tuple[str, float]], rt: int
) -> None:
    total = window_seconds(messages, rt)
    assert total <= len(messages) * rt
    assert total >= len({p for p, _ in messages}) * rt if messages else total == 0


@given(st.integers(min_value=0, max_value=30 * 24 * 3600))
def test_billable_hours_never_exceed_wall_hours(seconds: int) -> None:
    # Past 24 h the count drops to working hours, so it is deliberately not monotonic at the boundary.
    hours = seconds / 3600
    assert billable_hours(seconds) <= hours + 1e-9
    if hours > 24:
        assert abs(billable_hours(seconds) - (8 * (hours // 24) + hours % 24)) < 1e-9


@given(st.integers(min_value=1, max_value=10_000_000), st.integers(min_value=1, max_value=10_000))
def test_rate_is_the_smallest_whole_rate_covering_the_annual_cost(annual: int, hours: int) -> None:
    rate = hourly_rate(annual, hours)
    assert rate * hours >= annual > (rate - 1) * hours


def test_configured_multipliers_replace_the_defaults() -> None:
    span = [RoleSpan("Incident Commander", T0, None, spoke=True), RoleSpan("Scout", T0, None, spoke=True)]
    cost = classic_cost(
        span,
        rate=10,
        since=None,
        until=T0 + timedelta(hours=2),
        multipliers={"Incident Commander": 0.5, "Scout": 1},
    )
    assert cost == (2 * 0.5 + 2 * 1) * 10
