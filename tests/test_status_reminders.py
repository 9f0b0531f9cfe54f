"""The tactical reminder a status change brings: at once, to the commander, once per change, not right
after a tactical report."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from bot.reports.reminders import STATUS_CHANGED, remind_after_status_change
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Reminder
from tests.test_incident_update import close_and_review, open_incident, open_update_modal, the_incident
from tests.test_reports import send_tactical, settled


def status_reminders(slack: FakeSlack, user: str, status: str) -> list[str]:
    wanted = f"is now {status}: time for a tactical"
    return [str(m.blocks) for m in slack.dms_to(user) if wanted in str(m.blocks)]


async def change_status(slack: FakeSlack, bot: BotProcess, user: str, channel: str, status: str) -> None:
    await open_update_modal(slack, user, channel)
    await slack.as_user(user).submit_view({"Status": status, "Severity": "Low"})
    await slack.wait_for(lambda: status in (slack.channel(channel).topic or ""), timeout=5)
    await settled(bot)


async def claims(bot: BotProcess) -> list[Reminder]:
    async with bot.ctx.sessions() as session:
        return list(await session.exec(select(Reminder).where(Reminder.kind == STATUS_CHANGED)))


async def test_stable_then_active_each_remind_the_commander_once(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Checkout errors")

    await open_update_modal(slack, ada, channel)
    submitted = await slack.as_user(ada).submit_view({"Status": "Stable", "Severity": "Low"})
    await slack.wait_for(lambda: status_reminders(slack, ada, "Stable"), timeout=5)
    [dm] = status_reminders(slack, ada, "Stable")
    assert "/dispatch-report-tactical" in dm and f"<#{channel}>" in dm and "Remind me later" in dm
    # The same submission delivered again changes nothing, so reminds no one again.
    again = await slack.deliver("interactive", submitted.delivery.payload)
    await again.acked(timeout=3)
    await settled(bot)
    assert len(status_reminders(slack, ada, "Stable")) == 1

    await change_status(slack, bot, ada, channel, "Active")
    await slack.wait_for(lambda: status_reminders(slack, ada, "Active"), timeout=5)
    assert len(status_reminders(slack, ada, "Stable")) == 1
    assert len(await claims(bot)) == 2


async def test_no_reminder_within_an_hour_of_a_tactical_report(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Disk full")
    start = bot.ctx.clock()
    await send_tactical(slack, ada, channel)
    bot.ctx.clock = lambda: start + timedelta(minutes=50)
    await change_status(slack, bot, ada, channel, "Stable")
    assert status_reminders(slack, ada, "Stable") == []
    assert await claims(bot) == []

    bot.ctx.clock = lambda: start + timedelta(hours=2)
    await change_status(slack, bot, ada, channel, "Active")
    await slack.wait_for(lambda: status_reminders(slack, ada, "Active"), timeout=5)


async def test_closing_reminds_no_one_and_reopening_does(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Queue stuck")
    review = await close_and_review(slack, ada, channel)
    await settled(bot)
    assert not any("time for a tactical" in str(m.blocks) for m in slack.dms_to(ada))

    await slack.as_user(ada).click_button(review.channel, review.ts, "Reopen incident")
    await slack.wait_for(lambda: status_reminders(slack, ada, "Active"), timeout=5)
    # The reopened incident's reminder can be snoozed like the hourly one.
    [dm] = [m for m in slack.dms_to(ada) if "is now Active" in str(m.blocks)]
    await slack.as_user(ada).select_option(dm.channel, dm.ts, "Remind me later", "In 30 minutes")
    await slack.wait_for(
        lambda: any("I will remind you" in str(m.text) for m in slack.dms_to(ada)), timeout=5
    )


async def test_two_runs_for_one_change_remind_once(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Login slow")
    await change_status(slack, bot, ada, channel, "Stable")
    await slack.wait_for(lambda: status_reminders(slack, ada, "Stable"), timeout=5)
    incident = await the_incident(bot)
    assert incident.id is not None

    outcomes = await asyncio.gather(*(remind_after_status_change(bot.ctx, incident.id) for _ in range(3)))
    assert outcomes == ["already reminded for this change"] * 3
    assert len(status_reminders(slack, ada, "Stable")) == 1


async def test_closed_to_stable_from_the_review_message_reminds(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Cache cold")
    review = await close_and_review(slack, ada, channel)

    await slack.as_user(ada).click_button(review.channel, review.ts, "Review and update")
    await slack.wait_for(lambda: (slack.open_view_for(ada) or {}).get("callback_id") == "incident_update")
    await slack.as_user(ada).submit_view({"Status": "Stable"})
    await slack.wait_for(lambda: status_reminders(slack, ada, "Stable"), timeout=5)
    assert (await the_incident(bot)).status == "stable"
    assert len(await claims(bot)) == 1
