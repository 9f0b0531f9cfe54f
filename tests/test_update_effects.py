"""What an update or a close must do happens, once: recorded with the change, run at once, each on its
own, retried when Slack fails, never done twice when an answer is lost, and told to the commander
when given up on."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.runtime import effects
from bot.runtime.bot_context import utc_now
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Effect
from tests.test_incident_update import open_incident, open_update_modal


def feedback_request(slack: FakeSlack, user: str) -> list[object]:
    return [m for m in slack.dms_to(user) if "How did INC-1 go" in m.text]


async def effect_rows(bot: BotProcess, kind: str | None = None) -> list[Effect]:
    async with bot.ctx.sessions() as session:
        statement = select(Effect).order_by(col(Effect.id))
        if kind is not None:
            statement = statement.where(Effect.kind == kind)
        return list((await session.exec(statement)).all())


async def later(bot: BotProcess, seconds: float) -> tuple[int, int]:
    """Move the bot's clock on and run what is due then, as any replica's pump would."""
    bot.ctx.clock = lambda: utc_now() + timedelta(seconds=seconds)
    return await effects.drain(bot.ctx)


async def close(slack: FakeSlack, user: str, channel: str) -> None:
    await open_update_modal(slack, user, channel)
    await slack.as_user(user).submit_view({"Status": "Closed", "Severity": "Low"})


async def test_a_close_whose_modal_cannot_be_updated_still_archives_and_asks_for_feedback(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Cache outage")
    slack.faults.fail("views.update", error="internal_error")  # the "Saved" modal is refused once
    await close(slack, ada, channel)

    await slack.wait_for(
        lambda: slack.channel(channel).is_archived and feedback_request(slack, ada), timeout=5
    )
    assert any("review" in m.text.lower() for m in slack.dms_to(ada))  # the commander's review DM
    await slack.wait_for(lambda: bot.ctx.tasks.pending == 0, timeout=5)
    assert {row.status for row in await effect_rows(bot)} == {"done"}


async def test_an_archive_refused_does_not_cancel_the_feedback_and_is_retried(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Cache outage")
    slack.faults.fail("conversations.archive", error="internal_error")
    await close(slack, ada, channel)

    await slack.wait_for(lambda: feedback_request(slack, ada), timeout=5)
    await slack.wait_for(lambda: bot.ctx.tasks.pending == 0, timeout=5)
    assert not slack.channel(channel).is_archived
    [archive] = await effect_rows(bot, "close.archive")
    assert (archive.status, archive.attempts) == ("pending", 1)
    assert archive.last_error is not None and "internal_error" in archive.last_error

    assert await later(bot, 5) == (0, 0)  # not before its retry time
    assert await later(bot, 20) == (1, 0)
    assert slack.channel(channel).is_archived
    assert len(feedback_request(slack, ada)) == 1  # the retry asked no one again


async def test_an_update_whose_answer_was_lost_is_posted_once(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Checkout errors")
    before = len(slack.messages(channel))
    # Slack posts the update, but its answer never comes back: the bot cannot know it was posted.
    slack.faults.lose_answer("chat.postMessage")
    await open_update_modal(slack, ada, channel)
    await slack.as_user(ada).submit_view({"Title": "Checkout errors in eu-west"})
    await slack.wait_for(
        lambda: bot.ctx.tasks.pending == 0 and len(slack.messages(channel)) > before, timeout=5
    )

    rows = {row.kind: row for row in await effect_rows(bot)}
    assert rows["update.post"].status == "pending"  # unknown outcome: to be tried again
    await later(bot, 20)  # the retry finds the message by its key instead of posting it again
    updates = [m for m in slack.messages(channel) if "updated: title" in m.text]
    assert len(updates) == 1
    [post] = await effect_rows(bot, "update.post")
    assert post.status == "done" and post.result["ts"] == updates[0].ts


async def test_an_effect_given_up_on_is_told_to_the_commander(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Cache outage")
    slack.faults.fail("conversations.archive", error="restricted_action", times=effects.MAX_ATTEMPTS)
    await close(slack, ada, channel)
    await slack.wait_for(lambda: feedback_request(slack, ada), timeout=5)
    await slack.wait_for(lambda: bot.ctx.tasks.pending == 0, timeout=5)

    for hour in range(1, effects.MAX_ATTEMPTS + 2):
        await later(bot, hour * 3600)
    [archive] = await effect_rows(bot, "close.archive")
    assert (archive.status, archive.attempts) == ("abandoned", effects.MAX_ATTEMPTS)
    [warning] = [m for m in slack.dms_to(ada) if "could not archive the channel" in m.text]
    assert "INC-1" in warning.text and "restricted_action" in warning.text
    assert not slack.channel(channel).is_archived


async def test_a_report_reminder_slack_refused_is_sent_by_the_retry_and_only_once(
    slack: FakeSlack, bot: BotProcess
) -> None:
    from bot.reports.reminders import remind_overdue_reports
    from tests.test_people import open_incident as open_medium_incident
    from tests.test_report_reminders import reminders

    incident = await open_medium_incident(slack, bot)  # tactical reports every 6 h
    start = bot.ctx.clock()
    bot.ctx.clock = lambda: start + timedelta(hours=6, minutes=5)
    slack.faults.fail("chat.postMessage", error="internal_error")
    # Claimed, but not sent: before, the claim alone would have made this reminder lost for good.
    assert await remind_overdue_reports(bot.ctx) == "sent 0 report reminder(s)"
    assert reminders(slack, incident.commander) == []
    assert await remind_overdue_reports(bot.ctx) == "sent 0 report reminder(s)"  # still claimed

    bot.ctx.clock = lambda: start + timedelta(hours=6, minutes=6)
    assert await effects.drain(bot.ctx) == (1, 0)
    assert await effects.drain(bot.ctx) == (0, 0)
    assert len(reminders(slack, incident.commander)) == 1


async def test_a_daily_summary_cut_short_by_slack_is_completed_without_repeating_a_message(
    slack: FakeSlack, bot: BotProcess
) -> None:
    from datetime import UTC, datetime

    from tests.test_daily_summary import add_target, run_at, summaries
    from tests.test_incident_report import report, wait_until_opened

    ada = slack.add_user("ada")
    first, second = (slack.add_channel(name, members=[slack.bot_user_id]) for name in ("incidents", "sre"))
    await add_target(bot, "all", first)
    await add_target(bot, "sre", second)
    bot.ctx.clock = lambda: datetime(2026, 12, 2, 1, tzinfo=UTC)
    await report(slack, ada, "Login broken")
    await wait_until_opened(slack, bot)
    # One channel's summary is posted, the other's answer is lost: was it posted? The bot cannot tell.
    slack.faults.lose_answer("chat.postMessage")
    await run_at(bot, 9, 5)
    assert len(summaries(slack, first)) + len(summaries(slack, second)) == 2

    bot.ctx.clock = lambda: datetime(2026, 12, 2, 9, 6, tzinfo=UTC)
    assert await effects.drain(bot.ctx) == (1, 0)
    assert len(summaries(slack, first)) == len(summaries(slack, second)) == 1
    assert await run_at(bot, 9, 30) == "posted 0 daily summary message(s) for 0 project(s)"


async def test_a_reporter_whose_modal_cannot_show_the_result_is_told_by_dm_never_that_nothing_exists(
    slack: FakeSlack, bot: BotProcess
) -> None:
    from tests.test_incident_report import report, wait_until_opened

    ada = slack.add_user("ada")
    slack.faults.fail("views.update", error="internal_error", times=5)  # the modal cannot be updated
    await report(slack, ada, "Checkout is down")
    await wait_until_opened(slack, bot)
    await slack.wait_for(
        lambda: any("INC-1" in m.text and "is open" in m.text for m in slack.dms_to(ada)), timeout=5
    )
    told = [m.text for m in slack.dms_to(ada)] + [str(slack.open_view_for(ada))]
    assert not any("nothing was created" in text for text in told)


async def test_an_update_whose_modal_was_closed_is_told_by_dm(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Checkout errors")
    await open_update_modal(slack, ada, channel)
    slack.faults.fail("views.update", error="not_found")  # ada closed the "Saving…" modal
    await slack.as_user(ada).submit_view({"Title": "Checkout errors in eu-west"})
    await slack.wait_for(lambda: any("Saved: title" in m.text for m in slack.dms_to(ada)), timeout=5)


async def test_a_close_reminder_slack_refused_is_sent_by_the_retry_once(
    slack: FakeSlack, bot: BotProcess
) -> None:
    from tests.test_close_reminders import MONDAY, close_reminders, run_at, stable_incident

    ada = slack.add_user("ada")
    await stable_incident(slack, bot, ada)
    slack.faults.fail("chat.postMessage", error="internal_error")
    assert await run_at(bot, MONDAY) == "sent 0 close reminder(s)"  # claimed, not sent: kept, not lost
    assert close_reminders(slack, ada) == []
    bot.ctx.clock = lambda: MONDAY + timedelta(seconds=20)
    assert await effects.drain(bot.ctx) == (1, 0)
    assert await run_at(bot, MONDAY + timedelta(hours=1)) == "sent 0 close reminder(s)"
    assert len(close_reminders(slack, ada)) == 1
