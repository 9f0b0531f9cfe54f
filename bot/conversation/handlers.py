"""Message hooks for the incident channel's conversation: the thread reminder and the after-hours warning."""

from __future__ import annotations

from bot.conversation import flows, views
from bot.people.messages import ChannelMessage
from bot.people.profiles import Profiles
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import Registry


def register(registry: Registry, ctx: BotContext) -> None:
    profiles = Profiles(ctx.slack)

    @registry.on_message
    async def remind_about_threads(message: ChannelMessage) -> None:
        in_thread = message.thread_ts is not None and message.thread_ts != message.ts
        if not ctx.settings.thread_reminder or not in_thread:
            return
        if await flows.first_thread_reply(ctx, message.incident_id, message.user_id):
            await ctx.gateway.post_ephemeral(
                message.channel_id, message.user_id, views.thread_reminder(), thread_ts=message.thread_ts
            )

    @registry.on_message
    async def warn_after_hours(message: ChannelMessage) -> None:
        facts = await flows.after_hours(ctx, profiles, message.incident_id, message.user_id)
        if facts is not None:
            await ctx.gateway.post_ephemeral(
                message.channel_id, message.user_id, views.after_hours_warning(facts)
            )
