"""What flows and handlers depend on, built once per process and passed in explicitly."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.background import TaskTracker
from bot.runtime.metrics import Metrics
from bot.settings import Settings
from bot.slack.client import InstrumentedWebClient, build_web_client
from bot.slack.gateway import SlackGateway
from plugins.registry import PluginProvider, ProjectPlugins
from storage.db import SessionFactory, create_engine, session_factory
from storage.models import Project


def utc_now() -> datetime:
    return datetime.now(UTC)


def process_identity() -> dict[str, str | int]:
    """Who this process is: its claims and job runs name it; `instance` tells apart processes that
    share a host and a pid (every container's bot is pid 1)."""
    return {"hostname": socket.gethostname(), "pid": os.getpid(), "instance": uuid.uuid4().hex[:8]}


@dataclass
class BotContext:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    slack: InstrumentedWebClient
    metrics: Metrics
    tasks: TaskTracker = field(default_factory=TaskTracker)
    # The bot's auth.test answer, taken once at start-up and reused to authorize every request.
    identity: AsyncSlackResponse | None = None
    clock: Callable[[], datetime] = utc_now
    # Incidents whose opening runs in this process right now: its reconcile runs leave them alone.
    openings: set[int] = field(default_factory=set)
    plugins: PluginProvider = field(default_factory=lambda: PluginProvider({}))
    process: dict[str, str | int] = field(default_factory=process_identity)

    @classmethod
    def from_settings(cls, settings: Settings) -> BotContext:
        """Build without touching the network: the engine and the client connect on first use."""
        metrics = Metrics()
        engine = create_engine(settings.database_url, lock_timeout=settings.database_lock_timeout_seconds)
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            slack=build_web_client(token, settings.slack_api_url, metrics, settings.slack_pace_scale),
            metrics=metrics,
            plugins=PluginProvider(settings.plugin_secrets()),
        )

    @property
    def gateway(self) -> SlackGateway:
        return SlackGateway(self.slack)

    def plugins_for(self, project: Project) -> ProjectPlugins:
        """The plugins the project's config chose, built with this process's credentials."""
        return self.plugins.for_project(project.name, project.plugins)

    async def close(self) -> None:
        self.plugins.close()
        await self.engine.dispose()
