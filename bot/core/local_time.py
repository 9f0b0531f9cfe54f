"""A project's time of day in its own time zone: when today's daily moment falls, in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class LocalMoment:
    """Today's `at` in a time zone: the local date it belongs to and when it falls, in UTC."""

    day: date
    due_at: datetime

    def passed(self, now: datetime) -> bool:
        return now >= self.due_at


def zone(name: str) -> ZoneInfo:
    """The named zone, or UTC for a name this system does not know (the config check refuses them)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def today_at(at: str, timezone: str, now: datetime) -> LocalMoment:
    """`at` ("HH:MM") on the local date `now` falls on in `timezone`.

    A time a DST jump skips or repeats resolves the way zoneinfo does (fold 0), so the moment is
    still once a day.
    """
    tz = zone(timezone)
    local = now.astimezone(tz)
    hours, _, minutes = at.partition(":")
    wanted = time(int(hours or 0), int(minutes or 0))
    due = datetime.combine(local.date(), wanted, tzinfo=tz).astimezone(UTC)
    return LocalMoment(local.date(), due)
