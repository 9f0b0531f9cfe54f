"""Background work started after an acknowledgement, tracked so shutdown can let it finish."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)

# The tasks started while handling one envelope, so its log line can report the total time.
_envelope_tasks: contextvars.ContextVar[list[asyncio.Task[Any]] | None] = contextvars.ContextVar(
    "envelope_tasks", default=None
)


class TaskTracker:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background; failures are logged with `name`, never lost silently."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        scoped = _envelope_tasks.get()
        if scoped is not None:
            scoped.append(task)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for running tasks; cancel what is left and return its count."""
        if not self._tasks:
            return 0
        _done, still_running = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in still_running:
            task.cancel()
        if still_running:
            await asyncio.wait(still_running, timeout=1)
        return len(still_running)


def begin_envelope_scope() -> tuple[list[asyncio.Task[Any]], contextvars.Token[Any]]:
    tasks: list[asyncio.Task[Any]] = []
    return tasks, _envelope_tasks.set(tasks)


def end_envelope_scope(token: contextvars.Token[Any]) -> None:
    _envelope_tasks.reset(token)
