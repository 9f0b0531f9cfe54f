"""Slack listeners for people looking in from outside an incident: the list of current incidents and
the Join / Subscribe buttons of announcements and daily summaries.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.incidents import channel_views, list_views, listing, self_service
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry
from bot.slack.modals import int_or_none, private_metadata

LIST = CommandSpec(
    key="list_incidents",
    default_name="/dispatch-list-incidents",
    description="List active and stable incidents, and those closed in the last 24 hours.",
    usage_hint="[project]",
)


def register(registry: Registry, ctx: BotContext) -> None:
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
        page = int_or_none(body["actions"][0].get("value")) or 0

        async def turn() -> None:
            cards = await listing.current_incidents(ctx, body["user"]["id"], project)
            await ctx.gateway.update_view(view["id"], list_views.incident_list_modal(cards, page, project))

        ctx.tasks.spawn(turn(), name="list-incidents-page")

    @registry.action(
        {"action_id": re.compile(f"^({channel_views.JOIN_BUTTON}|{channel_views.SUBSCRIBE_BUTTON})$")}
    )
    async def self_service_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = body["actions"][0]
        incident_id = int_or_none(action.get("value"))
        act = (
            self_service.join if action["action_id"] == channel_views.JOIN_BUTTON else self_service.subscribe
        )

        async def answer() -> None:
            text = (
                await act(ctx, incident_id, body["user"]["id"]) if incident_id else "This button is broken."
            )
            await respond(text=text, response_type="ephemeral", replace_original=False)

        ctx.tasks.spawn(answer(), name="incident-self-service")
