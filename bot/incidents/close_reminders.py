"""Asking commanders to close what has been stable for a week: a DM on Mondays, once a week per incident."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core.direct_messages import dm
from bot.core.local_time import today_at
from bot.incidents import update_views
from bot.incidents.context import COMMANDER
from bot.runtime import effects
from bot.runtime.bot_context import BotContext
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

    Hourly: three queries when nothing is due, five when some are, however many. Types excluded from
    reminders are skipped.
    """
    now = ctx.clock()
    async with ctx.sessions() as session:
        stale = await store.stable_incidents(session, now - STABLE_FOR, COMMANDER)
    due = []
    for item in stale:
        monday = today_at(item.project.daily_report_time, item.project.timezone, now)
        if monday.day.weekday() == MONDAY and monday.passed(now) and item.commander is not None:
            due.append((item, store.Claim(item.incident.id or 0, CLOSE, monday.due_at, item.commander)))
    if not due:
        return "sent 0 close reminder(s)"
    async with ctx.sessions() as session, session.begin():
        claimed = await store.claim_reminders(session, [claim for _, claim in due], now)
        channels = await incident_store.conversations(session, [claim.incident_id for _, claim in due])
        sends = []
        for item, claim in due:
            if (claim.incident_id, CLOSE) not in claimed:
                continue  # this week's was sent by another run or process
            days = (now - item.stable_since).days
            text, blocks = update_views.close_reminder(
                claim.incident_id,
                item.incident.name,
                item.incident.title,
                days,
                channels.get(claim.incident_id),
            )
            key = f"close-reminder:{claim.incident_id}:{claim.due_at.isoformat()}"
            sends.append(dm(ctx, key, [claim.user_id or ""], text, blocks, claim.incident_id))
        # The claim and the send are one: each claimed reminder is an effect, sent at least once.
        keys = await effects.record(session, ctx, sends)
    sent, _failed = await effects.run_stages(ctx, keys)
    return f"sent {sent} close reminder(s)"
