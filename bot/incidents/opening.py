"""One run of the incident opening: what its steps share (the incident, the step results so far)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.incidents.facts import IncidentCard
from bot.runtime.bot_context import BotContext
from plugins.registry import ProjectPlugins


@dataclass
class Opening:
    """One run of the opening flow: what it knows of the incident, and the step results so far."""

    ctx: BotContext
    incident_id: int
    card: IncidentCard
    results: dict[str, dict[str, Any]]
    # A resumed run may meet what an interrupted run did but did not record.
    resuming: bool = False
    plugins: ProjectPlugins | None = None

    @property
    def channel_id(self) -> str:
        channel = self.card.channel_id or self.results.get("channel", {}).get("channel_id")
        if not channel:
            raise RuntimeError("the incident channel does not exist yet")
        return str(channel)
