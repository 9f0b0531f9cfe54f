"""Join and Subscribe: the buttons on announcements that let people come in, or follow from outside."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.incidents import participant_groups
from bot.runtime.bot_context import BotContext
from storage import incidents as store
from storage.models import Incident, Project, Subscription

OBSERVER = "Observer"


async def _refusal(ctx: BotContext, incident: Incident | None, user_id: str) -> str | None:
    if incident is None or incident.id is None:
        return "This incident no longer exists."
    if incident.visibility == "restricted":
        async with ctx.sessions() as session:
            inside = await store.roles_of_user(session, incident.id, user_id)
        if not inside:
            return f"{incident.name} is restricted: ask its commander to add you."
    if incident.status == "closed":
        return f"{incident.name} is closed, so there is nothing to join or follow any more."
    return None


async def join(ctx: BotContext, incident_id: int, user_id: str) -> str:
    """Invite `user_id` into the incident channel as an Observer; returns what to tell them."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        project = await session.get(Project, incident.project_id) if incident else None
        channel = (await store.resources(session, incident_id)).get("conversation") if incident else None
    refusal = await _refusal(ctx, incident, user_id)
    if refusal:
        return refusal
    assert incident is not None
    if project is not None and not project.allow_self_join:
        return f"People join {incident.name} by invitation only: ask its commander."
    if channel is None:
        return f"{incident.name} is still opening its channel; try again in a moment."
    if await ctx.gateway.invite(channel.external_id, [user_id]):
        return f"Slack did not let me add you to {incident.name}'s channel; ask its commander."
    try:
        async with ctx.sessions() as session, session.begin():
            _, added = await store.add_participant(
                session,
                incident_id,
                user_id,
                [OBSERVER],
                added_by=user_id,
                reason="Joined from an announcement",
            )
            if added:
                await store.add_timeline_event(
                    session,
                    incident_id,
                    "participant_joined",
                    f"<@{user_id}> joined from an announcement",
                    actor=user_id,
                    occurred_at=ctx.clock(),
                )
    except IntegrityError:
        pass  # a second click, or the channel-join event, added them at the same moment
    await participant_groups.sync_tactical_group(ctx, incident_id)
    return f"You are in: <#{channel.external_id}>."


async def subscribe(ctx: BotContext, incident_id: int, user_id: str) -> str:
    """Follow the incident's updates by DM; returns what to tell them."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
    refusal = await _refusal(ctx, incident, user_id)
    if refusal:
        return refusal
    assert incident is not None
    try:
        async with ctx.sessions() as session, session.begin():
            session.add(Subscription(incident_id=incident_id, user_id=user_id, created_at=ctx.clock()))
    except IntegrityError:
        return f"You already follow {incident.name}."
    return f"You will get a direct message for every update of {incident.name}."


async def subscribers(ctx: BotContext, incident_id: int) -> list[str]:
    async with ctx.sessions() as session:
        return list(
            await session.exec(select(Subscription.user_id).where(Subscription.incident_id == incident_id))
        )
