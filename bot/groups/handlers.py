"""Slack listeners for /dispatch-notifications-group: the members modal and its submission."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.core.errors import failure_text, with_error_modal
from bot.groups import flows, views
from bot.incidents.context import may_lead, require_incident
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry
from bot.slack.modals import input_value, private_metadata

logger = logging.getLogger(__name__)

NOTIFICATIONS_GROUP = CommandSpec(
    key="notifications_group",
    default_name="/dispatch-notifications-group",
    description="Edit who gets this incident's e-mail notifications; commander or scribe.",
)
TITLE = "Notifications group"


def register(registry: Registry, ctx: BotContext) -> None:
    @registry.command(NOTIFICATIONS_GROUP)
    async def notifications_group_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ctx.tasks.spawn(_open(body, respond), name="notifications-group-modal")

    async def _open(body: dict[str, Any], respond: AsyncRespond) -> None:
        command = registry.name_of(NOTIFICATIONS_GROUP)
        found = await require_incident(
            ctx, respond, body["channel_id"], body["user_id"], command, leads_only=True
        )
        if found is None:
            return
        try:
            await flows.plugin_and_address(ctx, found.incident_id)
        except flows.NotAvailable as reason:
            await respond(response_type="ephemeral", text=str(reason))
            return
        # The members come from the group service, which may take longer than the trigger lives.
        view_id = await ctx.gateway.open_view(body["trigger_id"], views.message_modal("⏳ Loading…"))
        metadata = {"incident_id": found.incident_id, "channel_id": found.channel_id}

        async def fill() -> None:
            try:
                group = await flows.notifications_group(ctx, found.incident_id)
            except Exception as error:
                logger.warning("could not read the notifications group", exc_info=True)
                await ctx.gateway.update_view(
                    view_id,
                    views.message_modal(f"Couldn't read the notifications group: {failure_text(error)}."),
                )
                return
            await ctx.gateway.update_view(
                view_id, views.members_modal(metadata, group.address, group.members)
            )

        await with_error_modal(ctx, view_id, TITLE, fill())

    @registry.view(views.CALLBACK)
    async def notifications_group_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view, user = body["view"], body["user"]["id"]
        metadata = private_metadata(view)
        incident_id, channel_id = metadata.get("incident_id"), str(metadata.get("channel_id") or "")
        if not isinstance(incident_id, int) or not await may_lead(ctx, incident_id, user):
            text = (
                "Only the incident's commander or scribe can change its notifications group; nothing changed."
            )
            await ack(response_action="update", view=views.message_modal(text))
            return
        wanted, bad = flows.parse_addresses(input_value(view, views.MEMBERS) or "")
        if bad:
            await ack(response_action="errors", errors={views.MEMBERS: views.bad_addresses(bad)})
            return
        await ack()

        async def apply() -> None:
            try:
                outcome = await flows.set_members(ctx, incident_id, user, wanted)
                text = views.changed(outcome)
            except flows.NotAvailable as reason:
                text = str(reason)
            except Exception as error:
                logger.warning("notifications group update failed", exc_info=True)
                text = f"Couldn't update the notifications group: {failure_text(error)}."
            await ctx.gateway.post_ephemeral(channel_id, user, text)

        ctx.tasks.spawn(apply(), name="notifications-group-update")
