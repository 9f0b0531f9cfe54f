"""`dispatch-bot scheduler list|run JOB`: the periodic jobs as an operator sees them, across all processes."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

import click

from bot.runtime.bot_context import BotContext
from bot.runtime.scheduler import JOBS, Job, JobResult, Scheduler
from bot.settings import Settings, mask_url_password
from storage import scheduling as store
from storage.migrate import is_at_head
from storage.models import JobRun

OUTCOME_WIDTH = 60


class NotReady(Exception):
    """The job cannot run from here; the message says why."""


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "—"


def last_outcome(run: JobRun | None) -> str:
    if run is None:
        return "never run"
    if run.ok is None:
        text = f"unfinished: running, or {run.hostname} (pid {run.pid}) died"
    else:
        text = f"{'ok' if run.ok else 'failed'}: {run.outcome}"
    return text if len(text) <= OUTCOME_WIDTH else text[: OUTCOME_WIDTH - 1] + "…"


def job_table(jobs: list[Job], runs: dict[str, JobRun], now: datetime) -> list[str]:
    """The lines of `scheduler list`: one per job, columns aligned."""
    rows = [["JOB", "SCHEDULE", "UNIQUE", "LAST RUN", "LAST OUTCOME", "NEXT RUN"]]
    for job in jobs:
        run = runs.get(job.name)
        rows.append(
            [
                job.name,
                str(job.every),
                "yes" if job.unique else "no",
                when(run.started_at if run else None),
                last_outcome(run),
                when(job.every.next_after(now)),
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.find_object(Settings)
    return obj if obj is not None else Settings()


async def _check_database(bot: BotContext) -> None:
    url = mask_url_password(bot.settings.database_url)
    try:
        at_head = await is_at_head(bot.engine)
    except Exception as error:
        raise NotReady(f"Cannot reach the database at {url}: {type(error).__name__}: {error}") from None
    if not at_head:
        raise NotReady(
            f"The database at {url} is not at the latest migration: run `dispatch-bot db upgrade`."
        )


async def _list(settings: Settings) -> list[str]:
    bot = BotContext.from_settings(settings)
    try:
        await _check_database(bot)
        async with bot.sessions() as session:
            runs = await store.last_runs(session, [job.name for job in JOBS])
        return job_table(JOBS, runs, bot.clock())
    finally:
        await bot.close()


async def _run(settings: Settings, name: str) -> JobResult:
    from bot.runtime.process import StartupError, check_slack_token

    if not settings.slack_bot_token or not settings.slack_bot_token.get_secret_value():
        raise NotReady("Missing SLACK_BOT_TOKEN: jobs talk to Slack; set it in the environment or in .env.")
    bot = BotContext.from_settings(settings)
    try:
        await _check_database(bot)
        try:
            await check_slack_token(bot)
        except StartupError as error:
            raise NotReady(str(error)) from None
        result = await Scheduler(bot).run_now(name)
        # Work the job handed to the background (a resumed opening's later steps) finishes first.
        await bot.tasks.drain(settings.shutdown_grace_seconds)
        return result
    finally:
        await bot.close()


@click.group("scheduler")
def scheduler_group() -> None:
    """The periodic jobs: their schedule, last and next runs; run one now."""


@scheduler_group.command("list")
@click.pass_context
def list_jobs(ctx: click.Context) -> None:
    """Each job: schedule, whether it runs once across replicas, last run (by any process), next run."""
    try:
        lines = asyncio.run(_list(_settings(ctx)))
    except NotReady as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    for line in lines:
        click.echo(line)


@scheduler_group.command("run")
@click.argument("job", metavar="JOB")
@click.pass_context
def run_job(ctx: click.Context, job: str) -> None:
    """Run JOB now in this process, against the configured database and Slack, and print its outcome."""
    names = [known.name for known in JOBS]
    if job not in names:
        click.echo(f"Unknown job {job!r}. The jobs are: {', '.join(names)}.", err=True)
        sys.exit(1)
    settings = _settings(ctx)
    from bot.runtime.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    try:
        result = asyncio.run(_run(settings, job))
    except NotReady as error:
        click.echo(f"Cannot run {job}: {error}", err=True)
        sys.exit(1)
    click.echo(f"{job}: {result.describe()}")
    if not result.ok:
        sys.exit(1)
