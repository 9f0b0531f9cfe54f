"""The running process: checks, then Socket Mode, scheduler and health server in one loop; clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp
import sqlalchemy as sa
from slack_sdk.errors import SlackApiError

from bot.config.defaults import seed_case_defaults_if_missing, seed_defaults_if_empty
from bot.config.loader import load_config
from bot.config.schema import WorkspaceConfig
from bot.runtime import effects
from bot.runtime.app import CAPABILITIES, Capability, build_app, build_registry
from bot.runtime.bot_context import BotContext
from bot.runtime.health import HealthServer
from bot.runtime.scheduler import RESUMERS, Scheduler
from bot.settings import Settings, mask_url_password
from bot.slack.socket import SocketModeRunner
from storage.migrate import is_at_head, upgrade
from storage.workspace import enabled_projects

logger = logging.getLogger("dispatch_bot")

REJECTED_TOKEN_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
DATABASE_TIMEOUT = 10.0
WEB_API_TIMEOUT = 30.0


class StartupError(Exception):
    """The bot cannot start; the message says why and what to do. Exit code 2."""


async def check_database(ctx: BotContext, migrate: bool) -> None:
    url = mask_url_password(ctx.settings.database_url)
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), ctx.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
        at_head = await is_at_head(ctx.engine)
    except Exception as error:
        raise StartupError(f"Cannot reach the database at {url}: {type(error).__name__}: {error}") from None
    if at_head:
        return
    if not migrate:
        raise StartupError(
            f"The database at {url} is not at the latest migration. "
            "Run `dispatch-bot db upgrade`, or start with `dispatch-bot run --migrate`."
        )
    logger.info("migrating the database to head")
    try:
        await asyncio.to_thread(upgrade, ctx.settings.database_url)
    except Exception as error:
        raise StartupError(
            f"Migrating the database at {url} failed: {type(error).__name__}: {error}"
        ) from None


async def check_slack_token(ctx: BotContext) -> dict[str, str]:
    try:
        response = await ctx.slack.auth_test()
        ctx.identity = response
    except SlackApiError as error:
        code = error.response.get("error", "unknown_error")
        if code in REJECTED_TOKEN_ERRORS:
            raise StartupError(f"Slack rejected SLACK_BOT_TOKEN ({code}). Check the bot token.") from None
        raise StartupError(f"Slack answered auth.test with an error: {code}") from None
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        reason = str(error) or type(error).__name__
        raise StartupError(f"Cannot reach Slack at {ctx.settings.slack_api_url}: {reason}") from None
    return {"team": str(response.get("team", "")), "user": str(response.get("user", ""))}


async def seed_configuration(
    settings: Settings, ctx: BotContext, config: WorkspaceConfig | None = None
) -> None:
    """On an empty database, apply `config`, else DISPATCH_CONFIG if set, else the built-in defaults; on
    a database configured before cases existed, add the built-in case configuration."""
    if config is None and settings.dispatch_config is not None:
        loaded = load_config(settings.dispatch_config)
        if loaded.config is None or loaded.errors:
            problems = "\n  ".join(loaded.rendered_errors())
            raise StartupError(f"DISPATCH_CONFIG {settings.dispatch_config} is not valid:\n  {problems}")
        config = loaded.config
    if not await seed_defaults_if_empty(ctx.sessions, config):
        await seed_case_defaults_if_missing(ctx.sessions)


async def build_plugins(ctx: BotContext) -> None:
    """Build every enabled project's plugins before taking work: discovering entry points and importing
    vendor libraries takes long enough that it must not happen on the event loop under a first request."""
    async with ctx.sessions() as session:
        projects = [(p.name, dict(p.plugins)) for p in await enabled_projects(session) if p.plugins]
    for name, choices in projects:
        await asyncio.to_thread(ctx.plugins.for_project, name, choices)


class BotProcess:
    """One bot: `start()` returns once connected; `stop()` drains in-flight work and closes everything."""

    def __init__(
        self,
        settings: Settings,
        migrate: bool = False,
        capabilities: list[Capability] | None = None,
        config: WorkspaceConfig | None = None,
    ) -> None:
        """`config`, when given, is what an empty database is seeded with (instead of DISPATCH_CONFIG)."""
        missing = settings.missing_tokens()
        if missing:
            raise StartupError(f"Missing {' and '.join(missing)}: set them in the environment or in .env.")
        self.settings = settings
        self.migrate = migrate
        self.config = config
        self.ctx = BotContext.from_settings(settings)
        self.registry = build_registry(self.ctx, CAPABILITIES if capabilities is None else capabilities)
        self.app = build_app(self.ctx, self.registry)
        self.runner: SocketModeRunner | None = None
        self.health = HealthServer(self.ctx, self._socket_connected)
        self.scheduler: Scheduler | None = None
        self.pump = effects.Pump(self.ctx, RESUMERS)
        self._http: aiohttp.ClientSession | None = None

    async def _socket_connected(self) -> bool:
        return self.runner is not None and await self.runner.is_connected()

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        # One HTTP session for every Web API call instead of a new one per call.
        # slack_sdk's own timeout does not apply to a session it is given: set one here.
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT))
        self.ctx.slack.session = self._http
        await check_database(self.ctx, self.migrate)
        await seed_configuration(self.settings, self.ctx, self.config)
        await build_plugins(self.ctx)
        identity = await check_slack_token(self.ctx)
        try:
            await self.health.start(self.settings.health_host, self.settings.health_port)
        except OSError as error:
            raise StartupError(
                f"Cannot serve health checks on {self.settings.health_host}:{self.settings.health_port}: "
                f"{error.strerror or error}. Set HEALTH_PORT to a free port."
            ) from None
        self.scheduler = Scheduler(self.ctx)
        if self.settings.scheduled_jobs:
            self.scheduler.start()
            self.pump.start()
        app_token = self.settings.slack_app_token.get_secret_value() if self.settings.slack_app_token else ""
        self.runner = SocketModeRunner(self.app, app_token, self.ctx.slack, self.ctx.metrics)
        try:
            await self.runner.connect()
        except SlackApiError as error:
            code = error.response.get("error", "unknown_error")
            raise StartupError(
                f"Slack rejected SLACK_APP_TOKEN ({code}). It must be an app-level "
                "token (xapp-…) with the connections:write scope."
            ) from None
        logger.info("connected to Slack", extra={**identity, "health_port": self.health.port})
        self.scheduler.run_soon("reconcile")

    async def stop(self) -> None:
        """Stop taking envelopes, let taken ones ack and running work finish (one bounded grace), close."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.shutdown_grace_seconds
        self.health.shutting_down = True
        if self.scheduler is not None:
            self.scheduler.shutdown()
        await self.pump.stop_taking()
        if self.runner is not None:
            self.runner.stop_accepting()
            if not await self.runner.wait_acked(max(0.0, deadline - loop.time())):
                logger.warning("shutdown: some envelopes had not acked when the grace period ended")
            await self.runner.close()
        cancelled = await self.ctx.tasks.drain(max(0.0, deadline - loop.time()))
        if cancelled:
            logger.warning("shutdown: cancelled %d background task(s) still running", cancelled)
        # Said last: what the grace period cut short is free for the other replicas at once.
        await self.pump.stop()
        await self.health.stop()
        if self._http is not None:
            await self._http.close()
        await self.ctx.close()


async def run_until_signalled(settings: Settings, migrate: bool) -> None:
    """Run until SIGTERM or SIGINT; a signal during start-up abandons the start, a second one exits."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    bot = BotProcess(settings, migrate)
    starting = asyncio.create_task(bot.start())

    def on_signal() -> None:
        if stop.is_set():
            raise SystemExit(1)
        stop.set()
        starting.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    try:
        await starting
    except asyncio.CancelledError:
        logger.info("start-up interrupted")
        return
    await stop.wait()
    logger.info("shutting down")
    await bot.stop()
