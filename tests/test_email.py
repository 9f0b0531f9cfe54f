"""E-mail from the bot (welcomes, reports, notifications) through the Gmail plugin against the fake Google,
with the real bot and the fake Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlmodel import select

from bot.incidents.card import incident_card
from bot.incidents.opening import OPEN_FLOW, OPEN_STEPS
from bot.incidents.opening_runner import resume_unfinished
from bot.incidents.welcome import welcome_person
from bot.reports import flows as report_flows
from bot.reports.facts import TACTICAL_REPORT
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage import emails
from storage import incidents as store
from storage.models import Incident, Notification, SentEmail, TimelineEvent
from tests.fakes.google import FakeGoogle
from tests.test_engagement import channel_of_first_incident
from tests.test_google import private_key  # noqa: F401  (the key fixture)
from tests.test_incident_report import incident_project, report, wait_until_opened
from tests.test_incident_resources import bot, google  # noqa: F401  (the Google-wired bot)
from tests.test_incident_update import close_and_review, open_incident, open_update_modal
from tests.test_people import assign, invite
from tests.test_people import eventually as eventually_async
from tests.test_reports import EXECUTIVE, open_report, reports, result_text, send_tactical
from tests.test_tickets import choose_plugins, eventually, settled, steps

MAIL = {"email": {"plugin": "google-gmail"}}
MAIL_AND_MEET = {**MAIL, "conference": {"plugin": "google-calendar"}}
HIGH = {"priority": ["High"]}


def body(message: EmailMessage, kind: str = "html") -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def to(fake: FakeGoogle, address: str) -> list[EmailMessage]:
    return [m for m in fake.messages if address in str(m["To"]).split(", ")]


async def sent_rows(bot: BotProcess) -> list[SentEmail]:
    async with bot.ctx.sessions() as session:
        return list((await session.exec(select(SentEmail).order_by(SentEmail.id))).all())


async def first_incident_id(bot: BotProcess) -> int:
    async with bot.ctx.sessions() as session:
        incident = (await session.exec(select(Incident))).one()
    assert incident.id is not None
    return incident.id


async def ada_reports(slack: FakeSlack, bot: BotProcess, plugins: dict[str, Any]) -> str:
    """Ada (ada@example.com) reports "Checkout errors" in a project with these plugins."""
    ada = slack.add_user("ada", email="ada@example.com")
    await choose_plugins(bot, plugins)
    await report(slack, ada, "Checkout errors")
    return ada


async def test_the_people_invited_at_opening_get_one_welcome_email_with_the_links(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    ada = await ada_reports(slack, bot, MAIL_AND_MEET)
    done = await settled(bot, len(OPEN_STEPS) + 1)
    assert {row.step: row.status for row in done.values() if row.status != "done"} == {}

    [welcome] = google.messages
    assert welcome["To"] == "ada@example.com"
    assert welcome["Subject"] == "Welcome to INC-1: Checkout errors"
    channel = channel_of_first_incident(slack)
    [event] = google.events.values()
    html, text = body(welcome), body(welcome, "plain")
    # The conference made alongside the invitations is in it: the e-mail waits for the resources.
    assert event["hangoutLink"] in html and event["hangoutLink"] in text
    assert f"https://{slack.workspace.team_domain}.slack.com/archives/{channel}" in html
    assert "Reporter, Incident Commander" in text and "Checkout returns 500" in text
    [row] = await sent_rows(bot)
    assert (row.key, row.status, row.recipients) == (f"welcome:{ada}", "sent", ["ada@example.com"])

    # A retry of the step (the reconcile job after a crash, say) sends nothing twice.
    incident_id = await first_incident_id(bot)
    async with bot.ctx.sessions() as session, session.begin():
        await store.mark_step(session, incident_id, OPEN_FLOW, "welcome_emails", "failed")
    assert await resume_unfinished(bot.ctx) == 1
    assert len(google.messages) == 1 and len(await sent_rows(bot)) == 1
    assert (await settled(bot, len(OPEN_STEPS) + 1))["welcome_emails"].status == "done"


async def test_someone_added_later_is_welcomed_by_email_once_and_sees_the_conference(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    slack.echo_api_events = True
    ada = slack.add_user("ada", email="ada@example.com")
    bob = slack.add_user("bob", email="bob@example.com")
    await choose_plugins(bot, MAIL_AND_MEET)
    await report(slack, ada, "Checkout errors")
    await settled(bot, len(OPEN_STEPS) + 1)
    channel = channel_of_first_incident(slack)
    [event] = google.events.values()

    await assign(slack, ada, channel, bob, "Scribe")
    await eventually(lambda: to(google, "bob@example.com"))
    [welcome] = to(google, "bob@example.com")
    assert "Scribe" in body(welcome, "plain") and event["hangoutLink"] in body(welcome)
    [ephemeral] = slack.ephemerals(channel, bob)
    assert event["hangoutLink"] in str(ephemeral.blocks) and "Join the conference" in str(ephemeral.blocks)

    # Welcomed again (a redelivered event, another role): the e-mail is not sent a second time.
    card = await incident_card(bot.ctx, await first_incident_id(bot))
    await welcome_person(bot.ctx, card, channel, bob, ["Liaison"])
    assert len(slack.ephemerals(channel, bob)) == 2
    assert len(to(google, "bob@example.com")) == 1
    assert [row.key for row in await sent_rows(bot)] == [f"welcome:{ada}", f"welcome:{bob}"]


async def test_a_failing_mail_server_does_not_stop_the_opening_and_the_welcome_is_sent_later(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    google.fail("POST", "/gmail/v1/", 403)
    ada = await ada_reports(slack, bot, MAIL)
    done = await settled(bot, len(OPEN_STEPS))
    unfinished = {row.step: row.status for row in done.values() if row.status != "done"}
    assert unfinished == {"welcome_emails": "failed"}
    assert google.messages == []
    [row] = await sent_rows(bot)
    assert row.status == "failed" and row.error and "send the e-mail" in row.error
    assert (done["welcome_emails"].last_error or "").startswith(
        "couldn't send the welcome e-mail to ada@example.com: "
    )
    channel = channel_of_first_incident(slack)
    assert "Welcome to INC-1" in slack.ephemerals(channel, ada)[0].text

    # The reconcile job, once the step's back-off has passed, sends it; a second run sends nothing more.
    later = done["welcome_emails"].next_attempt_at
    assert later is not None
    bot.ctx.clock = lambda: later.replace(tzinfo=UTC) + timedelta(seconds=1)
    assert await resume_unfinished(bot.ctx) == 1
    [welcome] = google.messages
    assert welcome["To"] == "ada@example.com" and welcome["Subject"] == "Welcome to INC-1: Checkout errors"
    assert (await steps(bot))["welcome_emails"].status == "done"
    assert await resume_unfinished(bot.ctx) == 0
    assert len(google.messages) == 1 and [row.status for row in await sent_rows(bot)] == ["sent"]


async def test_an_email_is_claimed_once_and_again_only_when_it_failed_or_its_sender_died(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    await ada_reports(slack, bot, {})
    await settled(bot, len(OPEN_STEPS))
    incident_id = await first_incident_id(bot)
    start = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    async def claim(key: str, minutes: float) -> bool:
        async with bot.ctx.sessions() as session:
            at = start + timedelta(minutes=minutes)
            return await emails.claim_email(session, incident_id, key, ["ada@example.com"], "Hi", at)

    async def finish(key: str, minutes: float, error: str | None = None) -> None:
        async with bot.ctx.sessions() as session:
            await emails.finish_email(session, incident_id, key, start + timedelta(minutes=minutes), error)

    assert await claim("sent", 0) and not await claim("sent", 0.1)  # being sent
    await finish("sent", 0.2)
    assert not await claim("sent", 60)  # sent: never again

    assert await claim("failed", 0)
    await finish("failed", 0.2, "Google answered 500")
    assert await claim("failed", 1) and not await claim("failed", 1.1)

    assert await claim("abandoned", 0)  # its sender died before saying how it went
    assert not await claim("abandoned", emails.SENDING_LEASE.total_seconds() / 60 - 1)
    assert await claim("abandoned", emails.SENDING_LEASE.total_seconds() / 60 + 1)
    assert [row.status for row in await sent_rows(bot)] == ["sent", "sending", "sending"]


async def test_without_an_email_plugin_nobody_is_emailed(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    await ada_reports(slack, bot, {})
    done = await settled(bot, len(OPEN_STEPS))
    assert done["welcome_emails"].status == "done" and done["welcome_emails"].result == {}
    assert google.messages == [] and await sent_rows(bot) == []


async def notify_by_email(bot: BotProcess, address: str, **filters: list[str]) -> None:
    async with bot.ctx.sessions() as session:
        project_id = await incident_project(bot)
        session.add(
            Notification(project_id=project_id, name=address, kind="email", target=address, filters=filters)
        )
        await session.commit()


async def test_notification_addresses_get_the_announcement_and_the_updates_never_for_restricted(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    ada = slack.add_user("ada")  # no address in her profile: no welcome e-mail for her
    await choose_plugins(bot, MAIL)
    await notify_by_email(bot, "ops@example.com")
    await notify_by_email(bot, "execs@example.com", priority=["High"])
    await report(slack, ada, "Login broken")
    await wait_until_opened(slack, bot)  # numbered first: INC-1
    await report(slack, ada, "Leaked key", Visibility="Restricted")
    await wait_until_opened(slack, bot, count=2)

    [announced] = google.messages
    assert announced["To"] == "ops@example.com" and announced["Subject"] == "New incident INC-1: Login broken"
    assert "Checkout returns 500" in body(announced, "plain")
    assert "/archives/" in body(announced)
    async with bot.ctx.sessions() as session:
        [event] = (
            await session.exec(select(TimelineEvent).where(TimelineEvent.kind == "notifications_sent"))
        ).all()
    assert event.details == {"sent": ["ops@example.com"], "failed": {}}

    login = slack.channel_by_name("inc-1-login-broken")
    leak = slack.channel_by_name("inc-2-leaked-key")
    assert login is not None and leak is not None
    await open_update_modal(slack, ada, leak.id)
    await slack.as_user(ada).submit_view({"Priority": "High"})
    await open_update_modal(slack, ada, login.id)
    await slack.as_user(ada).submit_view({"Priority": "High"})
    await eventually(lambda: len(google.messages) == 3)
    updates = sorted(google.messages[1:], key=lambda m: str(m["To"]))
    assert [m["To"] for m in updates] == ["execs@example.com", "ops@example.com"]
    assert {m["Subject"] for m in updates} == {"INC-1 updated: Login broken"}
    assert "Priority: " in body(updates[0], "plain") and "-> High" in body(updates[0], "plain")
    # The restricted incident's update was posted in its channel, and mailed to no one.
    await slack.wait_for(lambda: any("INC-2 updated" in m.text for m in slack.messages(leak.id)))
    assert len(google.messages) == 3 and "Leaked key" not in str([m["Subject"] for m in google.messages])
    assert all(row.incident_id == 1 for row in await sent_rows(bot))


async def record_group(bot: BotProcess, role: str, address: str) -> None:
    incident_id = await first_incident_id(bot)
    async with bot.ctx.sessions() as session, session.begin():
        await store.record_resource(session, incident_id, role, address, details={"email": address})


async def mailing_incident(
    slack: FakeSlack,
    bot: BotProcess,
    title: str,
    *notify: tuple[str, dict[str, list[str]]],
) -> tuple[str, str]:
    """Ada opens an incident in a project that e-mails (also `notify`: address, filters); (ada, channel)."""
    ada = slack.add_user("ada")
    await choose_plugins(bot, MAIL)
    for address, filters in notify:
        await notify_by_email(bot, address, **filters)
    return ada, await open_incident(slack, bot, ada, title)


async def test_a_tactical_report_is_emailed_to_the_tactical_group_once(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    ada, channel = await mailing_incident(slack, bot, "Checkout errors")
    await record_group(bot, "tactical_group", "inc-1-tactical@example.com")

    await send_tactical(slack, ada, channel, Needs="A <DBA>")
    [mailed] = google.messages
    assert mailed["To"] == "inc-1-tactical@example.com"
    assert mailed["Subject"] == "Tactical report: INC-1 Checkout errors"
    assert "EU checkout fails" in body(mailed, "plain") and "A &lt;DBA&gt;" in body(mailed)
    shown = result_text(slack, ada)
    assert "E-mailed to inc-1-tactical@example.com" in shown

    # A delivery run again (the reconcile job after a crash) e-mails no one twice.
    [row] = await reports(bot)
    outcome = await report_flows.deliver(bot.ctx, row, TACTICAL_REPORT)
    assert outcome.emailed == ["inc-1-tactical@example.com"] and len(google.messages) == 1


async def test_an_executive_report_goes_to_the_notifications_group_and_addresses_and_says_so(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    ada, channel = await mailing_incident(
        slack,
        bot,
        "Payments delayed",
        ("execs@example.com", {}),
        ("security@example.com", {"priority": ["High"]}),
    )
    await record_group(bot, "notifications_group", "inc-1-notify@example.com")
    google.messages.clear()  # the announcement
    google.fail("POST", "/gmail/v1/", 403)  # the first of the two e-mails is refused

    await open_report(slack, ada, channel, EXECUTIVE)
    await slack.as_user(ada).submit_view(
        {"Current status": "Mitigated", "Overview": "Card payments slow", "Next steps": "Watch 1 h"}
    )
    await slack.wait_for(lambda: "is posted" in result_text(slack, ada), timeout=5)
    shown = result_text(slack, ada)
    [reached] = google.messages
    refused = ({"execs@example.com", "inc-1-notify@example.com"} - {reached["To"]}).pop()
    assert f"E-mailed to {reached['To']}." in shown
    assert f"It could not be e-mailed to {refused}: " in shown and "does not allow" in shown
    assert "Only the incident channel" not in shown and "security@example.com" not in shown
    assert "Current status" in body(reached, "plain") and "Card payments slow" in body(reached)


async def test_an_executive_report_with_nowhere_to_go_by_email_says_why(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    ada, channel = await mailing_incident(slack, bot, "Payments delayed")
    await open_report(slack, ada, channel, EXECUTIVE)
    await slack.as_user(ada).submit_view({"Current status": "a", "Overview": "b", "Next steps": "c"})
    await slack.wait_for(lambda: "is posted" in result_text(slack, ada), timeout=5)
    assert "Only the incident channel got it: the incident has no notifications group and no " in (
        result_text(slack, ada)
    )
    assert google.messages == []


async def test_a_mail_server_slower_than_the_timeout_fails_the_step_not_the_opening_and_mails_once(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    bot.ctx.settings.plugin_timeout_seconds = 0.3
    google.latency = 1.0
    ada = await ada_reports(slack, bot, MAIL)
    done = await settled(bot, len(OPEN_STEPS))
    unfinished = {row.step: row.status for row in done.values() if row.status != "done"}
    assert unfinished == {"welcome_emails": "failed"}
    [row] = await sent_rows(bot)
    # The send outlived the timeout but goes on: it stays claimed, so no retry can send it again.
    assert row.status == "sending"
    later = done["welcome_emails"].next_attempt_at
    assert later is not None
    bot.ctx.clock = lambda: later.replace(tzinfo=UTC) + timedelta(seconds=1)
    await resume_unfinished(bot.ctx)

    # Its end, not the clock, says how it went: the mail server took it.
    async def sent() -> bool:
        return [r.status for r in await sent_rows(bot)] == ["sent"]

    await eventually_async(sent)
    google.latency = 0.0
    await resume_unfinished(bot.ctx)
    assert [m["Subject"] for m in google.messages] == ["Welcome to INC-1: Checkout errors"]

    # Once the incident is closed its opening is past finishing: nothing is tried again.
    await close_and_review(slack, ada, channel_of_first_incident(slack))
    bot.ctx.clock = lambda: later.replace(tzinfo=UTC) + timedelta(hours=2)
    assert await resume_unfinished(bot.ctx) == 0
    assert len(google.messages) == 1


async def test_someone_who_joins_the_channel_is_welcomed_by_email_as_an_observer(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    slack.echo_api_events = True
    ada = await ada_reports(slack, bot, MAIL)
    await settled(bot, len(OPEN_STEPS))
    channel = channel_of_first_incident(slack)
    hana = slack.add_user("hana", email="hana@example.com")
    await invite(slack, ada, hana, channel)
    await eventually(lambda: to(google, "hana@example.com"))
    [welcome] = to(google, "hana@example.com")
    assert "You are in the response as Observer." in body(welcome, "plain")
    assert [m["To"] for m in google.messages] == ["ada@example.com", "hana@example.com"]


async def test_an_executive_report_of_a_restricted_incident_goes_to_its_group_only(
    slack: FakeSlack,
    bot: BotProcess,
    google: FakeGoogle,
) -> None:
    ada, channel = await mailing_incident(slack, bot, "Payroll leak", ("execs@example.com", {}))
    await record_group(bot, "notifications_group", "inc-1-notify@example.com")
    async with bot.ctx.sessions() as session, session.begin():
        incident = (await session.exec(select(Incident))).one()
        incident.visibility = "restricted"
        session.add(incident)
    google.messages.clear()  # the announcement, sent while it was open

    await open_report(slack, ada, channel, EXECUTIVE)
    await slack.as_user(ada).submit_view({"Current status": "a", "Overview": "b", "Next steps": "c"})
    await slack.wait_for(lambda: "is posted" in result_text(slack, ada), timeout=5)
    assert [m["To"] for m in google.messages] == ["inc-1-notify@example.com"]
    assert "E-mailed to inc-1-notify@example.com." in result_text(slack, ada)
