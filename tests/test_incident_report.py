"""Reporting an incident as a responder does it, through the fake Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.cli.doctor import run_checks
from bot.incidents.opening import CLAIM, OPEN_STEPS
from bot.incidents.opening_runner import claim_steps, extend_claim, resume_unfinished
from bot.incidents.reporting import Report, report_form, save_report
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import (
    FlowStep,
    Incident,
    Notification,
    Participant,
    ParticipantRole,
    Project,
    TimelineEvent,
)
from tests.conftest import bot_settings


async def report(slack: FakeSlack, user: str, title: str, channel: str | None = None, **values: Any) -> Any:
    """Run the command, fill the modal and submit it, as the user would."""
    actor = slack.as_user(user)
    await actor.slash_command(f"/dispatch-report-incident {title}", channel=channel)
    await slack.wait_for(lambda: actor_view(slack, user) is not None)
    fields = {"Description": "Checkout returns 500 for every EU customer.", **values}
    return await actor.submit_view(fields)


def actor_view(slack: FakeSlack, user: str) -> dict[str, Any] | None:
    view = slack.open_view_for(user)
    return view if view and view.get("callback_id") == "incident_report" else None


async def incident_rows(bot: BotProcess) -> list[Incident]:
    async with bot.ctx.sessions() as session:
        return list((await session.exec(select(Incident).order_by(Incident.number))).all())


async def wait_until_opened(slack: FakeSlack, bot: BotProcess, count: int = 1, timeout: float = 10) -> None:
    async def opened() -> bool:
        async with bot.ctx.sessions() as session:
            steps = (await session.exec(select(FlowStep))).all()
        return len(steps) == count * len(OPEN_STEPS) and all(step.status == "done" for step in steps)

    deadline = asyncio.get_running_loop().time() + timeout
    while not await opened():
        assert asyncio.get_running_loop().time() < deadline, "the incident did not open in time"
        await asyncio.sleep(0.05)


async def test_a_report_opens_a_channel_with_the_people_and_the_facts(
    slack: FakeSlack, bot: BotProcess
) -> None:
    alice = slack.add_user("alice", tz="Europe/Paris")
    general = slack.add_channel("general", members=[alice])
    interaction = await report(slack, alice, "Checkout is down", channel=general, Priority="High")
    assert interaction.response_action == "update"
    await wait_until_opened(slack, bot)

    channel = slack.channel_by_name("inc-1-checkout-is-down")
    assert channel is not None
    assert {alice, slack.bot_user_id} <= slack.members(channel.id)
    assert "Priority: High" in channel.topic and "Active" in channel.topic
    pinned = slack.pins(channel.id)
    assert len(pinned) == 1 and "INC-1: Checkout is down" in str(pinned[0])
    texts = [message.text for message in slack.messages(channel.id)]
    assert "New participant" in texts
    welcome = slack.ephemerals(channel.id, alice)
    assert welcome and "Welcome to INC-1" in welcome[0].text
    tips = slack.dms_to(alice)
    assert tips and "incident commander of INC-1" in tips[-1].text

    result = slack.open_view_for(alice)
    assert result is not None and f"<#{channel.id}>" in str(result["blocks"])

    [incident] = await incident_rows(bot)
    assert (incident.number, incident.name, incident.status) == (1, "INC-1", "active")
    async with bot.ctx.sessions() as session:
        roles = (await session.exec(select(ParticipantRole.role).join(Participant))).all()
        kinds = (await session.exec(select(TimelineEvent.kind).order_by(TimelineEvent.id))).all()
    assert sorted(roles) == ["Incident Commander", "Reporter"]
    assert kinds[0] == "incident_created" and {"channel_created", "participants_added"} <= set(kinds)


async def test_an_empty_title_is_refused_in_the_modal(slack: FakeSlack, bot: BotProcess) -> None:
    bob = slack.add_user("bob")
    interaction = await report(slack, bob, "", Title="   ")
    assert interaction.response_action == "errors"
    assert interaction.errors == {"title": "Give the incident a title."}
    assert await incident_rows(bot) == []


async def test_a_redelivered_submission_makes_one_incident(slack: FakeSlack, bot: BotProcess) -> None:
    carol = slack.add_user("carol")
    interaction = await report(slack, carol, "Payments delayed")
    again = await slack.deliver("interactive", interaction.delivery.payload)
    await again.acked(timeout=3)
    await wait_until_opened(slack, bot)
    assert len(await incident_rows(bot)) == 1
    assert len(slack.calls_to("conversations.create")) == 1


async def test_twenty_concurrent_reports_get_twenty_numbers_and_channels(
    slack: FakeSlack, bot: BotProcess
) -> None:
    users = [slack.add_user(f"user{index}") for index in range(20)]
    await asyncio.gather(*(report(slack, user, f"Outage {index}") for index, user in enumerate(users)))
    await wait_until_opened(slack, bot, count=20, timeout=30)
    incidents = await incident_rows(bot)
    assert [incident.number for incident in incidents] == list(range(1, 21))
    channels = {
        call.response["channel"]["name"] for call in slack.calls_to("conversations.create") if call.ok
    }
    assert len(channels) == 20


async def test_rate_limits_and_server_errors_still_end_in_a_complete_incident(
    slack: FakeSlack, bot: BotProcess
) -> None:
    dan = slack.add_user("dan")
    slack.faults.rate_limit("conversations.create", times=1, retry_after=1)
    slack.faults.server_error("conversations.invite", times=1)
    slack.faults.rate_limit("chat.postMessage", times=2, retry_after=1)
    await report(slack, dan, "Search is slow")
    await wait_until_opened(slack, bot, timeout=20)
    channel = slack.channel_by_name("inc-1-search-is-slow")
    assert channel is not None and dan in slack.members(channel.id)
    assert len(slack.pins(channel.id)) == 1


async def test_user_text_cannot_mention_everyone_or_forge_links(slack: FakeSlack, bot: BotProcess) -> None:
    eve = slack.add_user("eve")
    await report(slack, eve, "<!channel> & <@U0BOSS|boss>", Description="see <https://evil.example|docs>")
    await wait_until_opened(slack, bot)
    channel = slack.channel_by_name("inc-1-channel-u0boss-boss")
    assert channel is not None
    [pinned] = slack.pins(channel.id)
    rendered = " ".join(mrkdwn_texts(pinned))  # what Slack would turn into mentions and links
    assert "<!channel>" not in rendered and "<@U0BOSS" not in rendered and "<https://evil" not in rendered
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS|boss&gt;" in rendered
    assert "&lt;https://evil.example|docs&gt;" in rendered


def mrkdwn_texts(message: Any) -> list[str]:
    """The message's fallback text and every mrkdwn text object in its blocks."""
    found = [message.text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.blocks)
    return found


async def test_matching_notification_channels_get_the_announcement_and_restricted_ones_none(
    slack: FakeSlack, bot: BotProcess
) -> None:
    frank = slack.add_user("frank")
    announcements = slack.add_channel("incidents", members=[slack.bot_user_id])
    async with bot.ctx.sessions() as session:
        project_id = await incident_project(bot)
        session.add(Notification(project_id=project_id, name="all", target=announcements))
        await session.commit()
    await report(slack, frank, "Login broken")
    await report(slack, frank, "Leaked key", Visibility="Restricted")
    await wait_until_opened(slack, bot, count=2)
    posted = [message.text for message in slack.messages(announcements)]
    assert len(posted) == 1 and "Login broken" in posted[0] and "Leaked key" not in str(posted)


async def test_a_restricted_incident_gets_a_private_channel_in_a_project_of_public_ones(
    slack: FakeSlack, bot: BotProcess
) -> None:
    gil = slack.add_user("gil")
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        project.private_channels = False
        session.add(project)
        await session.commit()
    await report(slack, gil, "Login broken")
    await report(slack, gil, "Leaked key", Visibility="Restricted")
    await wait_until_opened(slack, bot, count=2)
    public = slack.channel_by_name("inc-1-login-broken")
    restricted = slack.channel_by_name("inc-2-leaked-key")
    assert public is not None and not public.is_private
    assert restricted is not None and restricted.is_private


async def incident_project(bot: BotProcess) -> int:
    form = await report_form(bot.ctx)
    return form.project_id


async def test_a_failed_step_is_retried_later_without_repeating_the_others(
    slack: FakeSlack, bot: BotProcess
) -> None:
    gina = slack.add_user("gina")
    slack.faults.fail("conversations.setTopic", error="channel_not_found", times=1)
    await report(slack, gina, "Queue backlog")
    failed: list[FlowStep] = []
    for _ in range(100):
        async with bot.ctx.sessions() as session:
            steps = (await session.exec(select(FlowStep))).all()
        failed = [step for step in steps if step.status == "failed"]
        if failed and all(step.status in {"done", "failed"} for step in steps):
            break
        await asyncio.sleep(0.05)
    assert [step.step for step in failed] == ["details"]
    assert "channel_not_found" in (failed[0].last_error or "")

    later = bot.ctx.clock() + timedelta(minutes=5)
    bot.ctx.clock = lambda: later
    assert await resume_unfinished(bot.ctx) == 1
    await wait_until_opened(slack, bot)
    channel = slack.channel_by_name("inc-1-queue-backlog")
    assert channel is not None and "IC:" in channel.topic
    assert len(slack.calls_to("conversations.create")) == 1
    assert len(slack.pins(channel.id)) == 1


async def test_reporting_from_a_message_prefills_its_text_and_link(slack: FakeSlack, bot: BotProcess) -> None:
    ivy = slack.add_user("ivy")
    alerts = slack.add_channel("alerts", members=[ivy, slack.bot_user_id])
    message = await slack.as_user(ivy).post_message(alerts, "p99 latency on checkout is 9s")
    await slack.as_user(ivy).message_shortcut(alerts, message.ts, "incident_report_from_message")
    await slack.wait_for(lambda: actor_view(slack, ivy) is not None, timeout=5)
    view = actor_view(slack, ivy)
    assert view is not None
    description = next(b for b in view["blocks"] if b.get("block_id") == "description")["element"]
    assert description["initial_value"].startswith("p99 latency on checkout is 9s\n\n")
    assert message.ts.replace(".", "") in description["initial_value"]  # the permalink
    await slack.as_user(ivy).submit_view({"Title": "Checkout latency"})
    await wait_until_opened(slack, bot)
    [incident] = await incident_rows(bot)
    assert incident.description.startswith("p99 latency on checkout is 9s")


async def test_a_slow_permalink_does_not_cost_the_reporter_the_form(
    slack: FakeSlack, bot: BotProcess
) -> None:
    """Trigger ids expire: with a slow permalink, a placeholder opens in time and becomes the form."""
    slack.workspace.trigger_ttl = 1.0
    slack.faults.latency("chat.getPermalink", 1.5)
    ivy = slack.add_user("ivy")
    alerts = slack.add_channel("alerts", members=[ivy, slack.bot_user_id])
    message = await slack.as_user(ivy).post_message(alerts, "disk full on db-3")
    await slack.as_user(ivy).message_shortcut(alerts, message.ts, "incident_report_from_message")
    await slack.wait_for(lambda: "Loading" in str(slack.open_view_for(ivy) or {}), timeout=5)
    await slack.wait_for(lambda: (actor_view(slack, ivy) or {}).get("callback_id") == "incident_report")
    view = actor_view(slack, ivy)
    assert view is not None
    description = next(b for b in view["blocks"] if b.get("block_id") == "description")["element"]
    assert description["initial_value"].startswith("disk full on db-3\n\n")
    assert not [call for call in slack.calls_to("views.open") if not call.ok]


async def test_choosing_another_project_offers_its_own_choices(slack: FakeSlack, bot: BotProcess) -> None:
    from storage.models import IncidentPriority, IncidentType, Project

    async with bot.ctx.sessions() as session:
        security = Project(name="security", prefix="SEC")
        session.add(security)
        await session.flush()
        assert security.id is not None
        session.add(IncidentType(project_id=security.id, name="Data exposure", is_default=True))
        session.add(IncidentPriority(project_id=security.id, name="Urgent", is_default=True))
        await session.commit()
    jo = slack.add_user("jo")
    await slack.as_user(jo).slash_command("/dispatch-report-incident Token leaked")
    await slack.wait_for(lambda: actor_view(slack, jo) is not None, timeout=5)
    await slack.as_user(jo).select_in_view("incident_report_project", "security")
    await slack.wait_for(lambda: "Data exposure" in str(actor_view(slack, jo)), timeout=5)
    view = actor_view(slack, jo)
    assert "Urgent" in str(view) and "Token leaked" in str(view)  # the typed title survives
    await slack.as_user(jo).submit_view({"Description": "A deploy key was pushed to a public repo."})
    await wait_until_opened(slack, bot)
    [incident] = await incident_rows(bot)
    assert incident.name == "SEC-1"
    assert slack.channel_by_name("inc-1-token-leaked") is not None


async def crash_after_saving(
    slack: FakeSlack, database_url: str, reporter: str, title: str, *, channel_made: str | None = None
) -> str | None:
    """A bot saves a report and dies before opening it (after making `channel_made`, if given)."""
    first = BotProcess(bot_settings(slack, database_url))
    await first.start()
    form = await report_form(first.ctx)
    await save_report(
        first.ctx,
        Report(
            request_key="view:V-crash",
            reporter_id=reporter,
            title=title,
            description="",
            project_id=form.project_id,
            type_id=None,
            severity_id=None,
            priority_id=None,
        ),
    )
    made = (await first.ctx.gateway.create_channel(channel_made, private=True))[0] if channel_made else None
    await first.stop()
    return made


async def restart_after_the_claim(slack: FakeSlack, database_url: str) -> BotProcess:
    """A new bot on the same database, its clock past the dead one's claim on the steps."""
    second = BotProcess(bot_settings(slack, database_url))
    after_the_claim = second.ctx.clock() + CLAIM + timedelta(seconds=1)
    second.ctx.clock = lambda: after_the_claim
    await second.start()
    await wait_until_opened(slack, second)
    return second


async def test_an_incident_saved_before_a_crash_is_opened_after_restart(
    slack: FakeSlack, database_url: str
) -> None:
    hugo = slack.add_user("hugo")
    await crash_after_saving(slack, database_url, hugo, "Cache stampede")
    assert slack.channel_by_name("inc-1-cache-stampede") is None
    second = await restart_after_the_claim(slack, database_url)
    try:
        channel = slack.channel_by_name("inc-1-cache-stampede")
        assert channel is not None and hugo in slack.members(channel.id)
    finally:
        await second.stop()


async def test_a_channel_made_just_before_a_crash_is_adopted_not_duplicated(
    slack: FakeSlack, database_url: str
) -> None:
    hugo = slack.add_user("hugo")
    made = await crash_after_saving(
        slack, database_url, hugo, "Cache stampede", channel_made="inc-1-cache-stampede"
    )
    assert made is not None
    second = await restart_after_the_claim(slack, database_url)
    try:
        assert slack.channel_by_name("inc-1-cache-stampede-2") is None
        assert hugo in slack.members(made)
        assert len(slack.pins(made)) == 1
    finally:
        await second.stop()


async def test_a_long_description_full_of_markup_still_gets_its_pinned_summary(
    slack: FakeSlack, bot: BotProcess
) -> None:
    kim = slack.add_user("kim")
    await report(slack, kim, "Proxy errors", Description="<html>&" * 375)  # 2,625 characters
    await wait_until_opened(slack, bot)
    channel = slack.channel_by_name("inc-1-proxy-errors")
    assert channel is not None and len(slack.pins(channel.id)) == 1


async def test_a_slow_opening_is_not_run_twice_by_reconcile(
    slack: FakeSlack, bot: BotProcess, database_url: str
) -> None:
    """Slack slow enough for an opening to outlast its claim: neither this process's reconcile run nor
    another process's takes the steps it is still running."""
    slack.faults.latency("pins.add", 1.5)
    ivy = slack.add_user("ivy")
    await report(slack, ivy, "Slow Slack")
    await slack.wait_for(lambda: slack.calls_to("pins.add") or None, timeout=5)  # opening under way
    [incident] = await incident_rows(bot)
    assert incident.id is not None and incident.id in bot.ctx.openings
    past_the_claim = bot.ctx.clock() + CLAIM + timedelta(seconds=1)
    bot.ctx.clock = lambda: past_the_claim
    assert await resume_unfinished(bot.ctx) == 0  # this process is still opening it

    # What the running opening does every quarter of a lease, so other processes keep away too.
    await extend_claim(bot.ctx, incident.id)
    other = BotProcess(bot_settings(slack, database_url))
    other.ctx.clock = lambda: past_the_claim
    try:
        assert await claim_steps(other.ctx, incident.id) is False
    finally:
        await other.ctx.close()

    slack.faults.latency("pins.add", 0)
    await wait_until_opened(slack, bot)
    assert incident.id not in bot.ctx.openings
    assert len(slack.calls_to("conversations.create")) == 1
    assert len(slack.calls_to("pins.add")) == 1


async def test_a_failed_step_does_not_let_another_process_rerun_steps_still_running(
    slack: FakeSlack, bot: BotProcess, database_url: str
) -> None:
    slack.faults.fail("conversations.setTopic", error="channel_not_found", times=1)
    slack.faults.latency("pins.add", 1.5)
    ivy = slack.add_user("ivy")
    await report(slack, ivy, "Half failed")

    async def details_failed() -> bool:
        async with bot.ctx.sessions() as session:
            steps = {s.step: s.status for s in (await session.exec(select(FlowStep))).all()}
        return steps.get("details") == "failed" and steps.get("summary") == "pending"

    for _ in range(100):
        if await details_failed():
            break
        await asyncio.sleep(0.02)
    assert await details_failed()
    [incident] = await incident_rows(bot)
    assert incident.id is not None
    other = BotProcess(bot_settings(slack, database_url))
    after_the_backoff = bot.ctx.clock() + timedelta(seconds=70)  # the failed step is due, the lease is not
    other.ctx.clock = lambda: after_the_backoff
    try:
        assert await claim_steps(other.ctx, incident.id) is False
    finally:
        await other.ctx.close()
    slack.faults.latency("pins.add", 0)
    for _ in range(150):
        async with bot.ctx.sessions() as session:
            summary = (await session.exec(select(FlowStep).where(FlowStep.step == "summary"))).one()
        if summary.status == "done":
            break
        await asyncio.sleep(0.02)
    assert len(slack.calls_to("pins.add")) == 1


async def test_a_notification_channel_the_bot_is_not_in_is_told_to_the_commander_once(
    slack: FakeSlack, bot: BotProcess
) -> None:
    hana = slack.add_user("hana")
    reached = slack.add_channel("incidents", members=[slack.bot_user_id])
    private = slack.add_channel("leadership", members=[hana], is_private=True)
    async with bot.ctx.sessions() as session:
        project_id = await incident_project(bot)
        session.add(Notification(project_id=project_id, name="all", target=reached))
        session.add(Notification(project_id=project_id, name="leads", target="leadership"))
        await session.commit()
    await report(slack, hana, "Login broken")
    await wait_until_opened(slack, bot)
    assert [incident.status for incident in await incident_rows(bot)] == ["active"]
    assert slack.channel_by_name("inc-1-login-broken") is not None
    assert ["Login broken" in message.text for message in slack.messages(reached)] == [True]
    assert slack.messages(private) == []

    def told() -> list[str]:
        return [m.text for m in slack.dms_to(hana) if "could not be posted in #leadership" in m.text]

    [dm] = told()
    assert "not a member" in dm and f"/invite <@{slack.bot_user_id}>" in dm

    # The step run again (a resumed opening) finds its announcement, and tells no one twice.
    async with bot.ctx.sessions() as session:
        step = (await session.exec(select(FlowStep).where(FlowStep.step == "notifications"))).one()
        step.status, step.next_attempt_at = "failed", bot.ctx.clock() - timedelta(minutes=1)
        session.add(step)
        await session.commit()
    assert await resume_unfinished(bot.ctx) == 1
    await wait_until_opened(slack, bot)
    assert len(slack.messages(reached)) == 1
    assert len(told()) == 1


async def test_doctor_has_a_line_per_notification_channel(slack: FakeSlack, bot: BotProcess) -> None:
    joined = slack.add_channel("incidents", members=[slack.bot_user_id])
    slack.add_channel("leadership", members=[slack.add_user("ines")])
    slack.add_channel("old-incidents", members=[slack.bot_user_id], is_archived=True)
    async with bot.ctx.sessions() as session:
        project_id = await incident_project(bot)
        for name, target in (("all", joined), ("leads", "leadership"), ("old", "old-incidents")):
            session.add(Notification(project_id=project_id, name=name, target=target))
        session.add(Notification(project_id=project_id, name="gone", target="no-such-channel"))
        session.add(Notification(project_id=project_id, name="mail", kind="email", target="ops@example.com"))
        await session.commit()
    checks = {check.name: check for check in await run_checks(bot.settings)}
    lines = {name: check for name, check in checks.items() if name.startswith("notification ")}
    assert len(lines) == 4
    ok = next(check for name, check in lines.items() if name.startswith(f"notification #{joined}"))
    assert ok.ok and "member of #incidents" in ok.detail
    leads = next(check for name, check in lines.items() if "#leadership" in name)
    assert not leads.ok and leads.detail.endswith(
        "invite @" + slack.user(slack.bot_user_id).name + " to #leadership"
    )
    old = next(check for name, check in lines.items() if "#old-incidents" in name)
    assert not old.ok and "archived" in old.detail
    gone = next(check for name, check in lines.items() if "#no-such-channel" in name)
    assert not gone.ok and "no channel #no-such-channel" in gone.detail
