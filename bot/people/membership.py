"""Channel membership and activity: joins and leaves, the members the bot missed, promotion after messages."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents import participant_groups
from bot.incidents.card import incident_card
from bot.incidents.welcome import welcome_person
from bot.people import queries as q
from bot.people import views
from bot.people.flows import (
    COMMANDER,
    OBSERVER,
    PARTICIPANT,
    PROMOTE_AFTER_MESSAGES,
    command_name,
    ensure_participant,
    in_transaction,
    profile_of,
)
from bot.people.messages import ChannelMessage
from bot.people.profiles import Profile, Profiles
from bot.runtime.bot_context import BotContext
from bot.slack.gateway import error_code
from storage import costs as cost_store
from storage import incidents as store
from storage import tasks as task_store

logger = logging.getLogger(__name__)


async def member_joined(
    ctx: BotContext, profiles: Profiles, channel_id: str, user_id: str, inviter: str | None, event_key: str
) -> bool:
    """Someone joined an incident channel: an Observer unless they take part already. True if added."""
    async with ctx.sessions() as session:
        incident = await store.incident_by_channel(session, channel_id)
    if incident is None or incident.id is None:
        return False
    incident_id = incident.id
    profile = await profile_of(profiles, user_id)
    now = ctx.clock()

    async def save(session: AsyncSession) -> bool:
        participant, _ = await ensure_participant(
            session,
            incident_id,
            profile,
            added_by=inviter,
            reason="Invited to the channel" if inviter else "Joined the channel",
            now=now,
        )
        assert participant.id is not None
        if await store.active_roles_of(session, participant.id):
            return False  # already taking part (we invited them, or this is a redelivery)
        event = await store.add_timeline_event(
            session,
            incident_id,
            "participant_joined",
            f"<@{user_id}> joined the channel"
            + (f" (invited by <@{inviter}>)" if inviter else "")
            + f" and follows as {OBSERVER}",
            actor=user_id,
            occurred_at=now,
            details={"user": user_id, "inviter": inviter},
            dedupe_key=f"joined:{user_id}:{event_key}",
        )
        if event is None:
            return False
        await q.assume_role(session, participant.id, OBSERVER, now)
        await q.fill_profile(
            session, participant, name=profile.display, email=profile.email, timezone=profile.timezone
        )
        return True

    added = await in_transaction(ctx, save)
    if added:
        card = await incident_card(ctx, incident_id)
        try:
            await welcome_person(ctx, card, channel_id, user_id, [OBSERVER])
        except SlackApiError as error:
            logger.info("could not welcome %s: %s", user_id, error.response.get("error"))
        await participant_groups.sync_tactical_group(ctx, incident_id)
    return added


async def sync_members(ctx: BotContext) -> str:
    """Channel members the bot never heard join (a lost event, a bot restart) become Observers.

    One Slack call per open incident channel and two queries in all; people added this way are
    welcomed and put on the timeline as if their join had arrived.
    """
    profiles = Profiles(ctx.slack)
    bot_user = str(ctx.identity.get("user_id") or "") if ctx.identity is not None else ""
    async with ctx.sessions() as session:
        channels = await store.open_incident_channels(session)
    added = 0
    for _incident, channel_id, holders in channels:
        try:
            members = await ctx.gateway.members(channel_id)
        except SlackApiError as error:
            logger.info("could not list the members of %s: %s", channel_id, error_code(error))
            continue
        for user_id in members:
            if user_id in holders or user_id == bot_user:
                continue
            key = f"sync:{user_id}:{ctx.clock():%Y%m%d%H}"  # once per hour's run, however often it retries
            if await member_joined(ctx, profiles, channel_id, user_id, None, key):
                added += 1
    return f"added {added} member(s) the bot had missed"


async def member_left(ctx: BotContext, channel_id: str, user_id: str, event_key: str) -> str:
    """Someone left an incident channel: their roles end, unless they command an open incident.

    Returns what happened: "ignored", "ended", "commander" (re-invited and asked to hand off) or
    "tasks" (re-invited and asked to resolve or hand over their open tasks first).
    """
    async with ctx.sessions() as session:
        incident = await store.incident_by_channel(session, channel_id)
    if incident is None or incident.id is None:
        return "ignored"
    incident_id, incident_name, closed = incident.id, incident.name, incident.status == "closed"
    now = ctx.clock()

    async def save(session: AsyncSession) -> str:
        participant = await q.participant_of(session, incident_id, user_id)
        if participant is None or participant.id is None:
            return "ignored"
        roles = await store.active_roles_of(session, participant.id)
        if not roles:
            return "ignored"
        commander = COMMANDER in roles and not closed
        keeps_tasks = not commander and not closed
        keeps_tasks = keeps_tasks and bool(await task_store.open_tasks_of(session, incident_id, user_id))
        event = await store.add_timeline_event(
            session,
            incident_id,
            "commander_left" if commander else "participant_left",
            f"<@{user_id}> left the channel while incident commander and was added back"
            if commander
            else f"<@{user_id}> left the channel with open tasks and was added back"
            if keeps_tasks
            else f"<@{user_id}> left the channel; their roles ({', '.join(roles)}) ended",
            actor=user_id,
            occurred_at=now,
            details={"user": user_id, "roles": roles},
            dedupe_key=f"left:{user_id}:{event_key}",
        )
        if event is None:
            return "ignored"  # a redelivery of an event already handled
        if commander:
            return "commander"
        if keeps_tasks:
            return "tasks"
        await q.renounce_roles(session, participant.id, None, now)
        return "ended"

    outcome = await in_transaction(ctx, save)
    if outcome == "ended":
        await participant_groups.sync_tactical_group(ctx, incident_id)
    if outcome == "tasks":
        await ctx.gateway.invite(channel_id, [user_id])
        async with ctx.sessions() as session:
            descriptions = [
                t.description for t in await task_store.open_tasks_of(session, incident_id, user_id)
            ]
        text = views.readded_for_open_tasks(incident_name, descriptions)
        if not await ctx.gateway.post_ephemeral(channel_id, user_id, text):
            await ctx.gateway.direct_message(user_id, text)
    if outcome == "commander":
        await ctx.gateway.invite(channel_id, [user_id])
        assign = command_name(ctx, "assign_role", "/dispatch-assign-role")
        text, blocks = views.commander_readded(incident_name, assign)
        if not await ctx.gateway.post_ephemeral(channel_id, user_id, text, blocks):
            await ctx.gateway.direct_message(user_id, text, blocks)
    return outcome


async def count_activity(ctx: BotContext, profiles: Profiles, message: ChannelMessage) -> None:
    """Count a person's message; an Observer who has written a few becomes a Participant.

    Someone writing in the channel who is not a participant yet (they joined before the bot
    tracked it, or the join event was lost) is added as an Observer, and this message counts.
    Each message is recorded once as activity (the cost models price it): a redelivered message
    event is neither recorded nor counted again.
    """
    incident_id = message.incident_id
    now = ctx.clock()
    profile: Profile | None = None

    async def save(session: AsyncSession) -> bool:
        in_thread = message.thread_ts is not None and message.thread_ts != message.ts
        if not await cost_store.record_activity(
            session, incident_id, message.user_id, message.ts, in_thread=in_thread, posted_at=now
        ):
            return False  # this message was counted already
        counted = await q.count_message(session, incident_id, message.user_id)
        if counted is None:
            assert profile is not None
            participant, _ = await ensure_participant(
                session, incident_id, profile, added_by=None, reason="Wrote in the channel", now=now
            )
            assert participant.id is not None
            counted = await q.count_message(session, incident_id, message.user_id)
            assert counted is not None
        participant_id, count = counted
        roles = await store.active_roles_of(session, participant_id)
        if not roles:
            await q.assume_role(session, participant_id, OBSERVER, now)
            roles = [OBSERVER]
            await store.add_timeline_event(
                session,
                incident_id,
                "participant_joined",
                f"<@{message.user_id}> wrote in the channel and follows as {OBSERVER}",
                actor=message.user_id,
                occurred_at=now,
                details={"user": message.user_id},
            )
        observing = [row for row in await q.active_role_rows(session, participant_id) if row.role == OBSERVER]
        if not observing or count < PROMOTE_AFTER_MESSAGES:
            return False
        if not await q.renounce_roles(session, participant_id, [OBSERVER], now):
            return False  # a concurrent message promoted them already
        if PARTICIPANT not in roles:
            await q.assume_role(session, participant_id, PARTICIPANT, now)
        await store.add_timeline_event(
            session,
            incident_id,
            "role_changed",
            f"<@{message.user_id}> is now a {PARTICIPANT} (was {OBSERVER}) after {count} messages",
            actor=message.user_id,
            occurred_at=now,
            details={"user": message.user_id, "from": OBSERVER, "to": PARTICIPANT, "messages": count},
            dedupe_key=f"promoted:{observing[0].id}",
        )
        return True

    async with ctx.sessions() as session:
        known = await q.participant_of(session, incident_id, message.user_id)
    if known is None:
        profile = await profile_of(profiles, message.user_id)
    await in_transaction(ctx, save)
