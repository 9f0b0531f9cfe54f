"""Slack listeners for reporting incidents: the command, the message shortcut and the report modal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.incidents import opening_runner, report_views, reporting
from bot.incidents.card import incident_card
from bot.incidents.facts import IncidentCard
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry, ShortcutSpec
from bot.slack.modals import input_value, int_or_none, private_metadata

logger = logging.getLogger(__name__)

REPORT = CommandSpec(
    key="report_incident",
    default_name="/dispatch-report-incident",
    description="Report an incident: a short form, then an incident channel with the right people.",
    usage_hint="[title]",
)


REPORT_SHORTCUT = ShortcutSpec(
    callback_id="incident_report_from_message",
    name="Report incident",
    description="Report an incident about this message",
)


def parse_report(body: dict[str, Any]) -> reporting.Report:
    view = body["view"]
    metadata = private_metadata(view)
    return reporting.Report(
        request_key=f"view:{view['id']}",
        reporter_id=body["user"]["id"],
        title=input_value(view, report_views.TITLE) or "",
        description=input_value(view, report_views.DESCRIPTION) or "",
        project_id=int_or_none(input_value(view, report_views.PROJECT)) or int(metadata["project_id"]),
        type_id=int_or_none(input_value(view, report_views.TYPE)),
        severity_id=int_or_none(input_value(view, report_views.SEVERITY)),
        priority_id=int_or_none(input_value(view, report_views.PRIORITY)),
        visibility=input_value(view, report_views.VISIBILITY),
        commander_id=input_value(view, report_views.COMMANDER),
        tags=input_value(view, report_views.TAGS) or (),
    )


async def open_report_modal(
    ctx: BotContext,
    trigger_id: str,
    title: str = "",
    description: str | Awaitable[str] = "",
) -> None:
    """The report form; `description` may still be on its way (a message's permalink, say)."""

    async def build() -> dict[str, Any]:
        text = description if isinstance(description, str) else await description
        try:
            form = await reporting.report_form(ctx, title=title, description=text)
        except reporting.NoProject:
            return report_views.message_modal(
                "Report an incident",
                "No project is set up for incidents yet. Ask an admin to run `dispatch-bot config apply`.",
            )
        return report_views.report_modal(form, {"project_id": form.project_id})

    await ctx.gateway.open_view_soon(trigger_id, build(), report_views.loading_modal("Report an incident"))


async def report_and_open(ctx: BotContext, report: reporting.Report, view_id: str) -> None:
    """Save the report, open the incident, and turn the reporter's modal into the result (or DM it
    to them when the modal is gone)."""
    reporter = report.reporter_id
    told: list[asyncio.Task[bool]] = []

    def tell_opening(card: IncidentCard) -> None:
        # Told at once, beside the channel's creation rather than before it (the reporter waits for
        # the channel): the incident exists, and where its channel stands in Slack's queue.
        position = ctx.slack.pacer.queue("conversations.create")
        told.append(
            asyncio.ensure_future(
                ctx.gateway.update_view(view_id, report_views.opening_modal(card, position))
            )
        )

    async def after_telling() -> None:
        for task in told:
            with contextlib.suppress(Exception):  # a lost progress note must not cost the result
                await task

    saved: int | None = None
    try:
        incident_id, created = await reporting.save_report(ctx, report)
        saved = incident_id

        async def show_channel(card: IncidentCard) -> None:
            await after_telling()
            await ctx.gateway.show_result(view_id, reporter, report_views.created_modal(card))

        if created:
            card = await opening_runner.open_incident(
                ctx, incident_id, channel_ready=show_channel, channel_opening=tell_opening
            )
            if not card.channel_id:
                await after_telling()
                await ctx.gateway.show_result(view_id, reporter, report_views.channel_pending_modal(card))
        else:
            await show_channel(await incident_card(ctx, incident_id))
    except Exception:
        correlation_id = uuid.uuid4().hex[:12]
        logger.exception("reporting an incident failed", extra={"correlation_id": correlation_id})
        await after_telling()
        await ctx.gateway.show_result(view_id, reporter, await _failure_modal(ctx, saved, correlation_id))


async def _failure_modal(ctx: BotContext, saved: int | None, correlation_id: str) -> dict[str, Any]:
    """What the reporter is told of a failure: never "nothing was created" about an incident that exists."""
    if saved is None:
        return report_views.message_modal(
            "Report an incident",
            "Sorry, the incident could not be saved, so nothing was created. Please try again; "
            f"if it keeps failing, give your admin this reference: `{correlation_id}`.",
        )
    try:
        card = await incident_card(ctx, saved)
    except Exception:
        logger.exception("reading a saved incident failed", extra={"correlation_id": correlation_id})
        return report_views.message_modal(
            "Incident reported",
            "Your incident is saved, but opening it hit an error; the bot finishes it on its own. "
            f"Reference: `{correlation_id}`.",
        )
    return report_views.saved_with_error_modal(card, correlation_id)


def register(registry: Registry, ctx: BotContext) -> None:
    registry.require_scopes(
        "channels:manage",
        "groups:write",
        "channels:read",
        "groups:read",
        "chat:write.public",
        "pins:write",
        "bookmarks:write",
        "im:write",
        "users:read",
    )

    @registry.command(REPORT)
    async def report_command(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        ctx.tasks.spawn(
            open_report_modal(ctx, body["trigger_id"], title=body.get("text", "").strip()),
            name="report-modal",
        )

    @registry.shortcut(REPORT_SHORTCUT)
    async def report_from_message(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()

        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id")

        async def with_link() -> str:
            text = str(message.get("text", ""))
            if channel and message.get("ts"):
                text = f"{text}\n\n{await ctx.gateway.permalink(channel, message['ts'])}"
            return text

        ctx.tasks.spawn(
            open_report_modal(ctx, body["trigger_id"], description=with_link()), name="report-modal"
        )

    @registry.action(report_views.PROJECT_ACTION)
    async def project_chosen(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        view = body["view"]
        project_id = int_or_none(input_value(view, report_views.PROJECT))

        async def rebuild() -> None:
            form = await reporting.report_form(
                ctx,
                project_id,
                title=input_value(view, report_views.TITLE) or "",
                description=input_value(view, report_views.DESCRIPTION) or "",
            )
            await ctx.gateway.update_view(
                view["id"], report_views.report_modal(form, {"project_id": form.project_id})
            )

        ctx.tasks.spawn(rebuild(), name="report-modal-project")

    @registry.view(report_views.REPORT_CALLBACK)
    async def report_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        try:
            report = parse_report(body)
        except (KeyError, TypeError, ValueError):
            await ack(
                response_action="update",
                view=report_views.message_modal("Report an incident", report_views.STALE_FORM),
            )
            return
        errors = await reporting.check_report(ctx, report)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="update", view=report_views.creating_modal())
        ctx.tasks.spawn(report_and_open(ctx, report, body["view"]["id"]), name="report-incident")
