"""The job registry: a job that runs is counted, a job that fails is logged and counted and runs again."""

from __future__ import annotations

from apscheduler.triggers.interval import IntervalTrigger

from bot.context import BotContext
from bot.runtime import BotProcess
from bot.scheduler import Job, Scheduler
from tests.fakes.slack import FakeSlack


async def test_job_runs_and_failures_are_counted_and_kept(slack: FakeSlack, bot: BotProcess) -> None:
    calls: list[str] = []

    async def flaky(ctx: BotContext) -> str:
        calls.append("run")
        if len(calls) == 1:
            raise RuntimeError("Slack was down")
        return "all good"

    job = Job(name="flaky", trigger=IntervalTrigger(hours=1), run=flaky)
    scheduler = Scheduler(bot.ctx, jobs=[job])
    await scheduler.run_job(job)
    assert scheduler.states["flaky"].last_outcome == "failed: RuntimeError: Slack was down"
    await scheduler.run_job(job)
    assert scheduler.states["flaky"].last_outcome == "all good"
    assert scheduler.states["flaky"].failures == 1
    metrics = bot.ctx.metrics.render().decode()
    assert 'dispatch_bot_job_runs_total{job="flaky"} 2.0' in metrics
    assert 'dispatch_bot_job_failures_total{job="flaky"} 1.0' in metrics
