"""Fault injection for the fake's Web API: rate limits, server errors, latency and API errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    kind: str
    """"rate_limit", "server_error", "fail" or "lost_answer"."""
    remaining: int
    retry_after: int = 1
    status: int = 500
    error: str = ""
    channel: str | None = None
    """Only calls with this `channel` argument (None: any)."""


class Faults:
    """Per-method (or "*" for every method) faults, consumed in the order they were added."""

    def __init__(self) -> None:
        self._queued: dict[str, list[Fault]] = {}
        self._latency: dict[str, float] = {}

    def rate_limit(
        self, method: str = "*", times: int = 1, retry_after: int = 1, channel: str | None = None
    ) -> None:
        """Answer the next `times` calls (to `channel` only, when given) with HTTP 429, Retry-After
        and error "ratelimited"."""
        self._add(method, Fault("rate_limit", times, retry_after=retry_after, channel=channel))

    def server_error(self, method: str = "*", times: int = 1, status: int = 500) -> None:
        """Answer the next `times` calls with an HTTP 5xx."""
        self._add(method, Fault("server_error", times, status=status))

    def fail(self, method: str, error: str = "channel_not_found", times: int = 1) -> None:
        """Answer the next `times` calls with HTTP 200 {"ok": false, "error": error}."""
        self._add(method, Fault("fail", times, error=error))

    def lose_answer(self, method: str, times: int = 1) -> None:
        """Do what the next `times` calls ask, then answer HTTP 500 as if the answer were lost on its
        way back (a timeout after Slack did it): the caller cannot tell whether it happened."""
        self._add(method, Fault("lost_answer", times))

    def latency(self, method: str, seconds: float) -> None:
        """Delay every answer to method ("*": all) by seconds, until cleared; 0 removes it."""
        if seconds > 0:
            self._latency[method] = seconds
        else:
            self._latency.pop(method, None)

    def clear(self) -> None:
        self._queued.clear()
        self._latency.clear()

    def delay_for(self, method: str) -> float:
        return self._latency.get(method, self._latency.get("*", 0.0))

    def take(self, method: str, args: Mapping[str, Any] | None = None) -> Fault | None:
        """The fault to apply to this call, if any (method-specific ones first)."""
        channel = (args or {}).get("channel")
        for key in (method, "*"):
            queue = self._queued.get(key) or []
            for fault in queue:
                if fault.channel is not None and fault.channel != channel:
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.remove(fault)
                return fault
        return None

    def _add(self, method: str, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        self._queued.setdefault(method, []).append(fault)
