"""The bot's pace on the Slack Web API, shared by every flow of the process.

Slack limits each method per workspace (a tier of calls per minute with a small burst) and
chat.postMessage per channel (about one a second, short bursts). Each method, and each channel for
chat.postMessage, has a bucket here that every caller draws from, so fifty declarations queue on
conversations.create without delaying a post in a channel that already exists. When Slack answers 429
anyway, that method (that channel) is held until its Retry-After has passed, for every caller.

The buckets are aiolimiter's leaky buckets: `burst` calls at once, refilled at `per_minute`. Their
clock is the event loop's, and so is the hold's: one clock, which tests can move by running a loop
whose time they set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiolimiter import AsyncLimiter

# What a bucket is for: (method, channel), the channel only for methods paced per channel.
Slot = tuple[str, str | None]

# Per-channel buckets of channels not used for a while are dropped past this many.
MAX_IDLE_SLOTS = 1000


@dataclass(frozen=True)
class Pace:
    per_minute: float
    burst: int
    per_channel: bool = False

    def limiter(self, scale: float = 1.0) -> AsyncLimiter:
        """The bucket, refilled `scale` times as fast."""
        # aiolimiter's bucket holds `max_rate` and leaks max_rate per time_period: burst and rate.
        return AsyncLimiter(self.burst, self.burst * 60 / (self.per_minute * scale))


# Slack's documented minimum rates (its tiers promise "N+" per minute); bursts kept small.
TIER_2 = Pace(per_minute=20, burst=5)
TIER_3 = Pace(per_minute=50, burst=10)
TIER_4 = Pace(per_minute=100, burst=20)
POST_MESSAGE = Pace(per_minute=60, burst=4, per_channel=True)

# The methods the bot calls whose tier is not Tier 3; any other method is paced as Tier 3.
PACES: dict[str, Pace] = {
    "chat.postMessage": POST_MESSAGE,
    "conversations.create": TIER_2,
    "conversations.archive": TIER_2,
    "conversations.unarchive": TIER_2,
    "conversations.setTopic": TIER_2,
    "conversations.setPurpose": TIER_2,
    "conversations.list": TIER_2,
    "pins.add": TIER_2,
    "bookmarks.add": TIER_2,
    "chat.postEphemeral": TIER_4,
    "chat.getPermalink": TIER_4,
    "conversations.members": TIER_4,
    "users.info": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.push": TIER_4,
}
# Never paced: start-up's token check and Socket Mode's URL (its reconnects have their own backoff).
UNPACED = frozenset({"auth.test", "apps.connections.open"})


class Pacer:
    """Token buckets and 429 holds by slot, for every caller of one process."""

    def __init__(
        self,
        paces: Mapping[str, Pace] | None = None,
        scale: float = 1.0,
        on_hold: Callable[[str, float], None] | None = None,
    ) -> None:
        """`paces` replace the default pace of the methods they name; every rate is multiplied by
        `scale` (0: no buckets, only the holds); `on_hold(method, seconds)` is told of every 429."""
        self.paces = {**PACES, **(paces or {})}
        self.scale = scale
        self.on_hold = on_hold
        self._limiters: dict[Slot, AsyncLimiter] = {}
        self._holds: dict[Slot, float] = {}
        self._waiting: dict[str, int] = {}

    def set_pace(self, method: str, pace: Pace) -> None:
        """Pace `method` differently from now on (a workspace granted other limits, a test's fake)."""
        self.paces[method] = pace
        for slot in [slot for slot in self._limiters if slot[0] == method]:
            del self._limiters[slot]

    def pace_of(self, method: str) -> Pace | None:
        return None if method in UNPACED else self.paces.get(method, TIER_3)

    def slot(self, method: str, arguments: Mapping[str, Any]) -> Slot | None:
        """The bucket a call draws from (None: not paced)."""
        pace = self.pace_of(method)
        if pace is None:
            return None
        return (method, str(arguments.get("channel") or "") if pace.per_channel else None)

    async def wait_turn(self, slot: Slot) -> None:
        """Until a call in `slot` may be made: no hold in force and a token taken from its bucket."""
        if self.scale <= 0 and self.hold_left(slot) <= 0:
            return
        method = slot[0]
        self._waiting[method] = self._waiting.get(method, 0) + 1
        try:
            if self.scale <= 0:
                await self._sit_out_hold(slot)
                return
            limiter = self._limiter(slot)
            while True:
                await self._sit_out_hold(slot)
                await limiter.acquire()
                # A 429 may have come while this caller waited for the bucket: then its token is
                # spent and it waits out the hold like everyone else.
                if self.hold_left(slot) <= 0:
                    return
        finally:
            self._waiting[method] -= 1

    def queue(self, method: str) -> int:
        """How many calls of `method` (unpaced by channel) are waiting their turn, plus one when the
        next call could not go at once either: where a call made now would stand (0: it goes)."""
        slot: Slot = (method, None)
        waiting = self._waiting.get(method, 0)
        if waiting:
            return waiting + 1
        if self.hold_left(slot) > 0:
            return 1
        limiter = self._limiters.get(slot)
        return 0 if self.scale <= 0 or limiter is None or limiter.has_capacity() else 1

    def hold(self, slot: Slot, seconds: float) -> None:
        """Slack answered 429 with Retry-After `seconds`: nobody calls in `slot` before they passed."""
        until = asyncio.get_running_loop().time() + max(0.0, seconds)
        self._holds[slot] = max(until, self._holds.get(slot, until))
        if self.on_hold is not None:
            self.on_hold(slot[0], seconds)

    def hold_left(self, slot: Slot) -> float:
        """Seconds until the hold on `slot` ends (0: none)."""
        until = self._holds.get(slot)
        if until is None:
            return 0.0
        left = until - asyncio.get_running_loop().time()
        if left <= 0:
            del self._holds[slot]
            return 0.0
        return left

    async def _sit_out_hold(self, slot: Slot) -> None:
        while (left := self.hold_left(slot)) > 0:
            await asyncio.sleep(left)

    def _limiter(self, slot: Slot) -> AsyncLimiter:
        limiter = self._limiters.get(slot)
        if limiter is None:
            if len(self._limiters) >= MAX_IDLE_SLOTS:
                self._forget_idle()
            pace = self.pace_of(slot[0])
            assert pace is not None
            limiter = self._limiters[slot] = pace.limiter(self.scale)
        return limiter

    def _forget_idle(self) -> None:
        """Drop the buckets that are full again (nobody waits on them) and not held."""
        for slot, limiter in list(self._limiters.items()):
            if slot[1] is not None and limiter.has_capacity(limiter.max_rate) and not self.hold_left(slot):
                del self._limiters[slot]
