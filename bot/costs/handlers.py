"""Slack listeners for costs: each message in an incident channel recorded as activity, and adding a cost."""

from __future__ import annotations

from bot.context import BotContext
from bot.costs import flows
from bot.people.messages import ChannelMessage
from bot.registry import Registry


def register(registry: Registry, ctx: BotContext) -> None:
    @registry.on_message
    async def record_activity(message: ChannelMessage) -> None:
        await flows.record_message(ctx, message)
