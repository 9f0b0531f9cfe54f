"""Who is brought in without being asked: the commander from role policies, people whose filters match."""

from __future__ import annotations

from sqlmodel import select

from bot.config.filters import Filter, to_column
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import IndividualContact, Participant, RolePolicy
from tests.test_incident_report import incident_project, report, wait_until_opened
from tests.test_incident_update import open_update_modal


async def database_expert(slack: FakeSlack, bot: BotProcess) -> str:
    """Dora, configured to be engaged in every incident that mentions the database."""
    dba = slack.add_user("dora", email="dba@example.com")
    async with bot.ctx.sessions() as session:
        session.add(
            IndividualContact(
                project_id=await incident_project(bot),
                email="dba@example.com",
                name="Dora",
                filters=to_column(Filter.model_validate({"words": ["database"]})),
            )
        )
        await session.commit()
    return dba


def channel_of_first_incident(slack: FakeSlack) -> str:
    return str(next(c.response["channel"]["id"] for c in slack.calls_to("conversations.create") if c.ok))


async def test_a_role_policy_names_the_commander_for_high_priority(slack: FakeSlack, bot: BotProcess) -> None:
    reporter = slack.add_user("rita")
    lead = slack.add_user("lena", email="lena@example.com")
    async with bot.ctx.sessions() as session:
        session.add(
            RolePolicy(
                project_id=await incident_project(bot),
                name="high-ic",
                role="Incident Commander",
                incident_priorities=["High"],
                individual_email="lena@example.com",
            )
        )
        await session.commit()
    await report(slack, reporter, "Payments down", Priority="High")
    await wait_until_opened(slack, bot)
    channel = channel_of_first_incident(slack)
    assert {reporter, lead} <= slack.members(channel)
    assert "IC: lena" in (slack.channel(channel).topic or "") or "IC: Lena" in (
        slack.channel(channel).topic or ""
    )
    assert any("incident commander of INC-1" in m.text for m in slack.dms_to(lead))
    assert not any("incident commander of INC-1" in m.text for m in slack.dms_to(reporter))


async def test_people_whose_filters_match_are_engaged_at_once_and_on_update(
    slack: FakeSlack, bot: BotProcess
) -> None:
    reporter = slack.add_user("rita")
    dba = await database_expert(slack, bot)
    await report(slack, reporter, "Checkout slow")
    await wait_until_opened(slack, bot)
    channel = channel_of_first_incident(slack)
    assert dba not in slack.members(channel)

    await open_update_modal(slack, reporter, channel)
    await slack.as_user(reporter).submit_view({"Title": "Checkout slow: database connections exhausted"})
    await slack.wait_for(lambda: dba in slack.members(channel), timeout=5)
    async with bot.ctx.sessions() as session:
        engaged = (await session.exec(select(Participant).where(Participant.user_id == dba))).one()
    assert engaged.added_reason.startswith("Engaged automatically")
    announcements = [m.text for m in slack.messages(channel)]
    assert announcements.count("New participant") == 2  # the reporter at first, Dora later
    await slack.wait_for(lambda: bool(slack.ephemerals(channel, dba)), timeout=5)


async def test_a_matching_person_is_invited_when_the_incident_opens(
    slack: FakeSlack, bot: BotProcess
) -> None:
    reporter = slack.add_user("rita")
    dba = await database_expert(slack, bot)
    await report(slack, reporter, "Database failover failed")
    await wait_until_opened(slack, bot)
    channel = channel_of_first_incident(slack)
    assert dba in slack.members(channel)
    announcement = next(m for m in slack.messages(channel) if "new participants" in m.text)
    assert f"<@{dba}> — Observer" in str(announcement.blocks)
