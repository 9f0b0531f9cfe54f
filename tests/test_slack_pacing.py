"""The bot's pacing of Slack calls: token buckets and 429 holds, on a loop whose clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from bot.slack.pacing import Pace, Pacer, Slot


class HandMovedLoop(asyncio.SelectorEventLoop):
    """An event loop whose time stands still until the test moves it: timers (the buckets' and the
    holds') fire when `advance` passes them, never on their own."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        await settle()


async def settle() -> None:
    """Let every task that can run, run (no time passes)."""
    for _ in range(20):
        await asyncio.sleep(0)


def run(test: Callable[[HandMovedLoop], Coroutine[Any, Any, None]]) -> None:
    with asyncio.Runner(loop_factory=HandMovedLoop) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, HandMovedLoop)
        runner.run(test(loop))


class Callers:
    """Callers taking their turn in slots, in the order they were started; `through` is who got one."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self.through: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, name: str, slot: Slot) -> None:
        async def call() -> None:
            await self.pacer.wait_turn(slot)
            self.through.append(name)

        self.tasks.append(asyncio.ensure_future(call()))

    def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()


CREATE: Slot = ("conversations.create", None)


def test_a_burst_goes_at_once_and_the_rest_at_the_pace() -> None:
    async def scenario(loop: HandMovedLoop) -> None:
        pacer = Pacer({"conversations.create": Pace(per_minute=20, burst=3)})
        callers = Callers(pacer)
        for index in range(5):
            callers.start(f"create {index}", CREATE)
        await settle()
        assert callers.through == ["create 0", "create 1", "create 2"]
        await loop.advance(2.9)
        assert len(callers.through) == 3  # one token every 3 s at 20 a minute
        await loop.advance(0.1)
        assert callers.through[3:] == ["create 3"]
        await loop.advance(3)
        assert callers.through[4:] == ["create 4"]
        await loop.advance(60)
        assert len(callers.through) == 5

    run(scenario)


def test_posts_are_paced_per_channel_and_other_methods_on_their_own() -> None:
    async def scenario(loop: HandMovedLoop) -> None:
        pacer = Pacer(
            {
                "chat.postMessage": Pace(per_minute=60, burst=2, per_channel=True),
                "conversations.create": Pace(per_minute=20, burst=1),
            }
        )
        a = pacer.slot("chat.postMessage", {"channel": "CA", "text": "one"})
        b = pacer.slot("chat.postMessage", {"channel": "CB", "text": "two"})
        assert a == ("chat.postMessage", "CA") and b == ("chat.postMessage", "CB")
        assert pacer.slot("conversations.create", {"name": "inc-1"}) == CREATE
        assert pacer.slot("auth.test", {}) is None

        callers = Callers(pacer)
        for index in range(4):
            callers.start(f"create {index}", CREATE)
        for index in range(3):
            callers.start(f"A{index}", a)
        callers.start("B0", b)
        await settle()
        # Declarations queued on conversations.create hold nobody's posts; A's third waits for A only.
        assert callers.through == ["create 0", "A0", "A1", "B0"]
        await loop.advance(1)
        assert callers.through[4:] == ["A2"]
        callers.cancel()

    run(scenario)


def test_after_a_429_nobody_calls_before_the_retry_after_and_then_at_the_pace() -> None:
    async def scenario(loop: HandMovedLoop) -> None:
        pacer = Pacer({"chat.postMessage": Pace(per_minute=60, burst=3, per_channel=True)})
        held: list[tuple[str, float]] = []
        pacer.on_hold = lambda method, seconds: held.append((method, seconds))
        a, b = ("chat.postMessage", "CA"), ("chat.postMessage", "CB")
        callers = Callers(pacer)
        pacer.hold(a, 5)
        assert held == [("chat.postMessage", 5)]
        for index in range(3):
            callers.start(f"A{index}", a)
        callers.start("B0", b)
        await settle()
        assert callers.through == ["B0"]  # tokens are there, but the hold is in force
        await loop.advance(4.9)
        assert callers.through == ["B0"]
        await loop.advance(0.1)
        assert callers.through == ["B0", "A0", "A1", "A2"]
        assert pacer.hold_left(a) == 0

    run(scenario)


def test_a_caller_waiting_for_a_token_when_the_429_comes_waits_out_the_hold_too() -> None:
    async def scenario(loop: HandMovedLoop) -> None:
        pacer = Pacer({"conversations.create": Pace(per_minute=60, burst=1)})
        callers = Callers(pacer)
        callers.start("first", CREATE)
        callers.start("second", CREATE)
        await settle()
        assert callers.through == ["first"]
        pacer.hold(CREATE, 4)  # the first call was answered 429, Retry-After: 4
        await loop.advance(1)  # the second's token is there now, the hold is not over
        assert callers.through == ["first"]
        await loop.advance(2.9)
        assert callers.through == ["first"]
        await loop.advance(0.1)
        assert callers.through == ["first", "second"]

    run(scenario)


def test_a_longer_hold_wins_over_a_shorter_one_and_a_scale_speeds_the_buckets_up() -> None:
    async def scenario(loop: HandMovedLoop) -> None:
        pacer = Pacer({"conversations.create": Pace(per_minute=20, burst=1)}, scale=3)
        pacer.hold(CREATE, 10)
        pacer.hold(CREATE, 2)
        assert pacer.hold_left(CREATE) == 10
        await loop.advance(10)
        callers = Callers(pacer)
        callers.start("first", CREATE)
        callers.start("second", CREATE)
        await settle()
        assert callers.through == ["first"]
        await loop.advance(1)  # 20 a minute three times as fast: a token a second
        assert callers.through == ["first", "second"]

    run(scenario)


def test_with_no_pacing_only_the_holds_make_callers_wait() -> None:
    async def scenario(loop: HandMovedLoop) -> None:
        pacer = Pacer({"conversations.create": Pace(per_minute=1, burst=1)}, scale=0)
        callers = Callers(pacer)
        for index in range(5):
            callers.start(f"create {index}", CREATE)
        await settle()
        assert len(callers.through) == 5
        pacer.hold(CREATE, 1)
        callers.start("after the 429", CREATE)
        await settle()
        assert len(callers.through) == 5
        await loop.advance(1)
        assert callers.through[5:] == ["after the 429"]

    run(scenario)


def test_a_new_pace_applies_to_the_next_calls() -> None:
    async def scenario(loop: HandMovedLoop) -> None:
        pacer = Pacer({"conversations.create": Pace(per_minute=1, burst=1)})
        callers = Callers(pacer)
        callers.start("first", CREATE)
        await settle()
        pacer.set_pace("conversations.create", Pace(per_minute=60, burst=2))
        callers.start("second", CREATE)
        callers.start("third", CREATE)
        await settle()
        assert callers.through == ["first", "second", "third"]

    run(scenario)
