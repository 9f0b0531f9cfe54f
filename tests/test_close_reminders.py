"""The Monday close reminder: the commander of an incident stable for a week is asked to close it, once a
week per incident across processes, at the project's daily time in its time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import col, select

from bot.incidents.close_reminders import remind_to_close
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Incident, IncidentType, Project
from tests.test_incident_update import open_incident, the_incident
from tests.test_report_reminders import in_another_process
from tests.test_reports import settled
from tests.test_status_reminders import change_status

STABLE_ON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday
MONDAY = datetime(2026, 12, 14, 9, 30, tzinfo=UTC)  # 12 days later; the project's daily time is 09:00


def close_reminders(slack: FakeSlack, user: str) -> list[str]:
    return [str(m.blocks) for m in slack.dms_to(user) if "has been stable for" in str(m.blocks)]


async def stable_incident(slack: FakeSlack, bot: BotProcess, user: str, title: str = "Queue stuck") -> str:
    channel = await open_incident(slack, bot, user, title)
    bot.ctx.clock = lambda: STABLE_ON
    await change_status(slack, bot, user, channel, "Stable")
    return channel


async def run_at(bot: BotProcess, moment: datetime) -> str:
    bot.ctx.clock = lambda: moment
    return await remind_to_close(bot.ctx)


async def test_a_week_stable_incident_gets_one_close_reminder_each_monday(
    slack: FakeSlack, bot: BotProcess, database_url: str
) -> None:
    ada = slack.add_user("ada")
    channel = await stable_incident(slack, bot, ada)

    assert await run_at(bot, datetime(2026, 12, 7, 10, 0, tzinfo=UTC)) == "sent 0 close reminder(s)"  # 5 days
    assert (
        await run_at(bot, datetime(2026, 12, 14, 8, 0, tzinfo=UTC)) == "sent 0 close reminder(s)"
    )  # too early
    assert await run_at(bot, MONDAY) == "sent 1 close reminder(s)"
    [dm] = close_reminders(slack, ada)
    assert "INC-1" in dm and "stable for 11 days" in dm and f"<#{channel}>" in dm and "Close incident" in dm
    # Later that Monday, and another process on the same database: nothing more.
    assert await run_at(bot, datetime(2026, 12, 14, 15, 0, tzinfo=UTC)) == "sent 0 close reminder(s)"
    assert await in_another_process(slack, bot, database_url, remind_to_close) == "sent 0 close reminder(s)"
    assert (
        await run_at(bot, datetime(2026, 12, 15, 10, 0, tzinfo=UTC)) == "sent 0 close reminder(s)"
    )  # Tuesday
    assert await run_at(bot, datetime(2026, 12, 21, 9, 5, tzinfo=UTC)) == "sent 1 close reminder(s)"
    assert len(close_reminders(slack, ada)) == 2


async def test_the_close_button_opens_the_update_form_with_closed_chosen(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    channel = await stable_incident(slack, bot, ada)
    await run_at(bot, MONDAY)
    [dm] = [m for m in slack.dms_to(ada) if "has been stable for" in str(m.blocks)]

    await slack.as_user(ada).click_button(dm.channel, dm.ts, "Close incident")
    await slack.wait_for(lambda: (slack.open_view_for(ada) or {}).get("callback_id") == "incident_update")
    view = slack.open_view_for(ada)
    assert view is not None
    status = next(block for block in view["blocks"] if block.get("block_id") == "status")
    assert status["element"]["initial_option"]["value"] == "closed"
    await slack.as_user(ada).submit_view({"Resolution": "Consumer restarted"})
    await slack.wait_for(lambda: slack.channel(channel).is_archived, timeout=5)
    incident = await the_incident(bot)
    assert incident.status == "closed" and incident.resolution == "Consumer restarted"

    # Someone who never led it is told so, and gets no form.
    await slack.as_user(bob).click_button(dm.channel, dm.ts, "Close incident")
    await slack.wait_for(lambda: any(post.user == bob for post in slack.response_url_posts), timeout=5)
    assert slack.open_view_for(bob) is None


async def test_types_excluded_from_reminders_and_active_incidents_get_none(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    await stable_incident(slack, bot, ada)
    incident = await the_incident(bot)
    async with bot.ctx.sessions() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            sa.update(IncidentType)
            .where(col(IncidentType.id) == incident.incident_type_id)
            .values(exclude_from_reminders=True)
        )
    assert await run_at(bot, MONDAY) == "sent 0 close reminder(s)"

    async with bot.ctx.sessions() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            sa.update(IncidentType).values(exclude_from_reminders=False)
        )
    # Active again, then stable again on the Friday before: the week counts from the second time.
    channel = slack.channel_by_name("inc-1-queue-stuck")
    assert channel is not None
    bot.ctx.clock = lambda: datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
    await change_status(slack, bot, ada, channel.id, "Active")
    bot.ctx.clock = lambda: datetime(2026, 12, 11, 12, 0, tzinfo=UTC)
    await change_status(slack, bot, ada, channel.id, "Stable")
    await settled(bot)
    assert await run_at(bot, MONDAY) == "sent 0 close reminder(s)"
    assert await run_at(bot, datetime(2026, 12, 21, 9, 30, tzinfo=UTC)) == "sent 1 close reminder(s)"


async def test_monday_is_the_projects_monday_at_its_daily_time(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    await stable_incident(slack, bot, ada)
    async with bot.ctx.sessions() as session, session.begin():
        project = (await session.exec(select(Project))).one()
        project.timezone, project.daily_report_time = "America/Los_Angeles", "08:00"
        session.add(project)
    assert await run_at(bot, MONDAY) == "sent 0 close reminder(s)"  # 01:30 on Monday there
    assert await run_at(bot, datetime(2026, 12, 14, 16, 5, tzinfo=UTC)) == "sent 1 close reminder(s)"
    async with bot.ctx.sessions() as session:
        assert (await session.exec(select(Incident))).one().status == "stable"
