"""Periodic work: jobs declared once as data, run in the bot's loop, once per slot across replicas.

Each job's period is aligned on the UTC wall clock (a one-minute job's slots start at second 0 of
each minute), so every process computes the same slots whenever it started. When a unique job
fires, the process claims the slot with one insert into `job_run`; only the process whose insert
lands runs it, the others skip. A process that dies mid-run leaves its row unfinished and the slot
lost; the next slot is claimed afresh, by whichever process fires first. On SQLite the bot is a
single process and the claim always succeeds: the same code runs there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.costs import flows as cost_flows
from bot.incidents import close_reminders, daily, opening_runner, participant_groups
from bot.people import membership
from bot.reports import flows as report_flows
from bot.reports import reminders as report_reminders
from bot.runtime import effects
from bot.runtime.bot_context import BotContext
from bot.tasks import documents as document_tasks
from bot.tasks import flows as task_flows
from bot.workflows import flows as workflow_flows
from storage import scheduling as store

logger = logging.getLogger(__name__)

JobFunction = Callable[[BotContext], Coroutine[Any, Any, str]]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Long enough to see a job's recent history in `job_run`, short enough that the table stays small.
JOB_RUN_RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class Every:
    """A period aligned on the UTC wall clock, the same slots in every process."""

    period: timedelta

    def slot(self, now: datetime) -> datetime:
        """The start of the period `now` falls in."""
        return EPOCH + ((now - EPOCH) // self.period) * self.period

    def next_after(self, now: datetime) -> datetime:
        return self.slot(now) + self.period

    def trigger(self) -> IntervalTrigger:
        # An interval counted from the epoch fires on slot starts, not from this process's start time.
        return IntervalTrigger(seconds=self.period.total_seconds(), start_date=EPOCH, timezone=UTC)

    def __str__(self) -> str:
        seconds = int(self.period.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if seconds % size == 0:
                return f"every {seconds // size} {unit}"
        return f"every {seconds} s"


def every(*, days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0) -> Every:
    return Every(timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds))


@dataclass(frozen=True)
class Job:
    """One periodic job.

    name: its key in `job_run`, the logs, the metrics and `dispatch-bot scheduler run NAME`.
    every: its period, aligned on the wall clock (`every(minutes=1)`, `every(hours=1)`).
    run: the coroutine, given the BotContext; returns a one-line outcome for the log and `scheduler list`.
    description: one line for `scheduler list` and readers of this registry.
    unique: run once per slot across all processes sharing the database (the default); False runs
        it in every process, for work that shares itself out (rows claimed with SKIP LOCKED).
        The claim is the (job, slot) row: if its process dies mid-run, that slot is lost and the
        next one goes to whichever process fires first, with nothing to clean up. So a unique job
        must tolerate a skipped period and pick up what an interrupted run left.
    """

    name: str
    every: Every
    run: JobFunction
    description: str = ""
    unique: bool = True


@dataclass(frozen=True)
class JobResult:
    job: str
    ok: bool
    outcome: str
    started_at: datetime
    finished_at: datetime
    slot_start: datetime | None = None

    def describe(self) -> str:
        return f"ok: {self.outcome}" if self.ok else f"failed: {self.outcome}"


class JobIncomplete(Exception):
    """A job ran to its end but left work failing: the run is recorded as failed, its message the
    outcome (what was done and what still fails), without a traceback."""


async def reconcile(ctx: BotContext) -> str:
    """Finish what a crash or a failed call left undone: incidents whose opening is incomplete,
    reports not yet delivered, tactical groups whose sync failed. A resumed step or a group sync
    failing again makes the run fail, naming it: the run does not report success for work undone.

    Unique: one process per minute. If it dies mid-run, the incidents it had claimed are taken up
    again in a later minute, once their step claims lapse.
    """
    openings = await opening_runner.resume_openings(ctx)
    reports = await report_flows.resume_undelivered(ctx)
    groups, groups_failing = await participant_groups.retry_group_syncs(ctx)
    outcome = f"resumed {openings.taken} incident(s), {reports} report(s), {groups} group sync(s)"
    failing = [f"{name}: {', '.join(steps)}" for name, steps in openings.failing.items()]
    if groups_failing:
        failing.append(f"{groups_failing} group sync(s)")
    if failing:
        raise JobIncomplete(f"{outcome}; still failing: {'; '.join(failing)}")
    return outcome


JOBS: list[Job] = [
    Job(
        name="reconcile",
        every=every(minutes=1),
        run=reconcile,
        description="Resume incident openings (channel, invites, notifications), report deliveries and "
        "group syncs a crash or failure left.",
    ),
    Job(
        name="member-sync",
        every=every(hours=1),
        run=membership.sync_members,
        description="Make channel members the bot never heard join Observers of their incident.",
    ),
    Job(
        name="report-reminders",
        every=every(hours=1),
        run=report_reminders.remind_overdue_reports,
        description="DM commanders whose active incident is due a tactical or executive report.",
    ),
    Job(
        name="task-reminders",
        every=every(hours=1),
        run=task_flows.remind_overdue,
        description="DM the assignees of overdue open tasks of active incidents, at most daily per task.",
    ),
    Job(
        name="document-tasks",
        every=every(seconds=30),
        run=document_tasks.sync_document_tasks,
        description="Carry tasks between Slack and the incident documents' assigned comments, both ways.",
    ),
    Job(
        name="close-reminders",
        every=every(hours=1),
        run=close_reminders.remind_to_close,
        description="On Mondays, ask commanders to close incidents stable for 7 days or more, once a week.",
    ),
    Job(
        name="daily-summaries",
        every=every(minutes=5),
        run=daily.send_daily_summaries,
        description="Post each project's daily incident summary to its notification channels, once a day "
        "from its daily_report_time in its time zone (late the same day if the bot was down).",
    ),
    Job(
        name="incident-costs",
        every=every(minutes=5),
        run=cost_flows.cost_job,
        description="Compute the response cost of active and stable incidents with anything new; "
        "push changed costs to their tickets.",
    ),
    Job(
        name="workflow-runs",
        every=every(seconds=30),
        run=workflow_flows.follow_runs,
        description="Read the state of unfinished workflow runs, tell their channels what changed; "
        "start again a run whose start a crash cut short.",
    ),
    Job(
        name="effects",
        every=every(minutes=1),
        run=effects.drainer(),
        description="Run the recorded effects that are due: timers, retries, what a dead process left "
        "(each process's pump also does this every few seconds).",
        # Every replica drains: each due row goes to one of them (SKIP LOCKED), so they share the load.
        unique=False,
    ),
]


# Flows every process's effects pump looks at on each turn: a dead process's opening is taken up
# within seconds of its heartbeat stopping, not at the next reconcile run.
RESUMERS = [opening_runner.resume_unfinished]


@dataclass
class Scheduler:
    """The jobs of one process: fired by APScheduler on their slots, or run by hand."""

    ctx: BotContext
    jobs: list[Job] = field(default_factory=lambda: list(JOBS))

    def __post_init__(self) -> None:
        self.runner: dict[str, Any] = dict(self.ctx.process)
        self.by_name = {job.name: job for job in self.jobs}
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        for job in self.jobs:
            self._scheduler.add_job(
                self.fire,
                job.every.trigger(),
                args=[job.name],
                id=job.name,
                name=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=30,
            )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        # Running jobs are tracked tasks: the process's drain lets them finish.
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def job(self, name: str) -> Job:
        return self.by_name[name]

    def run_soon(self, name: str) -> None:
        """Run a job now, outside its schedule (e.g. reconcile at start-up), without claiming a slot."""
        self.ctx.tasks.spawn(self.run_now(name, trigger="startup"), name=f"job:{name}:startup")

    async def fire(self, name: str) -> JobResult | None:
        """Run the job for the slot the clock is in; None when another process has claimed it."""
        job = self.job(name)
        now = self.ctx.clock()
        slot = job.every.slot(now) if job.unique else None
        try:
            async with self.ctx.sessions() as session:
                run_id = await store.start_run(session, job.name, slot, now, self.runner)
        except Exception:
            # Most likely the database is unreachable: the slot is not run here, the next one is tried.
            self.ctx.metrics.job_failures.labels(job.name).inc()
            logger.exception("job could not claim its slot", extra={"job": job.name, "slot": slot})
            return None
        if run_id is None:
            self.ctx.metrics.job_skipped.labels(job.name).inc()
            logger.debug("slot taken by another process", extra={"job": job.name, "slot": slot})
            return None
        return await self._run(job, run_id, now, slot)

    async def run_now(self, name: str, trigger: str = "manual") -> JobResult:
        """Run a job at once, whatever other processes do (`dispatch-bot scheduler run`)."""
        job = self.job(name)
        now = self.ctx.clock()
        async with self.ctx.sessions() as session:
            run_id = await store.start_run(session, job.name, None, now, self.runner, trigger=trigger)
        assert run_id is not None  # without a slot there is nothing to conflict with
        return await self._run(job, run_id, now, None)

    async def _run(self, job: Job, run_id: int, started_at: datetime, slot: datetime | None) -> JobResult:
        """A failure is logged and counted, recorded on the run's row, and the next slot runs as usual."""
        started = time.perf_counter()
        self.ctx.metrics.job_runs.labels(job.name).inc()
        try:
            outcome = await self.ctx.tasks.spawn(job.run(self.ctx), name=f"job:{job.name}")
            ok = True
        except JobIncomplete as incomplete:
            ok = False
            outcome = str(incomplete)
            self.ctx.metrics.job_failures.labels(job.name).inc()
            logger.warning("job left work failing", extra={"job": job.name, "slot": slot, "outcome": outcome})
        except Exception as error:
            ok = False
            outcome = f"{type(error).__name__}: {error}"
            self.ctx.metrics.job_failures.labels(job.name).inc()
            logger.exception("job failed", extra={"job": job.name, "slot": slot})
        else:
            logger.info(
                "job ran",
                extra={
                    "job": job.name,
                    "slot": slot,
                    "outcome": outcome,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        finished_at = self.ctx.clock()
        try:
            async with self.ctx.sessions() as session:
                await store.finish_run(session, run_id, finished_at, ok, outcome, keep=JOB_RUN_RETENTION)
        except Exception:
            # The run happened; only its record is missing (it shows as unfinished in `scheduler list`).
            logger.exception("job run could not be recorded", extra={"job": job.name, "slot": slot})
        return JobResult(job.name, ok, outcome, started_at, finished_at, slot)
