"""Socket Mode side of the fake: WebSocket connections, envelopes, acks and redelivery."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from aiohttp import WSMsgType, web

logger = logging.getLogger(__name__)

ENVELOPE_TYPES = frozenset({"events_api", "slash_commands", "interactive"})


class NotConnectedError(RuntimeError):
    """No Socket Mode connection was open to deliver an envelope on."""


class AckTimeoutError(TimeoutError):
    """An envelope was not acknowledged in time."""


class Ack(NamedTuple):
    payload: dict[str, Any] | None
    """The "payload" the app sent with its ack, None when it sent none."""
    latency: float
    """Seconds (perf_counter) from the first send of the envelope to the first ack."""


@dataclass
class Attempt:
    retry_attempt: int
    retry_reason: str
    sent_at: float
    """time.perf_counter() when it was sent."""
    connection_id: int | None
    """None when no connection was open, so nothing was sent."""


@dataclass
class Connection:
    id: int
    ws: web.WebSocketResponse
    request: web.Request
    opened_at: float
    dead: bool = False
    """Set when a send failed: the socket is on its way out even if aiohttp does not know yet."""

    @property
    def live(self) -> bool:
        return not self.dead and not self.ws.closed


class Delivery:
    """One envelope: every attempt to send it and the ack it got."""

    def __init__(
        self, envelope_type: str, payload: dict[str, Any], accepts_response_payload: bool, envelope_id: str
    ) -> None:
        self.envelope_id = envelope_id
        self.type = envelope_type
        self.payload = payload
        self.accepts_response_payload = accepts_response_payload
        self.attempts: list[Attempt] = []
        self.ack_payload: dict[str, Any] | None = None
        self.acked_at: float | None = None
        self.ack_count = 0
        self.gave_up = False
        self.on_ack: Callable[[Delivery], None] | None = None
        self._acked = asyncio.Event()
        self._finished = asyncio.Event()

    def envelope(self, retry_attempt: int, retry_reason: str) -> dict[str, Any]:
        return {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }

    @property
    def is_acked(self) -> bool:
        return self._acked.is_set()

    @property
    def latency(self) -> float | None:
        if self.acked_at is None or not self.attempts:
            return None
        return self.acked_at - self.attempts[0].sent_at

    def _record_ack(self, payload: Any) -> bool:
        """Store the ack; True the first time."""
        self.ack_count += 1
        if self._acked.is_set():
            return False
        self.acked_at = time.perf_counter()
        self.ack_payload = payload if isinstance(payload, dict) else None
        if self.on_ack is not None:
            try:
                self.on_ack(self)
            except Exception:
                logger.exception("ack handler failed for %s", self.envelope_id)
        self._acked.set()
        self._finished.set()
        return True

    async def acked(self, timeout: float | None = None) -> Ack:
        """Wait for the ack (timeout None: until redelivery gives up); AckTimeoutError otherwise."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._finished.wait(), timeout)
        if not self._acked.is_set():
            waited = "until redelivery gave up" if timeout is None else f"{timeout}s"
            raise AckTimeoutError(
                f"{self.type} envelope {self.envelope_id} not acked"
                f" ({len(self.attempts)} attempt(s), waited {waited})"
            )
        return Ack(self.ack_payload, self.latency or 0.0)

    def __repr__(self) -> str:
        return (
            f"Delivery({self.type}, {self.envelope_id}, attempts={len(self.attempts)},"
            f" acked={self.is_acked}, ack_payload={self.ack_payload!r})"
        )


class SocketHub:
    """Open Socket Mode connections, and the envelopes sent over them."""

    def __init__(
        self,
        *,
        app_id: str,
        ack_timeout: float,
        max_retries: int,
        redeliver_types: frozenset[str],
        on_change: Callable[[], None],
    ) -> None:
        self.app_id = app_id
        self.ack_timeout = ack_timeout
        self.max_retries = max_retries
        self.redeliver_types = redeliver_types
        self.on_change = on_change
        self.connections: list[Connection] = []
        self.deliveries: list[Delivery] = []
        self.stray_acks: list[dict[str, Any]] = []
        self.messages_received: list[dict[str, Any]] = []
        self._by_id: dict[str, Delivery] = {}
        self._tickets: set[str] = set()
        self._next_connection_id = 0
        self._round_robin = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connected = asyncio.Condition()
        self.total_connections = 0

    def issue_ticket(self) -> str:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return ticket

    @property
    def connected(self) -> int:
        return sum(1 for c in self.connections if c.live)

    async def wait_connected(self, timeout: float = 5.0, count: int = 1) -> None:
        async with self._connected:
            await asyncio.wait_for(self._connected.wait_for(lambda: self.connected >= count), timeout)

    async def _notify(self) -> None:
        async with self._connected:
            self._connected.notify_all()
        self.on_change()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._next_connection_id += 1
        connection = Connection(self._next_connection_id, ws, request, time.perf_counter())
        self.connections.append(connection)
        self.total_connections += 1
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": self.connected,
                    "debug_info": {
                        "host": f"applink-fake-{connection.id}",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
            await self._notify()
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(message.data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if connection in self.connections:
                self.connections.remove(connection)
            await self._notify()
        return ws

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            logger.warning("non-JSON socket message: %r", data)
            return
        self.messages_received.append(message)
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        delivery = self._by_id.get(envelope_id) if isinstance(envelope_id, str) else None
        if delivery is None:
            self.stray_acks.append(message)
            return
        delivery._record_ack(message.get("payload"))
        self.on_change()

    def _pick(self) -> Connection | None:
        live = [c for c in self.connections if c.live]
        if not live:
            return None
        self._round_robin += 1
        return live[self._round_robin % len(live)]

    async def _send(self, delivery: Delivery, retry_attempt: int, reason: str, wait: float) -> bool:
        """Send one attempt, waiting up to `wait` seconds for a connection; True when sent."""
        deadline = time.monotonic() + wait
        while True:
            connection = self._pick()
            if connection is not None:
                try:
                    sent_at = time.perf_counter()
                    await connection.ws.send_str(json.dumps(delivery.envelope(retry_attempt, reason)))
                except (ConnectionError, RuntimeError):
                    connection.dead = True
                    continue
                delivery.attempts.append(Attempt(retry_attempt, reason, sent_at, connection.id))
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                delivery.attempts.append(Attempt(retry_attempt, reason, time.perf_counter(), None))
                return False
            with contextlib.suppress(TimeoutError):
                await self.wait_connected(remaining)

    async def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        on_ack: Callable[[Delivery], None] | None = None,
        connect_timeout: float | None = None,
    ) -> Delivery:
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"envelope type must be one of {sorted(ENVELOPE_TYPES)}")
        delivery = Delivery(envelope_type, payload, accepts_response_payload, str(uuid.uuid4()))
        delivery.on_ack = on_ack
        self.deliveries.append(delivery)
        self._by_id[delivery.envelope_id] = delivery
        wait = self.ack_timeout if connect_timeout is None else connect_timeout
        if not await self._send(delivery, 0, "", wait):
            delivery.gave_up = True
            delivery._finished.set()
            raise NotConnectedError(f"no Socket Mode connection within {wait}s to deliver {envelope_type}")
        task = asyncio.create_task(self._redeliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def _redeliver(self, delivery: Delivery) -> None:
        retries = self.max_retries if delivery.type in self.redeliver_types else 0
        for attempt in range(1, retries + 2):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(delivery._acked.wait(), self.ack_timeout)
                return
            if attempt > retries:
                break
            await self._send(delivery, attempt, "timeout", self.ack_timeout)
        delivery.gave_up = True
        delivery._finished.set()
        self.on_change()

    async def send_all(self, message: dict[str, Any]) -> int:
        sent = 0
        for connection in list(self.connections):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.send_json(message)
                sent += 1
        return sent

    async def drop(self, *, abrupt: bool = True) -> int:
        """Close every connection: abrupt drops TCP with no close frame, else a 1001 close frame."""
        dropped = list(self.connections)
        for connection in dropped:
            if abrupt:
                transport = connection.request.transport
                if transport is not None:
                    transport.abort()
            else:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await connection.ws.close(code=1001, message=b"going away")
        for connection in dropped:
            if connection in self.connections:
                self.connections.remove(connection)
        await self._notify()
        return len(dropped)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for connection in list(self.connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.ws.close(code=1001, message=b"server shutdown"), 1.0)
        self.connections.clear()
