"""Incident costs through the real bot and the fake Slack, on SQLite and PostgreSQL, with the clock held:
messages recorded as activity, the response cost computed by the job (classic and cost model), shown in
the update modal, pushed to the ticket, and costs added by hand."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.runtime import BotProcess
from storage.models import ParticipantActivity
from tests.fakes.slack import FakeSlack
from tests.test_people import eventually, open_incident


async def activity(bot: BotProcess) -> list[ParticipantActivity]:
    async with bot.ctx.sessions() as session:
        statement = select(ParticipantActivity).order_by(col(ParticipantActivity.id))
        return list((await session.exec(statement)).all())


async def activity_count(bot: BotProcess, expected: int) -> bool:
    return len(await activity(bot)) == expected


def hold_clock(bot: BotProcess, at: datetime) -> None:
    bot.ctx.clock = lambda: at


async def test_messages_in_the_channel_and_its_threads_are_recorded_once(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    alice = incident.commander
    start = bot.ctx.clock()
    hold_clock(bot, start)
    root = await slack.as_user(alice).post_message(incident.channel, "Looking at the payments DB")
    await eventually(lambda: activity_count(bot, 1))
    hold_clock(bot, start + timedelta(minutes=3))
    await slack.as_user(alice).post_message(incident.channel, "Replica lag is 40 s", thread_ts=root.ts)
    await eventually(lambda: activity_count(bot, 2))

    # Slack delivering the first message again, and an edit of it, record nothing more.
    event: dict[str, Any] = {
        "type": "message",
        "channel": incident.channel,
        "channel_type": "group",
        "user": alice,
        "text": root.text,
        "ts": root.ts,
    }
    await (await slack.emit_event(event)).acked(timeout=3)
    edit = {**event, "subtype": "message_changed", "message": {"user": alice, "text": "edited"}}
    await (await slack.emit_event(edit)).acked(timeout=3)
    # A visible effect after both: the next message is recorded, so the two before were handled.
    await slack.as_user(alice).post_message(incident.channel, "Failing over")
    await eventually(lambda: activity_count(bot, 3))
    await asyncio.sleep(0.1)
    rows = await activity(bot)
    assert [(row.user_id, row.in_thread) for row in rows] == [(alice, False), (alice, True), (alice, False)]
    assert rows[0].ts == root.ts
    assert rows[0].posted_at == start and rows[1].posted_at == start + timedelta(minutes=3)
