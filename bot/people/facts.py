"""Plain descriptions of an incident's people that flows build and views render."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParticipantLine:
    """One person in the participant list, with what Slack says about them."""

    user_id: str
    name: str
    roles: list[str]
    title: str = ""
    team: str = ""
    department: str = ""
    timezone: str | None = None
    local_time: str | None = None
    added_by: str | None = None
    added_reason: str = ""
    avatar: str | None = None
    deactivated: bool = False


@dataclass(frozen=True)
class ParticipantPage:
    incident_id: int
    incident_name: str
    lines: list[ParticipantLine]
    page: int
    pages: int
    total: int
    former: int
    """People who took part and hold no role any more (they left)."""
