"""Direct messages that must arrive, as recorded effects: each person messaged once, retried until
Slack takes it (see bot/runtime/effects.py).

For reminders whose claim and send must be one: the job records the claim and this effect in one
transaction, so a claimed reminder is never lost to a Slack error or a crash, and never sent twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.runtime import effects
from bot.runtime.bot_context import BotContext
from storage.effects import NewEffect
from storage.models import Effect

DM = "dm"


def dm(
    ctx: BotContext,
    key: str,
    users: Sequence[str],
    text: str,
    blocks: Sequence[dict[str, Any]] | None = None,
    incident_id: int | None = None,
) -> NewEffect:
    """The effect of DMing `users` the message (rendered now: it says what was true when it was due)."""
    payload = {"users": list(users), "text": text, "blocks": list(blocks or [])}
    return NewEffect(DM, key, ctx.clock(), payload, incident_id)


@effects.effect(DM, "send a direct message")
async def send_dms(ctx: BotContext, row: Effect) -> str:
    text, blocks = str(row.payload["text"]), list(row.payload.get("blocks") or []) or None

    async def send(user: str, maybe_sent: bool) -> None:
        await ctx.gateway.direct_message(user, text, blocks, key=f"{row.key}:{user}", maybe_posted=maybe_sent)

    sent = await effects.each_once(row, [str(user) for user in row.payload["users"]], send)
    return f"{len(sent)} messaged"
