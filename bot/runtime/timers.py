"""Per-incident timers: work scheduled for later ("remind me in 30 minutes"), run once by one process.

A flow schedules with `storage.scheduling.schedule(session, kind, key, due_at, payload)`, in the
same transaction as the change that calls for it; the `scheduled-actions` job then hands each due
row to the handler registered for its kind. A handler that raises is logged and its action tried
again later with a growing delay; it never holds up the other actions. Delivery is at least once (a
process may die after the handler ran but before the row is marked done), so handlers check what
they already did, as every external step here does.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.runtime.bot_context import BotContext
from storage import scheduling as store
from storage.models import ScheduledAction

logger = logging.getLogger(__name__)

ActionHandler = Callable[[BotContext, ScheduledAction], Awaitable[object]]

# Handlers by kind; a capability adds its own with `ACTIONS["kind"] = handler`.
ACTIONS: dict[str, ActionHandler] = {}

BATCH = 50
# A claim older than this belongs to a process that died while running the action.
LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 10
# Finished actions are kept this long for inspection, then deleted.
RETENTION = timedelta(days=7)


def retry_at(now: datetime, attempts: int) -> datetime | None:
    """When to try again after `attempts` failures: 1, 2, 4 … minutes, at most an hour; None to give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


async def drain_due_actions(ctx: BotContext, handlers: Mapping[str, ActionHandler]) -> tuple[int, int]:
    """Run every action due by now, batch by batch; (done, failed)."""
    claimant = f"{socket.gethostname()}:{os.getpid()}"
    done = failed = 0
    now = ctx.clock()
    while True:
        async with ctx.sessions() as session:
            batch = await store.claim_due_actions(session, now, claimant, LEASE, BATCH)
        if not batch:
            break
        for action in batch:
            if await _run_action(ctx, handlers, action):
                done += 1
            else:
                failed += 1
        if len(batch) < BATCH:
            break
    async with ctx.sessions() as session:
        await store.forget_finished_actions(session, now - RETENTION)
    return done, failed


async def _run_action(
    ctx: BotContext, handlers: Mapping[str, ActionHandler], action: ScheduledAction
) -> bool:
    assert action.id is not None
    handler = handlers.get(action.kind)
    try:
        if handler is None:
            # Kept and retried: the release that handles this kind may not be deployed everywhere yet.
            raise LookupError(f"no handler for actions of kind {action.kind!r}")
        await handler(ctx, action)
    except Exception as error:
        attempts = action.attempts + 1
        again = retry_at(ctx.clock(), attempts)
        ctx.metrics.action_failures.labels(action.kind).inc()
        logger.exception(
            "scheduled action failed",
            extra={"kind": action.kind, "key": action.key, "attempts": attempts, "retry_at": again},
        )
        async with ctx.sessions() as session:
            reason = f"{type(error).__name__}: {error}"
            await store.retry_action(session, action.id, reason, again, ctx.clock())
        return False
    ctx.metrics.action_runs.labels(action.kind).inc()
    async with ctx.sessions() as session:
        await store.finish_action(session, action.id, ctx.clock())
    return True


def drainer(handlers: Mapping[str, ActionHandler]) -> Callable[[BotContext], Coroutine[Any, Any, str]]:
    """The job that drains due actions with `handlers` (a live mapping: later registrations count)."""

    async def drain(ctx: BotContext) -> str:
        done, failed = await drain_due_actions(ctx, handlers)
        return f"{done} action(s) done, {failed} failed"

    return drain
