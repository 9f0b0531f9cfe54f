"""Slack listeners for reporting incidents: the command, the message shortcut and the report modal."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.incidents import (
    channel_views,
    lifecycle,
    list_views,
    listing,
    opening_runner,
    report_views,
    reporting,
    self_service,
    update_views,
)
from bot.incidents.card import incident_card
from bot.incidents.context import may_lead, require_incident
from bot.incidents.facts import IncidentCard
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry, ShortcutSpec
from bot.slack.modals import input_value, private_metadata

logger = logging.getLogger(__name__)

REPORT = CommandSpec(
    key="report_incident",
    default_name="/dispatch-report-incident",
    description="Report an incident: a short form, then an incident channel with the right people.",
    usage_hint="[title]",
)
UPDATE = CommandSpec(
    key="update_incident",
    default_name="/dispatch-update-incident",
    description="Change the incident's title, description, status, type, severity, priority or visibility.",
)
LIST = CommandSpec(
    key="list_incidents",
    default_name="/dispatch-list-incidents",
    description="List active and stable incidents, and those closed in the last 24 hours.",
    usage_hint="[project]",
)
STALE_FORM = "This form could not be read (it may be out of date). Close it and run the command again."
REPORT_SHORTCUT = ShortcutSpec(
    callback_id="incident_report_from_message",
    name="Report incident",
    description="Report an incident about this message",
)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def parse_report(body: dict[str, Any]) -> reporting.Report:
    view = body["view"]
    metadata = private_metadata(view)
    return reporting.Report(
        request_key=f"view:{view['id']}",
        reporter_id=body["user"]["id"],
        title=input_value(view, report_views.TITLE) or "",
        description=input_value(view, report_views.DESCRIPTION) or "",
        project_id=_int(input_value(view, report_views.PROJECT)) or int(metadata["project_id"]),
        type_id=_int(input_value(view, report_views.TYPE)),
        severity_id=_int(input_value(view, report_views.SEVERITY)),
        priority_id=_int(input_value(view, report_views.PRIORITY)),
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
    """Save the report, open the incident, and turn the reporter's modal into the result."""
    try:
        incident_id, created = await reporting.save_report(ctx, report)

        async def show_channel(card: IncidentCard) -> None:
            await ctx.gateway.update_view(view_id, report_views.created_modal(card))

        if created:
            card = await opening_runner.open_incident(ctx, incident_id, channel_ready=show_channel)
            if not card.channel_id:
                await ctx.gateway.update_view(view_id, report_views.channel_pending_modal(card))
        else:
            await show_channel(await incident_card(ctx, incident_id))
    except Exception:
        correlation_id = uuid.uuid4().hex[:12]
        logger.exception("reporting an incident failed", extra={"correlation_id": correlation_id})
        await ctx.gateway.update_view(
            view_id,
            report_views.message_modal(
                "Report an incident",
                "Sorry, the incident could not be saved, so nothing was created. Please try again; "
                f"if it keeps failing, give your admin this reference: `{correlation_id}`.",
            ),
        )


# Where each editable field is in the update modal; a field whose block was not shown is left as it is.
UPDATE_BLOCKS = {
    "title": report_views.TITLE,
    "description": report_views.DESCRIPTION,
    "resolution": update_views.RESOLUTION,
    "status": update_views.STATUS,
    "type_id": report_views.TYPE,
    "severity_id": report_views.SEVERITY,
    "priority_id": report_views.PRIORITY,
    "visibility": report_views.VISIBILITY,
    "tags": report_views.TAGS,
}


def parse_update(body: dict[str, Any]) -> lifecycle.Update:
    view = body["view"]
    update = _submitted_update(body)
    shown_blocks = set((view.get("state") or {}).get("values") or {})
    if not update.shown:
        return update
    # A select the form left out (no choices configured) submits nothing: count it as unchanged.
    submitted = lifecycle.shown_digest(update)
    shown = dict(update.shown)
    for name, block in UPDATE_BLOCKS.items():
        if block not in shown_blocks:
            shown[name] = submitted[name]
    return replace(update, shown=shown)


def _submitted_update(body: dict[str, Any]) -> lifecycle.Update:
    view = body["view"]
    metadata = private_metadata(view)
    return lifecycle.Update(
        incident_id=int(metadata["incident_id"]),
        user_id=body["user"]["id"],
        title=input_value(view, report_views.TITLE) or "",
        description=input_value(view, report_views.DESCRIPTION) or "",
        resolution=input_value(view, update_views.RESOLUTION) or "",
        status=input_value(view, update_views.STATUS) or "",
        type_id=_int(input_value(view, report_views.TYPE)),
        severity_id=_int(input_value(view, report_views.SEVERITY)),
        priority_id=_int(input_value(view, report_views.PRIORITY)),
        visibility=input_value(view, report_views.VISIBILITY) or "open",
        tags=input_value(view, report_views.TAGS) or (),
        shown={str(name): str(digest) for name, digest in (metadata.get("shown") or {}).items()},
    )


async def open_update_modal(
    ctx: BotContext,
    respond: AsyncRespond,
    channel_id: str,
    user_id: str,
    trigger_id: str,
    command: str,
    status: str | None = None,
) -> None:
    found = await require_incident(ctx, respond, channel_id, user_id, command, leads_only=True)
    if found is None:
        return
    await ctx.gateway.open_view_soon(
        trigger_id,
        _update_view(ctx, found.incident_id, status),
        report_views.loading_modal("Update incident"),
    )


async def _update_view(ctx: BotContext, incident_id: int, status: str | None = None) -> dict[str, Any]:
    form = await lifecycle.update_form(ctx, incident_id)
    return update_views.update_modal(form, {"incident_id": incident_id, "shown": form.shown}, status)


async def open_review_modal(
    ctx: BotContext,
    respond: AsyncRespond,
    incident_id: int,
    user_id: str,
    trigger_id: str,
    status: str | None = None,
) -> None:
    """The update modal from a DM (the review of a closed incident, whose archived channel takes no
    commands; the Monday close reminder, with `status` preselected)."""
    if not await may_lead(ctx, incident_id, user_id):
        await respond(
            text="Only the incident's last commander or scribe can update it.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    await ctx.gateway.open_view_soon(
        trigger_id, _update_view(ctx, incident_id, status), report_views.loading_modal("Update incident")
    )


async def save_update(ctx: BotContext, update: lifecycle.Update, view_id: str) -> None:
    try:
        changes = await lifecycle.apply_update(ctx, update)
    except lifecycle.UpdateRefused as refused:
        await ctx.gateway.update_view(
            view_id,
            report_views.message_modal(
                "Update incident",
                "Not saved: someone changed the incident while you edited it, and together the changes "
                f"don't hold: {refused}. Nothing changed; open the form again to see the incident as it is.",
            ),
        )
        return
    except lifecycle.IncidentBusy:
        await ctx.gateway.update_view(
            view_id,
            report_views.message_modal(
                "Update incident",
                "Not saved: another change to this incident was still being saved. Nothing changed; "
                "open the form again in a moment.",
            ),
        )
        return
    except Exception:
        correlation_id = uuid.uuid4().hex[:12]
        logger.exception("updating an incident failed", extra={"correlation_id": correlation_id})
        await ctx.gateway.update_view(
            view_id,
            report_views.message_modal(
                "Update incident",
                f"Sorry, the update could not be saved; nothing changed. Reference: `{correlation_id}`.",
            ),
        )
        return
    summary = ", ".join(change.field.lower() for change in changes)
    await ctx.gateway.update_view(
        view_id,
        report_views.message_modal(
            "Update incident", f"✅ Saved: {summary}." if changes else "Nothing changed."
        ),
    )
    await lifecycle.after_update(ctx, update.incident_id, changes, update.user_id)


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

    @registry.command(UPDATE)
    async def update_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        command = registry.name_of(UPDATE)
        ctx.tasks.spawn(
            open_update_modal(ctx, respond, body["channel_id"], body["user_id"], body["trigger_id"], command),
            name="update-modal",
        )

    @registry.action(
        {
            "action_id": re.compile(
                f"^({channel_views.UPDATE_BUTTON}|{channel_views.STABLE_BUTTON}|{channel_views.CLOSE_BUTTON})$"
            )
        }
    )
    async def update_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Update incident, Mark stable and Close incident: the update modal, with the status chosen."""
        await ack()
        action = body["actions"][0]
        status = None if action["action_id"] == channel_views.UPDATE_BUTTON else action.get("value")
        channel = (body.get("channel") or {}).get("id", "")
        command = registry.name_of(UPDATE)
        ctx.tasks.spawn(
            open_update_modal(ctx, respond, channel, body["user"]["id"], body["trigger_id"], command, status),
            name="update-modal",
        )

    @registry.view(update_views.UPDATE_CALLBACK)
    async def update_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        try:
            update = parse_update(body)
        except (KeyError, TypeError, ValueError, AttributeError):
            await ack(
                response_action="update", view=report_views.message_modal("Update incident", STALE_FORM)
            )
            return
        # The incident named in the form is re-checked: the form's context is only as honest as its sender.
        if not await may_lead(ctx, update.incident_id, update.user_id):
            await ack(
                response_action="errors",
                errors={
                    report_views.TITLE: "Only the incident commander or the scribe can update the incident."
                },
            )
            return
        errors = await lifecycle.check_update(ctx, update)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="update", view=report_views.message_modal("Update incident", "⏳ Saving…"))
        ctx.tasks.spawn(save_update(ctx, update, body["view"]["id"]), name="update-incident")

    @registry.command(LIST)
    async def list_command(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        project = body.get("text", "").strip() or None

        async def show() -> None:
            cards = await listing.current_incidents(ctx, body["user_id"], project)
            await ctx.gateway.open_view(body["trigger_id"], list_views.incident_list_modal(cards, 0, project))

        ctx.tasks.spawn(show(), name="list-incidents")

    @registry.action({"action_id": re.compile("^(" + "|".join(list_views.LIST_PAGE_ACTIONS) + ")$")})
    async def list_page(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        view = body["view"]
        project = private_metadata(view).get("project")
        page = _int(body["actions"][0].get("value")) or 0

        async def turn() -> None:
            cards = await listing.current_incidents(ctx, body["user"]["id"], project)
            await ctx.gateway.update_view(view["id"], list_views.incident_list_modal(cards, page, project))

        ctx.tasks.spawn(turn(), name="list-incidents-page")

    @registry.action(update_views.REOPEN_BUTTON)
    async def reopen_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        incident_id = _int(body["actions"][0].get("value"))
        user_id = body["user"]["id"]

        async def reopen() -> None:
            try:
                changes = await lifecycle.reopen(ctx, incident_id, user_id) if incident_id else None
            except lifecycle.IncidentBusy:
                text = (
                    "Not reopened: another change to the incident was still being saved. Try again shortly."
                )
                await respond(text=text, response_type="ephemeral", replace_original=False)
                return
            if changes is None:
                text = "Only the incident's last commander or scribe can reopen it."
            elif not changes:
                text = "The incident is already open."
            else:
                text = "Reopened: the channel is back, with everyone in their roles."
            await respond(text=text, response_type="ephemeral", replace_original=False)

        ctx.tasks.spawn(reopen(), name="reopen-incident")

    @registry.action(
        {
            "action_id": re.compile(
                f"^({update_views.REVIEW_UPDATE_BUTTON}|{update_views.CLOSE_REMINDER_BUTTON})$"
            )
        }
    )
    async def review_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Review and update (closed incidents) and Close incident (the Monday reminder): the update modal."""
        await ack()
        action = body["actions"][0]
        incident_id = _int(action.get("value"))
        if incident_id is None:
            logger.warning("review button without an incident id")
            return
        status = "closed" if action["action_id"] == update_views.CLOSE_REMINDER_BUTTON else None
        ctx.tasks.spawn(
            open_review_modal(ctx, respond, incident_id, body["user"]["id"], body["trigger_id"], status),
            name="review-modal",
        )

    @registry.action(
        {"action_id": re.compile(f"^({channel_views.JOIN_BUTTON}|{channel_views.SUBSCRIBE_BUTTON})$")}
    )
    async def self_service_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = body["actions"][0]
        incident_id = _int(action.get("value"))
        act = (
            self_service.join if action["action_id"] == channel_views.JOIN_BUTTON else self_service.subscribe
        )

        async def answer() -> None:
            text = (
                await act(ctx, incident_id, body["user"]["id"]) if incident_id else "This button is broken."
            )
            await respond(text=text, response_type="ephemeral", replace_original=False)

        ctx.tasks.spawn(answer(), name="incident-self-service")

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
        project_id = _int(input_value(view, report_views.PROJECT))

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
                response_action="update", view=report_views.message_modal("Report an incident", STALE_FORM)
            )
            return
        errors = await reporting.check_report(ctx, report)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="update", view=report_views.creating_modal())
        ctx.tasks.spawn(report_and_open(ctx, report, body["view"]["id"]), name="report-incident")
