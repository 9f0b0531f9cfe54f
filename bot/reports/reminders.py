"""Reminding commanders of reports their incident's priority asks for: an hourly job, each due moment once."""

from __future__ import annotations

import logging

from bot.context import BotContext
from bot.incidents.context import COMMANDER
from bot.people.flows import command_name
from bot.reports import views
from bot.reports.facts import EXECUTIVE, KINDS, TACTICAL
from storage import incidents as incident_store
from storage import reminders as store

logger = logging.getLogger(__name__)

# Which priority column says how often each report is due.
INTERVALS = {
    TACTICAL: "tactical_report_reminder_hours",
    EXECUTIVE: "executive_report_reminder_hours",
}
COMMANDS = {
    TACTICAL: ("report_tactical", "/dispatch-report-tactical"),
    EXECUTIVE: ("report_executive", "/dispatch-report-executive"),
}


async def remind_overdue_reports(ctx: BotContext) -> str:
    """DM each active incident's commander about every report overdue by its priority's interval.

    The claim on (incident, kind, due moment) makes one DM per interval however many processes or
    runs see it; the next interval without a report brings the next reminder.
    """
    now = ctx.clock()
    async with ctx.sessions() as session:
        due = await store.overdue_reports(session, now, INTERVALS)
    sent = 0
    for item in due:
        assert item.incident.id is not None
        async with ctx.sessions() as session, session.begin():
            commander = await incident_store.holder_of(session, item.incident.id, COMMANDER)
            channel = (await incident_store.resources(session, item.incident.id)).get("conversation")
            if commander is None:
                continue
            claimed = await store.claim_reminder(
                session, item.incident.id, item.kind, item.due_at, commander, now
            )
        if not claimed:
            continue
        key, default = COMMANDS[item.kind]
        text, blocks = views.report_reminder(
            KINDS[item.kind],
            item.incident.name,
            item.hours,
            channel.external_id if channel is not None else None,
            command_name(ctx, key, default),
        )
        try:
            await ctx.gateway.direct_message(commander, text, blocks)
        except Exception:  # one commander Slack refuses must not stop the others' reminders
            logger.warning("report reminder failed", exc_info=True, extra={"incident_id": item.incident.id})
            continue
        sent += 1
    return f"sent {sent} report reminder(s)"
