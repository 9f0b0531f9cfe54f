"""Effects that must happen: recorded with the change that causes them, run once by a live process.

A flow records its effects (`record`) in the transaction that saves its change, then hands their
keys to `run_soon` once that transaction is committed: they run at once, in this process, stage by
stage (an archive before the DMs it must precede), each on its own so one failing never stops the
others. Whatever did not run to the end (a crash, a shutdown, a Slack error) is taken again by the
pump of any replica: due effects every few seconds, a dead process's claims as soon as its heartbeat
stops. A failed effect is retried with a growing delay and, after `MAX_ATTEMPTS`, abandoned and
told to the incident's commander.

The same rows are the timers ("remind me in 30 minutes"): an effect due later.

Delivery is at least once: a process may die after the work but before recording it. So each effect
is idempotent on its key: `effect.attempts > 1` means an earlier attempt may have done the work, and
what it did is kept in `effect.result` (the targets reached…) as it goes; a message carries its
effect's key in its metadata so a retry can find it in the channel instead of posting it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.runtime.bot_context import BotContext
from storage import effects as store
from storage import incidents as incident_store
from storage.effects import NewEffect
from storage.models import Effect, Incident

logger = logging.getLogger(__name__)

EffectRun = Callable[[BotContext, Effect], Awaitable[str | None]]


@dataclass(frozen=True)
class Kind:
    run: EffectRun
    # What the effect does, as the commander is told it when it is abandoned: "archive the channel".
    what: str


# Kinds by name; a capability adds its own with `@effect("kind", "what it does")`.
EFFECTS: dict[str, Kind] = {}


def effect(kind: str, what: str) -> Callable[[EffectRun], EffectRun]:
    def register(run: EffectRun) -> EffectRun:
        EFFECTS[kind] = Kind(run, what)
        return run

    return register


BATCH = 50
# A live process's claim older than this is taken anyway: the process is stuck on it.
LEASE = timedelta(minutes=10)
# One attempt that runs longer is given up (and retried): a hung call must not hold the claim for ever.
ATTEMPT_TIMEOUT = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=15)
LONGEST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 10
# Finished effects are kept this long for inspection, then deleted.
RETENTION = timedelta(days=7)
COMMANDER = "Incident Commander"


def retry_at(now: datetime, attempts: int) -> datetime | None:
    """When to try again after `attempts` failed attempts: 15 s, 30 s, 1 min … at most an hour apart;
    None to give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


async def record(session: Any, ctx: BotContext, effects: Sequence[NewEffect]) -> list[str]:
    """Record `effects` in the caller's transaction; their keys, for `run_soon` after the commit."""
    await store.record(session, effects, ctx.clock())
    return [new.key for new in effects]


def run_soon(ctx: BotContext, *stages: Sequence[str]) -> None:
    """Run the effects of `stages` in the background now, one stage after the other."""
    if any(stages):
        ctx.tasks.spawn(run_stages(ctx, *stages), name="effects")


async def run_stages(ctx: BotContext, *stages: Sequence[str]) -> tuple[int, int]:
    """Run the effects of each stage (concurrently within it), one stage after the other, whatever
    the earlier stage's outcome; (done, failed). Effects another process holds, or done already,
    are left alone."""
    done = failed = 0
    for keys in stages:
        if not keys:
            continue
        async with ctx.sessions() as session:
            claimed = await store.claim(session, ctx.clock(), ctx.process, LEASE, len(keys), keys=keys)
        outcomes = await asyncio.gather(*(_run(ctx, EFFECTS, row) for row in claimed))
        done += sum(outcomes)
        failed += len(outcomes) - sum(outcomes)
    return done, failed


async def drain(ctx: BotContext, kinds: Mapping[str, Kind] | None = None) -> tuple[int, int]:
    """Run every effect due by now, batch by batch, concurrently within a batch; (done, failed)."""
    kinds = EFFECTS if kinds is None else kinds
    done = failed = 0
    now = ctx.clock()
    while True:
        async with ctx.sessions() as session:
            batch = await store.claim(session, now, ctx.process, LEASE, BATCH)
        if not batch:
            break
        outcomes = await asyncio.gather(*(_run(ctx, kinds, row) for row in batch))
        done += sum(outcomes)
        failed += len(outcomes) - sum(outcomes)
        if len(batch) < BATCH:
            break
    return done, failed


async def forget_old(ctx: BotContext) -> int:
    async with ctx.sessions() as session:
        return await store.forget_finished(session, ctx.clock() - RETENTION)


async def _run(ctx: BotContext, kinds: Mapping[str, Kind], row: Effect) -> bool:
    assert row.id is not None
    kind = kinds.get(row.kind)
    try:
        if kind is None:
            # Kept and retried: the release that runs this kind may not be deployed everywhere yet.
            raise LookupError(f"no handler for effects of kind {row.kind!r}")
        async with asyncio.timeout(ATTEMPT_TIMEOUT.total_seconds()):
            outcome = await kind.run(ctx, row)
    except Exception as error:
        again = retry_at(ctx.clock(), row.attempts)
        ctx.metrics.effect_failures.labels(row.kind).inc()
        logger.exception(
            "effect failed",
            extra={"kind": row.kind, "key": row.key, "attempts": row.attempts, "retry_at": again},
        )
        reason = f"{type(error).__name__}: {error}"
        async with ctx.sessions() as session:
            await store.release(session, row.id, reason, again, ctx.clock(), dict(row.result))
        if again is None:
            await _tell_abandoned(ctx, row, kind.what if kind else row.kind, reason)
        return False
    ctx.metrics.effect_runs.labels(row.kind).inc()
    result = dict(row.result)
    if outcome:
        result["outcome"] = outcome
    async with ctx.sessions() as session:
        await store.finish(session, row.id, ctx.clock(), result)
    return True


async def _tell_abandoned(ctx: BotContext, row: Effect, what: str, reason: str) -> None:
    """The commander hears of an effect given up on: the bot cannot fix it, a person can."""
    if row.incident_id is None:
        return
    try:
        async with ctx.sessions() as session:
            incident = await session.get(Incident, row.incident_id)
            commander = await incident_store.holder_of(session, row.incident_id, COMMANDER)
            commander = commander or await incident_store.last_holder_of(session, row.incident_id, COMMANDER)
        if incident is None or commander is None:
            return
        await ctx.gateway.direct_message(
            commander,
            f":warning: For {incident.name}, I could not {what}: I tried {row.attempts} times since "
            f"{row.created_at:%Y-%m-%d %H:%M} UTC and gave up. The last error was `{reason[:300]}`. "
            "Please do it by hand, or check the integration.",
        )
    except Exception:
        logger.exception("could not tell the commander about an abandoned effect", extra={"key": row.key})


def drainer(kinds: Mapping[str, Kind] | None = None) -> Callable[[BotContext], Coroutine[Any, Any, str]]:
    """The job that runs due effects (with `kinds`, a live mapping: later registrations count)."""

    async def run(ctx: BotContext) -> str:
        done, failed = await drain(ctx, kinds)
        await forget_old(ctx)
        return f"{done} effect(s) done, {failed} failed"

    return run


async def each_once(
    row: Effect, targets: Iterable[str], send: Callable[[str, bool], Awaitable[object]], done: str = "done"
) -> list[str]:
    """Run `send(target, maybe_sent)` for each target an earlier attempt did not finish, concurrently,
    and keep in `row.result[done]` each target finished; raise the first failure once all were tried.

    `maybe_sent` is true when an earlier attempt may have reached the target without recording it.
    Returns the targets reached by this attempt.
    """
    finished = set(row.result.get(done, []))
    todo = [target for target in dict.fromkeys(targets) if target not in finished]
    maybe_sent = row.attempts > 1

    async def one(target: str) -> str:
        await send(target, maybe_sent)
        finished.add(target)
        row.result[done] = sorted(finished)
        return target

    outcomes = await asyncio.gather(*(one(target) for target in todo), return_exceptions=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:
        raise failures[0]
    return [outcome for outcome in outcomes if isinstance(outcome, str)]


# How often a process writes its heartbeat and looks for due effects (store.DEAD_AFTER is the
# silence after which its claims are a dead process's: a few beats).
PUMP_EVERY = timedelta(seconds=2)
Resumer = Callable[[BotContext], Awaitable[object]]


class Pump:
    """A process's heartbeat, and the loop that takes up due effects and a dead process's work.

    Two loops, so a slow effect never holds up the heartbeat (a silent process's claims are taken).
    `resumers` are the other resumable flows (an incident's opening steps) to look at on each turn.
    """

    def __init__(self, ctx: BotContext, resumers: Sequence[Resumer] = ()) -> None:
        self.ctx = ctx
        self.resumers = list(resumers)
        self._beating: asyncio.Task[None] | None = None
        self._pumping: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._beating = asyncio.create_task(self._every(self.beat), name="heartbeat")
        self._pumping = asyncio.create_task(self._every(self.tick), name="effects-pump")

    async def stop_taking(self) -> None:
        """Take no more work (at shutdown); the heartbeat goes on while the work taken finishes."""
        await _cancel(self._pumping)
        self._pumping = None

    async def beat(self) -> None:
        async with self.ctx.sessions() as session:
            await store.beat(session, self.ctx.process, self.ctx.clock())

    async def tick(self) -> None:
        """One turn: due effects run, then the flows dead processes left are resumed."""
        await drain(self.ctx)
        for resume in self.resumers:
            await resume(self.ctx)

    async def _every(self, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await step()
            except Exception:
                # Most likely the database is unreachable: the next turn tries again.
                logger.warning("the effects pump could not run", exc_info=True)
            await asyncio.sleep(PUMP_EVERY.total_seconds())

    async def stop(self) -> None:
        """Stop beating and say so, so the claims this process still holds are free at once."""
        await self.stop_taking()
        await _cancel(self._beating)
        self._beating = None
        try:
            now = self.ctx.clock()
            async with self.ctx.sessions() as session:
                await store.stopped(session, str(self.ctx.process["instance"]), now, now - timedelta(days=1))
        except Exception:
            logger.warning("could not say this process stopped", exc_info=True)


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
