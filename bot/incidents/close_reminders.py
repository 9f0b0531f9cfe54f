"""Asking commanders to close what has been stable for a week: a DM on Mondays, once a week per incident."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import BotContext
from bot.core.local_time import today_at
from bot.incidents import views
from bot.incidents.context import COMMANDER
from storage import incidents as incident_store
from storage import reminders as store

logger = logging.getLogger(__name__)

STABLE_FOR = timedelta(days=7)
MONDAY = 0
# The claim kind in `reminder`; its due moment is the Monday's, so one DM per incident per week.
CLOSE = "close"


async def remind_to_close(ctx: BotContext) -> str:
    """DM the commander of each incident stable for 7 days or more, on Mondays in its project's time
    zone, from the project's daily report time (when people there look at incidents).

    Hourly: a run that finds nothing due does three queries. Types excluded from reminders are skipped.
    """
    now = ctx.clock()
    async with ctx.sessions() as session:
        stale = await store.stable_incidents(session, now - STABLE_FOR, COMMANDER)
    sent = 0
    for item in stale:
        assert item.incident.id is not None
        monday = today_at(item.project.daily_report_time, item.project.timezone, now)
        if monday.day.weekday() != MONDAY or not monday.passed(now) or item.commander is None:
            continue
        async with ctx.sessions() as session, session.begin():
            claimed = await store.claim_reminder(
                session, item.incident.id, CLOSE, monday.due_at, item.commander, now
            )
            channel = (await incident_store.resources(session, item.incident.id)).get("conversation")
        if not claimed:
            continue
        days = (now - item.stable_since).days
        text, blocks = views.close_reminder(
            item.incident.id,
            item.incident.name,
            item.incident.title,
            days,
            channel.external_id if channel else None,
        )
        try:
            await ctx.gateway.direct_message(item.commander, text, blocks)
        except Exception:  # one commander Slack refuses must not stop the others' reminders
            logger.warning("close reminder failed", exc_info=True, extra={"incident_id": item.incident.id})
            continue
        sent += 1
    return f"sent {sent} close reminder(s)"
