"""The embedded workspace and the real bot connected to it, both in this process and on loopback."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bot.runtime.process import BotProcess
from bot.sandbox.setup import Prepared, SandboxClock, local_plugins, populate
from bot.sandbox.slack import FakeSlack
from bot.settings import PLUGIN_SETTING_PREFIXES, Settings

SETTLE_POLL = 0.01


def sandbox_settings(fake: FakeSlack, database_url: str, log_level: str = "WARNING") -> Settings:
    """The settings `run` would read, pointed at the embedded workspace; no plugin credential at all,
    whatever the environment holds, so no plugin can reach its vendor."""
    values: dict[str, Any] = {
        "slack_bot_token": fake.bot_token,
        "slack_app_token": fake.app_token,
        "slack_api_url": fake.api_url,
        "database_url": database_url,
        "dispatch_config": None,
        "health_host": "127.0.0.1",
        "health_port": 0,
        "log_level": log_level,
        "_env_file": None,
    }
    for name, info in Settings.model_fields.items():
        if name.startswith(PLUGIN_SETTING_PREFIXES):
            values[name] = info.default
    return Settings(**values)


class Sandbox:
    """`start()` brings up the workspace, then the bot exactly as `dispatch-bot run --migrate` starts
    it (Socket Mode, scheduler, health server), with the sandbox's clock and local plugins only."""

    def __init__(
        self, prepared: Prepared, database_url: str | None = None, log_level: str = "WARNING"
    ) -> None:
        self.prepared = prepared
        self.clock = SandboxClock()
        self.fake = FakeSlack(
            team_name="Sandbox",
            team_domain="sandbox",
            echo_api_events=True,
            clock=self.clock.timestamp,
        )
        self._given_database_url = database_url
        self._scratch: Path | None = None
        self.log_level = log_level
        self.people: dict[str, str] = {}
        self.process: BotProcess | None = None

    @property
    def bot(self) -> BotProcess:
        if self.process is None:
            raise RuntimeError("the sandbox is not started")
        return self.process

    @property
    def database_url(self) -> str:
        if self._given_database_url:
            return self._given_database_url
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="dispatch-sandbox-"))
        return f"sqlite+aiosqlite:///{self._scratch / 'sandbox.db'}"

    async def start(self) -> None:
        await self.fake.start()
        self.people = populate(self.fake, self.prepared, self.clock.now())
        process = BotProcess(
            sandbox_settings(self.fake, self.database_url, self.log_level),
            migrate=True,
            config=self.prepared.config,
        )
        process.ctx.clock = self.clock.now
        process.ctx.plugins = local_plugins()
        self.process = process
        await process.start()
        await self.fake.wait_connected()

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()
        await self.fake.stop()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    async def __aenter__(self) -> Sandbox:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def busy(self) -> bool:
        """The workspace or the bot still has something in hand for what people did."""
        return self.fake.busy or self.bot.ctx.tasks.pending > 0

    async def settle(self, timeout: float) -> None:
        """Until the bot has finished with everything sent to it (TimeoutError if it has not in time)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet = 0
        # Idle must hold across a few turns of the loop: an answer read off a socket may still be on
        # its way to the task that waits for it.
        while quiet < 5:
            if loop.time() > deadline:
                raise TimeoutError(f"the bot was still busy after {timeout:g} s")
            if self.busy():
                quiet = 0
                await asyncio.sleep(SETTLE_POLL)
            else:
                quiet += 1
                await asyncio.sleep(0)
