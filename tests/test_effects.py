"""Recorded effects (and timers, effects due later): recorded once per key, run once when due by one
process, a failure retried later without holding up the others, a claim left by a dead process taken
again as soon as its heartbeat stops, one given up on told to the commander."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.runtime import effects
from bot.runtime.bot_context import BotContext
from bot.runtime.scheduler import Scheduler
from storage import effects as store
from storage.effects import NewEffect
from storage.models import Effect
from tests.test_scheduler import START as NOW
from tests.test_scheduler import Clock, clock, processes  # noqa: F401  (the fixtures)


async def schedule(ctx: BotContext, kind: str, key: str, due_at: datetime, **payload: object) -> None:
    async with ctx.sessions() as session:
        await store.record(session, [NewEffect(kind, key, due_at, dict(payload))], NOW)
        await session.commit()


async def actions(ctx: BotContext) -> dict[str, Effect]:
    async with ctx.sessions() as session:
        rows = await session.exec(select(Effect).order_by(col(Effect.id)))
        return {row.key: row for row in rows}


def kinds(**runs: effects.EffectRun) -> dict[str, effects.Kind]:
    return {name: effects.Kind(run, f"do {name}") for name, run in runs.items()}


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

    async def ping(_ctx: BotContext, action: Effect) -> None:
        pinged.append(action.payload["who"])

    async def page(_ctx: BotContext, action: Effect) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("pager unreachable")
        pinged.append(action.payload["who"])

    handlers = kinds(ping=ping, page=page)
    await schedule(ctx, "ping", "first", NOW - timedelta(minutes=1), who="ada")
    await schedule(ctx, "page", "flaky", NOW - timedelta(seconds=30), who="bob")
    await schedule(ctx, "ping", "second", NOW, who="cy")
    await schedule(ctx, "ping", "later", NOW + timedelta(minutes=10), who="dee")

    with caplog.at_level(logging.ERROR, logger="bot.runtime.effects"):
        assert await effects.drain(ctx, handlers) == (2, 1)
    assert pinged == ["ada", "cy"]
    rows = await actions(ctx)
    assert rows["first"].status == rows["second"].status == "done"
    assert rows["first"].done_at == NOW
    flaky = rows["flaky"]
    assert (flaky.status, flaky.attempts, flaky.claimed_at) == ("pending", 1, None)
    assert flaky.due_at == NOW + timedelta(seconds=15)
    assert flaky.last_error == "ConnectionError: pager unreachable"
    assert rows["later"].status == "pending" and rows["later"].attempts == 0
    [record] = [r for r in caplog.records if r.getMessage() == "effect failed"]
    assert getattr(record, "kind", None) == "page" and getattr(record, "key", None) == "flaky"
    assert metric(ctx, 'dispatch_bot_effect_failures_total{kind="page"}') == 1.0
    assert metric(ctx, 'dispatch_bot_effects_total{kind="ping"}') == 2.0

    clock.advance(seconds=10)  # before its retry time: nothing runs
    assert await effects.drain(ctx, handlers) == (0, 0)
    clock.advance(seconds=5)
    assert await effects.drain(ctx, handlers) == (1, 0)
    clock.advance(minutes=10)
    assert await effects.drain(ctx, handlers) == (1, 0)
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

    async def broken(_ctx: BotContext, _action: Effect) -> None:
        calls.append(clock.now)
        raise ValueError("template missing")

    await schedule(ctx, "broken", "doomed", NOW)
    for _ in range(effects.MAX_ATTEMPTS + 3):
        await effects.drain(ctx, kinds(broken=broken))
        clock.advance(hours=2)
    assert len(calls) == effects.MAX_ATTEMPTS
    # Waits grow: 15 s, 30 s, 1 min … never more than an hour; each attempt here is 2 h after the last.
    assert effects.retry_at(NOW, 1) == NOW + timedelta(seconds=15)
    assert effects.retry_at(NOW, 3) == NOW + timedelta(minutes=1)
    assert effects.retry_at(NOW, 9) == NOW + timedelta(hours=1)
    row = (await actions(ctx))["doomed"]
    assert (row.status, row.attempts, row.last_error) == (
        "abandoned",
        effects.MAX_ATTEMPTS,
        "ValueError: template missing",
    )


async def test_a_timer_of_an_unknown_kind_is_kept_and_retried(
    processes: tuple[BotContext, BotContext],
) -> None:
    ctx = processes[0]
    await schedule(ctx, "escalate", "e-1", NOW)
    assert await effects.drain(ctx, {}) == (0, 1)
    row = (await actions(ctx))["e-1"]
    assert row.status == "pending"
    assert row.last_error == "LookupError: no handler for effects of kind 'escalate'"


async def test_two_processes_draining_at_once_run_each_timer_once(
    processes: tuple[BotContext, BotContext],
) -> None:
    ran: list[tuple[str, int]] = []

    async def ping(ctx: BotContext, action: Effect) -> None:
        ran.append((action.key, id(ctx)))
        await asyncio.sleep(0)

    count = effects.BATCH * 2 + 7  # several batches each
    async with processes[0].sessions() as session:
        for index in range(count):
            await store.record(
                session, [NewEffect("ping", f"k{index:03}", NOW - timedelta(seconds=index))], NOW
            )
        await session.commit()
    results = await asyncio.gather(*(effects.drain(ctx, kinds(ping=ping)) for ctx in processes))
    assert sum(done for done, _failed in results) == count
    assert sorted(key for key, _ in ran) == [f"k{index:03}" for index in range(count)]
    assert all(row.status == "done" for row in (await actions(processes[0])).values())


async def test_an_effect_claimed_by_a_process_that_died_is_taken_again_once_its_heartbeat_stops(
    processes: tuple[BotContext, BotContext], clock: Clock
) -> None:
    dead, alive = processes
    ran: list[str] = []

    async def ping(_ctx: BotContext, action: Effect) -> None:
        ran.append(action.key)

    await schedule(dead, "ping", "orphan", NOW)
    async with dead.sessions() as session:
        [claimed] = await store.claim(session, NOW, dead.process, effects.LEASE, 10)
    assert claimed.claimed_by == dead.process["instance"]

    # Its claimant was alive when it claimed: nobody else runs it while the heartbeat is fresh.
    assert await effects.drain(alive, kinds(ping=ping)) == (0, 0)
    clock.advance(seconds=store.DEAD_AFTER.total_seconds() + 1)  # seconds, not the ten-minute lease
    assert await effects.drain(alive, kinds(ping=ping)) == (1, 0)
    assert ran == ["orphan"]
    row = (await actions(alive))["orphan"]
    assert row.status == "done" and row.claimed_by == alive.process["instance"] and row.attempts == 2


async def test_a_live_process_keeps_its_claim_while_it_beats_until_the_lease_ends(
    processes: tuple[BotContext, BotContext], clock: Clock
) -> None:
    slow, other = processes
    ran: list[str] = []

    async def ping(_ctx: BotContext, action: Effect) -> None:
        ran.append(action.key)

    await schedule(slow, "ping", "long", NOW)
    async with slow.sessions() as session:
        await store.claim(session, NOW, slow.process, effects.LEASE, 10)
    pump = effects.Pump(slow)
    for _ in range(5):  # beating through more than the silence that marks a process dead
        clock.advance(seconds=store.DEAD_AFTER.total_seconds() / 2)
        await pump.beat()
        assert await effects.drain(other, kinds(ping=ping)) == (0, 0)
    clock.advance(seconds=effects.LEASE.total_seconds())  # stuck on it for a whole lease: taken anyway
    await pump.beat()
    assert await effects.drain(other, kinds(ping=ping)) == (1, 0)
    assert ran == ["long"]


async def test_a_process_that_stops_cleanly_frees_its_claims_at_once(
    processes: tuple[BotContext, BotContext],
) -> None:
    stopping, other = processes
    ran: list[str] = []

    async def ping(_ctx: BotContext, action: Effect) -> None:
        ran.append(action.key)

    await schedule(stopping, "ping", "cut-short", NOW)
    async with stopping.sessions() as session:
        await store.claim(session, NOW, stopping.process, effects.LEASE, 10)
    await effects.Pump(stopping).stop()  # the shutdown grace ended with the effect still running
    assert await effects.drain(other, kinds(ping=ping)) == (1, 0)
    assert ran == ["cut-short"]


async def test_the_registry_job_drains_with_the_registered_handlers(
    processes: tuple[BotContext, BotContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = processes[0]
    seen: list[object] = []

    async def remind(_ctx: BotContext, action: Effect) -> None:
        seen.append(action.payload["incident"])

    monkeypatch.setitem(effects.EFFECTS, "remind", effects.Kind(remind, "remind"))
    await schedule(ctx, "remind", "r-1", NOW, incident=7)
    await schedule(ctx, "nudge", "n-1", NOW)
    result = await Scheduler(ctx).fire("effects")
    assert result is not None and result.describe() == "ok: 1 effect(s) done, 1 failed"
    assert seen == [7]


async def test_finished_timers_are_forgotten_after_a_week(
    processes: tuple[BotContext, BotContext], clock: Clock
) -> None:
    ctx = processes[0]

    async def ping(_ctx: BotContext, _action: Effect) -> None:
        return None

    await schedule(ctx, "ping", "old", NOW)
    await effects.drainer(kinds(ping=ping))(ctx)
    clock.advance(days=6)
    await schedule(ctx, "ping", "new", clock.now)
    await effects.drainer(kinds(ping=ping))(ctx)
    assert set(await actions(ctx)) == {"old", "new"}
    clock.advance(days=1, seconds=1)
    await effects.drainer(kinds(ping=ping))(ctx)
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
        held = await session.exec(select(Effect.key).order_by(col(Effect.due_at)).limit(3).with_for_update())
        assert list(held) == ["k5", "k4", "k3"]
        # A guard against hanging if rows were waited for, not a measure of speed.
        async with asyncio.timeout(30), drainer.sessions() as other:
            claimed = await store.claim(other, NOW, drainer.process, effects.LEASE, 10)
        assert sorted(action.key for action in claimed) == ["k0", "k1", "k2"]
