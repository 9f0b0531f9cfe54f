"""Plain descriptions of timeline events, pages and forms that the flows build and the views render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time


@dataclass(frozen=True)
class EventLine:
    """One timeline event as people read it."""

    id: int
    occurred_at: datetime
    """UTC."""
    kind: str
    description: str
    actor: str | None
    source: str = ""
    key_event: bool = False
    author: str | None = None
    """Who wrote the message, for events captured from Slack messages."""
    author_name: str = ""
    permalink: str | None = None


@dataclass(frozen=True)
class TimelinePage:
    """One page of an incident's timeline, oldest first, for the timeline modal."""

    incident_id: int
    incident_name: str
    incident_title: str
    channel_id: str
    events: list[EventLine]
    page: int
    """0-based."""
    pages: int
    total: int
    note: str = ""
    """mrkdwn shown above the events, e.g. the outcome of an export."""


@dataclass(frozen=True)
class AddEventForm:
    """What the "Add timeline event" modal starts with."""

    incident_id: int
    incident_name: str
    channel_id: str
    description: str
    date: date
    time: time
    user_timezone: str


@dataclass(frozen=True)
class ManualEntry:
    """A submitted "Add timeline event" modal, as the person filled it in."""

    request_key: str
    incident_id: int
    channel_id: str
    user_id: str
    description: str
    date: date | None
    time: time | None
    timezone: str | None
    """An IANA name; None when the choice could not be read."""


@dataclass(frozen=True)
class Reaction:
    """An emoji added to or removed from a message, as the Events API reported it."""

    channel_id: str
    ts: str
    user_id: str
    emoji: str
    item_user: str | None = None


@dataclass(frozen=True)
class CapturedMessage:
    """A Slack message turned into timeline text."""

    ts: str
    author: str | None
    author_name: str
    text: str
    occurred_at: datetime
    permalink: str | None
    thread_ts: str | None = None
    files: list[dict[str, str]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
