"""Running the opening of a reported incident: each step recorded and resumable.

`open_incident` runs the steps `reporting.save_report` left pending: the commander and the channel
first, because the reporter is waiting for it, then invitations, channel details, the pinned
summary, notifications, the commander's tips and the resources concurrently, and the welcome
e-mails last. Each finished step is recorded; a failed one is retried by the reconcile job, and a
crash is resumed the same way. The steps are claimed for a lease the running process renews.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import col, select, update

from bot.core.errors import failure_text
from bot.incidents.announcements import notify_targets
from bot.incidents.card import incident_card
from bot.incidents.facts import IncidentCard
from bot.incidents.opening import (
    AFTER,
    CLAIM,
    FIRST_STEPS,
    LATE_STEPS,
    OPEN_FLOW,
    Opening,
    StepRunner,
    retry_backoff,
)
from bot.incidents.opening_steps import (
    channel_details,
    choose_commander,
    create_channel,
    engage_services,
    invite_people,
    page_commander,
    pin_summary,
    send_commander_tips,
    suggest_documents,
)
from bot.incidents.resource_steps import WAITS_FOR, resource_roles, resource_step
from bot.incidents.welcome import email_welcomes
from bot.runtime.bot_context import BotContext
from storage import effects as effects_store
from storage import incidents as store
from storage.effects import held_by_the_dead
from storage.models import FlowStep, Incident, Project

logger = logging.getLogger(__name__)


async def claim_steps(ctx: BotContext, incident_id: int, lease: timedelta = CLAIM) -> bool:
    """Take the incident's unfinished steps for this process; False when another holds them.

    Nothing is taken while any step is still being run (a pending step whose lease is live, held by
    a live process): a failed step due again must not pull the steps another process is running into
    a second run. Taken steps go back to pending, so the running process's lease renewals cover them.
    A dead process's steps are taken at once, not when their lease ends.
    """
    now = ctx.clock()
    running = aliased(FlowStep)
    someone_running = (
        select(running.id)
        .where(running.incident_id == incident_id, running.flow == OPEN_FLOW, running.status == "pending")
        .where(col(running.next_attempt_at) > now)
        .where(~held_by_the_dead(col(running.claimed_by), now))
    )
    async with ctx.sessions() as session, session.begin():
        await effects_store.heartbeat(session, ctx.process, now)
        result = await (await session.connection()).execute(
            update(FlowStep)
            .where(col(FlowStep.incident_id) == incident_id, col(FlowStep.flow) == OPEN_FLOW)
            .where(col(FlowStep.status).in_(["pending", "failed"]))
            .where(store.step_due(now))
            .where(~someone_running.exists())
            .values(status="pending", next_attempt_at=now + lease, claimed_by=str(ctx.process["instance"]))
        )
        return bool(result.rowcount)


async def extend_claim(ctx: BotContext, incident_id: int, lease: timedelta = CLAIM) -> None:
    """Keep the steps this process is running claimed, so no reconcile run takes them meanwhile."""
    async with ctx.sessions() as session, session.begin():
        await (await session.connection()).execute(
            update(FlowStep)
            .where(col(FlowStep.incident_id) == incident_id, col(FlowStep.flow) == OPEN_FLOW)
            .where(col(FlowStep.status) == "pending")
            .values(next_attempt_at=ctx.clock() + lease)
        )


@contextlib.asynccontextmanager
async def _holding(ctx: BotContext, incident_id: int) -> AsyncIterator[None]:
    """While an opening runs, this process skips it in its own reconcile runs and renews its claim
    on the steps for the other processes (a slow Slack can make an opening outlast one lease)."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(CLAIM.total_seconds() / 4)
            try:
                await extend_claim(ctx, incident_id)
            except Exception:
                logger.warning("could not renew the claim on incident %s", incident_id, exc_info=True)

    ctx.openings.add(incident_id)
    renewing = asyncio.create_task(renew(), name=f"renew-claim:{incident_id}")
    try:
        yield
    finally:
        renewing.cancel()
        ctx.openings.discard(incident_id)


async def open_incident(
    ctx: BotContext,
    incident_id: int,
    channel_ready: Callable[[IncidentCard], Awaitable[Any]] | None = None,
    *,
    channel_opening: Callable[[IncidentCard], Any] | None = None,
    resuming: bool = False,
) -> IncidentCard:
    """Run the opening steps not done yet; returns the incident as it stands afterwards.

    `channel_opening` is called (not awaited) with the incident just before its channel is asked
    for, `channel_ready` runs alongside the remaining steps as soon as the channel exists (the
    reporter's modal turns into a link to it then, not when everything is done).
    """
    async with _holding(ctx, incident_id):
        return await _open(ctx, incident_id, channel_ready, channel_opening, resuming)


async def _open(
    ctx: BotContext,
    incident_id: int,
    channel_ready: Callable[[IncidentCard], Awaitable[Any]] | None,
    channel_opening: Callable[[IncidentCard], Any] | None,
    resuming: bool,
) -> IncidentCard:
    async with ctx.sessions() as session:
        done = await store.done_steps(session, incident_id, OPEN_FLOW)
        incident = await session.get(Incident, incident_id)
        project = await session.get(Project, incident.project_id) if incident is not None else None
    plugins = ctx.plugins_for(project) if project is not None and project.plugins else None
    opening = Opening(
        ctx,
        incident_id,
        await incident_card(ctx, incident_id),
        {step: row.result for step, row in done.items()},
        resuming=resuming,
        plugins=plugins,
    )
    # The commander and the channel come first, side by side (an on-call lookup and a channel
    # creation): the other steps invite the commander, name them in the topic, post in the channel.
    first = [step for step in FIRST_STEPS if step not in done]
    if channel_opening is not None and "channel" in first:
        channel_opening(opening.card)
    if first:
        made = await asyncio.gather(*(_run_step(opening, step, STEPS[step]) for step in first))
        if not all(made):
            return opening.card
        opening.card = await incident_card(ctx, incident_id)
    steps: dict[str, StepRunner] = {
        **STEPS,
        **{role: resource_step(role) for role in resource_roles(project.plugins if project else {})},
    }
    pending = [(step, runner) for step, runner in steps.items() if step not in {*done, *FIRST_STEPS}]
    finished = {step: asyncio.Event() for step, _ in pending}

    def waits_for(step: str) -> Iterable[str]:
        if step in LATE_STEPS:
            return [other for other in finished if other not in LATE_STEPS]
        return (*WAITS_FOR.get(step, ()), *AFTER.get(step, ()))

    async def run(step: str, runner: StepRunner) -> None:
        for before in waits_for(step):
            if before in finished:
                await finished[before].wait()
        try:
            await _run_step(opening, step, runner)
        finally:
            finished[step].set()

    await asyncio.gather(
        *(run(step, runner) for step, runner in pending),
        *([channel_ready(opening.card)] if channel_ready else []),
    )
    return opening.card


async def _run_step(opening: Opening, step: str, runner: StepRunner) -> bool:
    ctx = opening.ctx
    try:
        result = await runner(opening)
    except Exception as error:
        reason = f"{failure_text(error)}"
        logger.warning(
            "incident step failed", extra={"incident_id": opening.incident_id, "step": step, "error": reason}
        )
        async with ctx.sessions() as session, session.begin():
            row = (
                await session.exec(
                    select(FlowStep).where(
                        FlowStep.incident_id == opening.incident_id,
                        FlowStep.flow == OPEN_FLOW,
                        FlowStep.step == step,
                    )
                )
            ).first()
            backoff = retry_backoff(row.attempts if row else 0)
            await store.mark_step(
                session,
                opening.incident_id,
                OPEN_FLOW,
                step,
                "failed",
                error=reason[:1000],
                next_attempt_at=ctx.clock() + backoff,
            )
        return False
    async with ctx.sessions() as session, session.begin():
        await store.mark_step(session, opening.incident_id, OPEN_FLOW, step, "done", result=result or {})
    opening.results[step] = result or {}
    return True


STEPS: dict[str, StepRunner] = {
    "commander": choose_commander,
    "channel": create_channel,
    "people": invite_people,
    "details": channel_details,
    "summary": pin_summary,
    "notifications": notify_targets,
    "commander_tips": send_commander_tips,
    "page_commander": page_commander,
    "services": engage_services,
    "welcome_emails": email_welcomes,
    "suggestions": suggest_documents,
}


@dataclass(frozen=True)
class Resumed:
    """What resuming unfinished openings did: how many incidents were taken up, and the steps that
    failed again in them, by incident name (those the next reconcile run tries once they are due)."""

    taken: int = 0
    failing: dict[str, list[str]] = field(default_factory=dict)


async def resume_openings(ctx: BotContext) -> Resumed:
    """Finish the opening of incidents a crash or a failure left incomplete."""
    async with ctx.sessions() as session:
        due = await store.incidents_with_unfinished_flow(session, OPEN_FLOW, ctx.clock())
    taken, failing = 0, {}
    for incident_id in due:
        if incident_id in ctx.openings:  # still being opened here, however slowly
            continue
        if await claim_steps(ctx, incident_id):
            taken += 1
            card = await open_incident(ctx, incident_id, resuming=True)
            async with ctx.sessions() as session:
                failed = await store.failed_steps(session, incident_id, OPEN_FLOW)
            if failed:
                failing[card.name] = failed
    return Resumed(taken, failing)


async def resume_unfinished(ctx: BotContext) -> int:
    """Finish the opening of incidents a crash or a failure left incomplete; how many were taken up."""
    return (await resume_openings(ctx)).taken
