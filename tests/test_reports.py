"""Tactical and executive reports as an incident commander sends them, through the fake Slack, on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from bot.reports import flows
from bot.reports.facts import TACTICAL_REPORT, SubmittedReport
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Incident, Participant, ParticipantRole, Report, TimelineEvent
from tests.test_incident_report import report, wait_until_opened
from tests.test_incident_update import open_incident

TACTICAL, EXECUTIVE = "/dispatch-report-tactical", "/dispatch-report-executive"
CALLBACK = {TACTICAL: "report_tactical", EXECUTIVE: "report_executive"}


def modal(slack: FakeSlack, user: str, callback_id: str) -> dict[str, Any] | None:
    view = slack.open_view_for(user)
    return view if view and view.get("callback_id") == callback_id else None


async def open_report(slack: FakeSlack, user: str, channel: str, command: str = TACTICAL) -> dict[str, Any]:
    """The user runs the command in the channel; returns the report modal once it is filled in."""
    await slack.as_user(user).slash_command(command, channel=channel)
    view = await slack.wait_for(lambda: modal(slack, user, CALLBACK[command]), timeout=5)
    assert isinstance(view, dict)
    return view


def initial(view: dict[str, Any], label: str) -> str | None:
    block = next(b for b in view["blocks"] if b.get("label", {}).get("text") == label)
    value = block["element"].get("initial_value")
    return str(value) if value is not None else None


def result_text(slack: FakeSlack, user: str) -> str:
    return str((slack.open_view_for(user) or {}).get("blocks") or "")


async def reports(bot: BotProcess) -> list[Report]:
    async with bot.ctx.sessions() as session:
        return list((await session.exec(select(Report).order_by(col(Report.id)))).all())


async def report_events(bot: BotProcess) -> list[TimelineEvent]:
    async with bot.ctx.sessions() as session:
        statement = (
            select(TimelineEvent).where(TimelineEvent.kind == "report").order_by(col(TimelineEvent.id))
        )
        return list((await session.exec(statement)).all())


def posted_reports(slack: FakeSlack, channel: str, name: str = "Tactical report") -> list[Any]:
    return [m for m in slack.messages(channel) if m.text.startswith(f"{name} for ")]


async def settled(bot: BotProcess) -> None:
    """Let the work started by the last acks finish."""
    for _ in range(100):
        if not bot.ctx.tasks.pending:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("background work did not finish")


async def send_tactical(slack: FakeSlack, user: str, channel: str, **fields: str) -> Any:
    await open_report(slack, user, channel)
    values = {"Conditions": "EU checkout fails", "Actions": "Rolling back", "Needs": "A DBA", **fields}
    submitted = await slack.as_user(user).submit_view(values)
    await slack.wait_for(lambda: "is posted" in result_text(slack, user), timeout=5)
    return submitted


async def test_a_tactical_report_is_posted_pinned_saved_and_on_the_timeline(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Checkout errors")
    view = await open_report(slack, ada, channel)
    assert "first tactical report of INC-1" in str(view["blocks"])
    assert initial(view, "Conditions") is None

    submitted = await slack.as_user(ada).submit_view(
        {
            "Conditions": "Checkout fails <!channel> & <https://evil.example|your bank>",
            "Actions": "Paged <@U0BOSS>; rolling back",
            "Needs": "A DBA for *orders*",
        }
    )
    assert submitted.response_action == "update" and "Saving" in str(submitted.ack)
    await slack.wait_for(lambda: "posted and pinned" in result_text(slack, ada), timeout=5)
    assert f"<#{channel}>" in result_text(slack, ada)

    [message] = posted_reports(slack, channel)
    shown = str(message.blocks)
    assert "Tactical report · INC-1" in shown and f"From <@{ada}>" in shown
    assert "Checkout fails &lt;!channel&gt; &amp; &lt;https://evil.example|your bank&gt;" in shown
    assert "&lt;@U0BOSS&gt;" in shown
    assert "<!channel>" not in shown and "<https://evil" not in shown
    assert message.ts in [pin.ts for pin in slack.pins(channel)]

    [row] = await reports(bot)
    assert (row.kind, row.author_user_id, row.channel_id, row.message_ts) == (
        "tactical",
        ada,
        channel,
        message.ts,
    )
    assert row.details == {
        "conditions": "Checkout fails <!channel> & <https://evil.example|your bank>",
        "actions": "Paged <@U0BOSS>; rolling back",
        "needs": "A DBA for *orders*",
    }
    assert row.pinned_at is not None and row.delivered_at is not None
    [event] = await report_events(bot)
    assert event.actor == ada and event.details["type"] == "tactical"
    assert event.details["report_id"] == row.id and "sent a tactical report" in event.description


async def test_the_next_tactical_report_starts_from_the_last_one(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Slow search")
    await send_tactical(slack, ada, channel, Needs="More shards")
    await slack.as_user(ada).close_view()

    view = await open_report(slack, ada, channel)
    assert initial(view, "Conditions") == "EU checkout fails"
    assert initial(view, "Actions") == "Rolling back"
    assert initial(view, "Needs") == "More shards"
    assert "Prefilled from the last one" in str(view["blocks"]) and f"<@{ada}>" in str(view["blocks"])
    await slack.as_user(ada).submit_view({"Needs": "Nothing now"})
    await slack.wait_for(lambda: "is posted" in result_text(slack, ada), timeout=5)

    rows = await reports(bot)
    assert [row.details["needs"] for row in rows] == ["More shards", "Nothing now"]
    assert rows[1].details["conditions"] == "EU checkout fails"
    assert len(posted_reports(slack, channel)) == 2
    await slack.as_user(ada).close_view()
    executive = await open_report(slack, ada, channel, EXECUTIVE)
    assert initial(executive, "Current status") is None  # tactical reports do not prefill executive ones


async def test_a_redelivered_submission_makes_one_report(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Queue stuck")
    submitted = await send_tactical(slack, ada, channel)
    again = await slack.deliver("interactive", submitted.delivery.payload)
    await again.acked(timeout=3)
    await settled(bot)

    assert len(await reports(bot)) == 1
    assert len(posted_reports(slack, channel)) == 1
    assert len(await report_events(bot)) == 1
    assert len(slack.calls_to("pins.add")) == 2  # the incident summary, and the report once


async def test_deliveries_arriving_at_once_make_one_report(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Disk full")
    await open_report(slack, ada, channel)
    values = {"Conditions": "Disk full", "Actions": "Cleaning up", "Needs": "None"}
    first = await slack.as_user(ada).submit_view(values)
    payload = first.delivery.payload
    deliveries = await asyncio.gather(*(slack.deliver("interactive", payload) for _ in range(3)))
    await asyncio.gather(*(delivery.acked(timeout=3) for delivery in deliveries))
    await settled(bot)
    assert len(await reports(bot)) == 1
    assert len(posted_reports(slack, channel)) == 1


async def test_only_the_commander_or_scribe_may_report(slack: FakeSlack, bot: BotProcess) -> None:
    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    channel = await open_incident(slack, bot, ada, "Slow search")
    await bot.ctx.gateway.invite(channel, [bob])
    for command in (TACTICAL, EXECUTIVE):
        await slack.as_user(bob).slash_command(command, channel=channel)
    await slack.wait_for(lambda: len([p for p in slack.response_url_posts if p.user == bob]) == 2, timeout=5)
    for post in [p for p in slack.response_url_posts if p.user == bob]:
        text = post.body["text"]
        assert post.body["response_type"] == "ephemeral"
        assert "Only the incident commander or the scribe" in text and f"<@{ada}>" in text
    assert slack.open_view_for(bob) is None
    assert await reports(bot) == []


async def test_a_report_command_outside_an_incident_channel_says_where_it_works(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    general = slack.add_channel("general", members=[ada])
    await slack.as_user(ada).slash_command(TACTICAL, channel=general)
    await slack.wait_for(lambda: bool(slack.response_url_posts), timeout=5)
    text = slack.response_url_posts[-1].body["text"]
    assert f"`{TACTICAL}` only works in an incident channel" in text and "/dispatch-report-incident" in text
    assert slack.open_view_for(ada) is None


async def test_empty_and_overlong_fields_are_refused_in_the_modal(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Flaky DNS")
    await open_report(slack, ada, channel)
    result = await slack.as_user(ada).submit_view(
        {"Conditions": "   ", "Actions": "Restarting", "Needs": "x" * 3001}
    )
    assert result.response_action == "errors"
    assert result.errors is not None and set(result.errors) == {"report_conditions", "report_needs"}
    assert "3,000" in result.errors["report_needs"]
    assert modal(slack, ada, "report_tactical") is not None  # still open, with the text
    assert await reports(bot) == []


async def test_a_lead_whose_role_ended_meanwhile_cannot_send(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Login outage")
    await open_report(slack, ada, channel)
    async with bot.ctx.sessions() as session:
        rows = (
            await session.exec(select(ParticipantRole).join(Participant).where(Participant.user_id == ada))
        ).all()
        for row in rows:
            row.renounced_at = bot.ctx.clock()
            session.add(row)
        await session.commit()
    result = await slack.as_user(ada).submit_view({"Conditions": "a", "Actions": "b", "Needs": "c"})
    assert result.response_action == "errors"
    assert "Only the incident commander or the scribe" in str(result.errors)
    assert await reports(bot) == []


async def test_a_report_cannot_be_aimed_at_another_incident(slack: FakeSlack, bot: BotProcess) -> None:
    ada, eve = slack.add_user("ada"), slack.add_user("eve")
    await report(slack, ada, "First outage")
    await report(slack, eve, "Second outage")
    await wait_until_opened(slack, bot, count=2)
    first = slack.channel_by_name("inc-1-first-outage") or slack.channel_by_name("inc-2-first-outage")
    assert first is not None
    view = await open_report(slack, ada, first.id)
    async with bot.ctx.sessions() as session:
        other = next(i for i in (await session.exec(select(Incident))).all() if i.title == "Second outage")
    metadata = json.loads(view["private_metadata"])
    metadata["incident_id"] = other.id  # forged: ada leads the first incident, not the second
    slack.workspace.views[view["id"]]["private_metadata"] = json.dumps(metadata)
    result = await slack.as_user(ada).submit_view({"Conditions": "a", "Actions": "b", "Needs": "c"})
    assert result.response_action == "errors"
    assert await reports(bot) == []


async def test_an_executive_report_goes_to_the_channel_and_says_it_went_nowhere_else(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Payments delayed")
    view = await open_report(slack, ada, channel, EXECUTIVE)
    assert [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"] == [
        "Current status",
        "Overview",
        "Next steps",
    ]
    await slack.as_user(ada).submit_view(
        {"Current status": "Mitigated", "Overview": "Card payments <b>slow</b>", "Next steps": "Watch 1 h"}
    )
    await slack.wait_for(lambda: "is posted" in result_text(slack, ada), timeout=5)
    shown = result_text(slack, ada)
    assert f"executive report for INC-1 is posted in <#{channel}>" in shown
    assert "Only the incident channel got it" in shown and "notifications group was not e-mailed" in shown

    [message] = posted_reports(slack, channel, "Executive report")
    assert "Card payments &lt;b&gt;slow&lt;/b&gt;" in str(message.blocks)
    assert message.ts not in [pin.ts for pin in slack.pins(channel)]
    [row] = await reports(bot)
    assert row.kind == "executive" and row.details["next_steps"] == "Watch 1 h" and row.pinned_at is None
    [event] = await report_events(bot)
    assert event.details["type"] == "executive"

    await slack.as_user(ada).close_view()
    again = await open_report(slack, ada, channel, EXECUTIVE)
    assert initial(again, "Current status") == "Mitigated"


async def test_a_report_slack_will_not_pin_is_saved_and_the_author_is_told(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Cache storm")
    await open_report(slack, ada, channel)
    slack.faults.fail("pins.add", "too_many_pins")
    await slack.as_user(ada).submit_view({"Conditions": "a", "Actions": "b", "Needs": "c"})
    await slack.wait_for(lambda: "could not be pinned" in result_text(slack, ada), timeout=5)
    assert "too_many_pins" in result_text(slack, ada)
    [row] = await reports(bot)
    assert row.message_ts is not None and row.pinned_at is None
    assert len(posted_reports(slack, channel)) == 1 and len(await report_events(bot)) == 1


async def test_the_summary_button_opens_the_tactical_report_for_leads_only(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    channel = await open_incident(slack, bot, ada, "Broken deploys")
    summary = slack.pins(channel)[0]
    await slack.as_user(ada).click_button(channel, summary.ts, "Tactical report")
    view = await slack.wait_for(lambda: modal(slack, ada, "report_tactical"), timeout=5)
    assert json.loads(view["private_metadata"])["channel_id"] == channel

    await bot.ctx.gateway.invite(channel, [bob])
    await slack.as_user(bob).click_button(channel, summary.ts, "Tactical report")
    await slack.wait_for(lambda: any(post.user == bob for post in slack.response_url_posts), timeout=5)
    refusal = [post.body for post in slack.response_url_posts if post.user == bob][-1]
    assert "Only the incident commander or the scribe" in refusal["text"]
    assert slack.open_view_for(bob) is None


async def test_a_report_saved_before_a_crash_is_posted_once_by_the_resume(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Cache stampede")
    view = await open_report(slack, ada, channel)
    async with bot.ctx.sessions() as session:
        incident = (await session.exec(select(Incident))).one()
    assert incident.id is not None
    # What the submission handler saves before it hands the Slack side over, and then the process dies.
    submitted = SubmittedReport(
        kind=TACTICAL_REPORT,
        request_key=f"view:{view['id']}",
        incident_id=incident.id,
        channel_id=channel,
        user_id=ada,
        values={"conditions": "Cache cold", "actions": "Warming it", "needs": "Nothing"},
    )
    await flows.save(bot.ctx, submitted)
    assert await flows.resume_undelivered(bot.ctx) == 0  # too fresh: it may still be on its way

    later = bot.ctx.clock() + flows.RESUME_AFTER + timedelta(seconds=1)
    bot.ctx.clock = lambda: later
    assert await flows.resume_undelivered(bot.ctx) == 1
    [message] = posted_reports(slack, channel)
    assert message.ts in [pin.ts for pin in slack.pins(channel)]
    assert "posted and pinned" in result_text(slack, ada)  # the author's modal shows the result
    [row] = await reports(bot)
    assert row.delivered_at is not None and row.pinned_at is not None
    assert len(await report_events(bot)) == 1

    assert await flows.resume_undelivered(bot.ctx) == 0
    assert len(posted_reports(slack, channel)) == 1
