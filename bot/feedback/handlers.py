"""Slack listeners for feedback: the button in the closing DM and the feedback modal."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.feedback import flows, views
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import Registry
from bot.slack.modals import input_value, private_metadata

logger = logging.getLogger(__name__)


def _incident_id(view: dict[str, Any]) -> int | None:
    value = private_metadata(view).get("incident_id")
    return value if isinstance(value, int) else None


def register(registry: Registry, ctx: BotContext) -> None:
    @registry.action(views.PROVIDE_BUTTON)
    async def provide(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        value = str(body["actions"][0].get("value", ""))
        user = body["user"]["id"]

        async def open_modal() -> None:
            name = await flows.feedback_target(ctx, int(value), user) if value.isdigit() else None
            if name is None:
                await respond(
                    text="Feedback is asked of the incident's participants, and you were not one of them.",
                    response_type="ephemeral",
                    replace_original=False,
                )
                return
            await ctx.gateway.open_view(body["trigger_id"], views.feedback_modal(int(value), name))

        ctx.tasks.spawn(open_modal(), name="feedback-modal")

    @registry.view(views.CALLBACK)
    async def submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view, user = body["view"], body["user"]["id"]
        incident_id = _incident_id(view)
        if incident_id is None:
            logger.warning("feedback form without a readable incident", extra={"view_id": view.get("id")})
            await ack(response_action="update", view=views.result_modal(views.UNREADABLE))
            return
        rating = input_value(view, views.RATING)
        if not rating or not str(rating).isdigit():
            await ack(response_action="errors", errors={views.RATING: "Choose how satisfied you are."})
            return
        text = input_value(view, views.TEXT) or ""
        anonymous = bool(input_value(view, views.ANONYMOUS))
        await ack(response_action="update", view=views.result_modal(views.SAVING))

        async def save() -> None:
            outcome = await flows.save_feedback(ctx, incident_id, user, int(rating), text, anonymous)
            await ctx.gateway.show_result(view["id"], user, views.result_modal(views.OUTCOMES[outcome]))

        ctx.tasks.spawn(save(), name="feedback-save")
