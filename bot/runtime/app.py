"""Builds the Bolt app: every capability declares its listeners in one registry, wired here."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.conversation import handlers as conversation
from bot.core import handlers as core
from bot.core.views import error_text
from bot.costs import handlers as costs
from bot.feedback import handlers as feedback
from bot.groups import handlers as groups
from bot.incidents import list_handlers, report_handlers, update_handlers
from bot.knowledge import handlers as knowledge
from bot.oncall import handlers as oncall
from bot.people import handlers as people
from bot.reports import handlers as reports
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import Registry
from bot.tasks import handlers as tasks
from bot.timeline import handlers as timeline
from bot.workflows import handlers as workflows

logger = logging.getLogger(__name__)

Capability = Callable[[Registry, BotContext], None]

# Each capability contributes `register(registry, ctx)`; order decides the help listing.
CAPABILITIES: list[Capability] = [
    report_handlers.register,
    update_handlers.register,
    list_handlers.register,
    people.register,
    groups.register,
    conversation.register,
    oncall.register,
    timeline.register,
    tasks.register,
    reports.register,
    reports.register_reminders,
    costs.register,
    workflows.register,
    knowledge.register,
    feedback.register,
    core.register,
]


def build_registry(ctx: BotContext, capabilities: list[Capability] | None = None) -> Registry:
    registry = Registry(command_names=ctx.settings.slack_commands)
    for register in CAPABILITIES if capabilities is None else capabilities:
        register(registry, ctx)
    return registry


class _TokenFromEnvironmentIgnored(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client's token wins: expected here."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "`token` will be unused" not in message and "will be ignored" not in message


def _startup_identity(ctx: BotContext) -> Callable[..., Awaitable[AuthorizeResult]]:
    """Authorize every request with the bot identity checked at start-up, not an auth.test per request."""

    async def authorize(**_: Any) -> AuthorizeResult:
        if ctx.identity is None:
            ctx.identity = await ctx.slack.auth_test()
        return AuthorizeResult.from_auth_test_response(
            auth_test_response=ctx.identity, bot_token=ctx.slack.token
        )

    return authorize


BOLT_LOGGER = logging.getLogger("dispatch_bot.bolt")
BOLT_LOGGER.addFilter(_TokenFromEnvironmentIgnored())


def build_app(ctx: BotContext, registry: Registry | None = None) -> AsyncApp:
    """The Bolt app in socket mode; listeners ack before returning, slow work goes to `ctx.tasks`."""
    registry = registry or build_registry(ctx)
    app = AsyncApp(
        client=ctx.slack,
        authorize=_startup_identity(ctx),
        # Ack leaves when the listener returns instead of Bolt polling for it every 10 ms.
        process_before_response=True,
        request_verification_enabled=False,
        logger=BOLT_LOGGER,
    )
    registry.attach(app)

    @app.error
    async def report_error(error: Exception, body: dict[str, Any], respond: AsyncRespond) -> None:
        correlation_id = uuid.uuid4().hex[:12]
        logger.error("listener failed", exc_info=error, extra={"correlation_id": correlation_id})
        if body.get("response_url"):
            try:
                await respond(text=error_text(correlation_id), response_type="ephemeral")
            except Exception:
                logger.warning("could not tell the user about error %s", correlation_id)

    return app
