"""Slack's Web API rate limits as the fake enforces them when asked: a tier per method, per channel for posts.

Slack documents its limits as tiers of calls per minute per method and workspace, each tolerating a
small burst, and chat.postMessage as about one message per second per channel with short bursts. A
refused call is answered HTTP 429 with `Retry-After` (whole seconds) and error "ratelimited", and does
nothing. Each limit here is a token bucket: `burst` tokens, refilled at `per_minute`; a call takes one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int
    per_channel: bool = False
    """One bucket per channel (the call's `channel` argument) instead of one per method."""

    @property
    def per_second(self) -> float:
        return self.per_minute / 60


TIER_1 = Limit(per_minute=1, burst=2)
TIER_2 = Limit(per_minute=20, burst=5)
TIER_3 = Limit(per_minute=50, burst=10)
TIER_4 = Limit(per_minute=100, burst=20)
POST_MESSAGE = Limit(per_minute=60, burst=4, per_channel=True)

# Methods Slack puts in a tier other than Tier 3 (the default here), as its method reference says.
TIERS: dict[str, Limit] = {
    "chat.postMessage": POST_MESSAGE,
    "conversations.create": TIER_2,
    "conversations.archive": TIER_2,
    "conversations.unarchive": TIER_2,
    "conversations.rename": TIER_2,
    "conversations.setTopic": TIER_2,
    "conversations.setPurpose": TIER_2,
    "conversations.list": TIER_2,
    "pins.add": TIER_2,
    "pins.remove": TIER_2,
    "bookmarks.add": TIER_2,
    "bookmarks.edit": TIER_2,
    "bookmarks.remove": TIER_2,
    "users.list": TIER_2,
    "chat.postEphemeral": TIER_4,
    "chat.getPermalink": TIER_4,
    "conversations.members": TIER_4,
    "users.info": TIER_4,
    "users.profile.get": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.push": TIER_4,
    "views.publish": TIER_4,
}
# Not limited by the fake: the token check and the Socket Mode URL (tests reconnect often).
UNLIMITED = frozenset({"auth.test", "apps.connections.open"})


def limit_for(method: str, overrides: Mapping[str, Limit] | None = None) -> Limit | None:
    """The limit of `method` (None: not limited); `overrides` by method name win over Slack's."""
    if overrides and method in overrides:
        return overrides[method]
    if method in UNLIMITED:
        return None
    return TIERS.get(method, TIER_3)


class _Bucket:
    def __init__(self, limit: Limit, now: float, scale: float) -> None:
        self.limit = limit
        self.rate = limit.per_second * scale
        self.tokens = float(limit.burst)
        self.checked = now

    def take(self, now: float) -> float:
        """Take a token: 0 when one was there, else the seconds until one will be."""
        rate = self.rate
        self.tokens = min(float(self.limit.burst), self.tokens + (now - self.checked) * rate)
        self.checked = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate if rate > 0 else math.inf


class RateLimits:
    """The fake's limits: off until `enforce()`; `clock` (seconds, monotonic) can be a hand-moved one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.enforced = False
        self.overrides: dict[str, Limit] = {}
        self.scale = 1.0
        self._buckets: dict[tuple[str, str | None], _Bucket] = {}

    def enforce(self, overrides: Mapping[str, Limit] | None = None, scale: float = 1.0) -> None:
        """Start refusing calls beyond their limits, with these per-method limits instead of Slack's,
        every bucket refilled `scale` times as fast (a test's minute can be shorter than Slack's)."""
        self.enforced = True
        self.overrides = dict(overrides or {})
        self.scale = scale
        self._buckets.clear()

    def stop(self) -> None:
        self.enforced = False
        self._buckets.clear()

    def now(self) -> float:
        return self.clock()

    def check(self, method: str, args: Mapping[str, Any]) -> int | None:
        """Count a call; None when it may go on, else the Retry-After (whole seconds) to answer."""
        if not self.enforced:
            return None
        limit = limit_for(method, self.overrides)
        if limit is None:
            return None
        key = (method, str(args.get("channel") or "") if limit.per_channel else None)
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(limit, now, self.scale)
        wait = bucket.take(now)
        if wait <= 0:
            return None
        return max(1, math.ceil(wait))
