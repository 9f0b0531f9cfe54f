"""Slack listeners for `/dispatch-engage-oncall`: the modal in an incident channel and its submission."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.core.errors import with_error_modal
from bot.incidents.context import incident_context, require_incident
from bot.oncall import flows, views
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry
from bot.slack.modals import input_value, private_metadata

logger = logging.getLogger(__name__)

ENGAGE_ONCALL = CommandSpec(
    key="engage_oncall",
    default_name="/dispatch-engage-oncall",
    description="Bring the on-call of a service into this incident, and page them if needed.",
)


def register(registry: Registry, ctx: BotContext) -> None:
    registry.require_scopes("users:read.email", "groups:write", "channels:manage")

    @registry.command(ENGAGE_ONCALL)
    async def engage_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def open_modal() -> None:
            found = await require_incident(ctx, respond, body["channel_id"], body["user_id"], body["command"])
            if found is None:
                return
            form = await flows.engage_form(ctx, found.incident_id)
            metadata = {"incident_id": found.incident_id, "channel_id": found.channel_id}
            await ctx.gateway.open_view(body["trigger_id"], views.engage_modal(form, metadata))

        ctx.tasks.spawn(open_modal(), name="engage-oncall-modal")

    @registry.view(views.ENGAGE_CALLBACK)
    async def engage_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view, user = body["view"], body["user"]["id"]
        metadata = private_metadata(view)
        incident_id, channel_id = metadata.get("incident_id"), str(metadata.get("channel_id") or "")
        found = await incident_context(ctx, channel_id, user)
        if found is None or found.incident_id != incident_id:
            await ack(
                response_action="update",
                view=views.message_modal(
                    "Engage on-call", "This incident's channel is gone; nothing was done."
                ),
            )
            return
        try:
            service_id = int(input_value(view, views.SERVICE) or "")
        except ValueError:
            await ack(response_action="errors", errors={views.SERVICE: "Choose a service."})
            return
        engagement = flows.Engagement(
            incident_id=found.incident_id,
            channel_id=channel_id,
            service_id=service_id,
            page=views.PAGE_VALUE in (input_value(view, views.PAGE) or ()),
            requested_by=user,
        )
        errors = await flows.check_engagement(ctx, engagement)
        if errors:
            await ack(response_action="errors", errors={views.SERVICE: errors[flows.SERVICE]})
            return
        await ack(response_action="update", view=views.engaging_modal())

        async def engage() -> None:
            outcome = await flows.engage_oncall(ctx, engagement)
            await ctx.gateway.update_view(view["id"], views.outcome_modal(outcome))

        ctx.tasks.spawn(with_error_modal(ctx, view["id"], "Engage on-call", engage()), name="engage-oncall")
