"""An incident's Google folder and conference, made at opening through the real googleapiclient
against the fake Google, recorded and bookmarked in the incident channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.incidents.opening import OPEN_STEPS
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import FlowStep, Incident, Resource
from tests.fakes.google import FakeGoogle
from tests.test_engagement import channel_of_first_incident
from tests.test_google import bot_with_google, private_key  # noqa: F401  (the key fixture)
from tests.test_incident_report import report
from tests.test_incident_update import open_update_modal
from tests.test_people import eventually as people_eventually
from tests.test_reports import settled as tasks_settled
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
    done = await settled(bot, len(OPEN_STEPS) + 2)
    assert {row.step: row.status for row in done.values() if row.status != "done"} == {}

    [folder] = [f for f in google.files.values() if f["name"] == "INC-1 Checkout errors"]
    assert "ada@example.com" in [p.get("emailAddress") for p in folder["permissions"]]
    [event] = google.events.values()
    meet = event["hangoutLink"]
    channel = channel_of_first_incident(slack)
    links = [b["link"] for b in slack.bookmarks(channel)]
    assert meet in links and any(folder["id"] in link for link in links)
    assert len(links) == 2


async def close(slack: FakeSlack, bot: BotProcess, user: str, channel: str) -> None:
    """The commander closes the incident and waits for the review DM (the last of the close effects)."""

    def reviews() -> int:
        return sum("Thanks for closing" in str(m.blocks) for m in slack.dms_to(user))

    before = reviews()
    await open_update_modal(slack, user, channel)
    await slack.as_user(user).submit_view({"Status": "Closed", "Severity": "Low", "Resolution": "Fixed"})
    await slack.wait_for(lambda: reviews() > before)
    await tasks_settled(bot)  # the folder is opened alongside the review DM


def domain_permissions(google: FakeGoogle, name: str) -> list[dict[str, Any]]:
    [folder] = [f for f in google.files.values() if f["name"] == name]
    return [p for p in folder["permissions"] if p["type"] == "domain"]


async def both_opened(bot: BotProcess) -> None:
    async def done() -> bool:
        async with bot.ctx.sessions() as session:
            rows = (await session.exec(select(FlowStep))).all()
        return len(rows) == 2 * (len(OPEN_STEPS) + 1) and all(r.status == "done" for r in rows)

    await people_eventually(done, timeout=10)


async def folder_row(bot: BotProcess) -> Resource:
    async with bot.ctx.sessions() as session:
        return (await session.exec(select(Resource).where(Resource.kind == "storage"))).one()


async def test_closing_opens_the_folder_to_the_organisation_once(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    ada = slack.add_user("ada", email="ada@example.com")
    await choose_plugins(bot, {"storage": GOOGLE["storage"]})
    await report(slack, ada, "Checkout errors")
    await settled(bot, len(OPEN_STEPS) + 1)
    channel = channel_of_first_incident(slack)
    assert domain_permissions(google, "INC-1 Checkout errors") == []

    await close(slack, bot, ada, channel)
    [opened] = domain_permissions(google, "INC-1 Checkout errors")
    assert (opened["domain"], opened["role"]) == ("example.com", "reader")
    assert (await folder_row(bot)).details["opened_to_domain"] is True

    # Reopened and closed again: the folder is open already, nothing is shared twice.
    review = next(m for m in slack.dms_to(ada) if "Thanks for closing" in str(m.blocks))
    await slack.as_user(ada).click_button(review.channel, review.ts, "Reopen incident")
    await slack.wait_for(lambda: not slack.channel(channel).is_archived)
    await close(slack, bot, ada, channel)
    assert len(domain_permissions(google, "INC-1 Checkout errors")) == 1


async def test_a_restricted_incident_folder_stays_closed_and_a_failure_is_told_to_the_commander(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    ada = slack.add_user("ada", email="ada@example.com")
    bob = slack.add_user("bob", email="bob@example.com")
    await choose_plugins(bot, {"storage": GOOGLE["storage"]})
    await report(slack, ada, "Checkout errors")
    await settled(bot, len(OPEN_STEPS) + 1)
    await report(slack, bob, "Payroll leak")
    await both_opened(bot)
    async with bot.ctx.sessions() as session, session.begin():
        leak = (await session.exec(select(Incident).where(Incident.number == 2))).one()
        leak.visibility = "restricted"
        session.add(leak)
    checkout = slack.channel_by_name("inc-1-checkout-errors")
    payroll = slack.channel_by_name("inc-2-payroll-leak")
    assert checkout is not None and payroll is not None

    await close(slack, bot, bob, payroll.id)
    assert domain_permissions(google, "INC-2 Payroll leak") == []

    [folder] = [f for f in google.files.values() if f["name"] == "INC-1 Checkout errors"]
    google.fail("POST", f"/drive/v3/files/{folder['id']}/permissions", 403)
    await close(slack, bot, ada, checkout.id)
    await slack.wait_for(lambda: any("Couldn't open the folder" in m.text for m in slack.dms_to(ada)))
    [told] = [m.text for m in slack.dms_to(ada) if "Couldn't open the folder" in m.text]
    assert "INC-1 to the organisation" in told and "does not allow" in told
    assert domain_permissions(google, "INC-1 Checkout errors") == []
    assert slack.channel(checkout.id).is_archived


OWN_DRIVE = {"storage": {"plugin": "google-drive"}}


async def test_a_drive_made_though_its_answer_was_lost_still_gets_the_folder(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    """Google makes the incident's drive, the answer is lost; the retry's 409 leads to that drive."""
    ada = slack.add_user("ada", email="ada@example.com")
    await choose_plugins(bot, OWN_DRIVE)
    google.lose_answer("POST", "/drive/v3/drives")
    await report(slack, ada, "Checkout errors")
    done = await settled(bot, len(OPEN_STEPS) + 1)
    assert {row.step: row.status for row in done.values() if row.status != "done"} == {}

    assert [c.status for c in google.calls_to("POST", "/drive/v3/drives")] == [503, 409]
    [drive] = [d for d in google.drives.values() if d["id"] != "drive-incidents"]
    [folder] = [f for f in google.files.values() if f["name"] == "INC-1 Checkout errors"]
    assert folder["parents"] == [drive["id"]] and drive["name"] == "INC-1 Checkout errors"
    assert any(folder["id"] in b["link"] for b in slack.bookmarks(channel_of_first_incident(slack)))


async def test_a_reconcile_run_whose_step_fails_again_is_not_a_success(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    ben = slack.add_user("ben", email="ben@example.com")
    await choose_plugins(bot, OWN_DRIVE)
    google.fail("POST", "/drive/v3/drives", 403, times=2)
    await report(slack, ben, "Queue backlog")
    assert (await settled(bot, len(OPEN_STEPS) + 1))["storage"].status == "failed"
    assert bot.scheduler is not None

    start = bot.ctx.clock()
    bot.ctx.clock = lambda: start + timedelta(minutes=2)
    run = await bot.scheduler.run_now("reconcile")
    assert not run.ok
    assert run.outcome == (
        "resumed 1 incident(s), 0 report(s), 0 group sync(s); still failing: INC-1: storage"
    )

    bot.ctx.clock = lambda: start + timedelta(minutes=10)
    run = await bot.scheduler.run_now("reconcile")
    assert run.ok and run.outcome == "resumed 1 incident(s), 0 report(s), 0 group sync(s)"
    assert (await settled(bot, len(OPEN_STEPS) + 1))["storage"].status == "done"
    assert len(google.drives) == 2  # the configured one the fixture made, and the incident's own
