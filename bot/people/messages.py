"""The one `message` listener's dispatch: people's messages in incident channels, handed to every hook.

Bolt runs only the first listener that matches an event, so all message features (activity
counting, thread reminders, after-hours warnings…) are hooks, declared with `registry.on_message`,
rather than listeners of their own. A hook receives a `ChannelMessage` and its failure is logged
without stopping the others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.runtime.bot_context import BotContext
from storage import incidents as store

logger = logging.getLogger(__name__)

# Subtypes that are still a person writing; joins, leaves, edits, deletions and bot posts are not.
PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})


@dataclass(frozen=True)
class ChannelMessage:
    """A person's new message in an incident channel."""

    incident_id: int
    channel_id: str
    user_id: str
    ts: str
    text: str
    thread_ts: str | None
    event_id: str
    event: dict[str, Any]
    """The raw event, for hooks that need more than the fields above."""


MessageHook = Callable[[ChannelMessage], Awaitable[None]]


def is_person_message(event: dict[str, Any], bot_user_id: str | None) -> bool:
    return (
        event.get("subtype") in PERSON_SUBTYPES
        and not event.get("bot_id")
        and bool(event.get("user"))
        and event.get("user") != bot_user_id
        and event.get("channel_type") not in ("im", "mpim")
        and not event.get("hidden")
    )


class MessageDispatcher:
    def __init__(self, ctx: BotContext, hooks: Sequence[MessageHook] = ()) -> None:
        self.ctx = ctx
        # The registry's own list: capabilities registered later add their hooks to it.
        self.hooks = hooks

    async def dispatch(self, event: dict[str, Any], event_id: str, bot_user_id: str | None) -> int:
        """Run every hook for `event` if it is a person's message in an incident channel; hooks run."""
        if not self.hooks or not is_person_message(event, bot_user_id):
            return 0
        channel_id = str(event.get("channel") or "")
        async with self.ctx.sessions() as session:
            incident = await store.incident_by_channel(session, channel_id)
        if incident is None or incident.id is None:
            return 0
        message = ChannelMessage(
            incident_id=incident.id,
            channel_id=channel_id,
            user_id=str(event["user"]),
            ts=str(event.get("ts") or ""),
            text=str(event.get("text") or ""),
            thread_ts=event.get("thread_ts"),
            event_id=event_id,
            event=event,
        )
        for hook in self.hooks:
            try:
                await hook(message)
            except Exception:
                logger.exception(
                    "message hook %s failed",
                    getattr(hook, "__name__", repr(hook)),
                    extra={"incident_id": incident.id, "channel": channel_id},
                )
        return len(self.hooks)
