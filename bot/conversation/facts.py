"""What the conversation flows and views both speak of: why answers may be slow."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AfterHours:
    """Why answers may be slow: the commander, their time zone and the incident's priority."""

    commander_id: str
    timezone: str
    priority: str
