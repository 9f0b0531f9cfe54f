"""Slack listeners for `/dispatch-define TERM` and the message shortcut *Explain terms* (both answer
only the person who asked)."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.knowledge import flows, views
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry, ShortcutSpec

DEFINE = CommandSpec(
    key="define",
    default_name="/dispatch-define",
    description="What a term means, as the workspace defines it.",
    usage_hint="TERM",
)
EXPLAIN_SHORTCUT = ShortcutSpec(
    callback_id="explain_terms",
    name="Explain terms",
    description="Explain the defined terms this message uses (only you see it).",
)


def register(registry: Registry, ctx: BotContext) -> None:
    @registry.command(DEFINE)
    async def define_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def answer() -> None:
            found = await flows.define(ctx, body.get("channel_id"), str(body.get("text") or ""))
            text, blocks = views.definition(found, registry.name_of(DEFINE))
            await respond(response_type="ephemeral", text=text, blocks=blocks)

        ctx.tasks.spawn(answer(), name="define")

    @registry.shortcut(EXPLAIN_SHORTCUT)
    async def explain_terms(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id") or "")

        async def answer() -> None:
            terms = await flows.explain(ctx, channel, str(message.get("text") or ""))
            if terms:
                text, blocks = views.explanations(terms, "this message")
            else:
                text, blocks = views.no_terms("this message"), None
            # Through the shortcut's response URL: only the person sees it, in any channel, the bot
            # a member of it or not.
            await respond(response_type="ephemeral", replace_original=False, text=text, blocks=blocks)

        ctx.tasks.spawn(answer(), name="explain-terms")
