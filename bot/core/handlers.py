"""Core Slack listeners: `/dispatch-help`, and the events later capabilities consume."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.core import views
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry

HELP = CommandSpec(
    key="help",
    default_name="/dispatch-help",
    description="List the commands of dispatch-bot and what they do.",
)

# Reactions feed the timeline, membership feeds participants, messages feed activity and cost.
SUBSCRIBED_EVENTS = (
    "reaction_added",
    "reaction_removed",
    "member_joined_channel",
    "member_left_channel",
    "message.channels",
    "message.groups",
)


def register(registry: Registry, ctx: BotContext) -> None:
    registry.subscribe(*SUBSCRIBED_EVENTS)
    registry.require_scopes(
        "channels:read", "groups:read", "channels:history", "groups:history", "reactions:read"
    )

    @registry.command(HELP)
    async def show_help(ack: AsyncAck, body: dict[str, Any]) -> None:
        listed = [(c.name, c.spec.usage_hint, c.spec.description) for c in registry.commands]
        await ack(response_type="ephemeral", text="dispatch-bot commands", blocks=views.help_message(listed))
