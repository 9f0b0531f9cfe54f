"""Who takes part in an incident: the roles and their order, the participant row, the listing and the reasons.

Every change is saved first (participant rows are unique per incident and user, roles are ended by
setting `renounced_at`, never deleted), then told to Slack. Flows take their dependencies
explicitly: the bot context and the profile cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents.context import incident_context
from bot.people import queries as q
from bot.people.facts import ParticipantLine, ParticipantPage
from bot.people.profiles import Profile, Profiles
from bot.runtime.bot_context import BotContext
from storage import incidents as store
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


async def profile_of(profiles: Profiles, user_id: str) -> Profile:
    try:
        return await profiles.get(user_id)
    except SlackApiError as error:
        logger.warning("could not look up %s: %s", user_id, error.response.get("error"))
        return Profile(user_id=user_id)


async def ensure_participant(
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
    profile = await profile_of(profiles, target)
    now = ctx.clock()

    async def save(session: AsyncSession) -> None:
        participant, created = await ensure_participant(
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
