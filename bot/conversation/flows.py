"""What the bot tells people about how the incident channel works, each said once per person and incident.

- Thread reminder: replies in threads are easy to miss for people following the channel, so the
  first time someone replies in a thread they are asked (only they see it) to keep to the channel.
- After-hours warning: the first time someone writes while the commander is outside their working
  hours (weekdays 9:00-17:00 in the commander's Slack time zone), they are told answers may be slow,
  unless the incident's priority turns the warning off.

"Once" is claimed in the database, so redelivered events and several bot processes say it once.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import col, select

from bot.conversation.facts import AfterHours
from bot.incidents.context import COMMANDER
from bot.people.profiles import Profiles
from bot.runtime.bot_context import BotContext
from storage import incidents as store
from storage.models import Incident, IncidentPriority, Participant

logger = logging.getLogger(__name__)

WORKDAY_START, WORKDAY_END = time(9, 0), time(17, 0)


def is_working_time(moment: datetime, timezone: str) -> bool:
    """Weekdays 9:00-17:00 in `timezone` (UTC when Slack gave none we know)."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    return local.weekday() < 5 and WORKDAY_START <= local.time() < WORKDAY_END


async def _timezone_of(profiles: Profiles, user_id: str) -> str:
    """The person's Slack time zone; UTC when Slack cannot say (a removed account, say)."""
    try:
        profile = await profiles.get(user_id)
    except Exception:
        logger.info("no time zone for %s; using UTC", user_id, exc_info=True)
        return "UTC"
    return profile.timezone or "UTC"


async def _claim(ctx: BotContext, incident_id: int, user_id: str, flag: str) -> bool:
    """Set the participant's once-only `flag`; True for the one caller that set it."""
    column = getattr(Participant, flag)
    async with ctx.sessions() as session, session.begin():
        result = await (await session.connection()).execute(
            sa.update(Participant)
            .where(col(Participant.incident_id) == incident_id, col(Participant.user_id) == user_id)
            .where(col(column).is_(False))
            .values({flag: True})
        )
    return bool(result.rowcount)


async def first_thread_reply(ctx: BotContext, incident_id: int, user_id: str) -> bool:
    """Whether this is the person's first thread reply to remind about (and, if so, it is now claimed)."""
    return await _claim(ctx, incident_id, user_id, "thread_reminded")


async def after_hours(
    ctx: BotContext, profiles: Profiles, incident_id: int, user_id: str
) -> AfterHours | None:
    """What to warn `user_id` about, the first time they write outside the commander's hours; else None."""
    async with ctx.sessions() as session:
        warned = (
            await session.exec(
                select(Participant.after_hours_warned).where(
                    Participant.incident_id == incident_id, Participant.user_id == user_id
                )
            )
        ).first()
        if warned is not False:  # warned already (the usual case), or not a participant
            return None
        incident = await session.get(Incident, incident_id)
        if incident is None or incident.status != "active":
            return None
        priority = (
            await session.get(IncidentPriority, incident.incident_priority_id)
            if incident.incident_priority_id
            else None
        )
        if priority is not None and not priority.delayed_message_warning:
            return None
        commander = await store.holder_of(session, incident_id, COMMANDER)
        if commander is None or commander == user_id:
            return None
        stored = (
            await session.exec(
                select(Participant.timezone).where(
                    Participant.incident_id == incident_id, Participant.user_id == commander
                )
            )
        ).first()
    timezone = stored or await _timezone_of(profiles, commander)
    if is_working_time(ctx.clock(), timezone):
        return None
    if not await _claim(ctx, incident_id, user_id, "after_hours_warned"):
        return None
    return AfterHours(commander, timezone, priority.name if priority is not None else "Unspecified")
