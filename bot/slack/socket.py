"""Socket Mode: receive envelopes, dispatch them through Bolt, ack as soon as the listener returns.

Bolt's own socket adapter works too, but this runner also times each envelope (ack and total,
including the background work the listener started), skips envelopes it has already handled, and
keeps count of envelopes waiting for their ack so a shutdown can let them ack before it closes the
socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.background import begin_envelope_scope, end_envelope_scope
from bot.runtime.metrics import Metrics

logger = logging.getLogger("dispatch_bot.envelopes")

SEEN_ENVELOPES = 10_000


def describe(request: SocketModeRequest) -> dict[str, Any]:
    """The fields of an envelope worth a log line: its type and what it is for."""
    payload = request.payload or {}
    fields: dict[str, Any] = {"envelope_type": request.type}
    if request.type == "slash_commands":
        fields["command"] = payload.get("command")
    elif request.type == "interactive":
        fields["interaction"] = payload.get("type")
        view = payload.get("view") or {}
        callback_id = payload.get("callback_id") or view.get("callback_id")
        if callback_id:
            fields["callback_id"] = callback_id
        actions = payload.get("actions") or []
        if actions:
            fields["action_id"] = actions[0].get("action_id")
    elif request.type == "events_api":
        fields["event"] = (payload.get("event") or {}).get("type")
    if request.retry_attempt:
        fields["retry_attempt"] = request.retry_attempt
    return fields


async def dispatch(app: AsyncApp, request: SocketModeRequest) -> BoltResponse:
    """Hand the envelope to Bolt as its HTTP mode would get it, retry headers included."""
    headers: dict[str, str | Sequence[str]] = {}
    if request.retry_attempt is not None:
        headers["x-slack-retry-num"] = str(request.retry_attempt)
    if request.retry_reason is not None:
        headers["x-slack-retry-reason"] = request.retry_reason
    return await app.async_dispatch(
        AsyncBoltRequest(mode="socket_mode", body=request.payload, headers=headers)
    )


def ack_of(request: SocketModeRequest, response: BoltResponse) -> SocketModeResponse:
    """The envelope's ack, carrying what the listener acked with (a modal's errors, say)."""
    body = response.body
    if not body:
        return SocketModeResponse(envelope_id=request.envelope_id)
    if (response.headers.get("content-type") or [""])[0].startswith("application/json"):
        return SocketModeResponse(envelope_id=request.envelope_id, payload=json.loads(body))
    return SocketModeResponse(envelope_id=request.envelope_id, payload={"text": body})


class SocketModeRunner:
    def __init__(self, app: AsyncApp, app_token: str, web_client: AsyncWebClient, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.client = SocketModeClient(app_token=app_token, web_client=web_client, ping_interval=10)
        self.client.socket_mode_request_listeners.append(self._on_request)
        self._unacked = 0
        self._all_acked = asyncio.Event()
        self._all_acked.set()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.accepting = True

    async def connect(self) -> None:
        """Open the first connection; a rejected app token raises here instead of retrying forever."""
        self.client.wss_uri = await self.client.issue_new_wss_url()
        await self.client.connect()

    async def is_connected(self) -> bool:
        return self.accepting and not self.client.closed and await self.client.is_connected()

    def stop_accepting(self) -> None:
        """Take no new envelope: unacked, Slack sends it again to a live connection."""
        self.accepting = False

    async def wait_acked(self, timeout: float) -> bool:
        """Wait until every envelope taken has sent its ack; False if some had not after `timeout`."""
        try:
            await asyncio.wait_for(self._all_acked.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        await self.client.close()

    def _first_time(self, envelope_id: str) -> bool:
        if envelope_id in self._seen:
            return False
        self._seen[envelope_id] = None
        if len(self._seen) > SEEN_ENVELOPES:
            self._seen.popitem(last=False)
        return True

    async def _on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        if not self.accepting:
            return
        if not self._first_time(request.envelope_id):
            # A redelivery of an envelope this process already took (its ack was late or lost).
            await client.send_socket_mode_response({"envelope_id": request.envelope_id})
            logger.info("duplicate envelope acked again", extra=describe(request))
            return
        started = time.perf_counter()
        self._unacked += 1
        self._all_acked.clear()
        fields = describe(request)
        outcome = "ok"
        background: list[asyncio.Task[Any]] = []
        try:
            background, token = begin_envelope_scope()
            try:
                response = await dispatch(self.app, request)
            finally:
                end_envelope_scope(token)
            if response.status == 200:
                await client.send_socket_mode_response(ack_of(request, response))
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
            self._unacked -= 1
            if self._unacked == 0:
                self._all_acked.set()
            self.metrics.ack_latency.labels(request.type).observe(acked - started)
            self.metrics.envelopes.labels(request.type, outcome).inc()
        if background:
            await asyncio.wait(background)
        fields["ack_ms"] = round((acked - started) * 1000, 2)
        fields["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
        fields["outcome"] = outcome
        logger.info("envelope handled", extra=fields)
