"""The daily summary: each project's current incidents in its notification channels, once a day at its
time in its time zone, with Join / Subscribe that work; restricted incidents never; long lists split."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import col, select

from bot.incidents import list_views
from bot.incidents.daily import send_daily_summaries
from bot.incidents.facts import IncidentCard
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import DailySummary, Incident, Notification, Project, Subscription
from tests.test_incident_report import incident_project, report, wait_until_opened
from tests.test_incident_update import open_update_modal
from tests.test_report_reminders import in_another_process
from tests.test_reports import settled
from tests.test_status_reminders import change_status

DAY = datetime(2026, 12, 2, tzinfo=UTC)


def incident_channel(slack: FakeSlack, suffix: str) -> str:
    channel = slack.channel_by_name("inc-" + suffix)
    assert channel is not None
    return channel.id


def summaries(slack: FakeSlack, channel: str) -> list[str]:
    return [str(m.blocks) for m in slack.messages(channel) if "incidents daily summary" in m.text]


async def run_at(bot: BotProcess, hour: int, minute: int = 0, day: int = 2) -> str:
    moment = datetime(2026, 12, day, hour, minute, tzinfo=UTC)
    bot.ctx.clock = lambda: moment
    return await send_daily_summaries(bot.ctx)


async def add_target(
    bot: BotProcess, name: str, channel: str, filters: dict[str, object] | None = None
) -> None:
    async with bot.ctx.sessions() as session, session.begin():
        session.add(
            Notification(
                project_id=await incident_project(bot), name=name, target=channel, filters=filters or {}
            )
        )


async def set_project(bot: BotProcess, **values: object) -> None:
    async with bot.ctx.sessions() as session, session.begin():
        project = (await session.exec(select(Project))).one()
        for key, value in values.items():
            setattr(project, key, value)
        session.add(project)


async def test_the_summary_goes_once_a_day_with_buttons_that_work(
    slack: FakeSlack, bot: BotProcess, database_url: str
) -> None:
    ada, zoe = slack.add_user("ada"), slack.add_user("zoe")
    everything = slack.add_channel("incidents", members=[slack.bot_user_id])
    stable_only = slack.add_channel("sre", members=[slack.bot_user_id])
    await add_target(bot, "all", everything)
    await add_target(bot, "stable", stable_only, {"status": ["stable"]})
    bot.ctx.clock = lambda: DAY.replace(hour=1)
    for title in ("Login broken", "Leaked key", "Queue stuck", "Old outage"):
        extra = {"Visibility": "Restricted"} if title == "Leaked key" else {}
        await report(slack, ada, title, **extra)
    await wait_until_opened(slack, bot, count=4)
    await change_status(slack, bot, ada, incident_channel(slack, "3-queue-stuck"), "Stable")
    closing = incident_channel(slack, "4-old-outage")
    await open_update_modal(slack, ada, closing)
    await slack.as_user(ada).submit_view({"Status": "Closed", "Severity": "Low"})
    await slack.wait_for(lambda: slack.channel(closing).is_archived, timeout=5)
    await settled(bot)

    assert await run_at(bot, 8, 55) == "posted 0 daily summary message(s) for 0 project(s)"
    assert await run_at(bot, 9, 5) == "posted 2 daily summary message(s) for 1 project(s)"
    [summary] = summaries(slack, everything)
    assert (
        "INC-1" in summary
        and "INC-3" in summary
        and "INC-4" in summary
        and "Closed in the last 24" in summary
    )
    assert "INC-2" not in summary and "Leaked key" not in summary  # restricted: never
    [stable] = summaries(slack, stable_only)
    assert "INC-3" in stable and "INC-1" not in stable and "INC-4" not in stable
    # Later runs that day, and another process: nothing more.
    assert await run_at(bot, 9, 10) == "posted 0 daily summary message(s) for 0 project(s)"
    assert await in_another_process(slack, bot, database_url, send_daily_summaries) == (
        "posted 0 daily summary message(s) for 0 project(s)"
    )
    assert len(summaries(slack, everything)) == 1

    # Its buttons work like the announcement's: INC-1, the first active one, gets zoe.
    message = next(m for m in slack.messages(everything) if "incidents daily summary" in m.text)
    await slack.as_user(zoe).click_button(everything, message.ts, "Join")
    await slack.wait_for(lambda: zoe in slack.members(incident_channel(slack, "1-login-broken")), timeout=5)
    await slack.as_user(zoe).click_button(everything, message.ts, "Subscribe")
    await slack.wait_for(
        lambda: any("direct message for every update" in p.body["text"] for p in slack.response_url_posts),
        timeout=5,
    )
    async with bot.ctx.sessions() as session:
        assert len((await session.exec(select(Subscription))).all()) == 1

    # The next day: the incident closed the day before has dropped out.
    assert await run_at(bot, 9, 0, day=3) == "posted 2 daily summary message(s) for 1 project(s)"
    latest = summaries(slack, everything)[-1]
    assert "INC-1" in latest and "INC-4" not in latest
    async with bot.ctx.sessions() as session:
        rows = (await session.exec(select(DailySummary).order_by(col(DailySummary.local_date)))).all()
    assert [(row.local_date, row.incidents, row.messages) for row in rows] == [
        (date(2026, 12, 2), 3, 2),
        (date(2026, 12, 3), 2, 2),
    ]


async def test_a_bot_down_at_the_time_posts_late_the_same_day_only(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    everything = slack.add_channel("incidents", members=[slack.bot_user_id])
    await add_target(bot, "all", everything)
    await set_project(bot, timezone="Europe/Paris", daily_report_time="09:00")  # 08:00 UTC in December
    bot.ctx.clock = lambda: DAY.replace(hour=1)
    await report(slack, ada, "Login broken")
    await wait_until_opened(slack, bot)

    assert await run_at(bot, 7, 55) == "posted 0 daily summary message(s) for 0 project(s)"
    # Down from before 08:00 to 22:00 UTC, 23:00 in Paris: still the same day there, so it goes late.
    assert await run_at(bot, 22, 0) == "posted 1 daily summary message(s) for 1 project(s)"
    # 00:30 in Paris on the 3rd: the 2nd is done and the 3rd's time has not come.
    assert await run_at(bot, 23, 30) == "posted 0 daily summary message(s) for 0 project(s)"
    # Down all of the 3rd: that day's summary is not sent on the 4th, whose own comes at its time.
    assert await run_at(bot, 7, 0, day=4) == "posted 0 daily summary message(s) for 0 project(s)"
    assert await run_at(bot, 8, 5, day=4) == "posted 1 daily summary message(s) for 1 project(s)"
    async with bot.ctx.sessions() as session:
        days = (
            await session.exec(select(DailySummary.local_date).order_by(col(DailySummary.local_date)))
        ).all()
    assert list(days) == [date(2026, 12, 2), date(2026, 12, 4)]
    assert len(summaries(slack, everything)) == 2


async def test_nothing_to_say_or_summaries_off_posts_nothing(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    everything = slack.add_channel("incidents", members=[slack.bot_user_id])
    await add_target(bot, "all", everything)
    assert await run_at(bot, 9, 5) == "posted 0 daily summary message(s) for 1 project(s)"
    assert summaries(slack, everything) == []

    await set_project(bot, send_daily_reports=False)
    bot.ctx.clock = lambda: DAY.replace(day=2, hour=23)
    await report(slack, ada, "Login broken")
    await wait_until_opened(slack, bot)
    assert await run_at(bot, 9, 5, day=3) == "posted 0 daily summary message(s) for 0 project(s)"
    assert summaries(slack, everything) == []


async def test_a_long_list_is_split_into_messages_slack_accepts(slack: FakeSlack, bot: BotProcess) -> None:
    everything = slack.add_channel("incidents", members=[slack.bot_user_id])
    await add_target(bot, "all", everything)
    project_id = await incident_project(bot)
    async with bot.ctx.sessions() as session, session.begin():
        for number in range(1, 41):
            status = "active" if number <= 25 else "stable"
            session.add(
                Incident(
                    project_id=project_id,
                    number=number,
                    name=f"INC-{number}",
                    title=f"Outage {number}",
                    status=status,
                    reporter_user_id="U0",
                    reported_at=DAY,
                    stable_at=DAY if status == "stable" else None,
                )
            )
    assert await run_at(bot, 9, 5) == "posted 2 daily summary message(s) for 1 project(s)"
    posted = [m for m in slack.messages(everything) if "incidents daily summary" in m.text]
    assert [len(m.blocks or []) <= 50 for m in posted] == [True, True]  # the fake checks the rest
    text = str([m.blocks for m in posted])
    assert all(f"*INC-{number}*" in text for number in range(1, 41))
    assert "Part 1 of 2" in str(posted[0].blocks) and "Part 2 of 2" in str(posted[1].blocks)


def card(number: int, status: str) -> IncidentCard:
    return IncidentCard(
        id=number,
        name=f"INC-{number}",
        title="x" * 3000,
        description="",
        status=status,
        visibility="open",
        project="Default",
        type="General",
        severity="Low",
        priority="Low",
        reporter_id="U1",
        commander_id="U1",
    )


def test_every_line_keeps_its_buttons_in_its_message() -> None:
    cards = [card(n, ("active", "stable", "closed")[n % 3]) for n in range(1, 100)]
    pages = list_views.daily_summary("Default", "2026-12-02", cards, allow_join=True)
    assert len(pages) > 1 and all(len(blocks) <= 50 for _, blocks in pages)
    for _, blocks in pages:
        for at, block in enumerate(blocks):
            if block.get("block_id", "").startswith("incident_self_service_"):
                incident = block["block_id"].rsplit("_", 1)[1]
                assert f"INC-{incident}*" in blocks[at - 1]["text"]["text"]
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
    lines = [b for _, blocks in pages for b in blocks if "*INC-" in str(b.get("text", ""))]
    assert len(lines) == 99


async def test_a_channel_slack_refuses_does_not_stop_the_others(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    first = slack.add_channel("incidents", members=[slack.bot_user_id])
    second = slack.add_channel("sre", members=[slack.bot_user_id])
    await add_target(bot, "a-first", first)
    await add_target(bot, "b-second", second)
    bot.ctx.clock = lambda: DAY.replace(hour=1)
    await report(slack, ada, "Login broken")
    await wait_until_opened(slack, bot)
    await settled(bot)

    slack.faults.fail("chat.postMessage", error="not_in_channel", times=1)  # the first channel's
    assert await run_at(bot, 9, 5) == "posted 1 daily summary message(s) for 1 project(s)"
    assert summaries(slack, first) == [] and len(summaries(slack, second)) == 1


async def test_two_processes_at_the_same_moment_post_one_summary(
    slack: FakeSlack, bot: BotProcess, database_url: str
) -> None:
    import asyncio

    ada = slack.add_user("ada")
    everything = slack.add_channel("incidents", members=[slack.bot_user_id])
    await add_target(bot, "all", everything)
    bot.ctx.clock = lambda: DAY.replace(hour=1)
    await report(slack, ada, "Login broken")
    await wait_until_opened(slack, bot)
    bot.ctx.clock = lambda: DAY.replace(hour=9, minute=5)
    outcomes = await asyncio.gather(
        send_daily_summaries(bot.ctx), in_another_process(slack, bot, database_url, send_daily_summaries)
    )
    assert sorted(outcomes) == [
        "posted 0 daily summary message(s) for 0 project(s)",
        "posted 1 daily summary message(s) for 1 project(s)",
    ]
    assert len(summaries(slack, everything)) == 1
