"""`/dispatch-list-incidents` as people see it: current incidents, restricted ones only to insiders, pages."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.incidents.reporting import Report, report_form, save_report
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Incident


async def save(bot: BotProcess, reporter: str, title: str, key: str, visibility: str | None = None) -> int:
    form = await report_form(bot.ctx)
    incident_id, _ = await save_report(
        bot.ctx,
        Report(
            request_key=key,
            reporter_id=reporter,
            title=title,
            description="",
            project_id=form.project_id,
            type_id=None,
            severity_id=None,
            priority_id=None,
            visibility=visibility,
        ),
    )
    return incident_id


async def listed(slack: FakeSlack, user: str, command: str = "/dispatch-list-incidents") -> str:
    await slack.as_user(user).slash_command(command)
    await slack.wait_for(
        lambda: (slack.open_view_for(user) or {}).get("callback_id") == "incident_list", timeout=5
    )
    return str(slack.open_view_for(user))


async def test_people_see_current_incidents_but_not_restricted_ones_they_are_not_in(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    await save(bot, ada, "Checkout down", "k1")
    await save(bot, ada, "Leaked credentials", "k2", visibility="restricted")
    old = await save(bot, ada, "Old outage", "k3")
    async with bot.ctx.sessions() as session:
        incident = await session.get(Incident, old)
        assert incident is not None
        incident.status, incident.closed_at = "closed", bot.ctx.clock() - timedelta(days=2)
        session.add(incident)
        await session.commit()

    seen_by_bob = await listed(slack, bob)
    assert "Checkout down" in seen_by_bob
    assert "Leaked credentials" not in seen_by_bob and "Old outage" not in seen_by_bob
    seen_by_ada = await listed(slack, ada)
    assert "Checkout down" in seen_by_ada and "Leaked credentials" in seen_by_ada
    assert "Old outage" not in seen_by_ada


async def test_a_long_list_is_paged_not_cut(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    for number in range(1, 21):
        await save(bot, ada, f"Outage number {number:02d}", f"key-{number}")
    first = await listed(slack, ada)
    assert "page 1 of 2" in first and "20 incidents" in first
    view = slack.open_view_for(ada)
    assert view is not None
    await slack.as_user(ada).click_in_view("Next", view_id=view["id"])
    await slack.wait_for(lambda: "page 2 of 2" in str(slack.open_view_for(ada)), timeout=5)
    second = str(slack.open_view_for(ada))
    async with bot.ctx.sessions() as session:
        titles = (await session.exec(select(Incident.title))).all()
    on_pages = [title for title in titles if title in first or title in second]
    assert sorted(on_pages) == sorted(titles)


async def test_an_empty_workspace_says_so(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    assert "No active, stable or recently closed incidents" in await listed(slack, ada)
