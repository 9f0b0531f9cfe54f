"""Who takes part in an incident and in which role: assigning roles, listing people, channel membership.

Every change is saved first (participant rows are unique per incident and user, roles are ended by
setting `renounced_at`, never deleted), then told to Slack. Flows take their dependencies
explicitly: the bot context and the profile cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents import flows as incident_flows
from bot.incidents import resources
from bot.incidents import views as incident_views
from bot.incidents.context import incident_context
from bot.people import queries as q
from bot.people import views
from bot.people.facts import ParticipantLine, ParticipantPage
from bot.people.messages import ChannelMessage
from bot.people.profiles import Profile, Profiles
from bot.runtime.bot_context import BotContext
from bot.slack.gateway import error_code
from storage import costs as cost_store
from storage import incidents as store
from storage import tasks as task_store
from storage.models import Incident, Participant

logger = logging.getLogger(__name__)

COMMANDER, SCRIBE, LIAISON = "Incident Commander", "Scribe", "Liaison"
REPORTER, PARTICIPANT, OBSERVER = "Reporter", "Participant", "Observer"
ASSIGNABLE_ROLES = (COMMANDER, SCRIBE, LIAISON, PARTICIPANT, OBSERVER)
# How roles are listed: leads first; roles a workspace adds come last, in the order they were given.
ROLE_ORDER = (COMMANDER, SCRIBE, LIAISON, REPORTER, PARTICIPANT, OBSERVER)
# Roles that say someone works on the incident; without one, a former role holder falls back to Participant.
PASSIVE_ROLES = frozenset({REPORTER, OBSERVER})
PROMOTE_AFTER_MESSAGES = 3
# An inline modal error has to be acked within Slack's 3 s. The person's profile is fetched when they
# are chosen in the form, so the check at submit normally reads it from the cache; a lookup slower
# than this is skipped (the invitation will tell).
PROFILE_CHECK_TIMEOUT = 1.0
PROFILE_FRESH_FOR = 120.0

# Names of the fields a check can complain about; the handlers map them to modal blocks.
PERSON, ROLE, REASON = "person", "role", "reason"

T = TypeVar("T")


def command_name(ctx: BotContext, key: str, default: str) -> str:
    name = ctx.settings.slack_commands.get(key, default)
    return name if name.startswith("/") else "/" + name


async def in_transaction(
    ctx: BotContext, work: Callable[[AsyncSession], Awaitable[T]], attempts: int = 4
) -> T:
    """Run `work` in one transaction, again when a concurrent writer won a race.

    Two deliveries of one event (or a join and an assignment at once) can both find no participant
    row and both insert one; the unique key refuses the second, whose retry then sees the first.
    """
    for attempt in range(1, attempts + 1):
        try:
            async with ctx.sessions() as session, session.begin():
                return await work(session)
        except (IntegrityError, OperationalError) as error:
            locked = isinstance(error, OperationalError) and "locked" in str(error).lower()
            if attempt == attempts or not (isinstance(error, IntegrityError) or locked):
                raise
            await asyncio.sleep(0.02 * attempt)
    raise AssertionError("unreachable")


async def _profile(profiles: Profiles, user_id: str) -> Profile:
    try:
        return await profiles.get(user_id)
    except SlackApiError as error:
        logger.warning("could not look up %s: %s", user_id, error.response.get("error"))
        return Profile(user_id=user_id)


async def _ensure_participant(
    session: AsyncSession,
    incident_id: int,
    profile: Profile,
    *,
    added_by: str | None,
    reason: str,
    now: datetime,
) -> tuple[Participant, bool]:
    """The person's participant row, created (with no role yet) when missing; True when created."""
    existing = await q.participant_of(session, incident_id, profile.user_id)
    if existing is not None:
        return existing, False
    participant, _ = await store.add_participant(
        session,
        incident_id,
        profile.user_id,
        [],
        added_by=added_by,
        reason=reason,
        name=profile.display if profile.known else "",
        email=profile.email,
        timezone=profile.timezone,
        now=now,
    )
    return participant, True


async def incident_name(ctx: BotContext, incident_id: int) -> str:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
    return incident.name if incident else "the incident"


# ----- assigning roles -----


@dataclass(frozen=True)
class Assignment:
    incident_id: int
    channel_id: str
    user_id: str
    role: str
    assigned_by: str


@dataclass
class AssignOutcome:
    assignment: Assignment
    changed: bool
    previous: list[str] = field(default_factory=list)
    newly_added: bool = False
    problems: list[str] = field(default_factory=list)
    """What could not be done in Slack (the roles are saved regardless), in words for the assigner."""


async def may_assign(ctx: BotContext, channel_id: str, incident_id: int, user_id: str) -> bool:
    """Whether `user_id` still leads the incident of `channel_id` (re-checked on every submission)."""
    found = await incident_context(ctx, channel_id, user_id)
    return found is not None and found.incident_id == incident_id and found.leads


async def check_assignment(ctx: BotContext, profiles: Profiles, assignment: Assignment) -> dict[str, str]:
    """What is wrong with the assignment, by field; empty when it can go ahead."""
    if assignment.role not in ASSIGNABLE_ROLES:
        return {ROLE: "Choose one of the listed roles."}
    try:
        profile = await asyncio.wait_for(
            profiles.get(assignment.user_id, max_age=PROFILE_FRESH_FOR), timeout=PROFILE_CHECK_TIMEOUT
        )
    except (TimeoutError, SlackApiError):
        profile = Profile(user_id=assignment.user_id)  # unchecked; the invitation will tell
    if not profile.known:
        return {
            PERSON: "Slack does not know this person (the account may have been removed). Pick someone else."
        }
    if profile.deleted:
        return {PERSON: f"{profile.display}'s Slack account is deactivated. Pick someone else."}
    if profile.is_bot:
        return {PERSON: f"{profile.display} is a bot; roles are for people."}
    async with ctx.sessions() as session:
        held = await store.roles_of_user(session, assignment.incident_id, assignment.user_id)
    if assignment.role in held:
        article = "the " if assignment.role not in (PARTICIPANT, OBSERVER) else "a "
        return {PERSON: f"{profile.display} is already {article}{assignment.role}. Pick someone else."}
    if assignment.role == OBSERVER and COMMANDER in held:
        return {PERSON: f"{profile.display} is the incident commander. Give that role to someone else first."}
    return {}


async def assign_role(ctx: BotContext, profiles: Profiles, assignment: Assignment) -> AssignOutcome:
    """Give the role (ending it for its previous holder when only one may hold it), then tell Slack."""
    profile = await _profile(profiles, assignment.user_id)
    now = ctx.clock()
    role = assignment.role

    async def save(session: AsyncSession) -> AssignOutcome:
        participant, created = await _ensure_participant(
            session,
            assignment.incident_id,
            profile,
            added_by=assignment.assigned_by,
            reason=f"Assigned the {role} role",
            now=now,
        )
        assert participant.id is not None
        if role in await store.active_roles_of(session, participant.id):
            return AssignOutcome(assignment, changed=False)
        previous: list[str] = []
        if role in await q.single_holder_roles(session):
            for holder in await q.holders(session, assignment.incident_id, role):
                if holder.id is None or holder.id == participant.id:
                    continue
                await q.renounce_roles(session, holder.id, [role], now)
                if not set(await store.active_roles_of(session, holder.id)) - PASSIVE_ROLES:
                    await q.renounce_roles(session, holder.id, [OBSERVER], now)
                    await q.assume_role(session, holder.id, PARTICIPANT, now)
                previous.append(holder.user_id)
        # The new role replaces the generic ones: Participant and Observer exclude each other too.
        replaced = (
            [PARTICIPANT]
            if role == OBSERVER
            else [OBSERVER]
            if role == PARTICIPANT
            else [
                PARTICIPANT,
                OBSERVER,
            ]
        )
        await q.renounce_roles(session, participant.id, replaced, now)
        await q.assume_role(session, participant.id, role, now)
        takeover = f", taking over from {', '.join(f'<@{user}>' for user in previous)}" if previous else ""
        await store.add_timeline_event(
            session,
            assignment.incident_id,
            "role_assigned",
            f"<@{assignment.assigned_by}> assigned <@{assignment.user_id}> the role {role}{takeover}",
            actor=assignment.assigned_by,
            occurred_at=now,
            key_event=role == COMMANDER,
            details={"role": role, "user": assignment.user_id, "previous": previous},
        )
        return AssignOutcome(assignment, changed=True, previous=previous, newly_added=created)

    outcome = await in_transaction(ctx, save)
    if outcome.changed:
        await _announce_assignment(ctx, outcome)
        await resources.sync_tactical_group(ctx, assignment.incident_id)
    return outcome


async def _announce_assignment(ctx: BotContext, outcome: AssignOutcome) -> None:
    """Slack's side of an assignment; each part is tried even when another fails."""
    assignment = outcome.assignment
    channel, user = assignment.channel_id, assignment.user_id

    async def attempt(what: str, step: Awaitable[object]) -> None:
        try:
            await step
        except SlackApiError as error:
            code = error.response.get("error", "an error")
            logger.warning("assign role: could not %s: %s", what, code)
            outcome.problems.append(f"Could not {what} (Slack answered {code}).")

    refused = []
    try:
        refused = await ctx.gateway.invite(channel, [user])
    except SlackApiError as error:
        refused = [user]
        logger.warning("assign role: invite failed: %s", error.response.get("error"))
    if refused:
        outcome.problems.append(f"Could not invite <@{user}> to the channel; add them by hand.")
    text, blocks = views.role_announcement(assignment.role, user, assignment.assigned_by, outcome.previous)
    await attempt("announce the new role in the channel", ctx.gateway.post(channel, text, blocks))
    card = await incident_flows.incident_card(ctx, assignment.incident_id)
    if outcome.newly_added and not refused:
        await attempt(
            "welcome them in the channel",
            incident_flows.welcome_person(ctx, card, channel, user, [assignment.role]),
        )
    if assignment.role == COMMANDER:
        await attempt("refresh the channel topic", incident_flows.refresh_topic(ctx, assignment.incident_id))
        await attempt(
            "update the ticket",
            incident_flows.update_ticket(
                ctx, assignment.incident_id, {"commander": await incident_flows.email_of(ctx, user)}
            ),
        )
        update = command_name(ctx, "update_incident", "/dispatch-update-incident")
        tips_text, tips_blocks = incident_views.commander_tips(card, update)
        await attempt("send the commander tips", ctx.gateway.direct_message(user, tips_text, tips_blocks))
        await resources.update_document(ctx, assignment.incident_id)


# ----- listing participants -----


PAGE_SIZE = 20


def _role_rank(role: str) -> int:
    return ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER)


def local_time(timezone: str | None, now: datetime) -> str | None:
    if not timezone:
        return None
    try:
        return now.astimezone(ZoneInfo(timezone)).strftime("%H:%M")
    except (ZoneInfoNotFoundError, ValueError):
        return None


async def participant_page(
    ctx: BotContext, profiles: Profiles, incident_id: int, page: int = 0
) -> ParticipantPage:
    """One page of the people holding a role in the incident, with what Slack says about them."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        people = await store.participants_with_roles(session, incident_id)
    active = [(p, roles) for p, roles in people if roles]
    pages = max(1, -(-len(active) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = active[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    found = await profiles.get_many([p.user_id for p, _ in shown])
    now = ctx.clock()
    lines = []
    for participant, roles in shown:
        profile = found.get(participant.user_id) or Profile(user_id=participant.user_id)
        timezone = profile.timezone or participant.timezone
        lines.append(
            ParticipantLine(
                user_id=participant.user_id,
                name=profile.real_name or profile.name or participant.name or participant.user_id,
                roles=sorted(roles, key=_role_rank),
                title=profile.title,
                team=participant.team,
                department=participant.department,
                timezone=timezone,
                local_time=local_time(timezone, now),
                added_by=participant.added_by,
                added_reason=participant.added_reason,
                avatar=profile.avatar,
                deactivated=profile.deleted or not profile.known,
            )
        )
    return ParticipantPage(
        incident_id=incident_id,
        incident_name=incident.name,
        lines=lines,
        page=page,
        pages=pages,
        total=len(active),
        former=len(people) - len(active),
    )


# ----- the reason someone takes part -----


async def current_reason(ctx: BotContext, incident_id: int, user_id: str) -> str:
    async with ctx.sessions() as session:
        participant = await q.participant_of(session, incident_id, user_id)
    return participant.added_reason if participant else ""


async def check_reason_update(
    ctx: BotContext, incident_id: int, channel_id: str, actor: str, target: str, reason: str
) -> dict[str, str]:
    """Problems with updating `target`'s reason, by field; leads may update anyone, others themselves."""
    if not reason.strip():
        return {REASON: "Write a few words: why you are here, or what you know about."}
    found = await incident_context(ctx, channel_id, actor)
    if found is None or found.incident_id != incident_id:
        return {REASON: "This incident channel is gone; nothing was saved."}
    if target != actor:
        if not found.leads:
            return {PERSON: "Only the incident commander or the scribe can update someone else."}
        async with ctx.sessions() as session:
            participant = await q.participant_of(session, incident_id, target)
        if participant is None:
            return {PERSON: "This person does not take part in the incident yet. Assign them a role first."}
    return {}


async def save_reason(
    ctx: BotContext, profiles: Profiles, incident_id: int, actor: str, target: str, reason: str
) -> None:
    """Store why `target` takes part; someone updating themselves becomes a participant if they were not."""
    reason = reason.strip()
    profile = await _profile(profiles, target)
    now = ctx.clock()

    async def save(session: AsyncSession) -> None:
        participant, created = await _ensure_participant(
            session, incident_id, profile, added_by=actor, reason=reason, now=now
        )
        assert participant.id is not None
        if created or not await store.active_roles_of(session, participant.id):
            await q.assume_role(session, participant.id, OBSERVER, now)
        await q.set_reason(session, participant.id, reason)
        who = "their" if actor == target else f"<@{target}>'s"
        await store.add_timeline_event(
            session,
            incident_id,
            "participant_updated",
            f"<@{actor}> set {who} reason for taking part: {reason}",
            actor=actor,
            occurred_at=now,
            details={"user": target},
        )

    await in_transaction(ctx, save)


# ----- channel membership and activity -----


async def member_joined(
    ctx: BotContext, profiles: Profiles, channel_id: str, user_id: str, inviter: str | None, event_key: str
) -> bool:
    """Someone joined an incident channel: an Observer unless they take part already. True if added."""
    async with ctx.sessions() as session:
        incident = await store.incident_by_channel(session, channel_id)
    if incident is None or incident.id is None:
        return False
    incident_id = incident.id
    profile = await _profile(profiles, user_id)
    now = ctx.clock()

    async def save(session: AsyncSession) -> bool:
        participant, _ = await _ensure_participant(
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
        card = await incident_flows.incident_card(ctx, incident_id)
        try:
            await incident_flows.welcome_person(ctx, card, channel_id, user_id, [OBSERVER])
        except SlackApiError as error:
            logger.info("could not welcome %s: %s", user_id, error.response.get("error"))
        await resources.sync_tactical_group(ctx, incident_id)
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
        await resources.sync_tactical_group(ctx, incident_id)
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
            participant, _ = await _ensure_participant(
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
        profile = await _profile(profiles, message.user_id)
    await in_transaction(ctx, save)
