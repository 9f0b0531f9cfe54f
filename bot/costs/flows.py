"""Incident costs: recording who spoke when, computing the response cost, and costs added by hand."""

from __future__ import annotations

import logging

from bot.context import BotContext
from bot.people.messages import ChannelMessage
from storage import costs as store

logger = logging.getLogger(__name__)


async def record_message(ctx: BotContext, message: ChannelMessage) -> bool:
    """Record a person's message as activity (channel or thread); a redelivered one adds nothing."""
    in_thread = message.thread_ts is not None and message.thread_ts != message.ts
    async with ctx.sessions() as session:
        return await store.record_activity(
            session,
            message.incident_id,
            message.user_id,
            message.ts,
            in_thread=in_thread,
            posted_at=ctx.clock(),
        )
