"""`dispatch-bot scheduler list|run` as an operator uses them, on a real database and the fake workspace."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from bot.cli.main import main
from bot.config.defaults import seed_defaults_if_empty
from bot.incidents.reporting import Report, report_form, save_report
from bot.runtime.bot_context import BotContext
from bot.runtime.scheduler import JOBS, Scheduler
from bot.sandbox.slack import FakeSlack
from bot.settings import Settings
from storage import scheduling as store
from storage.models import JobRun
from tests.conftest import bot_settings

RESUMED_ONE = "resumed 1 incident(s), 0 report(s), 0 group sync(s)"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No `.env` or SLACK_* from the developer's shell may leak into what the CLI sees."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL", "DATABASE_URL", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)


def invoke(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


async def invoke_beside_the_loop(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """The CLI runs its own event loop; in a thread, so the fake workspace on this loop can answer it."""
    return await asyncio.to_thread(invoke, *args, env=env)


def context(database_url: str, at: datetime) -> BotContext:
    ctx = BotContext.from_settings(Settings(database_url=database_url, _env_file=None))
    ctx.clock = lambda: at
    return ctx


def columns(output: str, job: str) -> list[str]:
    [line] = [line for line in output.splitlines() if line.startswith(job + " ")]
    return re.split(r"\s{2,}", line.strip())


async def test_list_shows_each_job_with_its_last_run_by_any_process_and_its_next_run(
    database_url: str,
) -> None:
    env = {"DATABASE_URL": database_url}
    code, output = await invoke_beside_the_loop("scheduler", "list", env=env)
    assert code == 0, output
    header = re.split(r"\s{2,}", output.splitlines()[0])
    assert header == ["JOB", "SCHEDULE", "UNIQUE", "LAST RUN", "LAST OUTCOME", "NEXT RUN"]
    assert columns(output, "reconcile")[:5] == ["reconcile", "every 1 min", "yes", "—", "never run"]

    one = context(database_url, datetime(2026, 11, 30, 10, 0, 5, tzinfo=UTC))
    other = context(database_url, datetime(2026, 11, 30, 10, 0, 7, tzinfo=UTC))
    try:
        assert await Scheduler(one).fire("reconcile") is not None
        assert await Scheduler(other).fire("effects") is not None
        # Then a process claims the next minute and dies before finishing it.
        async with other.sessions() as session:
            died = {"hostname": "bot-7", "pid": 1, "instance": "dead0001"}
            slot = datetime(2026, 11, 30, 10, 1, tzinfo=UTC)
            assert await store.start_run(session, "reconcile", slot, slot.replace(second=2), died) is not None
    finally:
        await one.close()
        await other.close()

    code, output = await invoke_beside_the_loop("scheduler", "list", env=env)
    assert code == 0, output
    reconcile = columns(output, "reconcile")
    assert reconcile[:5] == [
        "reconcile",
        "every 1 min",
        "yes",
        "2026-11-30 10:01:02 UTC",
        "unfinished: running, or bot-7 (pid 1) died",
    ]
    actions = columns(output, "effects")
    assert actions[:5] == [
        "effects",
        "every 1 min",
        "no",
        "2026-11-30 10:00:07 UTC",
        "ok: 0 effect(s) done, 0 failed",
    ]
    # Next runs are on the minute, the same in every process.
    for row in (reconcile, actions):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:00 UTC", row[5])


async def test_list_on_a_database_behind_on_migrations_says_to_upgrade(empty_database_url: str) -> None:
    code, output = await invoke_beside_the_loop("scheduler", "list", env={"DATABASE_URL": empty_database_url})
    assert code == 1
    assert "not at the latest migration: run `dispatch-bot db upgrade`" in output


def test_run_of_an_unknown_job_names_the_jobs_and_exits_1() -> None:
    code, output = invoke("scheduler", "run", "reconcil", env={})
    assert code == 1
    names = ", ".join(job.name for job in JOBS)
    assert names.startswith("reconcile, member-sync, report-reminders, task-reminders")
    assert f"Unknown job 'reconcil'. The jobs are: {names}." in output


async def test_run_without_a_bot_token_says_so(database_url: str) -> None:
    code, output = await invoke_beside_the_loop(
        "scheduler", "run", "reconcile", env={"DATABASE_URL": database_url}
    )
    assert code == 1
    assert "Cannot run reconcile: Missing SLACK_BOT_TOKEN" in output


async def test_run_reconcile_finishes_an_opening_in_slack_and_prints_its_outcome(
    slack: FakeSlack, database_url: str
) -> None:
    # An incident saved three minutes ago by a bot that stopped before opening its channel.
    ivy = slack.add_user("ivy")
    ctx = BotContext.from_settings(bot_settings(slack, database_url))
    ctx.clock = lambda: datetime.now(UTC) - timedelta(minutes=3)
    try:
        await seed_defaults_if_empty(ctx.sessions)
        form = await report_form(ctx)
        report = Report(
            request_key="view-1",
            reporter_id=ivy,
            title="Queue backlog",
            description="Orders wait in the queue",
            project_id=form.project_id,
            type_id=form.default_type_id,
            severity_id=form.default_severity_id,
            priority_id=form.default_priority_id,
        )
        await save_report(ctx, report)
    finally:
        await ctx.close()
    assert slack.channel_by_name("inc-1-queue-backlog") is None

    env = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_API_URL": slack.api_url,
    }
    code, output = await invoke_beside_the_loop("scheduler", "run", "reconcile", env=env)
    assert code == 0, output
    assert output.splitlines()[-1] == f"reconcile: ok: {RESUMED_ONE}"
    channel = slack.channel_by_name("inc-1-queue-backlog")
    assert channel is not None and ivy in channel.members

    ctx = context(database_url, datetime.now(UTC))
    try:
        async with ctx.sessions() as session:
            [run] = (await session.exec(select(JobRun).where(JobRun.job == "reconcile"))).all()
    finally:
        await ctx.close()
    assert (run.trigger, run.ok, run.slot_start) == ("manual", True, None)
    assert run.outcome == RESUMED_ONE
    code, output = await invoke_beside_the_loop("scheduler", "list", env=env)
    assert columns(output, "reconcile")[4] == f"ok: {RESUMED_ONE}"
