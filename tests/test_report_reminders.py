"""Report reminders: the commander hears when the priority's interval passes without a report, once per
interval, across job runs and processes; a report resets the count."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.reports.reminders import remind_overdue_reports
from bot.runtime.bot_context import BotContext
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from tests.conftest import bot_settings
from tests.test_people import open_incident
from tests.test_reports import send_tactical


async def in_another_process(
    slack: FakeSlack, bot: BotProcess, database_url: str, job: Callable[[BotContext], Awaitable[str]]
) -> str:
    """Run `job` in a second process on the same database, at `bot`'s time."""
    other = BotProcess(bot_settings(slack, database_url))
    other.ctx.clock = bot.ctx.clock
    try:
        return await job(other.ctx)
    finally:
        await other.ctx.close()


def reminders(slack: FakeSlack, user: str, kind: str = "tactical report") -> list[str]:
    return [str(m.blocks) for m in slack.dms_to(user) if f"no {kind} for" in str(m.blocks)]


async def test_a_commander_is_reminded_once_per_interval_until_a_report_comes(
    slack: FakeSlack, bot: BotProcess, database_url: str
) -> None:
    incident = await open_incident(slack, bot)  # priority Medium: tactical every 6 h, executive every 12 h
    start = bot.ctx.clock()

    assert await remind_overdue_reports(bot.ctx) == "sent 0 report reminder(s)"
    bot.ctx.clock = lambda: start + timedelta(hours=6, minutes=5)
    assert await remind_overdue_reports(bot.ctx) == "sent 1 report reminder(s)"
    # Another run, and another process on the same database, in the same interval: nothing more.
    assert await remind_overdue_reports(bot.ctx) == "sent 0 report reminder(s)"
    elsewhere = await in_another_process(slack, bot, database_url, remind_overdue_reports)
    assert elsewhere == "sent 0 report reminder(s)"
    [dm] = reminders(slack, incident.commander)
    assert "6 hours" in dm and "/dispatch-report-tactical" in dm and f"<#{incident.channel}>" in dm

    # A report at 7 h starts the interval again: nothing at 11 h, the next tactical one at 13 h.
    bot.ctx.clock = lambda: start + timedelta(hours=7)
    await send_tactical(slack, incident.commander, incident.channel)
    bot.ctx.clock = lambda: start + timedelta(hours=11)
    assert await remind_overdue_reports(bot.ctx) == "sent 0 report reminder(s)"
    bot.ctx.clock = lambda: start + timedelta(hours=13, minutes=30)
    sent = await remind_overdue_reports(bot.ctx)
    assert sent == "sent 2 report reminder(s)"  # the second tactical, and the first executive
    assert len(reminders(slack, incident.commander)) == 2
    assert len(reminders(slack, incident.commander, "executive report")) == 1


async def test_stable_incidents_get_no_report_reminders(slack: FakeSlack, bot: BotProcess) -> None:
    from tests.test_incident_update import open_update_modal

    incident = await open_incident(slack, bot)
    await open_update_modal(slack, incident.commander, incident.channel)
    await slack.as_user(incident.commander).submit_view({"Status": "Stable", "Severity": "Low"})
    await slack.wait_for(lambda: "Stable" in (slack.channel(incident.channel).topic or ""), timeout=5)
    later = bot.ctx.clock() + timedelta(days=2)
    bot.ctx.clock = lambda: later
    assert await remind_overdue_reports(bot.ctx) == "sent 0 report reminder(s)"


async def test_remind_me_later_reminds_again_then_unless_the_report_came(
    slack: FakeSlack, bot: BotProcess
) -> None:
    from bot.runtime import effects

    incident = await open_incident(slack, bot)
    start = bot.ctx.clock()
    bot.ctx.clock = lambda: start + timedelta(hours=6, minutes=5)
    await remind_overdue_reports(bot.ctx)
    [dm] = [m for m in slack.dms_to(incident.commander) if "no tactical report" in str(m.blocks)]

    await slack.as_user(incident.commander).select_option(
        dm.channel, dm.ts, "Remind me later", "In 30 minutes"
    )
    await slack.wait_for(
        lambda: any("I will remind you" in str(m.text) for m in slack.dms_to(incident.commander)), timeout=5
    )
    assert await effects.drain(bot.ctx) == (0, 0)  # not due yet
    bot.ctx.clock = lambda: start + timedelta(hours=6, minutes=40)
    assert await effects.drain(bot.ctx) == (1, 0)
    assert (
        len([m for m in slack.dms_to(incident.commander) if "no tactical report yet" in str(m.blocks)]) == 1
    )

    # Asked again, but the report comes before the time: no reminder then.
    [again] = [m for m in slack.dms_to(incident.commander) if "no tactical report yet" in str(m.blocks)]
    await slack.as_user(incident.commander).select_option(
        again.channel, again.ts, "Remind me later", "In 1 hour"
    )
    await slack.wait_for(
        lambda: sum("I will remind you" in str(m.text) for m in slack.dms_to(incident.commander)) == 2,
        timeout=5,
    )
    await send_tactical(slack, incident.commander, incident.channel)
    dms = len(slack.dms_to(incident.commander))
    bot.ctx.clock = lambda: start + timedelta(hours=8)
    assert await effects.drain(bot.ctx) == (1, 0)  # done: nothing to say
    assert len(slack.dms_to(incident.commander)) == dms


async def test_two_processes_at_the_same_moment_remind_once(
    slack: FakeSlack, bot: BotProcess, database_url: str
) -> None:
    import asyncio

    incident = await open_incident(slack, bot)
    start = bot.ctx.clock()
    bot.ctx.clock = lambda: start + timedelta(hours=6, minutes=5)
    outcomes = await asyncio.gather(
        remind_overdue_reports(bot.ctx), in_another_process(slack, bot, database_url, remind_overdue_reports)
    )
    assert sorted(outcomes) == ["sent 0 report reminder(s)", "sent 1 report reminder(s)"]
    assert len(reminders(slack, incident.commander)) == 1
