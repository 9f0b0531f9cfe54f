"""Periodic work: jobs declared once as data, run by APScheduler in the bot's own event loop."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.context import BotContext
from bot.incidents import flows as incident_flows

logger = logging.getLogger(__name__)

JobFunction = Callable[[BotContext], Coroutine[object, object, str]]


@dataclass(frozen=True)
class Job:
    """One periodic job: `run` returns a one-line outcome for the log and `scheduler list`."""

    name: str
    trigger: BaseTrigger
    run: JobFunction
    description: str = ""


@dataclass
class JobState:
    last_run: datetime | None = None
    last_outcome: str = "never run"
    failures: int = 0


async def reconcile(ctx: BotContext) -> str:
    """Finish what a crash or a failed call left undone: incidents whose opening is incomplete."""
    resumed = await incident_flows.resume_unfinished(ctx)
    return f"resumed {resumed} incident(s)"


JOBS: list[Job] = [
    Job(
        name="reconcile",
        trigger=IntervalTrigger(minutes=1),
        run=reconcile,
        description="Resume incident openings (channel, invites, notifications) a crash or failure left.",
    ),
]


@dataclass
class Scheduler:
    ctx: BotContext
    jobs: list[Job] = field(default_factory=lambda: list(JOBS))
    states: dict[str, JobState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        for job in self.jobs:
            self.states[job.name] = JobState()
            self._scheduler.add_job(
                self.run_job,
                job.trigger,
                args=[job],
                id=job.name,
                name=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=30,
            )

    def start(self) -> None:
        self._scheduler.start()

    def run_soon(self, name: str) -> None:
        """Run a job now as well as on its schedule (e.g. reconcile at start-up)."""
        # APScheduler fires on the wall clock, whatever clock the flows are given.
        self._scheduler.modify_job(name, next_run_time=datetime.now(UTC))

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=False)

    def next_run(self, name: str) -> datetime | None:
        job = self._scheduler.get_job(name)
        return job.next_run_time if job is not None else None

    async def run_job(self, job: Job) -> None:
        """Run one job now; a failure is logged and counted, and the next period runs as usual."""
        state = self.states[job.name]
        started = time.perf_counter()
        self.ctx.metrics.job_runs.labels(job.name).inc()
        try:
            outcome = await self.ctx.tasks.spawn(job.run(self.ctx), name=f"job:{job.name}")
        except Exception as error:
            self.ctx.metrics.job_failures.labels(job.name).inc()
            state.failures += 1
            state.last_outcome = f"failed: {type(error).__name__}: {error}"
            logger.exception("job failed", extra={"job": job.name})
        else:
            state.last_outcome = outcome
            logger.info(
                "job ran",
                extra={
                    "job": job.name,
                    "outcome": outcome,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        state.last_run = self.ctx.clock()
