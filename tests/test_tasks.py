"""Tasks, as people in an incident use them: create, resolve and re-open, list, reminders, leaving."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select, update

from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from bot.tasks import flows
from storage.models import Task, TaskAssignee, TimelineEvent
from tests.test_people import active_roles, eventually, open_incident
from tests.test_timeline import settled


def modal(slack: FakeSlack, user: str, callback_id: str) -> dict[str, Any] | None:
    view = slack.open_view_for(user)
    return view if view and view.get("callback_id") == callback_id else None


async def create(slack: FakeSlack, user: str, channel: str, **values: Any) -> Any:
    actor = slack.as_user(user)
    await actor.slash_command("/dispatch-create-task", channel=channel)
    await slack.wait_for(lambda: modal(slack, user, "task_create"))
    return await actor.submit_view(values)


async def tasks(bot: BotProcess) -> list[Task]:
    async with bot.ctx.sessions() as session:
        return list((await session.exec(select(Task).order_by(Task.id))).all())


def message_at(slack: FakeSlack, channel: str, ts: str) -> Any:
    return next(m for m in slack.messages(channel) if m.ts == ts)


def task_messages(slack: FakeSlack, channel: str) -> list[Any]:
    return [m for m in slack.messages(channel) if m.text.startswith("Task for")]


async def test_a_task_is_created_with_its_people_and_resolved_from_its_message(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    alice, bob = incident.commander, slack.add_user("bob")
    submitted = await create(
        slack,
        alice,
        incident.channel,
        **{"What needs doing": "Roll back <!channel> the deploy", "Assignees": [bob]},
    )
    assert submitted.response_action is None and submitted.errors is None  # the modal just closes
    [message] = await slack.wait_for(lambda: task_messages(slack, incident.channel))
    shown = str(message.blocks)
    assert "Roll back &lt;!channel&gt; the deploy" in shown and f"<@{bob}>" in shown and "Resolve" in shown
    assert bob in slack.members(incident.channel)  # the assignee was brought in
    assert await eventually(lambda: active_roles(bot, bob)) == ["Participant"]
    await slack.wait_for(
        lambda: any("assigned you a task" in m.text for m in slack.ephemerals(incident.channel, bob))
    )
    [task] = await tasks(bot)
    assert task.owner_user_id == alice and task.status == "open" and task.resolve_by is not None

    await slack.as_user(bob).click_button(incident.channel, message.ts, "Resolve")
    await slack.wait_for(lambda: "Re-open" in str(message_at(slack, incident.channel, message.ts).blocks))
    edited = message_at(slack, incident.channel, message.ts)
    assert "Resolved by" in str(edited.blocks) and len(task_messages(slack, incident.channel)) == 1
    assert (await tasks(bot))[0].status == "resolved"

    await slack.as_user(bob).click_button(incident.channel, message.ts, "Re-open")
    await slack.wait_for(lambda: "Re-open" not in str(message_at(slack, incident.channel, message.ts).blocks))
    async with bot.ctx.sessions() as session:
        kinds = [e.kind for e in (await session.exec(select(TimelineEvent).order_by(TimelineEvent.id))).all()]
    assert [k for k in kinds if k.startswith("task_")] == ["task_created", "task_resolved", "task_reopened"]


async def test_resolve_clicked_before_the_message_ts_is_saved_still_redraws_it(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    await create(slack, incident.commander, incident.channel, **{"What needs doing": "Drain the queue"})
    [message] = await slack.wait_for(lambda: task_messages(slack, incident.channel))

    async def saved_ts() -> str | None:
        return (await tasks(bot))[0].message_ts

    await eventually(saved_ts)
    # As if the click came between posting the message and saving its ts.
    async with bot.ctx.sessions() as session, session.begin():
        await session.exec(update(Task).values(message_ts=None))

    await slack.as_user(incident.commander).click_button(incident.channel, message.ts, "Resolve")
    await slack.wait_for(lambda: "Re-open" in str(message_at(slack, incident.channel, message.ts).blocks))
    assert (await tasks(bot))[0].status == "resolved" and await saved_ts() == message.ts


async def test_a_redelivered_submission_makes_one_task(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    await create(slack, incident.commander, incident.channel, **{"What needs doing": "Page the DBA"})
    await slack.wait_for(lambda: task_messages(slack, incident.channel))
    [task] = await tasks(bot)
    assert task.request_key is not None
    # What a second delivery of the same submission does.
    from bot.tasks.facts import TaskDraft

    again = await flows.create_task(
        bot.ctx,
        TaskDraft(
            task.request_key, task.incident_id, incident.channel, incident.commander, "Page the DBA", (), None
        ),
    )
    assert again.card.id == task.id
    await settled(bot)
    assert len(await tasks(bot)) == 1 and len(task_messages(slack, incident.channel)) == 1
    async with bot.ctx.sessions() as session:
        assignees = (await session.exec(select(TaskAssignee.user_id))).all()
    assert assignees == [incident.commander]  # nobody assigned: the creator takes it on


async def test_bad_task_input_is_answered_in_the_modal(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    empty = await create(slack, incident.commander, incident.channel, **{"What needs doing": "   "})
    assert empty.errors == {"task_description": "Say what needs doing."}
    past = await slack.as_user(incident.commander).submit_view(
        {"What needs doing": "Write the summary", "Due": "2020-01-01"}
    )
    assert past.errors is not None and "passed" in past.errors["task_due"]
    assert await tasks(bot) == []


async def test_someone_outside_the_incident_cannot_create_or_resolve(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    await create(slack, incident.commander, incident.channel, **{"What needs doing": "Rotate keys"})
    [message] = await slack.wait_for(lambda: task_messages(slack, incident.channel))

    mallory = slack.add_user("mallory")
    general = slack.add_channel("general", members=[mallory, slack.bot_user_id])
    await slack.as_user(mallory).slash_command("/dispatch-create-task", channel=general)
    told = await slack.wait_for(lambda: slack.ephemerals(general, mallory))
    assert "only works in an incident channel" in told[0].text

    # A form aimed at the incident by someone outside it is refused inline.
    await slack.as_user(incident.commander).slash_command("/dispatch-create-task", channel=incident.channel)
    view = await slack.wait_for(lambda: modal(slack, incident.commander, "task_create"))
    slack.workspace.modal_stacks[mallory] = [view["id"]]  # as if mallory's client sent alice's form
    refused = await slack.as_user(mallory).submit_view({"What needs doing": "Delete the logs"})
    assert refused.errors is not None and "participants" in refused.errors["task_description"]
    assert len(await tasks(bot)) == 1
    # mallory clicking the task's button (the message shared with her) changes nothing.
    slack.channel(incident.channel).members.add(mallory)
    await slack.as_user(mallory).click_button(incident.channel, message.ts, "Resolve")
    await slack.wait_for(
        lambda: [
            p for p in slack.response_url_posts if "Only the people working on" in p.body.get("text", "")
        ]
    )
    assert (await tasks(bot))[0].status == "open"


async def test_the_task_lists_group_open_and_resolved_and_their_buttons_redraw_them(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    alice, bob = incident.commander, slack.add_user("bob")
    await create(
        slack, alice, incident.channel, **{"What needs doing": "Check the replicas", "Assignees": [bob]}
    )
    await create(slack, alice, incident.channel, **{"What needs doing": "Write the timeline"})
    await slack.wait_for(lambda: len(task_messages(slack, incident.channel)) == 2 or None)

    await slack.as_user(alice).slash_command("/dispatch-list-tasks", channel=incident.channel)
    view = await slack.wait_for(lambda: modal(slack, alice, "task_list"))
    shown = str(view["blocks"])
    assert "Open tasks (2)" in shown and "Resolved tasks (0)" in shown and "No tasks." in shown
    await slack.as_user(alice).click_in_view(f"task_status:list:{(await tasks(bot))[0].id}")
    redrawn = await slack.wait_for(
        lambda: (v := modal(slack, alice, "task_list")) and "Resolved tasks (1)" in str(v["blocks"]) and v
    )
    assert "Open tasks (1)" in str(redrawn["blocks"])

    # bob's own list, asked for anywhere, shows only his task, with its incident.
    await slack.as_user(bob).slash_command("/dispatch-list-my-tasks")
    mine = await slack.wait_for(lambda: modal(slack, bob, "task_list"))
    assert "Check the replicas" in str(mine["blocks"]) and "Write the timeline" not in str(mine["blocks"])
    assert "INC-1" in str(mine["blocks"])


async def test_overdue_tasks_are_reminded_once_a_day(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    bob = slack.add_user("bob")
    await create(
        slack,
        incident.commander,
        incident.channel,
        **{"What needs doing": "Fix the alert", "Assignees": [bob]},
    )
    await slack.wait_for(lambda: task_messages(slack, incident.channel))
    start = bot.ctx.clock()

    assert await flows.remind_overdue(bot.ctx) == "reminded about 0 overdue task(s)"  # not due yet
    bot.ctx.clock = lambda: start + timedelta(days=2)
    assert await flows.remind_overdue(bot.ctx) == "reminded about 1 overdue task(s)"
    assert await flows.remind_overdue(bot.ctx) == "reminded about 0 overdue task(s)"  # once a day
    reminders = [m for m in slack.dms_to(bob) if "Overdue task" in m.text]
    assert len(reminders) == 1 and "Fix the alert" in str(reminders[0].blocks)

    # Resolving it from the reminder stops the next ones and updates the DM in place.
    await slack.as_user(bob).click_button(reminders[0].channel, reminders[0].ts, "Resolve")
    await slack.wait_for(
        lambda: "Re-open" in str(message_at(slack, reminders[0].channel, reminders[0].ts).blocks)
    )
    bot.ctx.clock = lambda: start + timedelta(days=4)
    assert await flows.remind_overdue(bot.ctx) == "reminded about 0 overdue task(s)"


async def test_leaving_with_open_tasks_brings_you_back(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    bob = slack.add_user("bob")
    await create(
        slack,
        incident.commander,
        incident.channel,
        **{"What needs doing": "Fix the alert", "Assignees": [bob]},
    )
    await slack.wait_for(lambda: task_messages(slack, incident.channel))
    await slack.wait_for(lambda: bob in slack.members(incident.channel) or None)
    await eventually(lambda: active_roles(bot, bob))

    await slack.as_user(bob).leave_channel(incident.channel)
    await slack.wait_for(lambda: bob in slack.members(incident.channel) or None)
    told = await slack.wait_for(
        lambda: [m for m in slack.ephemerals(incident.channel, bob) if "open tasks" in m.text]
    )
    assert "Fix the alert" in told[0].text
    assert await active_roles(bot, bob) == ["Participant"]
