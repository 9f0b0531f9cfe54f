"""Join and Subscribe on incident announcements, clicked by people outside the response."""

from __future__ import annotations

from sqlmodel import select

from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Notification, Participant, Subscription
from tests.test_incident_report import incident_project, report, wait_until_opened
from tests.test_incident_update import open_update_modal


async def announced_incident(slack: FakeSlack, bot: BotProcess, reporter: str) -> tuple[str, str]:
    """Report an incident with an announcements channel configured; (announcements, incident channel)."""
    announcements = slack.add_channel("incidents", members=[slack.bot_user_id])
    async with bot.ctx.sessions() as session:
        session.add(Notification(project_id=await incident_project(bot), name="all", target=announcements))
        await session.commit()
    await report(slack, reporter, "Payments failing")
    await wait_until_opened(slack, bot)
    channel = next(
        call.response["channel"]["id"] for call in slack.calls_to("conversations.create") if call.ok
    )
    return announcements, str(channel)


async def click(slack: FakeSlack, user: str, channel: str, label: str) -> str:
    announcement = slack.messages(channel)[0]
    before = len([post for post in slack.response_url_posts if post.user == user])
    await slack.as_user(user).click_button(channel, announcement.ts, label)
    await slack.wait_for(
        lambda: len([p for p in slack.response_url_posts if p.user == user]) > before, timeout=5
    )
    return str([post.body for post in slack.response_url_posts if post.user == user][-1]["text"])


async def test_join_brings_a_bystander_into_the_channel_once(slack: FakeSlack, bot: BotProcess) -> None:
    ada, zoe = slack.add_user("ada"), slack.add_user("zoe")
    announcements, channel = await announced_incident(slack, bot, ada)
    assert "You are in" in await click(slack, zoe, announcements, "Join")
    assert zoe in slack.members(channel)
    assert "You are in" in await click(slack, zoe, announcements, "Join")
    async with bot.ctx.sessions() as session:
        rows = (await session.exec(select(Participant).where(Participant.user_id == zoe))).all()
    assert len(rows) == 1


async def test_subscribers_get_each_update_by_dm(slack: FakeSlack, bot: BotProcess) -> None:
    ada, zoe = slack.add_user("ada"), slack.add_user("zoe")
    announcements, channel = await announced_incident(slack, bot, ada)
    assert "direct message for every update" in await click(slack, zoe, announcements, "Subscribe")
    assert "already follow" in await click(slack, zoe, announcements, "Subscribe")
    async with bot.ctx.sessions() as session:
        assert len((await session.exec(select(Subscription))).all()) == 1

    await open_update_modal(slack, ada, channel)
    await slack.as_user(ada).submit_view({"Priority": "High"})
    await slack.wait_for(lambda: any("INC-1 updated" in m.text for m in slack.dms_to(zoe)), timeout=5)
    assert zoe not in slack.members(channel)
    # The announcements channel got the update too, with the buttons to come in.
    await slack.wait_for(
        lambda: any("INC-1 updated" in m.text for m in slack.messages(announcements)), timeout=5
    )
    update = [m for m in slack.messages(announcements) if "INC-1 updated" in m.text][-1]
    assert "Subscribe" in str(update.blocks)


async def test_restricted_and_closed_incidents_refuse_outsiders(slack: FakeSlack, bot: BotProcess) -> None:
    ada, zoe = slack.add_user("ada"), slack.add_user("zoe")
    announcements, channel = await announced_incident(slack, bot, ada)
    await open_update_modal(slack, ada, channel)
    await slack.as_user(ada).submit_view({"Visibility": "Restricted"})
    await slack.wait_for(lambda: "Saved" in str(slack.open_view_for(ada) or {}), timeout=5)
    assert "restricted" in await click(slack, zoe, announcements, "Join")
    assert "restricted" in await click(slack, zoe, announcements, "Subscribe")
    assert zoe not in slack.members(channel)

    await open_update_modal(slack, ada, channel)
    await slack.as_user(ada).submit_view({"Visibility": "Open", "Status": "Closed", "Severity": "Low"})
    await slack.wait_for(lambda: slack.channel(channel).is_archived, timeout=5)
    assert "closed" in await click(slack, zoe, announcements, "Join")
