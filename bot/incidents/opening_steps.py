"""The opening's own steps: the commander, the channel, its people, topic and pinned summary, the
commander's tips and page, and the on-call of the services that match. Each takes the `Opening`
and returns what it did, recorded as the step's result.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.incidents import channel_views, engagement, naming
from bot.incidents.card import incident_card, user_name
from bot.incidents.context import COMMANDER
from bot.incidents.facts import IncidentCard
from bot.incidents.opening import Opening
from bot.knowledge import suggestions
from bot.oncall import flows as oncall
from bot.oncall import paging
from bot.runtime.bot_context import BotContext
from storage import incidents as store
from storage.models import Incident, Project


async def choose_commander(opening: Opening) -> dict[str, Any]:
    """Give the commander role by the first role policy that resolves (a named person, or a
    service's current on-call), else to the reporter; a commander chosen in the report stays.

    This runs after the report is saved, so a slow or failing on-call system never costs the report.
    """
    ctx, card = opening.ctx, opening.card
    async with ctx.sessions() as session:
        people = await store.participants_with_roles(session, opening.incident_id)
        incident = await session.get(Incident, opening.incident_id)
    held = next((p.user_id for p, roles in people if COMMANDER in roles), None)
    if held is not None or incident is None:
        return {"commander": held}
    holder = await engagement.policy_holder(
        ctx,
        incident.project_id,
        COMMANDER,
        card.type if incident.incident_type_id else None,
        card.priority if incident.incident_priority_id else None,
    )
    commander = holder.user if holder else card.reporter_id
    reason = holder.reason if holder else "Reported it; no one else was named"
    async with ctx.sessions() as session, session.begin():
        await store.add_participant(
            session,
            opening.incident_id,
            commander,
            [COMMANDER],
            added_by=card.reporter_id,
            reason=reason,
            now=ctx.clock(),
        )
        if holder is not None and holder.service is not None:
            # The service's on-call is engaged as commander: /dispatch-engage-oncall knows, and a
            # priority that pages the commander pages through this service.
            await store.record_resource(
                session,
                opening.incident_id,
                "oncall",
                commander,
                name=holder.service.name,
                details={"service": holder.service.external_id, "role": COMMANDER},
            )
    return {"commander": commander}


async def create_channel(opening: Opening) -> dict[str, Any]:
    ctx, card = opening.ctx, opening.card
    async with ctx.sessions() as session:
        incident = await session.get(Incident, opening.incident_id)
        assert incident is not None
        project = await session.get(Project, incident.project_id)
        assert project is not None
        name = naming.channel_name(
            project.channel_name_pattern,
            prefix=project.prefix,
            number=incident.number,
            title=incident.title,
            name=incident.name,
            project=project.name,
        )
        # A restricted incident is for its participants only, whatever the project says.
        private = project.private_channels or incident.visibility == "restricted"
    # After a crash, the channel the interrupted run made (but did not record) may exist already.
    adopted = await _unrecorded_channel(ctx, name) if opening.resuming else None
    if adopted:
        channel_id, final_name = adopted, name
    else:
        channel_id, final_name = await ctx.gateway.create_channel(name, private=private)
    async with ctx.sessions() as session, session.begin():
        await store.record_resource(
            session,
            opening.incident_id,
            "conversation",
            channel_id,
            details={"name": final_name, "private": private},
        )
        await store.add_timeline_event(
            session,
            opening.incident_id,
            "channel_created",
            f"Incident channel #{final_name} created",
            occurred_at=ctx.clock(),
        )
    opening.card = IncidentCard(**{**card.__dict__, "channel_id": channel_id})
    return {"channel_id": channel_id, "name": final_name}


async def _unrecorded_channel(ctx: BotContext, name: str) -> str | None:
    """A channel called `name` made by the bot that no incident has recorded, or None."""
    bot_user = str(ctx.identity.get("user_id") or "") if ctx.identity is not None else ""
    channel_id = await ctx.gateway.channel_named(name, created_by=bot_user) if bot_user else None
    if channel_id is None:
        return None
    async with ctx.sessions() as session:
        owner = await store.incident_by_channel(session, channel_id)
    return channel_id if owner is None else None


async def invite_people(opening: Opening) -> dict[str, Any]:
    """Invite everyone engaged so far, announce them once, and welcome each of them."""
    ctx, channel = opening.ctx, opening.channel_id
    if await engagement.engage_matching_individuals(ctx, opening.card):
        opening.card = await incident_card(ctx, opening.incident_id)
    card = opening.card
    people = card.participants
    refused = await ctx.gateway.invite(channel, [person.user_id for person in people])
    present = [person for person in people if person.user_id not in refused]
    text, blocks = channel_views.participants_announcement(present)
    await asyncio.gather(
        ctx.gateway.post_once(channel, f"open:{opening.incident_id}:people", text, blocks, opening.resuming),
        *(
            ctx.gateway.post_ephemeral(channel, person.user_id, *channel_views.welcome(card, person.roles))
            for person in present
        ),
    )
    async with ctx.sessions() as session, session.begin():
        await store.add_timeline_event(
            session,
            opening.incident_id,
            "participants_added",
            "Added " + ", ".join(f"<@{p.user_id}> ({', '.join(p.roles)})" for p in present),
            occurred_at=ctx.clock(),
        )
    return {"invited": [p.user_id for p in present], "refused": refused}


async def channel_details(opening: Opening) -> dict[str, Any]:
    ctx, card, channel = opening.ctx, opening.card, opening.channel_id

    async def topic() -> None:
        await ctx.gateway.set_topic(
            channel, channel_views.topic(card, await user_name(ctx, card.commander_id))
        )

    await asyncio.gather(
        topic(), ctx.gateway.set_purpose(channel, channel_views.purpose(card, card.type_description))
    )
    return {}


async def pin_summary(opening: Opening) -> dict[str, Any]:
    text, blocks = channel_views.summary_message(opening.card)
    # One pinned summary whatever happens: a resumed opening finds the one a cut-short run posted.
    key = f"open:{opening.incident_id}:summary"
    ts = await opening.ctx.gateway.post_once(opening.channel_id, key, text, blocks, opening.resuming)
    await opening.ctx.gateway.pin(opening.channel_id, ts)
    async with opening.ctx.sessions() as session, session.begin():
        await store.record_resource(
            session, opening.incident_id, "summary_message", ts, details={"channel_id": opening.channel_id}
        )
    return {"ts": ts}


async def send_commander_tips(opening: Opening) -> dict[str, Any]:
    ctx = opening.ctx
    update_command = ctx.settings.slack_commands.get("update_incident", "/dispatch-update-incident")
    text, blocks = channel_views.commander_tips(opening.card, update_command)
    key = f"open:{opening.incident_id}:commander_tips"
    await ctx.gateway.direct_message(opening.card.commander_id, text, blocks, key, opening.resuming)
    return {}


async def page_commander(opening: Opening) -> dict[str, Any]:
    """Page the commander through their on-call service when the priority says so (else nothing)."""
    return await paging.page_commander(opening.ctx, opening.incident_id, opening.card.commander_id)


async def engage_services(opening: Opening) -> dict[str, Any]:
    """Engage the on-call of every service whose filters match the incident."""
    outcomes = await oncall.engage_matching_services(opening.ctx, opening.card, opening.channel_id)
    unanswered = [outcome.error for outcome in outcomes if outcome.retryable]
    if unanswered:  # recorded as failed: the reconcile job tries again (engaged services are skipped)
        raise RuntimeError("; ".join(str(error) for error in unanswered))
    return {"engaged": [outcome.service for outcome in outcomes if outcome.user]}


async def suggest_documents(opening: Opening) -> dict[str, Any]:
    """Suggest the runbooks whose filters match and explain the terms the description uses."""
    key = f"open:{opening.incident_id}:suggestions"
    return await suggestions.tell_channel(opening.ctx, opening.incident_id, key, opening.resuming)
