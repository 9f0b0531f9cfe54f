"""The incident timeline as responders use it, through the fake Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from bot.timeline import flows
from storage.models import ParticipantRole, TimelineEvent
from tests.test_incident_report import report, wait_until_opened
from tests.test_process import cli, environment


async def open_incident(slack: FakeSlack, bot: BotProcess, commander: str, *others: str) -> str:
    """Report an incident as `commander`, wait until it is open and put `others` in its channel."""
    await report(slack, commander, "Checkout is down")
    await wait_until_opened(slack, bot)
    channel = slack.channel_by_name("inc-1-checkout-is-down")
    assert channel is not None
    channel.members.update(others)
    return channel.id


async def settled(bot: BotProcess, timeout: float = 5) -> None:
    """Until the bot has no background work left (what it does after acknowledging)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while bot.ctx.tasks.pending:
        assert asyncio.get_running_loop().time() < deadline, "background work did not finish"
        await asyncio.sleep(0.01)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 5) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, "the condition was not met in time"
        await asyncio.sleep(0.02)
    return result


async def events(bot: BotProcess, kind: str | None = None) -> list[TimelineEvent]:
    async with bot.ctx.sessions() as session:
        statement = select(TimelineEvent).order_by(TimelineEvent.id)
        if kind is not None:
            statement = statement.where(TimelineEvent.kind == kind)
        return list((await session.exec(statement)).all())


async def react(slack: FakeSlack, bot: BotProcess, user: str, channel: str, ts: str, emoji: str) -> Any:
    delivery = await slack.as_user(user).add_reaction(channel, ts, emoji)
    await delivery.acked(timeout=3)
    await settled(bot)
    return delivery


async def unreact(slack: FakeSlack, bot: BotProcess, user: str, channel: str, ts: str, emoji: str) -> None:
    delivery = await slack.as_user(user).remove_reaction(channel, ts, emoji)
    await delivery.acked(timeout=3)
    await settled(bot)


def modal(slack: FakeSlack, user: str, callback_id: str) -> dict[str, Any] | None:
    view = slack.open_view_for(user)
    return view if view and view.get("callback_id") == callback_id else None


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def on_screen(slack: FakeSlack, user: str, text: str) -> dict[str, Any] | None:
    """The modal the user sees, once it shows `text`."""
    view = slack.open_view_for(user)
    return view if view and text in str(view["blocks"]) else None


def section_texts(view: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]


# ----- reaction capture -----


async def test_a_stopwatch_reaction_puts_the_message_on_the_timeline_once(
    slack: FakeSlack, bot: BotProcess
) -> None:
    alice = slack.add_user("alice")
    bob = slack.add_user("bob", real_name="Bob Builder")
    carol = slack.add_user("carol")
    channel = await open_incident(slack, bot, alice, bob, carol)

    message = await slack.as_user(bob).post_message(
        channel, f"Deploy 42 broke checkout, <@{carol}> is rolling back & watching"
    )
    first = await react(slack, bot, carol, channel, message.ts, "stopwatch")

    [event] = await events(bot, "slack_message")
    assert event.actor == carol
    assert event.details["author"] == bob and event.details["author_name"] == "bob"
    assert event.occurred_at == datetime.fromtimestamp(float(message.ts), UTC)
    assert event.description == "Deploy 42 broke checkout, @carol is rolling back & watching"
    assert event.details["permalink"] == (
        f"https://test-team.slack.com/archives/{channel}/p{message.ts.replace('.', '')}"
    )
    assert event.source == "Slack message from bob"
    assert event.dedupe_key == f"message:{channel}:{message.ts}"

    # A second person's reaction and a redelivered event change nothing.
    await react(slack, bot, alice, channel, message.ts, "stopwatch")
    again = await slack.deliver("events_api", first.payload)
    await again.acked(timeout=3)
    await settled(bot)
    assert len(await events(bot, "slack_message")) == 1
    assert slack.messages(channel)[-1].ts == message.ts, "capturing posts nothing in the channel"

    # The event stays while anyone's stopwatch is on the message and goes with the last one.
    await unreact(slack, bot, carol, channel, message.ts, "stopwatch")
    assert len(await events(bot, "slack_message")) == 1
    await unreact(slack, bot, alice, channel, message.ts, "stopwatch")
    assert await events(bot, "slack_message") == []


async def test_a_thread_reply_is_captured_with_its_links_and_files_kept(
    slack: FakeSlack, bot: BotProcess
) -> None:
    alice = slack.add_user("alice")
    dave = slack.add_user("dave")
    channel = await open_incident(slack, bot, alice, dave)
    root = await slack.as_user(dave).post_message(channel, "Investigating the payment gateway")
    reply = await slack.as_user(dave).post_message(
        channel, "Vendor confirms: <https://status.example/incidents/7|status page>", thread_ts=root.ts
    )
    stored = slack.channel(channel).find(reply.ts)
    assert stored is not None
    upload = await bot.ctx.slack.files_upload_v2(content="trace", filename="trace.txt")
    stored.files.append(upload["file"]["id"])

    await react(slack, bot, alice, channel, reply.ts, "stopwatch")

    [event] = await events(bot, "slack_message")
    assert event.details["thread_ts"] == root.ts
    assert event.occurred_at == datetime.fromtimestamp(float(reply.ts), UTC)
    assert event.description.startswith("Vendor confirms: status page (https://status.example/incidents/7)")
    assert f"📎 trace.txt: https://files.example/{upload['file']['id']}" in event.description
    assert event.details["links"] == ["https://status.example/incidents/7"]
    assert f"thread_ts={root.ts}" in event.details["permalink"]


async def test_reactions_that_are_not_for_the_timeline_are_ignored(
    slack: FakeSlack, bot: BotProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    alice = slack.add_user("alice")
    erin = slack.add_user("erin")
    channel = await open_incident(slack, bot, alice, erin)
    general = slack.add_channel("general", members=[erin, slack.bot_user_id])

    elsewhere = await slack.as_user(erin).post_message(general, "unrelated chatter")
    await react(slack, bot, erin, general, elsewhere.ts, "stopwatch")
    in_incident = await slack.as_user(erin).post_message(channel, "looking")
    await react(slack, bot, alice, channel, in_incident.ts, "eyes")
    bots_own = next(m for m in slack.messages(channel) if m.user == slack.bot_user_id)
    await react(slack, bot, erin, channel, bots_own.ts, "stopwatch")
    malformed = await slack.emit_event({"type": "reaction_added", "user": erin, "reaction": "stopwatch"})
    await malformed.acked(timeout=3)
    await settled(bot)

    assert await events(bot, "slack_message") == []
    assert slack.calls_to("conversations.history") == [], "nothing was fetched for ignored reactions"
    assert len(malformed.attempts) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("skipped a malformed reaction event (no item)")


async def test_adding_and_removing_at_once_leaves_no_stale_event(slack: FakeSlack, bot: BotProcess) -> None:
    alice = slack.add_user("alice")
    channel = await open_incident(slack, bot, alice)
    message = await slack.as_user(alice).post_message(channel, "flapping")
    actor = slack.as_user(alice)
    added = await actor.add_reaction(channel, message.ts, "stopwatch")
    removed = await actor.remove_reaction(channel, message.ts, "stopwatch")
    await added.acked(timeout=3)
    await removed.acked(timeout=3)
    await settled(bot)
    assert await events(bot, "slack_message") == []


async def test_a_removal_on_another_replica_during_a_slow_capture_leaves_no_event(
    slack: FakeSlack, bot: BotProcess, database_url: str, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    channel = await open_incident(slack, bot, alice)
    message = await slack.as_user(alice).post_message(channel, "flapping")
    await settled(bot)
    # A second replica in its own process, so nothing in this process can order the two.
    replica = await cli("run", env=environment(slack, database_url), cwd=tmp_path)
    try:
        await slack.wait_connected(timeout=30, count=2)
        actor = slack.as_user(alice)
        # The capture reads the message (the reaction still on it), then waits on its permalink.
        slack.faults.latency("chat.getPermalink", 1.5)
        added = await actor.add_reaction(channel, message.ts, "stopwatch")
        await added.acked(timeout=3)
        await eventually(lambda: _async(bool(slack.calls_to("chat.getPermalink"))))
        # Deliveries alternate between the two connections: the removal goes to the other replica,
        # which has the time the capture still waits to finish it.
        removed = await actor.remove_reaction(channel, message.ts, "stopwatch")
        await removed.acked(timeout=3)
        await eventually(lambda: _async(slack.calls_to("chat.getPermalink")[0].response is not None))
        await asyncio.sleep(1)
        await settled(bot)
        assert await events(bot, "slack_message") == []
    finally:
        slack.faults.latency("chat.getPermalink", 0)
        replica.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(replica.communicate(), timeout=30)
        finally:
            if replica.returncode is None:
                replica.kill()
                await replica.wait()


async def _async(value: Any) -> Any:
    return value


# ----- /dispatch-add-timeline-event -----


async def test_a_lead_adds_an_event_in_their_own_time_zone(slack: FakeSlack, bot: BotProcess) -> None:
    alice = slack.add_user("alice", tz="Europe/Paris")
    channel = await open_incident(slack, bot, alice)
    actor = slack.as_user(alice)

    await actor.slash_command(
        "/dispatch-add-timeline-event desc Rolled back DATE 2026-01-02 time 10:30", channel=channel
    )
    view = await slack.wait_for(lambda: modal(slack, alice, "timeline_add_event"))
    assert block(view, "description")["element"]["initial_value"] == "Rolled back"
    assert block(view, "date")["element"]["initial_date"] == "2026-01-02"
    assert block(view, "time")["element"]["initial_time"] == "10:30"
    zone = block(view, "timezone")["element"]
    assert zone["initial_option"]["text"]["text"] == "Your Slack time zone (Europe/Paris)"
    assert [option["text"]["text"] for option in zone["options"]][1] == "UTC"

    submitted = await actor.submit_view()
    assert submitted.response_action is None and slack.open_view_for(alice) is None
    note = await slack.wait_for(lambda: [m for m in slack.messages(channel) if "timeline" in m.text])
    assert note[-1].text == (
        f"🕒 <@{alice}> added to the timeline: *2026-01-02 09:30 UTC* (10:30 in Europe/Paris) — Rolled back"
    )
    [event] = await eventually(lambda: events(bot, "manual"))
    assert event.occurred_at == datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
    assert (event.description, event.actor) == ("Rolled back", alice)

    # The same submission delivered again adds nothing and posts nothing.
    again = await slack.deliver("interactive", submitted.delivery.payload)
    await again.acked(timeout=3)
    await settled(bot)
    assert len(await events(bot, "manual")) == 1
    assert len([m for m in slack.messages(channel) if "added to the timeline" in m.text]) == 1


async def test_user_text_in_the_confirmation_is_escaped_and_utc_can_be_chosen(
    slack: FakeSlack, bot: BotProcess
) -> None:
    alice = slack.add_user("alice", tz="America/New_York")
    # Past 08:15 UTC, on a day that is the same in New York (the form's date is alice's today).
    bot.ctx.clock = lambda: datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    channel = await open_incident(slack, bot, alice)
    actor = slack.as_user(alice)
    await actor.slash_command("/dispatch-add-timeline-event", channel=channel)
    view = await slack.wait_for(lambda: modal(slack, alice, "timeline_add_event"))
    assert "initial_value" not in block(view, "description")["element"]
    await actor.submit_view(
        {"Description": "<!channel> paged & <https://evil.example|docs>", "Time zone": "UTC", "Time": "08:15"}
    )
    await settled(bot)
    [note] = [m for m in slack.messages(channel) if "added to the timeline" in m.text]
    assert "&lt;!channel&gt; paged &amp; &lt;https://evil.example|docs&gt;" in note.text
    assert "<!channel>" not in note.text and "(08:15 in" not in note.text
    [event] = await events(bot, "manual")
    assert event.occurred_at.strftime("%H:%M") == "08:15"
    assert event.description == "<!channel> paged & <https://evil.example|docs>"


async def test_only_the_commander_or_scribe_may_add_events(slack: FakeSlack, bot: BotProcess) -> None:
    alice = slack.add_user("alice")
    bob = slack.add_user("bob")
    channel = await open_incident(slack, bot, alice, bob)
    await slack.as_user(bob).slash_command("/dispatch-add-timeline-event DESC sneaky", channel=channel)
    refusal = await slack.wait_for(lambda: slack.ephemerals(channel, bob))
    assert (
        "Only the incident commander or the scribe can run `/dispatch-add-timeline-event`" in refusal[-1].text
    )
    assert f"<@{alice}>" in refusal[-1].text
    assert slack.open_view_for(bob) is None
    assert await events(bot, "manual") == []


async def test_an_empty_description_or_a_future_time_is_refused_in_the_modal(
    slack: FakeSlack, bot: BotProcess
) -> None:
    alice = slack.add_user("alice")
    channel = await open_incident(slack, bot, alice)
    actor = slack.as_user(alice)
    await actor.slash_command("/dispatch-add-timeline-event", channel=channel)
    await slack.wait_for(lambda: modal(slack, alice, "timeline_add_event"))

    empty = await actor.submit_view({"Description": "   "}, force=True)
    assert empty.errors == {"description": "Describe what happened."}
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    future = await actor.submit_view(
        {"Description": "Fixed", "Date": tomorrow.date(), "Time": "12:00", "Time zone": "UTC"}
    )
    assert future.errors is not None and set(future.errors) == {"time"}
    assert "has not happened yet" in future.errors["time"]
    await settled(bot)
    assert await events(bot, "manual") == []
    assert modal(slack, alice, "timeline_add_event") is not None, "the modal stays open to be corrected"


async def test_a_commander_who_lost_the_role_before_submitting_is_told_and_keeps_their_text(
    slack: FakeSlack, bot: BotProcess
) -> None:
    alice = slack.add_user("alice")
    channel = await open_incident(slack, bot, alice)
    actor = slack.as_user(alice)
    await actor.slash_command("/dispatch-add-timeline-event DESC Failed over to eu-west", channel=channel)
    await slack.wait_for(lambda: modal(slack, alice, "timeline_add_event"))
    async with bot.ctx.sessions() as session:
        for role in (await session.exec(select(ParticipantRole))).all():
            role.renounced_at = datetime.now(UTC)
            session.add(role)
        await session.commit()
    await actor.submit_view()
    told = await slack.wait_for(
        lambda: [m for m in slack.ephemerals(channel, alice) if "not added" in m.text]
    )
    assert "no longer hold either role" in told[0].text and "\n>Failed over to eu-west" in told[0].text
    assert await events(bot, "manual") == []


# ----- /dispatch-timeline -----


async def test_the_timeline_modal_pages_and_exports_markdown_to_the_channel(
    slack: FakeSlack, bot: BotProcess
) -> None:
    alice = slack.add_user("alice")
    bob = slack.add_user("bob")
    channel = await open_incident(slack, bot, alice, bob)
    message = await slack.as_user(bob).post_message(channel, f"<@{alice}> the cache is cold")
    await react(slack, bot, alice, channel, message.ts, "stopwatch")
    async with bot.ctx.sessions() as session:
        start = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
        incident_id = (await events(bot))[0].incident_id
        for index in range(25):
            session.add(
                TimelineEvent(
                    incident_id=incident_id,
                    kind="manual",
                    description=f"Step {index:02d} <done>",
                    actor=alice,
                    occurred_at=start + timedelta(minutes=index),
                )
            )
        await session.commit()
    total = len(await events(bot))
    assert total > 25

    viewer = slack.as_user(bob)
    await viewer.slash_command("/dispatch-timeline", channel=channel)
    view = await slack.wait_for(lambda: modal(slack, bob, "timeline_list"))
    texts = section_texts(view)
    assert f"{total} events · page 1 of 2 · times in UTC" in texts[0]
    assert len(texts) == 1 + flows.PAGE_SIZE
    assert "💬" in texts[1] and f"<@{bob}>: @alice the cache is cold" in texts[1]
    assert "`2026-01-02 08:00`  📝  Step 00 &lt;done&gt; — " in texts[2]
    assert [e["text"]["text"] for e in block(view, "timeline_buttons")["elements"]] == [
        "Next",
        "Export as Markdown",
    ]

    await viewer.click_in_view("Next")
    second = await slack.wait_for(lambda: on_screen(slack, bob, "page 2 of 2"))
    shown = section_texts(second)[1:]
    assert len(shown) == total - flows.PAGE_SIZE and "Step 19" in shown[0]
    assert [e["text"]["text"] for e in block(second, "timeline_buttons")["elements"]] == [
        "Previous",
        "Export as Markdown",
    ]

    await viewer.click_in_view("Export as Markdown")
    [upload] = await slack.wait_for(
        lambda: [f for f in slack.files if f.name.endswith("timeline.md") and f.completed]
    )
    assert upload.channels == [channel] and upload.content is not None
    document = upload.content.decode()
    assert document.startswith("# INC-1 timeline: Checkout is down")
    assert "Message from bob: @alice the cache is cold" in document
    assert "- **2026-01-02 08:24** 📝 Step 24 <done> _(alice)_" in document
    assert document.count("\n- **") == total
    shared = [m for m in slack.messages(channel) if m.subtype == "file_share"]
    assert shared and "exported the timeline of INC-1" in shared[-1].text
    final = await slack.wait_for(lambda: on_screen(slack, bob, "✅ Exported"))
    assert f"to <#{channel}> as `INC-1-timeline.md`" in str(final["blocks"])


async def test_the_timeline_command_outside_an_incident_channel_says_where_it_works(
    slack: FakeSlack, bot: BotProcess
) -> None:
    frank = slack.add_user("frank")
    general = slack.add_channel("general", members=[frank, slack.bot_user_id])
    await slack.as_user(frank).slash_command("/dispatch-timeline", channel=general)
    told = await slack.wait_for(lambda: slack.ephemerals(general, frank))
    assert "`/dispatch-timeline` only works in an incident channel" in told[0].text
    assert slack.open_view_for(frank) is None


async def test_a_forged_timeline_form_shows_no_restricted_timeline(slack: FakeSlack, bot: BotProcess) -> None:
    import json

    alice, bob = slack.add_user("alice"), slack.add_user("bob")
    await report(slack, alice, "Credential leak", Visibility="Restricted")
    await report(slack, bob, "Slow search")
    await wait_until_opened(slack, bot, count=2)
    secret = next(c for c in slack.workspace.channels.values() if "credential-leak" in c.name)
    mine = next(c for c in slack.workspace.channels.values() if "slow-search" in c.name)
    async with bot.ctx.sessions() as session:
        from storage.models import Incident

        leak = next(i for i in (await session.exec(select(Incident))).all() if i.title == "Credential leak")

    await slack.as_user(bob).slash_command("/dispatch-timeline", channel=mine.id)
    view = await slack.wait_for(lambda: modal(slack, bob, "timeline_list"))
    metadata = {"incident_id": leak.id, "channel_id": secret.id, "page": 0}
    slack.workspace.views[view["id"]]["private_metadata"] = json.dumps(metadata)  # as a forged client would
    await slack.as_user(bob).click_in_view("Export as Markdown")
    await slack.wait_for(lambda: on_screen(slack, bob, "cannot be shown"))
    assert not [f for f in slack.files if f.name.endswith("timeline.md")]


async def test_a_timeline_form_with_unreadable_context_gets_an_answer(
    slack: FakeSlack, bot: BotProcess
) -> None:
    alice = slack.add_user("alice")
    channel = await open_incident(slack, bot, alice)
    await slack.as_user(alice).slash_command("/dispatch-add-timeline-event", channel=channel)
    view = await slack.wait_for(lambda: modal(slack, alice, "timeline_add_event"))
    slack.workspace.views[view["id"]]["private_metadata"] = "{not json"  # as a broken client would send
    result = await slack.as_user(alice).submit_view({"Description": "Rolled back", "Time": "08:15"})
    assert result.response_action == "update" and "could not be read" in str(result.ack)
    assert await events(bot, "manual") == []
