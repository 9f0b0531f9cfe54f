"""One incident with every plugin on, through the real bot and the fake Slack, Google, Jira and
PagerDuty: each resource made once, filled in, bookmarked, and the on-call commander paged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from bot.incidents.opening import OPEN_STEPS
from bot.incidents.resource_steps import RESOURCE_MAKERS
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Resource
from tests.conftest import running_bot
from tests.fakes.google import FakeGoogle
from tests.fakes.jira import FakeJira
from tests.fakes.pagerduty import FakePagerDuty
from tests.test_engagement import channel_of_first_incident
from tests.test_google import private_key, secrets_for  # noqa: F401  (the key fixture)
from tests.test_incident_documents import use_templates
from tests.test_incident_report import report
from tests.test_oncall import commander_policy, configure, pagerduty_settings
from tests.test_tickets import choose_plugins, jira_settings, settled

EVERYTHING = {
    "storage": {"plugin": "google-drive", "options": {"shared_drive_id": "drive-incidents"}},
    "document": {"plugin": "google-docs"},
    "participant_group": {"plugin": "google-groups"},
    "conference": {"plugin": "google-calendar"},
    "email": {"plugin": "google-gmail"},
    "ticket": {"plugin": "jira", "options": {"project_key": "OPS"}},
    "oncall": {"plugin": "pagerduty", "options": {"sleep_seconds": 0.001}},
}


@pytest.fixture
async def vendors() -> AsyncIterator[tuple[FakeGoogle, FakeJira, FakePagerDuty]]:
    async with FakeGoogle() as google, FakeJira() as jira, FakePagerDuty() as pagerduty:
        google.drives["drive-incidents"] = {"id": "drive-incidents", "name": "Incidents"}
        yield google, jira, pagerduty


@pytest.fixture
async def bot(
    slack: FakeSlack,
    database_url: str,
    vendors: tuple[FakeGoogle, FakeJira, FakePagerDuty],
    private_key: str,
) -> AsyncIterator[BotProcess]:
    google, jira, pagerduty = vendors
    secrets = {name.lower(): value for name, value in secrets_for(google, private_key).items()}
    secrets["google_service_account_private_key"] = private_key
    settings = {**jira_settings(jira), **pagerduty_settings(pagerduty), **secrets}
    async with running_bot(slack, database_url, plugin_timeout_seconds=10.0, **settings) as process:
        yield process


async def test_an_incident_with_every_plugin_on_gets_every_resource_once(
    slack: FakeSlack, bot: BotProcess, vendors: tuple[FakeGoogle, FakeJira, FakePagerDuty]
) -> None:
    google, jira, pagerduty = vendors
    rita = slack.add_user("rita", email="rita@example.com")
    dana = slack.add_user("dana", email="dana@example.com", real_name="Dana Scully")
    jira.add_user("dana@example.com")
    service = pagerduty.add_service("SRE primary", on_call=[pagerduty.add_user("Dana", "dana@example.com")])
    ids = await configure(bot, {"SRE primary": service}, plugins=EVERYTHING)
    await commander_policy(bot, ids["SRE primary"], page_high=True)
    await use_templates(bot, google)
    await choose_plugins(bot, EVERYTHING)

    await report(slack, rita, "Payments down", Priority="High")
    roles = [role for role in EVERYTHING if role in RESOURCE_MAKERS]
    done = await settled(bot, len(OPEN_STEPS) + len(roles), timeout=30)
    assert {step: row.status for step, row in done.items() if row.status != "done"} == {}

    async with bot.ctx.sessions() as session:
        recorded = {row.kind: row for row in (await session.exec(select(Resource))).all()}
    channel = channel_of_first_incident(slack)
    assert {rita, dana} <= slack.members(channel)
    # The folder, with the filled document inside; the document links the ticket and the meeting.
    folder, document = recorded["storage"], recorded["document"]
    assert google.files[document.external_id]["parents"] == [folder.external_id]
    text = google.documents[document.external_id]
    assert "{{" not in text and "to come" not in text
    assert "Commander: Dana Scully" in text
    assert f"Ticket {recorded['ticket'].weblink}" in text and f"Meet {recorded['conference'].weblink}" in text
    # The groups, with everyone holding a role.
    assert set(google.groups["inc-1@example.com"]["members"]) == {"rita@example.com", "dana@example.com"}
    # One Meet, one Jira issue, one page; each resource bookmarked once.
    assert len(google.events) == 1 and len(jira.issues) == 1 and len(pagerduty.incidents) == 1
    assert jira.issues[0].summary == "INC-1: Payments down"
    titles = sorted(bookmark["title"].split(" ")[0] for bookmark in slack.bookmarks(channel))
    assert titles == ["Conference", "Document", "Folder", "Group", "Ticket"]
    # Each person brought in got one welcome e-mail.
    welcomed = sorted(
        str(message["To"]) for message in google.messages if "Welcome" in str(message["Subject"])
    )
    assert welcomed == ["dana@example.com", "rita@example.com"]
    assert not any("Couldn't" in message.text for message in slack.messages(channel))
