"""Writing a report: the prefilled form and the checks; then saved first, and posted, pinned, recorded.

`create_report` commits the report keyed by its submission, so a redelivered submission finds it
and sends nothing twice. `deliver` then does the Slack side, each step recorded or idempotent
(the message's ts, the pin, a timeline event keyed by the report), so running it again finishes
what was left instead of repeating what was done; `resume_undelivered` does that for reports a
crash left between the two.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError

from bot.incidents import documents
from bot.incidents.announcements import notification_addresses
from bot.incidents.card import incident_card, user_name
from bot.incidents.context import IncidentContext, incident_context
from bot.incidents.facts import IncidentCard
from bot.mail import content
from bot.mail import flows as mail
from bot.reports import views
from bot.reports.facts import (
    EXECUTIVE,
    FIELD_MAX,
    KINDS,
    TACTICAL,
    ReportForm,
    ReportKind,
    ReportOutcome,
    SubmittedReport,
)
from bot.runtime.bot_context import BotContext
from bot.slack.gateway import error_code
from storage import incidents as incident_store
from storage import reports as store
from storage import tasks as task_store
from storage.models import Incident, Report

logger = logging.getLogger(__name__)

TIMELINE_KIND = "report"
# A report this long without its Slack side finished was left by a crash, not by a delivery running now:
# a post and a pin retried through a mass outage's rate limits can take minutes, so leave them room.
RESUME_AFTER = timedelta(minutes=10)
# How the open tasks are introduced in the Actions of a tactical report; a line of our own, so a
# list carried over from the last report is replaced by the current one instead of piling up.
OPEN_TASKS_HEADING = "Open tasks:"


def request_key(view_id: str) -> str:
    """The key of a report submitted from the modal `view_id`: one report per submitted modal."""
    return f"view:{view_id}"


def view_of(key: str) -> str | None:
    return key.removeprefix("view:") if key.startswith("view:") else None


def with_open_tasks(actions: str, open_tasks: Sequence[str]) -> str:
    """`actions` with the incident's open tasks listed at the end (a list from before dropped)."""
    kept = actions.split(OPEN_TASKS_HEADING, 1)[0].rstrip() if OPEN_TASKS_HEADING in actions else actions
    if not open_tasks:
        return kept
    listed = "\n".join(f"• {task.strip()}" for task in open_tasks if task.strip())
    return f"{kept}\n\n{OPEN_TASKS_HEADING}\n{listed}".strip() if listed else kept


async def report_form(ctx: BotContext, kind: ReportKind, found: IncidentContext) -> ReportForm:
    """The modal's content: the fields of the incident's last report of this kind, with the
    incident's open tasks listed under a tactical report's Actions."""
    async with ctx.sessions() as session:
        last = await store.last_report(session, found.incident_id, kind.key)
        open_tasks = [
            row.task.description
            for row in await task_store.incident_tasks(session, found.incident_id)
            if row.task.status == "open"
        ]
    details = last.details if last is not None else {}
    values = {f.key: str(details.get(f.key) or "") for f in kind.fields}
    if "actions" in values:
        values["actions"] = with_open_tasks(values["actions"], open_tasks)
    return ReportForm(
        kind=kind,
        incident_id=found.incident_id,
        channel_id=found.channel_id,
        incident_name=found.incident.name,
        values={key: value[:FIELD_MAX] for key, value in values.items()},
        last_at=last.created_at if last is not None else None,
        last_author=last.author_user_id if last is not None else None,
    )


def check_values(kind: ReportKind, values: dict[str, str]) -> dict[str, str]:
    """Problems with the fields, by field key; empty when the report can be saved."""
    errors: dict[str, str] = {}
    for f in kind.fields:
        text = values.get(f.key, "").strip()
        if not text:
            errors[f.key] = f"Write the {f.label.lower()}; a word or two is enough."
        elif len(text) > FIELD_MAX:
            errors[f.key] = f"Keep it under {FIELD_MAX:,} characters (this is {len(text):,})."
    return errors


async def may_report(
    ctx: BotContext, channel_id: str, incident_id: int, user_id: str
) -> IncidentContext | None:
    """The incident, if `channel_id` is still its channel and `user_id` still leads it (checked on submit)."""
    found = await incident_context(ctx, channel_id, user_id)
    if found is None or found.incident_id != incident_id or not found.leads:
        return None
    return found


async def create_report(ctx: BotContext, submitted: SubmittedReport) -> ReportOutcome:
    """Save the report, then post it; a submission saved already is only described, never resent."""
    report, created = await save(ctx, submitted)
    if not created:
        return await describe(ctx, report, submitted.kind, created=False)
    return await deliver(ctx, report, submitted.kind)


async def save(ctx: BotContext, submitted: SubmittedReport) -> tuple[Report, bool]:
    """Commit the report; (the earlier report, False) when this submission made one already."""
    async with ctx.sessions() as session:
        existing = await store.report_by_request(session, submitted.request_key)
    if existing is not None:
        return existing, False
    details = {f.key: submitted.values.get(f.key, "").strip() for f in submitted.kind.fields}
    try:
        async with ctx.sessions() as session, session.begin():
            report = await store.add_report(
                session,
                submitted.incident_id,
                submitted.kind.key,
                submitted.user_id,
                details,
                request_key=submitted.request_key,
                channel_id=submitted.channel_id,
                now=ctx.clock(),
            )
        return report, True
    except IntegrityError:
        # The same submission, delivered twice at once: the other delivery saved it first.
        async with ctx.sessions() as session:
            existing = await store.report_by_request(session, submitted.request_key)
        if existing is None:
            raise
        return existing, False


async def _incident_name(ctx: BotContext, incident_id: int) -> str:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
    return incident.name if incident is not None else "the incident"


async def describe(ctx: BotContext, report: Report, kind: ReportKind, *, created: bool) -> ReportOutcome:
    assert report.id is not None
    return ReportOutcome(
        kind=kind,
        report_id=report.id,
        incident_name=await _incident_name(ctx, report.incident_id),
        created=created,
        channel_id=report.channel_id,
        posted=report.message_ts is not None,
        pinned=report.pinned_at is not None,
    )


async def deliver(ctx: BotContext, report: Report, kind: ReportKind) -> ReportOutcome:
    """Post the report in its channel (pinned if its kind is), and put it on the timeline.

    Each step is skipped when already recorded, and a failed one does not stop the others.
    """
    outcome = await describe(ctx, report, kind, created=True)
    assert report.id is not None
    report_id, channel = report.id, report.channel_id
    ts = report.message_ts
    if channel and ts is None:
        text, blocks = views.report_message(
            kind, outcome.incident_name, report.author_user_id, report.details
        )
        try:
            ts = await ctx.gateway.post(channel, text, blocks)
        except SlackApiError as error:
            logger.warning("report %s: could not post in %s: %s", report_id, channel, error_code(error))
            outcome.problems.append(
                f"It could not be posted in <#{channel}> (Slack answered `{error_code(error)}`)."
            )
        else:
            async with ctx.sessions() as session, session.begin():
                await store.record_message(session, report_id, channel, ts)
            outcome.posted = True
    if channel and ts and kind.pinned and report.pinned_at is None:
        try:
            await ctx.gateway.pin(channel, ts)
        except SlackApiError as error:
            logger.warning("report %s: could not pin it: %s", report_id, error_code(error))
            outcome.problems.append(f"It could not be pinned (Slack answered `{error_code(error)}`).")
        else:
            async with ctx.sessions() as session, session.begin():
                await store.record_pinned(session, report_id, ctx.clock())
            outcome.pinned = True
    await _add_to_timeline(ctx, report, kind, ts)
    async with ctx.sessions() as session, session.begin():
        await store.record_delivered(session, report_id, ctx.clock())
    if kind.key == EXECUTIVE:
        await _executive_document(ctx, report, kind, outcome)
    await _email(ctx, report, kind, outcome)
    return outcome


async def _executive_document(
    ctx: BotContext, report: Report, kind: ReportKind, outcome: ReportOutcome
) -> None:
    """The executive template filled with this report, when the project makes such documents."""
    assert report.id is not None
    fields = {f.key: str(report.details.get(f.key) or "") for f in kind.fields}
    async with ctx.sessions() as session:
        number = await store.report_number(session, report)
    link, problem = await documents.make_executive_document(ctx, report.incident_id, number, fields)
    outcome.document_link = link
    if problem:
        outcome.problems.append(problem)


# The group each kind of report is e-mailed to: a resource of the incident, its address in details.
GROUPS = {TACTICAL: "tactical_group", EXECUTIVE: "notifications_group"}


async def report_addresses(ctx: BotContext, card: IncidentCard, kind: ReportKind) -> tuple[list[str], str]:
    """Who gets the report by e-mail, and why no one when no one: the kind's group, and for an
    executive report the notification addresses whose filters match (never for a restricted incident)."""
    async with ctx.sessions() as session:
        group = (await incident_store.resources(session, card.id)).get(GROUPS[kind.key])
    addresses = [str(group.details["email"])] if group is not None and group.details.get("email") else []
    if kind.key == EXECUTIVE:
        addresses += await notification_addresses(ctx, card)
    if addresses:
        return list(dict.fromkeys(addresses)), ""
    if kind.key == EXECUTIVE:
        return [], "the incident has no notifications group and no notification address matches it"
    return [], "the incident has no tactical group"


async def _email(ctx: BotContext, report: Report, kind: ReportKind, outcome: ReportOutcome) -> None:
    """E-mail the report to its addresses, one e-mail each, each once (a resumed delivery skips them)."""
    assert report.id is not None
    plugin = await mail.email_plugin(ctx, report.incident_id)
    if plugin is None:  # the result says so where it matters (an executive report)
        return
    card = await incident_card(ctx, report.incident_id)
    addresses, outcome.email_note = await report_addresses(ctx, card, kind)
    if not addresses:
        return
    author, commander = await asyncio.gather(
        user_name(ctx, report.author_user_id), user_name(ctx, card.commander_id)
    )
    fields = {f.label: str(report.details.get(f.key) or "") for f in kind.fields}
    link = content.channel_link(mail.workspace_url(ctx), card.channel_id)
    email = content.report(card, kind.name, fields, author, commander, link)
    reached, failed = await mail.send_each(ctx, plugin, card.id, f"report:{report.id}", addresses, email)
    outcome.emailed.extend(reached)
    outcome.email_failed.update(failed)


async def _add_to_timeline(ctx: BotContext, report: Report, kind: ReportKind, ts: str | None) -> None:
    assert report.id is not None
    fields = {f.label: str(report.details.get(f.key) or "") for f in kind.fields}
    summary = "; ".join(f"{label}: {text}" for label, text in fields.items())
    async with ctx.sessions() as session, session.begin():
        await incident_store.add_timeline_event(
            session,
            report.incident_id,
            TIMELINE_KIND,
            f"<@{report.author_user_id}> sent a {kind.name.lower()}. {summary}",
            actor=report.author_user_id,
            occurred_at=report.created_at,
            details={"report_id": report.id, "type": kind.key, "fields": fields, "message_ts": ts},
            dedupe_key=f"report:{report.id}",
        )


async def resume_undelivered(ctx: BotContext) -> int:
    """Post the reports a crash left saved but not sent, and tell their authors; how many were taken up.

    Meant for the periodic reconcile job. The author's modal still says "Saving…" if it is open;
    the request key names it, so it turns into the result.
    """
    now = ctx.clock()
    async with ctx.sessions() as session:
        due = await store.undelivered_reports(session, now - RESUME_AFTER)
    resumed = 0
    for report in due:
        assert report.id is not None
        async with ctx.sessions() as session, session.begin():
            claimed = await store.claim_undelivered(session, report.id, now)
        kind = KINDS.get(report.kind)
        if not claimed or kind is None:
            continue
        resumed += 1
        outcome = await deliver(ctx, report, kind)
        view_id = view_of(report.request_key)
        if view_id is not None:
            await ctx.gateway.update_view(view_id, views.result_modal(outcome))
    return resumed
