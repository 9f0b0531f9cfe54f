"""Tasks kept in the incident document: assigned comments become tasks in Slack, and resolving or
re-opening either side reaches the other, through the real googleapiclient against the fake Google."""

from __future__ import annotations

from sqlmodel import select

from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from plugins.google.client import GoogleWorkspace
from plugins.google.tasks import GoogleDocTasks, assignees_of
from storage import incidents as store
from storage.models import Task, TimelineEvent
from tests.fakes.google import FakeGoogle
from tests.test_google import private_key, workspace  # noqa: F401  (fixtures)
from tests.test_incident_resources import bot, google  # noqa: F401  (fixtures)
from tests.test_people import open_incident
from tests.test_tasks import message_at, task_messages
from tests.test_tickets import choose_plugins


async def test_only_comments_that_assign_someone_are_tasks(
    google: FakeGoogle,
    workspace: GoogleWorkspace,
) -> None:
    doc = google.add_document("INC-1 Incident document", "Timeline")
    google.COMMENTS_PAGE = 2  # the answer comes in pages
    google.add_comment(doc, "Looks like the cache", "ada@example.com")
    roll = google.add_comment(doc, "+Bob@example.com roll back the deploy", "ada@example.com")
    google.add_comment(doc, "Done already +cy@example.com", "ada@example.com", resolved=True)
    tasks = GoogleDocTasks(workspace)

    found = await tasks.list(doc)

    assert [(t.description, t.assignees, t.creator, t.resolved) for t in found] == [
        ("roll back the deploy", ["bob@example.com"], "ada@example.com", False),
        ("Done already", ["cy@example.com"], "ada@example.com", True),
    ]
    assert found[0].weblink == f"https://docs.google.com/document/d/{doc}/edit?disco={roll}"
    await tasks.set_resolved(doc, roll, True, "Resolved in Slack")
    assert google.comment(doc, roll)["resolved"] is True
    assert google.comment(doc, roll)["replies"][-1]["content"] == "Resolved in Slack"


def test_assignments_are_plus_mentions_of_addresses() -> None:
    assert assignees_of(["ask +a@x.io and +B@x.io", "+a@x.io again", "mail c@x.io", "a+d@x.io"]) == [
        "a@x.io",
        "b@x.io",
    ]


async def incident_with_document(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> tuple[str, str, str]:
    """An open incident whose document is in Google; its channel, commander and document id."""
    await choose_plugins(bot, {"task": {"plugin": "google-tasks"}})
    incident = await open_incident(slack, bot)
    doc = google.add_document("INC-1 Incident document", "Notes")
    async with bot.ctx.sessions() as session, session.begin():
        found = await store.incident_by_channel(session, incident.channel)
        assert found is not None and found.id is not None
        await store.record_resource(session, found.id, "document", doc)
    return incident.channel, incident.commander, doc


async def sync(bot: BotProcess) -> str:
    result = await bot.scheduler.run_now("document-tasks")
    assert result.ok, result.outcome
    return result.outcome


async def tasks(bot: BotProcess) -> list[Task]:
    async with bot.ctx.sessions() as session:
        return list((await session.exec(select(Task).order_by(Task.id))).all())


async def test_an_assigned_comment_becomes_a_task_and_resolution_is_mirrored_both_ways(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    channel, commander, doc = await incident_with_document(slack, bot, google)
    bob = slack.add_user("bob", email="bob@example.com")
    comment = google.add_comment(doc, "+bob@example.com check the replica lag", "ada@example.com")
    google.add_comment(doc, "just a remark", "ada@example.com")

    assert "1 change(s)" in await sync(bot)
    [message] = task_messages(slack, channel)
    assert "check the replica lag" in str(message.blocks) and f"<@{bob}>" in str(message.blocks)
    assert f"edit?disco={comment}|in the document" in str(message.blocks)
    assert bob in slack.members(channel)
    [task] = await tasks(bot)
    assert (task.external_id, task.status, task.creator_user_id) == (comment, "open", commander)
    assert "0 change(s)" in await sync(bot)  # read again: nothing new, no second task
    assert len(await tasks(bot)) == 1

    # Resolved in the document: the task resolves and its message says so.
    google.comment(doc, comment)["resolved"] = True
    assert "1 change(s)" in await sync(bot)
    assert (await tasks(bot))[0].status == "resolved"
    assert "Re-open" in str(message_at(slack, channel, message.ts).blocks)

    # Re-opened in Slack: the comment re-opens, with a reply saying where.
    await slack.as_user(bob).click_button(channel, message.ts, "Re-open")
    await slack.wait_for(lambda: "Re-open" not in str(message_at(slack, channel, message.ts).blocks))
    assert "1 change(s)" in await sync(bot)
    assert google.comment(doc, comment)["resolved"] is False
    assert google.comment(doc, comment)["replies"][-1] == {
        **google.comment(doc, comment)["replies"][-1],
        "action": "reopen",
        "content": "Re-opened in Slack",
    }
    assert "0 change(s)" in await sync(bot)
    async with bot.ctx.sessions() as session:
        events = (await session.exec(select(TimelineEvent).order_by(TimelineEvent.id))).all()
    described = [e.description for e in events if e.kind.startswith("task_")]
    assert described[1] == "The task was resolved in the incident document: check the replica lag"
    assert described[2] == f"<@{bob}> re-opened the task: check the replica lag"


async def test_a_document_google_cannot_read_is_logged_and_read_again_next_time(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    channel, _, doc = await incident_with_document(slack, bot, google)
    slack.add_user("bob", email="bob@example.com")
    google.add_comment(doc, "+bob@example.com page the DBA", "ada@example.com")
    google.fail("GET", f"/drive/v3/files/{doc}/comments", 403)

    assert "1 failed" in await sync(bot)
    assert task_messages(slack, channel) == [] and await tasks(bot) == []
    assert "1 change(s)" in await sync(bot)
    assert len(task_messages(slack, channel)) == 1
