"""Slack listeners for feedback: the button in the closing DM and the feedback modal."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.context import BotContext
from bot.feedback import flows, views
from bot.registry import Registry
from bot.slack.modals import input_value
from storage.models import Incident


def register(registry: Registry, ctx: BotContext) -> None:
    @registry.action(views.PROVIDE_BUTTON)
    async def provide(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        value = body["actions"][0].get("value", "")

        async def open_modal() -> None:
            async with ctx.sessions() as session:
                incident = await session.get(Incident, int(value)) if value.isdigit() else None
            if incident is not None and incident.id is not None:
                await ctx.gateway.open_view(
                    body["trigger_id"], views.feedback_modal(incident.id, incident.name)
                )

        ctx.tasks.spawn(open_modal(), name="feedback-modal")

    @registry.view(views.CALLBACK)
    async def submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body["view"]
        rating = input_value(view, views.RATING)
        if not rating:
            await ack(response_action="errors", errors={views.RATING: "Choose how satisfied you are."})
            return
        text = input_value(view, views.TEXT) or ""
        anonymous = bool(input_value(view, views.ANONYMOUS))
        incident_id = int(json.loads(view.get("private_metadata") or "{}")["incident_id"])
        saved = await flows.save_feedback(ctx, incident_id, body["user"]["id"], int(rating), text, anonymous)
        await ack(response_action="update", view=views.thanks_modal(already=not saved))
