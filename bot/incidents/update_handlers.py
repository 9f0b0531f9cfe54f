"""Slack listeners for changing an incident: the command, the summary's and the DMs' buttons, and the
update modal.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.incidents import channel_views, lifecycle, report_views, update_views
from bot.incidents.context import may_lead, require_incident
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry
from bot.slack.modals import input_value, int_or_none, private_metadata

logger = logging.getLogger(__name__)

UPDATE = CommandSpec(
    key="update_incident",
    default_name="/dispatch-update-incident",
    description="Change the incident's title, description, status, type, severity, priority or visibility.",
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
        type_id=int_or_none(input_value(view, report_views.TYPE)),
        severity_id=int_or_none(input_value(view, report_views.SEVERITY)),
        priority_id=int_or_none(input_value(view, report_views.PRIORITY)),
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


async def _retry_view(ctx: BotContext, update: lifecycle.Update, problem: str) -> dict[str, Any]:
    """The update form on the incident as it is now, filled with what `update` typed, under `problem`."""
    form = await lifecycle.update_form(ctx, update.incident_id)
    typed = replace(
        form,
        incident=replace(
            form.incident,
            title=update.title,
            description=update.description,
            visibility=update.visibility,
            tags=list(update.tags),
        ),
        resolution=update.resolution,
        type_id=update.type_id,
        severity_id=update.severity_id,
        priority_id=update.priority_id,
    )
    metadata = {"incident_id": update.incident_id, "shown": form.shown}
    view = update_views.update_modal(typed, metadata, update.status)
    view["blocks"].insert(0, {"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {problem}"}})
    return view


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
    """Save the update and show its outcome in the person's "Saving…" modal (or by DM when it is gone)."""

    async def tell(text: str) -> None:
        await ctx.gateway.show_result(
            view_id, update.user_id, report_views.message_modal("Update incident", text)
        )

    async def ask_again(problem: str) -> None:
        """The form again, with what they typed and why it was not saved: nothing they wrote is lost."""
        await ctx.gateway.show_result(view_id, update.user_id, await _retry_view(ctx, update, problem))

    try:
        saved = await lifecycle.apply_update(ctx, update)
    except lifecycle.UpdateRefused as refused:
        await ask_again(
            "Not saved: someone changed the incident while you edited it, and together the changes "
            f"don't hold: {refused}. Nothing changed; your changes are below, on the incident as it is now."
        )
        return
    except lifecycle.IncidentBusy:
        await ask_again(
            "Not saved: another change to this incident was still being saved. Nothing changed; "
            "your changes are below: save again in a moment."
        )
        return
    except Exception:
        correlation_id = uuid.uuid4().hex[:12]
        logger.exception("updating an incident failed", extra={"correlation_id": correlation_id})
        await tell(f"Sorry, the update could not be saved; nothing changed. Reference: `{correlation_id}`.")
        return
    # Saved with its effects: they run now, whatever becomes of the modal (a failed views.update
    # must not leave a close without its archive and feedback requests).
    running = ctx.tasks.spawn(saved.run_effects(ctx), name=f"update-effects:{update.incident_id}")
    summary = ", ".join(change.field.lower() for change in saved.changes)
    await tell(f"✅ Saved: {summary}." if saved.changes else "Nothing changed.")
    await running


def register(registry: Registry, ctx: BotContext) -> None:
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
                response_action="update",
                view=report_views.message_modal("Update incident", report_views.STALE_FORM),
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

    @registry.action(update_views.REOPEN_BUTTON)
    async def reopen_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        incident_id = int_or_none(body["actions"][0].get("value"))
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
        incident_id = int_or_none(action.get("value"))
        if incident_id is None:
            logger.warning("review button without an incident id")
            return
        status = "closed" if action["action_id"] == update_views.CLOSE_REMINDER_BUTTON else None
        ctx.tasks.spawn(
            open_review_modal(ctx, respond, incident_id, body["user"]["id"], body["trigger_id"], status),
            name="review-modal",
        )
