"""The health server: /healthz (alive), /readyz (socket, database, migrations; plugins shown), /metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.cli.plugin_checks import check_plugins
from bot.runtime.bot_context import BotContext
from storage.migrate import is_at_head

CHECK_TIMEOUT = 2.0
PLUGIN_CHECK_EVERY = 60.0


class HealthServer:
    def __init__(self, ctx: BotContext, socket_connected: Callable[[], Awaitable[bool]]) -> None:
        self.ctx = ctx
        self.socket_connected = socket_connected
        self.shutting_down = False
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._plugins_checked: tuple[float, dict[str, str]] | None = None

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        addresses = self._runner.addresses  # the real port when 0 was asked for
        self.port = int(addresses[0][1]) if addresses else port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readiness(self) -> dict[str, str]:
        """Each check by name: "ok" or what is wrong."""
        checks: dict[str, str] = {}
        if self.shutting_down:
            checks["shutdown"] = "shutting down"
        try:
            connected = await asyncio.wait_for(self.socket_connected(), CHECK_TIMEOUT)
            checks["socket"] = "ok" if connected else "not connected to Slack"
        except Exception as error:
            checks["socket"] = f"error: {error}"
        try:
            async with asyncio.timeout(CHECK_TIMEOUT), self.ctx.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unreachable: {type(error).__name__}"
        if checks["database"] == "ok":
            try:
                at_head = await asyncio.wait_for(is_at_head(self.ctx.engine), CHECK_TIMEOUT)
                checks["migrations"] = "ok" if at_head else "not at head: run `dispatch-bot db upgrade`"
            except Exception as error:
                checks["migrations"] = f"error: {type(error).__name__}"
        else:
            checks["migrations"] = "unknown: database unreachable"
        return checks

    async def plugin_states(self) -> dict[str, str]:
        """Each configured plugin by name: "ok" or what is wrong, re-checked at most once a minute."""
        now = asyncio.get_running_loop().time()
        if self._plugins_checked is None or now - self._plugins_checked[0] > PLUGIN_CHECK_EVERY:
            try:
                found = await check_plugins(self.ctx, CHECK_TIMEOUT)
                states = {check.name: "ok" if check.ok else check.detail for check in found}
            except Exception as error:
                states = {"plugins": f"error: {type(error).__name__}"}
            self._plugins_checked = (now, states)
        return self._plugins_checked[1]

    async def readyz(self, _request: web.Request) -> web.Response:
        checks = await self.readiness()
        ready = all(value == "ok" for value in checks.values())
        body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
        # Plugins degrade the bot, they do not make it unready: shown, never counted.
        plugins = await self.plugin_states()
        if plugins:
            body["plugins"] = plugins
        return web.Response(
            status=200 if ready else 503, text=json.dumps(body), content_type="application/json"
        )

    async def metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.ctx.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
