"""Per-incident timers: scheduled once per key, run once when due by one process, a failure retried later
without holding up the others, a claim left by a dead process taken again."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.runtime import timers
from bot.runtime.bot_context import BotContext
from bot.runtime.scheduler import Scheduler
from storage import scheduling as store
from storage.models import ScheduledAction
from tests.test_scheduler import START as NOW
from tests.test_scheduler import Clock, clock, processes  # noqa: F401  (the fixtures)


async def schedule(ctx: BotContext, kind: str, key: str, due_at: datetime, **payload: object) -> None:
    async with ctx.sessions() as session:
        await store.schedule(session, kind, key, due_at, dict(payload))
        await session.commit()


async def actions(ctx: BotContext) -> dict[str, ScheduledAction]:
    async with ctx.sessions() as session:
        rows = await session.exec(select(ScheduledAction).order_by(col(ScheduledAction.id)))
        return {row.key: row for row in rows}


def metric(ctx: BotContext, line: str) -> float:
    for sample in ctx.metrics.render().decode().splitlines():
        if sample.startswith(line + " "):
            return float(sample.rsplit(" ", 1)[1])
    return 0.0


async def test_scheduling_a_key_again_keeps_the_first_timer(processes: tuple[BotContext, BotContext]) -> None:
    ctx = processes[0]
    await schedule(ctx, "remind", "remind:7:30m", NOW + timedelta(minutes=30), user="U1")
    await schedule(ctx, "remind", "remind:7:30m", NOW + timedelta(hours=2), user="U2")
    [row] = (await actions(ctx)).values()
    assert row.due_at == NOW + timedelta(minutes=30) and row.payload == {"user": "U1"}
    assert row.status == "pending" and row.attempts == 0


async def test_due_timers_run_once_and_a_failing_one_is_retried_later_without_stopping_the_others(
    processes: tuple[BotContext, BotContext], clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = processes[0]
    pinged: list[str] = []
    failures = {"left": 1}

    async def ping(_ctx: BotContext, action: ScheduledAction) -> None:
        pinged.append(action.payload["who"])

    async def page(_ctx: BotContext, action: ScheduledAction) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("pager unreachable")
        pinged.append(action.payload["who"])

    handlers = {"ping": ping, "page": page}
    await schedule(ctx, "ping", "first", NOW - timedelta(minutes=1), who="ada")
    await schedule(ctx, "page", "flaky", NOW - timedelta(seconds=30), who="bob")
    await schedule(ctx, "ping", "second", NOW, who="cy")
    await schedule(ctx, "ping", "later", NOW + timedelta(minutes=10), who="dee")

    with caplog.at_level(logging.ERROR, logger="bot.runtime.timers"):
        assert await timers.drain_due_actions(ctx, handlers) == (2, 1)
    assert pinged == ["ada", "cy"]
    rows = await actions(ctx)
    assert rows["first"].status == rows["second"].status == "done"
    assert rows["first"].done_at == NOW
    flaky = rows["flaky"]
    assert (flaky.status, flaky.attempts, flaky.claimed_at) == ("pending", 1, None)
    assert flaky.due_at == NOW + timedelta(minutes=1)
    assert flaky.last_error == "ConnectionError: pager unreachable"
    assert rows["later"].status == "pending" and rows["later"].attempts == 0
    [record] = [r for r in caplog.records if r.getMessage() == "scheduled action failed"]
    assert getattr(record, "kind", None) == "page" and getattr(record, "key", None) == "flaky"
    assert metric(ctx, 'dispatch_bot_scheduled_action_failures_total{kind="page"}') == 1.0
    assert metric(ctx, 'dispatch_bot_scheduled_actions_total{kind="ping"}') == 2.0

    clock.advance(seconds=30)  # before its retry time: nothing runs
    assert await timers.drain_due_actions(ctx, handlers) == (0, 0)
    clock.advance(seconds=30)
    assert await timers.drain_due_actions(ctx, handlers) == (1, 0)
    clock.advance(minutes=10)
    assert await timers.drain_due_actions(ctx, handlers) == (1, 0)
    assert pinged == ["ada", "cy", "bob", "dee"]
    rows = await actions(ctx)
    assert {key: (row.status, row.attempts) for key, row in rows.items()} == {
        "first": ("done", 1),
        "flaky": ("done", 2),
        "second": ("done", 1),
        "later": ("done", 1),
    }


async def test_a_timer_that_keeps_failing_is_abandoned_with_its_error(
    processes: tuple[BotContext, BotContext], clock: Clock
) -> None:
    ctx = processes[0]
    calls: list[datetime] = []

    async def broken(_ctx: BotContext, _action: ScheduledAction) -> None:
        calls.append(clock.now)
        raise ValueError("template missing")

    await schedule(ctx, "broken", "doomed", NOW)
    for _ in range(timers.MAX_ATTEMPTS + 3):
        await timers.drain_due_actions(ctx, {"broken": broken})
        clock.advance(hours=2)
    assert len(calls) == timers.MAX_ATTEMPTS
    # Waits grow: 1, 2, 4 … minutes, never more than an hour; each attempt here is 2 h after the last.
    assert timers.retry_at(NOW, 1) == NOW + timedelta(minutes=1)
    assert timers.retry_at(NOW, 3) == NOW + timedelta(minutes=4)
    assert timers.retry_at(NOW, 9) == NOW + timedelta(hours=1)
    row = (await actions(ctx))["doomed"]
    assert (row.status, row.attempts, row.last_error) == (
        "abandoned",
        timers.MAX_ATTEMPTS,
        "ValueError: template missing",
    )


async def test_a_timer_of_an_unknown_kind_is_kept_and_retried(
    processes: tuple[BotContext, BotContext],
) -> None:
    ctx = processes[0]
    await schedule(ctx, "escalate", "e-1", NOW)
    assert await timers.drain_due_actions(ctx, {}) == (0, 1)
    row = (await actions(ctx))["e-1"]
    assert row.status == "pending"
    assert row.last_error == "LookupError: no handler for actions of kind 'escalate'"


async def test_two_processes_draining_at_once_run_each_timer_once(
    processes: tuple[BotContext, BotContext],
) -> None:
    ran: list[tuple[str, int]] = []

    async def ping(ctx: BotContext, action: ScheduledAction) -> None:
        ran.append((action.key, id(ctx)))
        await asyncio.sleep(0)

    count = timers.BATCH * 2 + 7  # several batches each
    async with processes[0].sessions() as session:
        for index in range(count):
            await store.schedule(session, "ping", f"k{index:03}", NOW - timedelta(seconds=index))
        await session.commit()
    results = await asyncio.gather(*(timers.drain_due_actions(ctx, {"ping": ping}) for ctx in processes))
    assert sum(done for done, _failed in results) == count
    assert sorted(key for key, _ in ran) == [f"k{index:03}" for index in range(count)]
    assert all(row.status == "done" for row in (await actions(processes[0])).values())


async def test_a_timer_claimed_by_a_process_that_died_is_taken_again_when_its_lease_ends(
    processes: tuple[BotContext, BotContext], clock: Clock
) -> None:
    dead, alive = processes
    ran: list[str] = []

    async def ping(_ctx: BotContext, action: ScheduledAction) -> None:
        ran.append(action.key)

    await schedule(dead, "ping", "orphan", NOW)
    async with dead.sessions() as session:
        [claimed] = await store.claim_due_actions(session, NOW, "dead-host:1", timers.LEASE, 10)
    assert claimed.claimed_by == "dead-host:1"

    assert await timers.drain_due_actions(alive, {"ping": ping}) == (0, 0)
    clock.advance(seconds=timers.LEASE.total_seconds() + 1)
    assert await timers.drain_due_actions(alive, {"ping": ping}) == (1, 0)
    assert ran == ["orphan"]
    row = (await actions(alive))["orphan"]
    assert row.status == "done" and row.claimed_by != "dead-host:1"


async def test_the_registry_job_drains_with_the_registered_handlers(
    processes: tuple[BotContext, BotContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = processes[0]
    seen: list[object] = []

    async def remind(_ctx: BotContext, action: ScheduledAction) -> None:
        seen.append(action.payload["incident"])

    monkeypatch.setitem(timers.ACTIONS, "remind", remind)
    await schedule(ctx, "remind", "r-1", NOW, incident=7)
    await schedule(ctx, "nudge", "n-1", NOW)
    result = await Scheduler(ctx).fire("scheduled-actions")
    assert result is not None and result.describe() == "ok: 1 action(s) done, 1 failed"
    assert seen == [7]


async def test_finished_timers_are_forgotten_after_a_week(
    processes: tuple[BotContext, BotContext], clock: Clock
) -> None:
    ctx = processes[0]

    async def ping(_ctx: BotContext, _action: ScheduledAction) -> None:
        return None

    await schedule(ctx, "ping", "old", NOW)
    await timers.drain_due_actions(ctx, {"ping": ping})
    clock.advance(days=6)
    await schedule(ctx, "ping", "new", clock.now)
    await timers.drain_due_actions(ctx, {"ping": ping})
    assert set(await actions(ctx)) == {"old", "new"}
    clock.advance(days=1, seconds=1)
    await timers.drain_due_actions(ctx, {"ping": ping})
    assert set(await actions(ctx)) == {"new"}


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_on_postgresql_a_drain_skips_the_timers_another_process_holds_instead_of_waiting(
    processes: tuple[BotContext, BotContext],
) -> None:
    holder, drainer = processes
    for index in range(6):
        await schedule(holder, "ping", f"k{index}", NOW - timedelta(minutes=index))
    async with holder.sessions() as session, session.begin():
        # Another process is in the middle of claiming the three oldest.
        held = await session.exec(
            select(ScheduledAction.key).order_by(col(ScheduledAction.due_at)).limit(3).with_for_update()
        )
        assert list(held) == ["k5", "k4", "k3"]
        # A guard against hanging if rows were waited for, not a measure of speed.
        async with asyncio.timeout(30), drainer.sessions() as other:
            claimed = await store.claim_due_actions(other, NOW, "drainer", timers.LEASE, 10)
        assert sorted(action.key for action in claimed) == ["k0", "k1", "k2"]
