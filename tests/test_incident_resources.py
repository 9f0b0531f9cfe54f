"""An incident's Google folder and conference, made at opening through the real googleapiclient
against the fake Google, recorded and bookmarked in the incident channel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.incidents import flows
from bot.runtime import BotProcess
from tests.fakes.google import FakeGoogle
from tests.fakes.slack import FakeSlack
from tests.test_engagement import channel_of_first_incident
from tests.test_google import bot_with_google, private_key  # noqa: F401  (the key fixture)
from tests.test_incident_report import report
from tests.test_tickets import choose_plugins, settled

GOOGLE = {
    "storage": {"plugin": "google-drive", "options": {"shared_drive_id": "drive-incidents"}},
    "conference": {"plugin": "google-calendar"},
}


@pytest.fixture
async def google() -> AsyncIterator[FakeGoogle]:
    async with FakeGoogle() as fake:
        fake.drives["drive-incidents"] = {"id": "drive-incidents", "name": "Incidents"}
        yield fake


@pytest.fixture
async def bot(
    slack: FakeSlack,
    database_url: str,
    google: FakeGoogle,
    private_key: str,
) -> AsyncIterator[BotProcess]:
    async with bot_with_google(slack, database_url, google, private_key) as process:
        yield process


async def test_the_folder_and_the_meeting_are_made_and_bookmarked(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    ada = slack.add_user("ada", email="ada@example.com")
    await choose_plugins(bot, GOOGLE)
    await report(slack, ada, "Checkout errors")
    done = await settled(bot, len(flows.OPEN_STEPS) + 2)
    assert {row.step: row.status for row in done.values() if row.status != "done"} == {}

    [folder] = [f for f in google.files.values() if f["name"] == "INC-1 Checkout errors"]
    assert "ada@example.com" in [p.get("emailAddress") for p in folder["permissions"]]
    [event] = google.events.values()
    meet = event["hangoutLink"]
    channel = channel_of_first_incident(slack)
    links = [b["link"] for b in slack.bookmarks(channel)]
    assert meet in links and any(folder["id"] in link for link in links)
    assert len(links) == 2
