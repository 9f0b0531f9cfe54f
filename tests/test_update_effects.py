"""What an update or a close must do happens, once: recorded with the change, run at once, each on its
own, retried when Slack fails, never done twice when an answer is lost, and told to the commander
when given up on."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.runtime import effects
from bot.runtime.bot_context import utc_now
from bot.runtime.process import BotProcess
from storage.models import Effect
from tests.fakes.slack import FakeSlack
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
