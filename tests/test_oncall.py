"""`/dispatch-engage-oncall` as responders use it, through the fake Slack and the fake PagerDuty (real
pdpyras), on SQLite and PostgreSQL: engaging, paging once, and the answers when it cannot be done."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.oncall import flows
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Incident, IncidentPriority, Project, Resource, RolePolicy, Service, TimelineEvent
from tests.conftest import running_bot
from tests.fakes.pagerduty import FakePagerDuty
from tests.test_engagement import channel_of_first_incident
from tests.test_incident_report import report, wait_until_opened
from tests.test_people import active_roles, open_incident, participant, texts

ONCALL_PLUGIN = {"oncall": {"plugin": "pagerduty", "options": {"sleep_seconds": 0.001}}}


@pytest.fixture
async def pagerduty() -> AsyncIterator[FakePagerDuty]:
    async with FakePagerDuty() as fake:
        yield fake


def pagerduty_settings(pagerduty: FakePagerDuty) -> dict[str, str]:
    """The bot's PagerDuty settings, pointing at the fake."""
    return {
        "pagerduty_api_key": pagerduty.api_key,
        "pagerduty_api_from_email": "dispatch@example.com",
        "pagerduty_api_url": pagerduty.url,
    }


@pytest.fixture
async def bot(slack: FakeSlack, database_url: str, pagerduty: FakePagerDuty) -> AsyncIterator[BotProcess]:
    """The real bot with PagerDuty credentials pointing at the fake."""
    async with running_bot(slack, database_url, **pagerduty_settings(pagerduty)) as process:
        yield process


async def configure(
    bot: BotProcess, services: dict[str, str], plugins: dict[str, Any] | None = None
) -> dict[str, int]:
    """Give the (only) project on-call services (name → PagerDuty id) and its plugin choices."""
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        project.plugins = ONCALL_PLUGIN if plugins is None else plugins
        rows = [
            Service(project_id=project.id, name=name, external_id=pd_id) for name, pd_id in services.items()
        ]
        session.add_all([project, *rows])
        await session.commit()
        return {row.name: row.id for row in rows if row.id is not None}


def modal_text(slack: FakeSlack, user: str) -> str:
    return str(slack.open_view_for(user) or "")


async def open_engage_modal(slack: FakeSlack, user: str, channel: str) -> dict[str, Any]:
    await slack.as_user(user).slash_command("/dispatch-engage-oncall", channel=channel)

    def opened() -> dict[str, Any] | None:
        view = slack.open_view_for(user)
        return view if view and view["title"]["text"] == "Engage on-call" else None

    return await slack.wait_for(opened)


async def engage(slack: FakeSlack, user: str, channel: str, service: str, page: bool = False) -> Any:
    view = await open_engage_modal(slack, user, channel)
    assert view["callback_id"] == "oncall_engage", view
    values: dict[str, Any] = {"Service": service}
    if page:
        values["Page"] = ["Page the on-call"]
    return await slack.as_user(user).submit_view(values)


async def events(bot: BotProcess, kind: str) -> list[TimelineEvent]:
    async with bot.ctx.sessions() as session:
        return list((await session.exec(select(TimelineEvent).where(TimelineEvent.kind == kind))).all())


async def engagements(bot: BotProcess) -> list[Resource]:
    async with bot.ctx.sessions() as session:
        return list((await session.exec(select(Resource).where(Resource.kind == flows.ENGAGED))).all())


async def test_the_on_call_is_engaged_invited_announced_and_recorded(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    dana = slack.add_user("dana", email="dana@example.com")
    pd_dana = pagerduty.add_user("Dana Scully", "dana@example.com")
    await configure(bot, {"Payments API": pagerduty.add_service("Payments API", on_call=[pd_dana])})
    incident = await open_incident(slack, bot)

    submitted = await engage(slack, incident.commander, incident.channel, "Payments API")

    assert submitted.response_action == "update"
    await slack.wait_for(lambda: "is engaged as the on-call" in modal_text(slack, incident.commander))
    assert f"<@{dana}>" in modal_text(slack, incident.commander)
    assert dana in slack.members(incident.channel)
    [announced] = [text for text in texts(slack, incident.channel) if "joins as the on-call" in text]
    assert f"<@{dana}>" in announced and "Payments API" in announced
    assert any("Welcome to INC-1" in message.text for message in slack.ephemerals(incident.channel, dana))
    assert await active_roles(bot, dana) == ["Participant"]
    added = await participant(bot, dana)
    assert added is not None and added.added_reason == "On call for Payments API"
    assert added.added_by == incident.commander and added.email == "dana@example.com"
    [event] = await events(bot, "oncall_engaged")
    assert f"<@{dana}>" in event.description and "Payments API" in event.description
    assert pagerduty.incidents == []  # nobody asked for a page
    # The bot's own invitation does not make Dana an Observer as well.
    await asyncio.sleep(0.1)
    assert await active_roles(bot, dana) == ["Participant"]


async def test_a_service_already_engaged_is_answered_in_the_modal(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    slack.add_user("dana", email="dana@example.com")
    pd_dana = pagerduty.add_user("Dana Scully", "dana@example.com")
    await configure(bot, {"Payments API": pagerduty.add_service("Payments API", on_call=[pd_dana])})
    incident = await open_incident(slack, bot)
    await engage(slack, incident.commander, incident.channel, "Payments API")
    await slack.wait_for(lambda: "is engaged as the on-call" in modal_text(slack, incident.commander))
    await slack.as_user(incident.commander).close_view()

    again = await engage(slack, incident.commander, incident.channel, "Payments API (engaged)")

    assert again.errors == {
        "oncall_service": "Payments API is already engaged: its on-call (Dana Scully) is in this incident."
    }
    assert len(await events(bot, "oncall_engaged")) == 1
    assert len(pagerduty.requests_to("GET", "/oncalls")) == 1


async def test_no_service_or_no_plugin_is_explained_in_the_modal(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    await configure(bot, {})
    incident = await open_incident(slack, bot)
    view = await open_engage_modal(slack, incident.commander, incident.channel)
    assert "No on-call service is configured for project" in str(view)
    assert not view.get("submit")
    await slack.as_user(incident.commander).close_view()

    await configure(bot, {"Payments API": pagerduty.add_service("Payments API")}, plugins={})
    view = await open_engage_modal(slack, incident.commander, incident.channel)
    assert "has no on-call plugin" in str(view) and "dispatch-bot config apply" in str(view)
    assert pagerduty.requests == []


async def test_outside_an_incident_channel_the_command_says_where_it_works(
    slack: FakeSlack, bot: BotProcess
) -> None:
    rita = slack.add_user("rita")
    general = slack.add_channel("general", members=[rita])
    answer = await slack.as_user(rita).slash_command("/dispatch-engage-oncall", channel=general)
    assert answer.ack is None
    await slack.wait_for(lambda: slack.ephemerals(general, rita))
    [message] = slack.ephemerals(general, rita)
    assert "only works in an incident channel" in message.text


async def test_pagerduty_refusals_are_shown_clearly_and_leave_the_service_free(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    pd_dana = pagerduty.add_user("Dana Scully", "dana@example.com")
    dana = slack.add_user("dana", email="dana@example.com")
    await configure(
        bot,
        {"Payments API": pagerduty.add_service("Payments API", on_call=[pd_dana]), "Old API": "PGONE"},
    )
    incident = await open_incident(slack, bot)
    lead = incident.commander

    await engage(slack, lead, incident.channel, "Old API")
    await slack.wait_for(lambda: "On-call not engaged" in modal_text(slack, lead))
    assert "PagerDuty has no service PGONE (404 Not Found)" in modal_text(slack, lead)
    await slack.as_user(lead).close_view()

    pagerduty.api_key = "rotated"  # the bot's key no longer works
    await engage(slack, lead, incident.channel, "Payments API")
    await slack.wait_for(lambda: "On-call not engaged" in modal_text(slack, lead))
    assert "PagerDuty refused the API key (401 Unauthorized)" in modal_text(slack, lead)
    assert "PAGERDUTY_API_KEY" in modal_text(slack, lead)
    assert dana not in slack.members(incident.channel)
    assert await engagements(bot) == [] and await events(bot, "oncall_engaged") == []
    await slack.as_user(lead).close_view()

    pagerduty.api_key = bot.settings.pagerduty_api_key.get_secret_value()  # type: ignore[union-attr]
    await engage(slack, lead, incident.channel, "Payments API")
    await slack.wait_for(lambda: "is engaged as the on-call" in modal_text(slack, lead))
    assert dana in slack.members(incident.channel)


async def test_paging_creates_one_pagerduty_incident_even_when_retried(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    dana = slack.add_user("dana", email="dana@example.com")
    pd_dana = pagerduty.add_user("Dana Scully", "dana@example.com")
    service = pagerduty.add_service("Payments API", on_call=[pd_dana])
    await configure(bot, {"Payments API": service})
    incident = await open_incident(slack, bot)
    # PagerDuty is busy at first: pdpyras waits and sends the page again.
    pagerduty.fail("POST", "/incidents", 429, times=1, retry_after=1)

    submitted = await engage(slack, incident.commander, incident.channel, "Payments API", page=True)
    await slack.wait_for(lambda: "They were paged" in modal_text(slack, incident.commander))

    assert len(pagerduty.requests_to("POST", "/incidents")) == 2
    [page] = pagerduty.incidents
    assert page.service_id == service and page.incident_key == f"dispatch-bot/INC-1/{service}"
    assert page.title == "INC-1: Checkout is down" and page.from_email == "dispatch@example.com"
    [event] = await events(bot, "oncall_paged")
    assert f"<@{dana}>" in event.description and event.details["page"] == page.id

    # Asking again, Page ticked, is answered in the modal and pages nobody.
    await slack.as_user(incident.commander).close_view()
    again = await engage(slack, incident.commander, incident.channel, "Payments API (engaged)", page=True)
    assert again.errors is not None and "already engaged" in again.errors["oncall_service"]
    assert len(pagerduty.incidents) == 1 and len(await events(bot, "oncall_paged")) == 1
    assert submitted.response_action == "update"


async def test_a_pagerduty_answering_503_once_still_engages_the_on_call(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    dana = slack.add_user("dana", email="dana@example.com")
    pd_dana = pagerduty.add_user("Dana Scully", "dana@example.com")
    await configure(bot, {"Payments API": pagerduty.add_service("Payments API", on_call=[pd_dana])})
    incident = await open_incident(slack, bot)
    pagerduty.fail("GET", "/oncalls", 503)

    await engage(slack, incident.commander, incident.channel, "Payments API")
    await slack.wait_for(lambda: "is engaged as the on-call" in modal_text(slack, incident.commander))

    assert dana in slack.members(incident.channel)
    assert [r.status for r in pagerduty.requests_to("GET", "/oncalls")] == [503, 200]


async def payments_engagement(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty, *, page: bool
) -> flows.Engagement:
    """An open incident and its commander's request to engage "Payments API", where Dana is on call."""
    slack.add_user("dana", email="dana@example.com")
    pd_dana = pagerduty.add_user("Dana Scully", "dana@example.com")
    ids = await configure(bot, {"Payments API": pagerduty.add_service("Payments API", on_call=[pd_dana])})
    incident = await open_incident(slack, bot)
    async with bot.ctx.sessions() as session:
        found = (await session.exec(select(Resource).where(Resource.external_id == incident.channel))).one()
    return flows.Engagement(
        found.incident_id, incident.channel, ids["Payments API"], page, incident.commander
    )


async def test_two_engagements_at_once_engage_and_page_once(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    engagement = await payments_engagement(slack, bot, pagerduty, page=True)

    outcomes = await asyncio.gather(*(flows.engage_oncall(bot.ctx, engagement) for _ in range(2)))

    assert sorted(o.user is not None for o in outcomes) == [False, True]
    [lost] = [o for o in outcomes if o.user is None]
    assert lost.error == "Payments API is already engaged in this incident."
    assert len(pagerduty.incidents) == 1
    assert len(await engagements(bot)) == 1 and len(await events(bot, "oncall_engaged")) == 1


async def test_an_engagement_that_outlived_its_claim_does_not_overwrite_the_one_that_took_over(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    engagement = await payments_engagement(slack, bot, pagerduty, page=False)
    answer = pagerduty.hold("/oncalls")
    slow = asyncio.create_task(flows.engage_oncall(bot.ctx, engagement))
    await slack.wait_for(lambda: pagerduty.requests_to("GET", "/oncalls"))
    # PagerDuty keeps the first request waiting past the claim's lifetime; a second request takes over.
    async with bot.ctx.sessions() as session, session.begin():
        [claim] = await engagements(bot)
        claim.updated_at = bot.ctx.clock() - flows.CLAIM_LIFETIME - timedelta(seconds=1)
        session.add(claim)
    second = asyncio.create_task(flows.engage_oncall(bot.ctx, engagement))
    await slack.wait_for(lambda: len(pagerduty.requests_to("GET", "/oncalls")) == 2)
    answer.set()
    lost, won = await slow, await second

    assert lost.user is None and lost.error == "Payments API was engaged by someone else meanwhile."
    assert won.user is not None and won.error is None
    [engaged] = await engagements(bot)
    assert engaged.external_id == won.user
    assert len(await events(bot, "oncall_engaged")) == 1


async def commander_policy(bot: BotProcess, service_id: int, *, page_high: bool) -> None:
    """High-priority incidents get the service's on-call as commander; High pages them if `page_high`."""
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        high = (
            await session.exec(
                select(IncidentPriority).where(
                    IncidentPriority.project_id == project.id, IncidentPriority.name == "High"
                )
            )
        ).one()
        high.page_commander = page_high
        session.add(high)
        session.add(
            RolePolicy(
                project_id=project.id,
                name="high-ic",
                role="Incident Commander",
                incident_priorities=["High"],
                service_id=service_id,
            )
        )
        await session.commit()


async def dana_commands_high(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty, *, page_high: bool
) -> tuple[str, str, str]:
    """Reporter rita, and dana on call for "SRE primary", the commander of High incidents by policy."""
    rita = slack.add_user("rita")
    dana = slack.add_user("dana", email="dana@example.com")
    service = pagerduty.add_service("SRE primary", on_call=[pagerduty.add_user("Dana", "dana@example.com")])
    ids = await configure(bot, {"SRE primary": service})
    await commander_policy(bot, ids["SRE primary"], page_high=page_high)
    return rita, dana, service


async def test_a_role_policy_makes_the_on_call_commander_and_pages_them(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    rita, dana, service = await dana_commands_high(slack, bot, pagerduty, page_high=True)

    await report(slack, rita, "Payments down", Priority="High")
    await wait_until_opened(slack, bot)

    channel = channel_of_first_incident(slack)
    assert {rita, dana} <= slack.members(channel)
    assert "IC: dana" in (slack.channel(channel).topic or "")
    assert await active_roles(bot, dana) == ["Incident Commander"]
    added = await participant(bot, dana)
    assert added is not None and added.added_reason == "On call for SRE primary (role policy high-ic)"
    [page] = pagerduty.incidents
    assert page.service_id == service and page.incident_key == f"dispatch-bot/INC-1/{service}"
    [event] = await events(bot, "oncall_paged")
    assert f"<@{dana}>" in event.description and "SRE primary" in event.description
    # The service is engaged already: asking for it again says so.
    view = await open_engage_modal(slack, rita, channel)
    assert "SRE primary (engaged)" in str(view)


async def test_the_report_is_saved_before_pagerduty_names_the_commander(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    rita, dana, _service = await dana_commands_high(slack, bot, pagerduty, page_high=False)
    answer = pagerduty.hold("/oncalls")

    await report(slack, rita, "Payments down", Priority="High")
    await slack.wait_for(lambda: pagerduty.requests_to("GET", "/oncalls"))
    # PagerDuty has not answered yet, and the report is already safe: a crash now loses nothing.
    async with bot.ctx.sessions() as session:
        [saved] = (await session.exec(select(Incident))).all()
    assert saved.title == "Payments down"
    assert slack.calls_to("conversations.invite") == []  # the channel may exist; nobody is invited yet

    answer.set()
    await wait_until_opened(slack, bot)
    assert await active_roles(bot, dana) == ["Incident Commander"]
    assert await active_roles(bot, rita) == ["Reporter"]
    assert "IC: dana" in (slack.channel(channel_of_first_incident(slack)).topic or "")


async def test_no_page_without_page_commander_or_without_an_on_call_commander(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    rita, dana, _service = await dana_commands_high(slack, bot, pagerduty, page_high=False)
    await report(slack, rita, "Payments down", Priority="High")
    await wait_until_opened(slack, bot)
    assert await active_roles(bot, dana) == ["Incident Commander"]
    assert pagerduty.incidents == []

    async with bot.ctx.sessions() as session:
        high = (await session.exec(select(IncidentPriority).where(IncidentPriority.name == "High"))).one()
        high.page_commander = True
        session.add(high)
        await session.commit()
    # The reporter names the commander herself: there is no on-call service to page through.
    await report(slack, rita, "Search is slow", Priority="High", **{"Incident commander": rita})
    await wait_until_opened(slack, bot, count=2)
    assert pagerduty.incidents == []


async def test_when_pagerduty_refuses_the_reporter_commands(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    rita, dana, _service = await dana_commands_high(slack, bot, pagerduty, page_high=True)
    pagerduty.api_key = "rotated"

    await report(slack, rita, "Payments down", Priority="High")
    await wait_until_opened(slack, bot)

    assert await active_roles(bot, rita) == ["Incident Commander", "Reporter"]
    assert await active_roles(bot, dana) == []
    assert pagerduty.incidents == []


async def test_an_engagement_left_unfinished_by_a_dead_process_is_taken_over(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    dana = slack.add_user("dana", email="dana@example.com")
    pd_dana = pagerduty.add_user("Dana Scully", "dana@example.com")
    await configure(bot, {"Payments API": pagerduty.add_service("Payments API", on_call=[pd_dana])})
    incident = await open_incident(slack, bot)
    async with bot.ctx.sessions() as session:
        found = (await session.exec(select(Resource).where(Resource.external_id == incident.channel))).one()
        claim = Resource(
            incident_id=found.incident_id, kind=flows.ENGAGED, name="Payments API", external_id=""
        )
        session.add(claim)
        await session.commit()

    # Another process is engaging the service right now: asking again is answered.
    busy = await engage(slack, incident.commander, incident.channel, "Payments API (engaged)")
    assert busy.errors == {
        "oncall_service": "Payments API is being engaged by someone else right now; try again in a minute."
    }
    await slack.as_user(incident.commander).close_view()

    # That process died: once its claim is older than a claim lives, the service can be engaged.
    async with bot.ctx.sessions() as session:
        stale = await session.get(Resource, claim.id)
        assert stale is not None
        stale.updated_at = bot.ctx.clock() - flows.CLAIM_LIFETIME - timedelta(seconds=1)
        session.add(stale)
        await session.commit()
    await engage(slack, incident.commander, incident.channel, "Payments API")
    await slack.wait_for(lambda: "is engaged as the on-call" in modal_text(slack, incident.commander))
    assert dana in slack.members(incident.channel)
    [engaged] = await engagements(bot)
    assert engaged.external_id == dana


async def test_services_whose_filters_match_are_engaged_at_opening_and_when_an_update_matches(
    slack: FakeSlack, bot: BotProcess, pagerduty: FakePagerDuty
) -> None:
    from tests.test_incident_update import open_update_modal

    dana = slack.add_user("dana", email="dana@example.com")
    fox = slack.add_user("fox", email="fox@example.com")
    await configure(
        bot,
        {
            "Checkout": pagerduty.add_service(
                "Checkout", on_call=[pagerduty.add_user("Dana", "dana@example.com")]
            ),
            "Database": pagerduty.add_service(
                "Database", on_call=[pagerduty.add_user("Fox", "fox@example.com")]
            ),
        },
    )
    async with bot.ctx.sessions() as session, session.begin():
        for service in (await session.exec(select(Service))).all():
            service.filters = (
                {"words": ["checkout"]} if service.name == "Checkout" else {"priority": ["High"]}
            )
            session.add(service)

    incident = await open_incident(slack, bot, "Checkout is down")
    await slack.wait_for(lambda: dana in slack.members(incident.channel) or None, timeout=5)
    [announced] = [text for text in texts(slack, incident.channel) if "joins as the on-call" in text]
    assert f"<@{dana}>" in announced and "filters match" in announced
    assert fox not in slack.members(incident.channel)  # the incident is not High (yet)

    await open_update_modal(slack, incident.commander, incident.channel)
    await slack.as_user(incident.commander).submit_view({"Priority": "High"})
    await slack.wait_for(lambda: fox in slack.members(incident.channel) or None, timeout=5)
    assert await active_roles(bot, fox) == ["Participant"]
    assert [e.description for e in await events(bot, "oncall_engaged")] == [
        f"Engaged automatically: <@{dana}>, on call for Checkout",
        f"Engaged automatically: <@{fox}>, on call for Database",
    ]
    assert pagerduty.incidents == []  # engaged, not paged
