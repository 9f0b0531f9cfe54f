"""The incident document, review document and groups, made at opening and kept in step, through the
real bot, the fake Slack and the fake Google, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.incidents import participant_groups
from bot.incidents.opening import OPEN_STEPS
from bot.incidents.opening_runner import resume_unfinished
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Document, IncidentType, Project, Resource
from tests.fakes.google import FakeGoogle
from tests.test_engagement import channel_of_first_incident
from tests.test_google import TEMPLATE, private_key  # noqa: F401  (the key fixture)
from tests.test_incident_report import report
from tests.test_incident_resources import bot, google  # noqa: F401  (the fixtures)
from tests.test_incident_update import open_update_modal
from tests.test_people import assign
from tests.test_people import eventually as people_eventually
from tests.test_tickets import choose_plugins, eventually, settled, texts

GOOGLE = {
    "storage": {"plugin": "google-drive", "options": {"shared_drive_id": "drive-incidents"}},
    "document": {"plugin": "google-docs"},
    "participant_group": {"plugin": "google-groups"},
}
REVIEW_TEMPLATE = "Review of {{name}}: {{title}} ({{status}})\nDoc {{document_weblink}}\n"
STEPS = len(OPEN_STEPS) + 3


async def use_templates(bot: BotProcess, google: FakeGoogle) -> dict[str, str]:
    """Templates in Drive, configured as the project's documents and named by every incident type."""
    made = {
        "incident_template": google.add_document("Incident template", TEMPLATE),
        "review_template": google.add_document("Review template", REVIEW_TEMPLATE),
    }
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        assert project.id is not None
        for kind, file_id in made.items():
            session.add(Document(project_id=project.id, name=kind, kind=kind, external_id=file_id))
        for incident_type in (await session.exec(select(IncidentType))).all():
            incident_type.incident_template, incident_type.review_template = made.keys()
            session.add(incident_type)
        await session.commit()
    await choose_plugins(bot, GOOGLE)
    return made


async def opened(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle, reporter: str, title: str, templates: bool = True
) -> str:
    """An incident reported with the Google plugins (and templates), once its opening settled; its channel."""
    if templates:
        await use_templates(bot, google)
    else:
        await choose_plugins(bot, GOOGLE)
    await report(slack, reporter, title)
    await settled(bot, STEPS)
    return channel_of_first_incident(slack)


async def recorded(bot: BotProcess) -> dict[str, Resource]:
    async with bot.ctx.sessions() as session:
        return {row.kind: row for row in (await session.exec(select(Resource))).all()}


def copies_of(google: FakeGoogle, template: str) -> list[dict[str, Any]]:
    name = "INC-1 - " + (
        "Incident Document" if template == "incident_template" else "Post Incident Review Document"
    )
    return [f for f in google.files.values() if f["name"] == name]


async def test_the_folder_document_and_groups_are_made_filled_and_bookmarked(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    ada = slack.add_user("ada", email="ada@example.com", real_name="Ada Lovelace")
    await use_templates(bot, google)
    await report(slack, ada, "Checkout errors")
    done = await settled(bot, STEPS)
    assert {step: row.status for step, row in done.items() if row.status != "done"} == {}

    resources = await recorded(bot)
    folder, document = resources["storage"], resources["document"]
    assert google.files[document.external_id]["parents"] == [folder.external_id]
    [copy] = copies_of(google, "incident_template")
    assert copy["name"] == "INC-1 - Incident Document"
    text = google.documents[document.external_id]
    assert "{{" not in text
    channel = channel_of_first_incident(slack)
    assert text.splitlines()[:3] == [
        "INC-1: Checkout errors",
        "Status Active, priority Medium, type General. Commander: Ada Lovelace",
        "Checkout returns 500 for every EU customer.",
    ], text
    assert f"/archives/{channel}" in text and f"Folder {folder.weblink}" in text
    assert f"Doc {document.weblink}" in text

    tactical, informed = resources["tactical_group"], resources["notifications_group"]
    assert tactical.details["email"] == "inc-1@example.com"
    assert informed.details["email"] == "inc-1-notifications@example.com"
    assert list(google.groups["inc-1@example.com"]["members"]) == ["ada@example.com"]
    assert google.groups["inc-1-notifications@example.com"]["members"] == {}
    shared = [p.get("emailAddress") for p in google.files[folder.external_id]["permissions"]]
    assert {"ada@example.com", "inc-1@example.com", "inc-1-notifications@example.com"} <= set(shared)

    titles = [b["title"] for b in slack.bookmarks(channel)]
    assert "Document INC-1 - Incident Document" in titles and "Group INC-1" in titles
    assert not any("Couldn't" in said for said in texts(slack, channel))


@pytest.mark.parametrize("status", [500, 403])
async def test_a_refused_document_leaves_the_incident_whole_and_the_retry_makes_one_copy(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle, status: int
) -> None:
    ben = slack.add_user("ben", email="ben@example.com")
    await use_templates(bot, google)
    # The copy lands, then filling it in is refused: the retry must find that copy, not make another.
    google.fail("POST", "/v1/documents/", status, times=10)
    await report(slack, ben, "Queue backlog")
    found = await settled(bot, STEPS)
    assert [step for step, row in found.items() if row.status != "done"] == ["document"]
    channel = channel_of_first_incident(slack)
    assert slack.pins(channel) and "tactical_group" in await recorded(bot)
    said = [text for text in texts(slack, channel) if "Couldn't" in text]
    assert len(said) == 1 and said[0].startswith("Couldn't create the document: ")
    assert len(copies_of(google, "incident_template")) == 1

    google.injected.faults.clear()
    start = bot.ctx.clock()
    bot.ctx.clock = lambda: start + timedelta(minutes=2)
    assert await resume_unfinished(bot.ctx) == 1
    assert (await settled(bot, STEPS))["document"].status == "done"
    [copy] = copies_of(google, "incident_template")
    assert "{{" not in google.documents[copy["id"]]
    assert (await recorded(bot))["document"].external_id == copy["id"]
    said = texts(slack, channel)
    assert sum("Couldn't create" in text for text in said) == 1
    assert sum("The document is ready now" in text for text in said) == 1
    assert [b["title"] for b in slack.bookmarks(channel)].count("Document INC-1 - Incident Document") == 1


async def test_without_a_template_the_document_step_has_nothing_to_do(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    cat = slack.add_user("cat", email="cat@example.com")
    await choose_plugins(bot, GOOGLE)
    await report(slack, cat, "Nothing to copy")
    found = await settled(bot, STEPS)
    assert found["document"].status == "done" and "document" not in await recorded(bot)
    await eventually(lambda: "inc-1@example.com" in google.groups)


async def update(slack: FakeSlack, user: str, channel: str, fields: dict[str, str]) -> None:
    """Submit the update form with `fields` and wait until it is saved (the next form shows it)."""
    await open_update_modal(slack, user, channel)
    await slack.as_user(user).submit_view(fields)
    await slack.wait_for(lambda: "Saved" in str(slack.open_view_for(user) or {}), timeout=5)


async def test_key_changes_reach_the_document_and_stable_brings_one_review_document(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    dan = slack.add_user("dan", email="dan@example.com", real_name="Dan Brown")
    eve = slack.add_user("eve", email="eve@example.com", real_name="Eve Moneypenny")
    channel = await opened(slack, bot, google, dan, "Login failures")
    document = (await recorded(bot))["document"].external_id

    assert "Resolution: (not resolved yet)\n" in google.documents[document]
    fields = {"Title": "Login failures in EU", "Resolution": "Rolled back", "Severity": "High"}
    await update(slack, dan, channel, {**fields, "Status": "Stable"})
    await eventually(lambda: "Status Stable" in google.documents[document])
    assert google.documents[document].startswith("INC-1: Login failures in EU\n")
    assert "Resolution: Rolled back\n" in google.documents[document]
    await eventually(lambda: copies_of(google, "review_template"))
    [review] = copies_of(google, "review_template")
    await eventually(lambda: "{{" not in google.documents[review["id"]])
    assert review["name"] == "INC-1 - Post Incident Review Document"
    link = google.files[document]
    assert google.documents[review["id"]].splitlines() == [
        "Review of INC-1: Login failures in EU (Stable)",
        f"Doc https://drive.google.com/file/d/{link['id']}",
    ]
    await slack.wait_for(lambda: any("review document is ready" in text for text in texts(slack, channel)))
    titles = [b["title"] for b in slack.bookmarks(channel)]
    assert "Review document INC-1 - Post Incident Review Document" in titles

    # A new commander shows in the document; Active then Stable again makes no second review document.
    await assign(slack, dan, channel, eve, "Incident Commander")
    await eventually(lambda: "Commander: Eve Moneypenny" in google.documents[document])
    await update(slack, eve, channel, {"Status": "Active"})
    await eventually(lambda: "Status Active" in google.documents[document])
    await update(slack, eve, channel, {"Status": "Stable"})
    await eventually(lambda: "Status Stable" in google.documents[document])
    await slack.wait_for(lambda: sum("INC-1 updated" in text for text in texts(slack, channel)) == 3)
    assert len(copies_of(google, "review_template")) == 1
    assert sum("review document is ready" in text for text in texts(slack, channel)) == 1
    assert "review_document" in await recorded(bot)


async def test_a_failed_document_update_is_told_to_the_commander_once(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    fay = slack.add_user("fay", email="fay@example.com")
    channel = await opened(slack, bot, google, fay, "Disk full")
    google.fail("POST", "/v1/documents/", 500, times=100)
    before = len(google.calls_to("POST", "/v1/documents/"))
    await update(slack, fay, channel, {"Title": "Disk full on db-3"})
    told = "Couldn't update the incident document of INC-1: Google answered 500"
    await slack.wait_for(lambda: any(told in m.text for m in slack.dms_to(fay)), timeout=10)
    tries = len(google.calls_to("POST", "/v1/documents/")) - before
    await update(slack, fay, channel, {"Title": "Disk full on db-4"})
    await eventually(lambda: len(google.calls_to("POST", "/v1/documents/")) == before + 2 * tries, timeout=10)

    # The next update that lands carries the latest title; by then the second failure was handled.
    google.injected.faults.clear()
    await update(slack, fay, channel, {"Title": "Disk full on db-5"})
    document = (await recorded(bot))["document"].external_id
    await eventually(lambda: google.documents[document].startswith("INC-1: Disk full on db-5\n"))
    assert sum(told in m.text for m in slack.dms_to(fay)) == 1
    assert sum("INC-1 updated" in text for text in texts(slack, channel)) == 3


async def test_the_tactical_group_follows_who_takes_part(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    gus = slack.add_user("gus", email="gus@example.com")
    hal = slack.add_user("hal", email="hal@example.com")
    ivy = slack.add_user("ivy", email="ivy@example.com")
    async with bot.ctx.sessions() as session:  # a public channel, which anyone may join
        project = (await session.exec(select(Project))).one()
        project.private_channels = False
        session.add(project)
        await session.commit()
    channel = await opened(slack, bot, google, gus, "Broker down", templates=False)
    members = google.groups["inc-1@example.com"]["members"]
    assert list(members) == ["gus@example.com"]

    await slack.as_user(ivy).join_channel(channel)  # an Observer now, and so in the group
    await eventually(lambda: "ivy@example.com" in members)
    await slack.as_user(ivy).leave_channel(channel)
    await eventually(lambda: "ivy@example.com" not in members)

    await assign(slack, gus, channel, hal, "Scribe")
    await eventually(lambda: "hal@example.com" in members)
    await slack.wait_for(lambda: hal in slack.members(channel))
    await slack.as_user(hal).leave_channel(channel)
    await eventually(lambda: "hal@example.com" not in members)
    assert list(members) == ["gus@example.com"]
    for _ in range(100):  # the bot records the membership once Google has it
        if (await recorded(bot))["tactical_group"].details["members"] == ["gus@example.com"]:
            break
        await asyncio.sleep(0.05)
    assert (await recorded(bot))["tactical_group"].details["members"] == ["gus@example.com"]


async def test_a_failed_group_sync_is_retried_by_the_reconcile_job(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    gus = slack.add_user("gus", email="gus@example.com")
    hal = slack.add_user("hal", email="hal@example.com")
    channel = await opened(slack, bot, google, gus, "Broker down", templates=False)
    members = google.groups["inc-1@example.com"]["members"]
    google.fail("POST", "/admin/directory/v1/groups/inc-1@example.com/members", 403, times=2)
    await assign(slack, gus, channel, hal, "Scribe")

    async def retry_recorded() -> bool:
        return bool((await recorded(bot))["tactical_group"].details.get(participant_groups.RETRY_AT))

    await people_eventually(retry_recorded)
    assert list(members) == ["gus@example.com"]
    now = bot.ctx.clock()
    assert await participant_groups.retry_group_syncs(bot.ctx) == (0, 0)  # not due yet

    # The first retry is refused too: the run says so rather than counting it as a sync.
    bot.ctx.clock = lambda: now + participant_groups.GROUP_SYNC_RETRY + timedelta(seconds=1)
    assert bot.scheduler is not None
    run = await bot.scheduler.run_now("reconcile")
    assert not run.ok and run.outcome.endswith(", 0 group sync(s); still failing: 1 group sync(s)")
    assert list(members) == ["gus@example.com"]

    bot.ctx.clock = lambda: now + 2 * participant_groups.GROUP_SYNC_RETRY + timedelta(seconds=2)
    run = await bot.scheduler.run_now("reconcile")
    assert run.ok and run.outcome.endswith(", 1 group sync(s)")
    assert sorted(members) == ["gus@example.com", "hal@example.com"]
    group = (await recorded(bot))["tactical_group"]
    assert group.details["members"] == ["gus@example.com", "hal@example.com"]
    assert group.details[participant_groups.RETRY_AT] is None
    assert await participant_groups.retry_group_syncs(bot.ctx) == (0, 0)


async def test_a_conference_that_lands_after_the_document_is_linked_in_it(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    ivy = slack.add_user("ivy", email="ivy@example.com")
    await use_templates(bot, google)
    await choose_plugins(bot, {**GOOGLE, "conference": {"plugin": "google-calendar"}})
    answer = google.hold("/calendar/v3/")  # the meeting comes last: the document does not wait for it
    await report(slack, ivy, "Slow search")
    await people_eventually(lambda: recorded_kinds(bot, "document"))
    resources = await recorded(bot)
    assert "Meet (conference link to come) Folder" in google.documents[resources["document"].external_id]
    answer.set()
    await settled(bot, STEPS + 1, timeout=30)
    resources = await recorded(bot)
    meet = resources["conference"].weblink
    assert meet and f"Meet {meet} Folder" in google.documents[resources["document"].external_id]


async def recorded_kinds(bot: BotProcess, kind: str) -> bool:
    return kind in await recorded(bot)


async def test_a_refused_review_document_is_told_and_the_next_stable_makes_it(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    jan = slack.add_user("jan", email="jan@example.com")
    channel = await opened(slack, bot, google, jan, "Cache stampede")
    [template] = [file_id for file_id, f in google.files.items() if f["name"] == "Review template"]
    google.fail("POST", f"/drive/v3/files/{template}/copy", 403)
    await update(slack, jan, channel, {"Status": "Stable", "Severity": "High"})
    told = "Couldn't create the review document of INC-1: Google does not allow"
    await slack.wait_for(lambda: any(told in m.text for m in slack.dms_to(jan)), timeout=10)
    assert copies_of(google, "review_template") == [] and "review_document" not in await recorded(bot)
    assert any("INC-1 updated" in text for text in texts(slack, channel))

    await update(slack, jan, channel, {"Status": "Active"})
    await update(slack, jan, channel, {"Status": "Stable"})
    await slack.wait_for(
        lambda: any("review document is ready" in t for t in texts(slack, channel)), timeout=10
    )
    assert len(copies_of(google, "review_template")) == 1


async def test_each_executive_report_gets_its_document_from_the_executive_template(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    from tests.test_reports import EXECUTIVE, open_report, result_text

    ada = slack.add_user("ada", email="ada@example.com")
    template = google.add_document(
        "Executive template", "{{name}} for execs: {{current_status}} / {{next_steps}}"
    )
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        assert project.id is not None
        session.add(
            Document(project_id=project.id, name="Exec", kind="executive_template", external_id=template)
        )
        for incident_type in (await session.exec(select(IncidentType))).all():
            incident_type.executive_template = "Exec"
            session.add(incident_type)
        await session.commit()
    channel = await opened(slack, bot, google, ada, "Checkout errors")

    for status in ("Payments fail in the EU", "Fixed, watching"):
        await open_report(slack, ada, channel, EXECUTIVE)
        await slack.as_user(ada).submit_view(
            {"Current status": status, "Overview": "Card payments", "Next steps": "Update at 15:00"}
        )
        await slack.wait_for(lambda: "Executive document" in result_text(slack, ada))
    first, second = (
        next(f for f in google.files.values() if f["name"] == f"INC-1 - Executive Report {n}") for n in (1, 2)
    )
    folder = (await recorded(bot))["storage"]
    assert first["parents"] == [folder.external_id]
    assert google.documents[first["id"]] == "INC-1 for execs: Payments fail in the EU / Update at 15:00"
    assert google.documents[second["id"]] == "INC-1 for execs: Fixed, watching / Update at 15:00"
    assert f"file/d/{second['id']}" in result_text(slack, ada)


async def test_an_executive_document_google_refuses_is_said_in_the_result(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    from tests.test_reports import EXECUTIVE, open_report, result_text

    ada = slack.add_user("ada", email="ada@example.com")
    template = google.add_document("Executive template", "{{name}}: {{current_status}}")
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        assert project.id is not None
        session.add(
            Document(project_id=project.id, name="Exec", kind="executive_template", external_id=template)
        )
        await session.commit()
    channel = await opened(slack, bot, google, ada, "Checkout errors", templates=False)
    google.fail("POST", f"/drive/v3/files/{template}/copy", 403)

    await open_report(slack, ada, channel, EXECUTIVE)
    await slack.as_user(ada).submit_view({"Current status": "Bad", "Overview": "x", "Next steps": "y"})
    await slack.wait_for(lambda: "The executive document could not be made" in result_text(slack, ada))
    assert "403" in result_text(slack, ada)
    assert any("Executive report" in t for t in texts(slack, channel))  # the report itself went out
