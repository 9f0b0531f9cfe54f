"""The scheduler's periodic jobs over 10 000 incidents in PostgreSQL: time, SQL statements, Slack calls
and memory of one pass of each.

    python bench/scheduler_scale.py [--incidents 10000] [--database-url URL]

The database (default: a new `bench_scheduler` database on 127.0.0.1:5432) is migrated, given the
default configuration, and filled with incidents of mixed statuses: 10 % active, 10 % stable, 80 %
closed (1 % of those in the last 24 h), 1 % of the open ones restricted, each with a commander, a
channel and, when active, reports and a task. About 1 % of the active ones are due a report and a
task reminder, 1 % of the stable ones a close reminder. Each job then runs twice at a Monday 09:30
UTC: the first pass sends what is due; the second finds it all claimed (the steady state of every
other run). A third pass, with the claims cleared, runs under tracemalloc for its peak memory.
Slack is the fake workspace, in a process of its own: "time" is the wall-clock time of a pass, Slack
answers included; "bot CPU" the CPU the bot's side used for it (the fake validates every block, far
slower than Slack answers, and the machine's two cores are shared).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import resource
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from support import REPO  # noqa: F401  (puts the repository on sys.path)

from bot.config.defaults import seed_defaults_if_empty
from bot.costs.flows import cost_job
from bot.incidents import list_views
from bot.incidents.close_reminders import remind_to_close
from bot.incidents.daily import send_daily_summaries
from bot.incidents.listing import current_incidents
from bot.reports.reminders import remind_overdue_reports
from bot.runtime.bot_context import BotContext
from bot.sandbox.slack import FakeSlack
from bot.settings import Settings
from bot.tasks.flows import remind_overdue
from storage import migrate
from storage.models import (
    DailySummary,
    Incident,
    IncidentPriority,
    IncidentType,
    Notification,
    Participant,
    ParticipantRole,
    Project,
    Reminder,
    Report,
    Resource,
    Task,
    TaskAssignee,
)

NOW = datetime(2026, 12, 14, 9, 30, tzinfo=UTC)  # a Monday, after the default 09:00 daily time
COMMANDER = "Incident Commander"
BATCH = 2000
JOBS: list[tuple[str, Callable[[BotContext], Awaitable[str]]]] = [
    ("report-reminders", remind_overdue_reports),
    ("task-reminders", remind_overdue),
    ("close-reminders", remind_to_close),
    ("daily-summaries", send_daily_summaries),
    # The first pass computes every open incident's cost; the second only those still moving (the
    # active ones, whose role time grows), as every later pass does.
    ("incident-costs", cost_job),
]


async def fresh_database(url: str | None) -> str:
    if url:
        return url
    server = "postgresql+asyncpg://postgres@127.0.0.1:5432"
    admin = create_async_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(sa.text("DROP DATABASE IF EXISTS bench_scheduler"))
        await connection.execute(sa.text("CREATE DATABASE bench_scheduler"))
    await admin.dispose()
    return f"{server}/bench_scheduler"


async def insert(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        await connection.execute(sa.insert(table), rows[start : start + BATCH])


async def seed(ctx: BotContext, workspace: Workspace, count: int) -> dict[str, int]:
    """Fill the database; how many incidents of each kind went in."""
    await seed_defaults_if_empty(ctx.sessions)
    users = workspace.users
    everything, active_only = workspace.channels
    async with ctx.engine.begin() as connection:
        project_id = (await connection.execute(sa.select(Project.id).where(Project.is_default))).scalar_one()
        priority_id = (
            await connection.execute(
                sa.select(IncidentPriority.id).where(IncidentPriority.project_id == project_id).limit(1)
            )
        ).scalar_one()
        type_id = (
            await connection.execute(
                sa.select(IncidentType.id)
                .where(IncidentType.project_id == project_id, sa.not_(IncidentType.exclude_from_reminders))
                .limit(1)
            )
        ).scalar_one()
        await insert(
            connection,
            Notification,
            [
                {"project_id": project_id, "name": "all", "target": everything, "filters": {}},
                {
                    "project_id": project_id,
                    "name": "active",
                    "target": active_only,
                    "filters": {"status": ["active"]},
                },
            ],
        )
        kinds = {"active": 0, "stable": 0, "closed": 0, "due": 0, "stale": 0, "recently closed": 0}
        incidents = []
        for number in range(1, count + 1):
            status = "active" if number % 10 == 0 else "stable" if number % 10 == 1 else "closed"
            kinds[status] += 1
            stable_at = closed_at = None
            if status != "active":
                stale = status == "stable" and number % 1000 == 1
                kinds["stale"] += stale
                stable_at = NOW - timedelta(days=10 if stale else 2)
            if status == "closed":
                recent = number % 100 == 2
                kinds["recently closed"] += recent
                closed_at = NOW - (timedelta(hours=2) if recent else timedelta(days=9))
            incidents.append(
                {
                    "project_id": project_id,
                    "number": number,
                    "name": f"INC-{number}",
                    "title": f"Benchmark incident {number}",
                    "description": "",
                    "resolution": "",
                    "status": status,
                    "visibility": "restricted" if number % 1000 in (30, 31) else "open",
                    "incident_type_id": type_id,
                    "incident_priority_id": priority_id,
                    "tags": [],
                    "reporter_user_id": users[number % len(users)],
                    "reported_at": NOW - timedelta(days=3),
                    "stable_at": stable_at,
                    "closed_at": closed_at,
                    "created_at": NOW - timedelta(days=3),
                    "updated_at": NOW - timedelta(days=3),
                }
            )
        await insert(connection, Incident, incidents)
        numbered = sa.select(Incident.number, Incident.id).where(Incident.project_id == project_id)
        ids = dict((await connection.execute(numbered)).all())
        stamp = {"created_at": NOW - timedelta(days=3), "updated_at": NOW - timedelta(days=3)}
        await insert(
            connection,
            Participant,
            [{"incident_id": ids[n], "user_id": users[n % len(users)], **stamp} for n in ids],
        )
        participants = dict(
            (await connection.execute(sa.select(Participant.incident_id, Participant.id))).all()
        )
        await insert(
            connection,
            ParticipantRole,
            [
                {
                    "participant_id": participants[ids[row["number"]]],
                    "role": COMMANDER,
                    "assumed_at": NOW - timedelta(days=3),
                    "renounced_at": row["closed_at"],
                }
                for row in incidents
            ],
        )
        await insert(
            connection,
            Resource,
            [
                {"incident_id": ids[n], "kind": "conversation", "name": "channel", "external_id": f"C{n:08d}"}
                | stamp
                for n in ids
            ],
        )
        active = [row["number"] for row in incidents if row["status"] == "active"]
        due = [n for n in active if n % 1000 == 0]
        kinds["due"] = len(due)
        reports = []
        for n in active:
            when = NOW - (timedelta(days=2) if n in due else timedelta(minutes=30))
            for kind in ("tactical", "executive"):
                reports.append(
                    {
                        "incident_id": ids[n],
                        "kind": kind,
                        "author_user_id": users[0],
                        "details": {},
                        "request_key": f"bench:{n}:{kind}",
                        "created_at": when,
                    }
                )
        await insert(connection, Report, reports)
        await insert(
            connection,
            Task,
            [
                {
                    "incident_id": ids[n],
                    "description": f"Follow up {n}",
                    "creator_user_id": users[0],
                    "owner_user_id": users[0],
                    "resolve_by": NOW - timedelta(hours=1) if n in due else NOW + timedelta(days=1),
                    **stamp,
                }
                for n in active
            ],
        )
        tasks = (await connection.execute(sa.select(Task.id))).scalars().all()
        assignees = [{"task_id": task, "user_id": users[task % len(users)]} for task in tasks]
        await insert(connection, TaskAssignee, assignees)
    return kinds


async def default_project(ctx: BotContext) -> int:
    async with ctx.engine.connect() as connection:
        return int((await connection.execute(sa.select(Project.id).where(Project.is_default))).scalar_one())


async def clear_claims(ctx: BotContext) -> None:
    async with ctx.engine.begin() as connection:
        await connection.execute(sa.delete(Reminder))
        await connection.execute(sa.delete(DailySummary))
        await connection.execute(sa.update(Task).values(last_reminded_at=None))


@dataclass
class Pass:
    seconds: float
    cpu_seconds: float
    statements: int
    slack_calls: int
    outcome: str


@dataclass(frozen=True)
class Workspace:
    """What the fake Slack process tells the benchmark: where it is and who is in it."""

    api_url: str
    bot_token: str
    app_token: str
    users: list[str]
    channels: list[str]


def serve_fake_slack(connection: Connection) -> None:
    """The fake Slack workspace in a process of its own (so its validating every block, and its heap,
    count neither in the bot's time nor in its memory), until the benchmark says stop."""

    async def serve() -> None:
        async with FakeSlack(ack_timeout=3.0) as slack:
            users = [slack.add_user(f"ic{index}") for index in range(50)]
            channels = [
                slack.add_channel(name, members=[slack.bot_user_id])
                for name in ("incidents", "incidents-active")
            ]
            connection.send(Workspace(slack.api_url, slack.bot_token, slack.app_token, users, channels))
            await asyncio.get_running_loop().run_in_executor(None, connection.recv)

    asyncio.run(serve())


class Meter:
    """The SQL statements the bot's engine sends and the Slack Web API calls the bot makes."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.statements = 0
        sa.event.listen(ctx.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.statements += 1

    def slack_calls(self) -> int:
        samples = self.ctx.metrics.slack_calls.collect()[0].samples
        return int(sum(sample.value for sample in samples if sample.name.endswith("_total")))


async def one_pass(ctx: BotContext, job: Callable[[BotContext], Awaitable[str]], meter: Meter) -> Pass:
    meter.statements = 0
    calls = meter.slack_calls()
    started, cpu = time.perf_counter(), time.process_time()
    outcome = await job(ctx)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Pass(elapsed, cpu, meter.statements, meter.slack_calls() - calls, outcome)


async def main(count: int, database_url: str | None) -> None:
    url = await fresh_database(database_url)
    await asyncio.to_thread(migrate.upgrade, url)
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    fake = multiprocessing.get_context("spawn").Process(target=serve_fake_slack, args=(theirs,), daemon=True)
    fake.start()
    workspace: Workspace = await asyncio.to_thread(ours.recv)
    settings = Settings(
        slack_bot_token=workspace.bot_token,
        slack_app_token=workspace.app_token,
        slack_api_url=workspace.api_url,
        database_url=url,
        _env_file=None,  # type: ignore[call-arg]
    )
    ctx = BotContext.from_settings(settings)
    ctx.clock = lambda: NOW
    started = time.perf_counter()
    kinds = await seed(ctx, workspace, count)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, PostgreSQL; fake Slack in its own process"
    )
    print(
        f"seeded {count} incidents in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{value} {name}" for name, value in kinds.items())
    )
    meter = Meter(ctx)
    print(f"{'job':<18} {'pass':<7} {'time':>8} {'bot CPU':>8} {'SQL':>5} {'Slack calls':>12}  outcome")
    for name, job in JOBS:
        for label in ("due", "claimed"):
            result = await one_pass(ctx, job, meter)
            print(
                f"{name:<18} {label:<7} {result.seconds * 1000:6.0f} ms"
                f" {result.cpu_seconds * 1000:5.0f} ms {result.statements:5d}"
                f" {result.slack_calls:12d}  {result.outcome}"
            )
    started = time.perf_counter()
    cards = await current_incidents(ctx, None, project_id=await default_project(ctx))
    pages = list_views.daily_summary("default", NOW.date().isoformat(), cards, allow_join=True)
    print(
        f"the daily summary's listing and blocks alone: {(time.perf_counter() - started) * 1000:.0f} ms "
        f"for {len(cards)} incidents in {len(pages)} messages"
    )
    print("peak Python memory of a pass with everything due (tracemalloc):")
    for name, job in JOBS:
        await clear_claims(ctx)
        tracemalloc.start()
        await job(ctx)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  {name:<18} {peak / 2**20:6.1f} MiB")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the benchmark process (the bot's side, seeding included): {peak_rss:.0f} MiB")
    await ctx.close()
    ours.send("stop")
    fake.join(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: bench_scheduler, new)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.incidents, arguments.database_url))
