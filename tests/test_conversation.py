"""Hints in the incident channel: answer in the channel, not threads; answers may be slow after hours."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.conversation.flows import is_working_time
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from tests.test_people import eventually, open_incident, participant
from tests.test_timeline import settled


async def handled(bot: BotProcess, user: str, messages: int) -> None:
    """Until the bot has counted `messages` of `user`'s messages and finished what they started."""

    async def counted() -> bool:
        stored = await participant(bot, user)
        return stored is not None and stored.message_count >= messages

    await eventually(counted)
    await settled(bot)


# A Tuesday: 10:00 in Paris (working hours) and 22:00 in Paris (after hours).
TUESDAY_MORNING = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TUESDAY_NIGHT = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)


async def test_a_thread_reply_gets_one_gentle_reminder(slack: FakeSlack, bot: BotProcess) -> None:
    bot.ctx.clock = lambda: TUESDAY_MORNING
    incident = await open_incident(slack, bot)
    bob = slack.add_user("bob")
    slack.channel(incident.channel).members.add(bob)
    root = await slack.as_user(incident.commander).post_message(incident.channel, "Rolling back now")
    await slack.as_user(bob).post_message(incident.channel, "Which version?", thread_ts=root.ts)
    await slack.as_user(bob).post_message(incident.channel, "Found it", thread_ts=root.ts)
    await slack.as_user(bob).post_message(incident.channel, "Back in the channel")
    await handled(bot, bob, 3)

    reminders = [m for m in slack.ephemerals(incident.channel, bob) if "rather than in a thread" in m.text]
    assert len(reminders) == 1 and reminders[0].thread_ts == root.ts  # shown in the thread, once
    assert not [m for m in slack.ephemerals(incident.channel, incident.commander) if "thread" in m.text]


async def test_writing_after_the_commanders_hours_warns_once(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)  # alice, the commander, is in Europe/Paris
    bob = slack.add_user("bob", tz="America/New_York")
    slack.channel(incident.channel).members.add(bob)

    bot.ctx.clock = lambda: TUESDAY_MORNING
    await slack.as_user(bob).post_message(incident.channel, "Anyone looking at this?")
    await handled(bot, bob, 1)
    assert not [m for m in slack.ephemerals(incident.channel, bob) if "Answers may take a while" in m.text]

    bot.ctx.clock = lambda: TUESDAY_NIGHT
    await slack.as_user(bob).post_message(incident.channel, "Still broken for us")
    await slack.as_user(bob).post_message(incident.channel, "Hello?")
    await handled(bot, bob, 3)
    warnings = [m for m in slack.ephemerals(incident.channel, bob) if "Answers may take a while" in m.text]
    assert len(warnings) == 1
    assert f"<@{incident.commander}>" in warnings[0].text and "Europe/Paris" in warnings[0].text
    # The commander is not warned about their own hours.
    await slack.as_user(incident.commander).post_message(incident.channel, "On it")
    await handled(bot, incident.commander, 1)
    assert not [m for m in slack.ephemerals(incident.channel, incident.commander) if "Answers may" in m.text]


async def test_a_priority_can_turn_the_after_hours_warning_off(slack: FakeSlack, bot: BotProcess) -> None:
    from sqlmodel import select

    from storage.models import IncidentPriority

    async with bot.ctx.sessions() as session, session.begin():
        for priority in (await session.exec(select(IncidentPriority))).all():
            priority.delayed_message_warning = False
            session.add(priority)
    incident = await open_incident(slack, bot)
    bob = slack.add_user("bob")
    slack.channel(incident.channel).members.add(bob)
    bot.ctx.clock = lambda: TUESDAY_NIGHT
    await slack.as_user(bob).post_message(incident.channel, "Still broken for us")
    await handled(bot, bob, 1)
    assert not [m for m in slack.ephemerals(incident.channel, bob) if "Answers may take a while" in m.text]


def test_working_hours_are_weekdays_nine_to_five_in_the_commanders_zone() -> None:
    assert is_working_time(TUESDAY_MORNING, "Europe/Paris")
    assert not is_working_time(TUESDAY_NIGHT, "Europe/Paris")
    assert is_working_time(TUESDAY_NIGHT, "Asia/Tokyo") is False  # 06:00 on Wednesday there
    assert is_working_time(datetime(2026, 12, 5, 12, 0, tzinfo=UTC), "UTC") is False  # a Saturday
    assert is_working_time(TUESDAY_MORNING, "Not/AZone")  # an unknown zone counts as UTC
