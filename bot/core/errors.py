"""Work started after an acknowledgement whose failure the person sees in their modal, with a reference."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from typing import TypeVar

from slack_sdk.errors import SlackApiError

from bot.core.views import error_modal
from bot.runtime.bot_context import BotContext
from plugins.errors import PluginError, PluginNoAnswer

logger = logging.getLogger(__name__)
T = TypeVar("T")


async def with_error_modal(
    ctx: BotContext, view_id: str, title: str, work: Awaitable[None], user: str | None = None
) -> None:
    """Await `work`; if it fails, log it with a correlation id and show that id in the modal (to
    `user` by DM when the modal is gone, if they are named)."""
    try:
        await work
    except Exception:
        correlation_id = uuid.uuid4().hex[:12]
        logger.exception("%s failed", title, extra={"correlation_id": correlation_id})
        if user is None:
            await ctx.gateway.update_view(view_id, error_modal(title, correlation_id))
        else:
            await ctx.gateway.show_result(view_id, user, error_modal(title, correlation_id))


def failure_text(error: BaseException) -> str:
    """A failure as a person reads it: Slack's error code, a plugin's sentence, else the exception."""
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error', 'an error')}"
    if isinstance(error, PluginError):
        return str(error)
    return f"{type(error).__name__}: {error}"


async def plugin_call(ctx: BotContext, work: Awaitable[T]) -> T:
    """Await a plugin's `work`, giving up after the plugin timeout with a sentence people can read."""
    timeout = ctx.settings.plugin_timeout_seconds
    try:
        return await asyncio.wait_for(work, timeout)
    except TimeoutError:
        raise PluginNoAnswer(f"no answer within {timeout:g} seconds") from None
