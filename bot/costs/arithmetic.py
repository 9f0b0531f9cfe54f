"""Pure incident cost arithmetic: hourly rate, classic role-time cost, activity-window cost (no I/O)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

SECONDS_IN_HOUR = 3600
HOURS_IN_DAY = 24
# A full day of incident response counts as one working day, not a day and a night.
WORKING_HOURS_PER_DAY = 8

# Defaults; a workspace's roles config carries its own multipliers and is passed in instead.
ENGAGEMENT_MULTIPLIER: Mapping[str, float] = {
    "Incident Commander": 1.0,
    "Scribe": 0.75,
    "Liaison": 0.75,
    "Participant": 0.5,
    "Reporter": 0.5,
    "Observer": 0.0,
}


def hourly_rate(annual_employee_cost: int, business_year_hours: int) -> int:
    """Whole-currency hourly rate of one responder, rounded up."""
    return math.ceil(annual_employee_cost / business_year_hours)


def billable_hours(seconds: float) -> float:
    """Hours an interval of `seconds` counts for; each full day beyond the first 24 h counts 8 hours."""
    hours = seconds / SECONDS_IN_HOUR
    if hours <= HOURS_IN_DAY:
        return hours
    days, remainder = divmod(hours, HOURS_IN_DAY)
    return days * HOURS_IN_DAY / 3 + remainder


@dataclass(frozen=True)
class RoleSpan:
    """One role held by one participant: when it was assumed, renounced, and whether its holder spoke."""

    role: str
    assumed_at: datetime
    renounced_at: datetime | None
    spoke: bool


def role_hours(
    span: RoleSpan,
    *,
    since: datetime | None,
    until: datetime,
    multipliers: Mapping[str, float] = ENGAGEMENT_MULTIPLIER,
) -> float:
    """Weighted hours one role span adds between `since` (last settled update) and `until`."""
    weight = multipliers.get(span.role, 0.0)
    if weight == 0 or not span.spoke:
        return 0.0
    end = until if span.renounced_at is None else min(span.renounced_at, until)
    start = span.assumed_at if since is None else max(span.assumed_at, since)
    if end <= start:
        return 0.0
    return billable_hours((end - start).total_seconds()) * weight


def review_hours(participants: int) -> float:
    """Post-incident review effort: an hour of preparation and half the participants in an hour's meeting."""
    return 1 + participants * 0.5


def classic_cost(
    spans: list[RoleSpan],
    *,
    rate: int,
    since: datetime | None,
    until: datetime,
    review_participants: int | None = None,
    multipliers: Mapping[str, float] = ENGAGEMENT_MULTIPLIER,
) -> float:
    """Cost added by role time between `since` and `until`, plus review hours when given participants."""
    hours = sum(role_hours(s, since=since, until=until, multipliers=multipliers) for s in spans)
    if review_participants is not None:
        hours += review_hours(review_participants)
    return hours * rate


def merged_windows(
    messages: list[tuple[str, float]], response_seconds: float
) -> dict[str, list[tuple[float, float]]]:
    """Per participant, the merged windows [ts, ts + response time] opened by their messages."""
    by_person: dict[str, list[tuple[float, float]]] = {}
    for person, ts in sorted(messages, key=lambda m: (m[0], m[1])):
        windows = by_person.setdefault(person, [])
        end = ts + response_seconds
        if windows and ts <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((ts, end))
    return by_person


def window_seconds(messages: list[tuple[str, float]], response_seconds: float) -> float:
    """Total seconds covered by every participant's merged activity windows."""
    return sum(
        end - start
        for windows in merged_windows(messages, response_seconds).values()
        for start, end in windows
    )


def activity_cost(messages: list[tuple[str, float]], *, response_seconds: float, rate: int) -> float:
    """Cost of the activity windows opened by (participant, timestamp) messages."""
    return window_seconds(messages, response_seconds) / SECONDS_IN_HOUR * rate


def to_cents(amount: float) -> Decimal:
    """Amount rounded to the cent, halves up, as shown to people."""
    return Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
