"""Socket Mode: receive envelopes, dispatch them through Bolt, ack as soon as the listener returns.

Bolt's own socket adapter works too, but this runner also times each envelope (ack and total,
including the background work the listener started) and keeps count of envelopes in flight so
a shutdown can stop taking new ones and let the running ones finish.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.tasks import begin_envelope_scope, end_envelope_scope

logger = logging.getLogger("dispatch_bot.envelopes")


def describe(request: SocketModeRequest) -> dict[str, Any]:
    """The fields of an envelope worth a log line: its type and what it is for."""
    payload = request.payload or {}
    fields: dict[str, Any] = {"envelope_type": request.type}
    if request.type == "slash_commands":
        fields["command"] = payload.get("command")
    elif request.type == "interactive":
        fields["interaction"] = payload.get("type")
        view = payload.get("view") or {}
        actions = payload.get("actions") or [{}]
        fields["callback_id"] = (
            payload.get("callback_id") or view.get("callback_id") or actions[0].get("action_id")
        )
    elif request.type == "events_api":
        fields["event"] = (payload.get("event") or {}).get("type")
    if request.retry_attempt:
        fields["retry_attempt"] = request.retry_attempt
    return fields


class SocketModeRunner:
    def __init__(self, app: AsyncApp, app_token: str, web_client: AsyncWebClient, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.client = SocketModeClient(app_token=app_token, web_client=web_client, ping_interval=10)
        self.client.socket_mode_request_listeners.append(self._on_request)
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.accepting = True

    async def connect(self) -> None:
        """Open the first connection; a rejected app token raises here instead of retrying forever."""
        self.client.wss_uri = await self.client.issue_new_wss_url()
        await self.client.connect()

    async def is_connected(self) -> bool:
        return not self.client.closed and await self.client.is_connected()

    async def stop_accepting(self) -> None:
        """Close the socket: Slack sends new envelopes to other connections or redelivers them later."""
        self.accepting = False
        await self.client.close()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        if not self.accepting:
            return  # unacked: Slack redelivers it to a live connection
        started = time.perf_counter()
        self._in_flight += 1
        self._idle.clear()
        fields = describe(request)
        outcome = "ok"
        background: list[asyncio.Task[Any]] = []
        try:
            background, token = begin_envelope_scope()
            try:
                response = await run_async_bolt_app(self.app, request)
            finally:
                end_envelope_scope(token)
            if response.status == 200:
                await send_async_response(client, request, response, started)
            else:
                # Unacked envelopes come back as retries: ack what no listener took (404) or what
                # failed (500, already reported to the user by the error handler) and log it.
                await client.send_socket_mode_response({"envelope_id": request.envelope_id})
                outcome = "unhandled" if response.status == 404 else "error"
        except Exception:
            outcome = "error"
            logger.exception("envelope failed", extra=fields)
        finally:
            acked = time.perf_counter()
            self.metrics.ack_latency.labels(request.type).observe(acked - started)
            self.metrics.envelopes.labels(request.type, outcome).inc()
            if background:
                await asyncio.wait(background)
            fields["ack_ms"] = round((acked - started) * 1000, 2)
            fields["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
            fields["outcome"] = outcome
            logger.info("envelope handled", extra=fields)
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
