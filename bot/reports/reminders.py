"""Reminding commanders of reports their incident's priority asks for: an hourly job, each due moment once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from bot.incidents.context import COMMANDER
from bot.people.flows import command_name
from bot.reports import views
from bot.reports.facts import EXECUTIVE, KINDS, TACTICAL
from bot.runtime import effects
from bot.runtime.bot_context import BotContext
from storage import incidents as incident_store
from storage import reminders as store
from storage import reports as report_store
from storage.effects import NewEffect
from storage.models import Effect, Incident, Resource

logger = logging.getLogger(__name__)

# Which priority column says how often each report is due.
INTERVALS = {
    TACTICAL: "tactical_report_reminder_hours",
    EXECUTIVE: "executive_report_reminder_hours",
}
REMIND_AGAIN = "report-reminder"
REMIND = "reports.remind"
# The claim kind of the reminder a status change brings: one per change, whatever redelivers it.
STATUS_CHANGED = "status-tactical"
# A tactical report this recent already says where things stand: no reminder on a status change.
RECENT_REPORT = timedelta(hours=1)
COMMANDS = {
    TACTICAL: ("report_tactical", "/dispatch-report-tactical"),
    EXECUTIVE: ("report_executive", "/dispatch-report-executive"),
}


async def remind_overdue_reports(ctx: BotContext) -> str:
    """DM each active incident's commander about every report overdue by its priority's interval.

    The claim on (incident, kind, due moment) makes one DM per interval however many processes or
    runs see it; the next interval without a report brings the next reminder. Five queries however
    many incidents are due: commanders, channels and claims are taken for all of them at once.
    """
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        due = await store.overdue_reports(session, now, INTERVALS)
        ids = sorted({item.incident.id for item in due if item.incident.id is not None})
        commanders = await store.current_holders(session, ids, COMMANDER) if ids else {}
        wanted = [item for item in due if item.incident.id in commanders]
        claims = [
            store.Claim(item.incident.id or 0, item.kind, item.due_at, commanders[item.incident.id or 0])
            for item in wanted
        ]
        claimed = await store.claim_reminders(session, claims, now) if claims else set()
        # The claim and the send are one: each claimed reminder is an effect, sent at least once.
        sends = [
            NewEffect(
                REMIND,
                f"{REMIND}:{item.incident.id}:{item.kind}:{item.due_at.isoformat()}",
                now,
                {"incident_id": item.incident.id, "kind": item.kind, "hours": item.hours},
                item.incident.id,
            )
            for item in wanted
            if (item.incident.id or 0, item.kind) in claimed
        ]
        keys = await effects.record(session, ctx, sends)
    sent, _failed = await effects.run_stages(ctx, keys)
    return f"sent {sent} report reminder(s)"


@effects.effect(REMIND, "remind the commander that a report is due")
async def send_reminder(ctx: BotContext, row: Effect) -> str:
    incident_id, kind = int(row.payload["incident_id"]), str(row.payload["kind"])
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        commander = await incident_store.holder_of(session, incident_id, COMMANDER)
        channel = (await incident_store.resources(session, incident_id)).get("conversation")
    if incident is None or incident.status != "active" or commander is None:
        return "not needed: no active incident with a commander"
    hours = row.payload.get("hours")
    await _send(
        ctx, commander, incident, kind, hours, _id(channel), key=row.key, maybe_posted=row.attempts > 1
    )
    return "reminded"


def _id(resource: Resource | None) -> str | None:
    return resource.external_id if resource is not None else None


async def _send(
    ctx: BotContext,
    commander: str,
    incident: Incident,
    kind: str,
    hours: int | None,
    channel_id: str | None,
    status: str | None = None,
    key: str | None = None,
    maybe_posted: bool = False,
) -> None:
    key, default = COMMANDS[kind]
    text, blocks = views.report_reminder(
        KINDS[kind],
        incident.name,
        incident.id or 0,
        hours,
        channel_id,
        command_name(ctx, key, default),
        status=status,
    )
    await ctx.gateway.direct_message(commander, text, blocks, key=key, maybe_posted=maybe_posted)


async def remind_after_status_change(ctx: BotContext, incident_id: int, row: Effect | None = None) -> str:
    """The tactical reminder a status change into Active or Stable brings the commander, at once.

    Claimed on (incident, the moment of the latest status change), so two updates never DM twice for
    one change; skipped when a tactical report came in the last hour. Run as the update's effect
    `row`, a retry after the claim was won sends what the claim promised (looking for it first).
    """
    if row is not None and row.result.get("claimed"):
        return await _send_claimed(ctx, incident_id, row)
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        incident = await session.get(Incident, incident_id)
        changed_at = await incident_store.last_status_change(session, incident_id)
        last = await report_store.last_report(session, incident_id, TACTICAL)
        commander = await incident_store.holder_of(session, incident_id, COMMANDER)
        channel = (await incident_store.resources(session, incident_id)).get("conversation")
        if incident is None or incident.status == "closed" or changed_at is None or commander is None:
            return "not needed: no open incident with a commander"
        if last is not None and _aware(last.created_at) > now - RECENT_REPORT:
            return "not needed: a tactical report came in the last hour"
        claim = store.Claim(incident_id, STATUS_CHANGED, changed_at, commander)
        if not await store.claim_reminders(session, [claim], now):
            return "already reminded for this change"
    if row is None:
        await _send(ctx, commander, incident, TACTICAL, None, _id(channel), status=incident.status)
        return "reminded"
    row.result["claimed"] = True
    return await _send_claimed(ctx, incident_id, row)


async def _send_claimed(ctx: BotContext, incident_id: int, row: Effect) -> str:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        commander = await incident_store.holder_of(session, incident_id, COMMANDER)
        channel = (await incident_store.resources(session, incident_id)).get("conversation")
    if incident is None or commander is None:
        return "not needed: no incident with a commander"
    await _send(
        ctx, commander, incident, TACTICAL, None, _id(channel), incident.status, row.key, row.attempts > 1
    )
    return "reminded"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def remind_later(ctx: BotContext, incident_id: int, kind: str, minutes: int, user_id: str) -> datetime:
    """Schedule the reminder again in `minutes` (a timer, so it survives restarts); when it comes due."""
    now = ctx.clock()
    due_at = now + timedelta(minutes=minutes)
    timer = NewEffect(
        REMIND_AGAIN,
        f"{REMIND_AGAIN}:{incident_id}:{kind}:{due_at.isoformat()}",
        due_at,
        {"incident_id": incident_id, "kind": kind, "asked_at": now.isoformat(), "user_id": user_id},
        incident_id,
    )
    async with ctx.sessions() as session, session.begin():
        await effects.record(session, ctx, [timer])
    return due_at


@effects.effect(REMIND_AGAIN, "remind the commander again about a report")
async def remind_again(ctx: BotContext, action: Effect) -> str:
    """The timer of "remind me in…": remind again, unless the report came meanwhile or the incident
    closed (a stable incident's commander may have snoozed the reminder its status change brought)."""
    incident_id, kind = int(action.payload["incident_id"]), str(action.payload["kind"])
    asked_at = datetime.fromisoformat(str(action.payload["asked_at"]))
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        last = await report_store.last_report(session, incident_id, kind)
        commander = await incident_store.holder_of(session, incident_id, COMMANDER)
        channel = (await incident_store.resources(session, incident_id)).get("conversation")
    if incident is None or incident.status == "closed" or commander is None or kind not in KINDS:
        return "not needed: the incident is closed"
    if last is not None and last.created_at >= asked_at:
        return "not needed: the report was made"
    await _send(ctx, commander, incident, kind, None, _id(channel))
    return "reminded again"
