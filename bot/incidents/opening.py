"""One run of the incident opening: its steps' names and leases, and what the steps share (the
incident, the step results so far, a step's recorded row).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.incidents.facts import IncidentCard
from bot.runtime.bot_context import BotContext
from plugins.registry import ProjectPlugins
from storage.models import FlowStep

OPEN_FLOW = "incident.open"
OPEN_STEPS = (
    "commander",
    "channel",
    "people",
    "details",
    "summary",
    "notifications",
    "commander_tips",
    "page_commander",
    "services",
    "welcome_emails",
    "suggestions",
)
# Run once the other steps have settled: the welcome e-mail links what they made (conference, folder...).
LATE_STEPS = ("welcome_emails",)
# Steps are claimed for this long; a process that dies mid-flow leaves them to the reconcile job after it.
CLAIM = timedelta(minutes=2)
RETRY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
# Steps that wait for others (besides the resources': bot/incidents/resource_steps.py): the runbooks
# suggested come after the people and the pinned summary.
AFTER = {"suggestions": ("people", "summary")}
# Run (concurrently) before the rest, which run concurrently once both are done.
FIRST_STEPS = ("commander", "channel")

StepRunner = Callable[["Opening"], Awaitable[dict[str, Any] | None]]


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


def retry_backoff(attempts: int) -> timedelta:
    """How long a step that failed `attempts` times before waits after this failure."""
    return RETRY_BACKOFF[min(attempts, len(RETRY_BACKOFF) - 1)]


async def step_row(ctx: BotContext, incident_id: int, step: str) -> FlowStep | None:
    """The opening's `step` of the incident as recorded, or None."""
    async with ctx.sessions() as session:
        return (
            await session.exec(
                select(FlowStep).where(
                    FlowStep.incident_id == incident_id, FlowStep.flow == OPEN_FLOW, FlowStep.step == step
                )
            )
        ).first()
