"""E-mail from the bot (welcomes, reports, notifications) through the Gmail plugin against the fake Google,
with the real bot and the fake Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

from email.message import EmailMessage

from sqlmodel import select

from bot.incidents import flows
from bot.runtime import BotProcess
from storage import emails
from storage import incidents as store
from storage.models import Incident, SentEmail
from tests.fakes.google import FakeGoogle
from tests.fakes.slack import FakeSlack
from tests.test_engagement import channel_of_first_incident
from tests.test_google import private_key  # noqa: F401  (the key fixture)
from tests.test_incident_report import report
from tests.test_incident_resources import bot, google  # noqa: F401  (the Google-wired bot)
from tests.test_people import assign
from tests.test_tickets import choose_plugins, eventually, settled

MAIL = {"email": {"plugin": "google-gmail"}}
MAIL_AND_MEET = {**MAIL, "conference": {"plugin": "google-calendar"}}


def body(message: EmailMessage, kind: str = "html") -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def to(fake: FakeGoogle, address: str) -> list[EmailMessage]:
    return [m for m in fake.messages if address in str(m["To"]).split(", ")]


async def sent_rows(bot: BotProcess) -> list[SentEmail]:  # noqa: F811
    async with bot.ctx.sessions() as session:
        return list((await session.exec(select(SentEmail).order_by(SentEmail.id))).all())


async def first_incident_id(bot: BotProcess) -> int:  # noqa: F811
    async with bot.ctx.sessions() as session:
        incident = (await session.exec(select(Incident))).one()
    assert incident.id is not None
    return incident.id


async def test_the_people_invited_at_opening_get_one_welcome_email_with_the_links(
    slack: FakeSlack,
    bot: BotProcess,  # noqa: F811
    google: FakeGoogle,  # noqa: F811
) -> None:
    ada = slack.add_user("ada", email="ada@example.com")
    await choose_plugins(bot, MAIL_AND_MEET)
    await report(slack, ada, "Checkout errors")
    done = await settled(bot, len(flows.OPEN_STEPS) + 1)
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
        await store.mark_step(session, incident_id, flows.OPEN_FLOW, "welcome_emails", "failed")
    assert await flows.resume_unfinished(bot.ctx) == 1
    assert len(google.messages) == 1 and len(await sent_rows(bot)) == 1
    assert (await settled(bot, len(flows.OPEN_STEPS) + 1))["welcome_emails"].status == "done"


async def test_someone_added_later_is_welcomed_by_email_once_and_sees_the_conference(
    slack: FakeSlack,
    bot: BotProcess,  # noqa: F811
    google: FakeGoogle,  # noqa: F811
) -> None:
    slack.echo_api_events = True
    ada = slack.add_user("ada", email="ada@example.com")
    bob = slack.add_user("bob", email="bob@example.com")
    await choose_plugins(bot, MAIL_AND_MEET)
    await report(slack, ada, "Checkout errors")
    await settled(bot, len(flows.OPEN_STEPS) + 1)
    channel = channel_of_first_incident(slack)
    [event] = google.events.values()

    await assign(slack, ada, channel, bob, "Scribe")
    await eventually(lambda: to(google, "bob@example.com"))
    [welcome] = to(google, "bob@example.com")
    assert "Scribe" in body(welcome, "plain") and event["hangoutLink"] in body(welcome)
    [ephemeral] = slack.ephemerals(channel, bob)
    assert event["hangoutLink"] in str(ephemeral.blocks) and "Join the conference" in str(ephemeral.blocks)

    # Welcomed again (a redelivered event, another role): the e-mail is not sent a second time.
    card = await flows.incident_card(bot.ctx, await first_incident_id(bot))
    await flows.welcome_person(bot.ctx, card, channel, bob, ["Liaison"])
    assert len(slack.ephemerals(channel, bob)) == 2
    assert len(to(google, "bob@example.com")) == 1
    assert [row.key for row in await sent_rows(bot)] == [f"welcome:{ada}", f"welcome:{bob}"]


async def test_a_failing_mail_server_does_not_stop_the_opening(
    slack: FakeSlack,
    bot: BotProcess,  # noqa: F811
    google: FakeGoogle,  # noqa: F811
) -> None:
    ada = slack.add_user("ada", email="ada@example.com")
    await choose_plugins(bot, MAIL)
    google.fail("POST", "/gmail/v1/", 403)
    await report(slack, ada, "Checkout errors")
    done = await settled(bot, len(flows.OPEN_STEPS))
    assert {row.step: row.status for row in done.values() if row.status != "done"} == {}
    assert google.messages == []
    [row] = await sent_rows(bot)
    assert row.status == "failed" and row.error and "send the e-mail" in row.error
    assert done["welcome_emails"].result["failed"] == {"ada@example.com": row.error}
    channel = channel_of_first_incident(slack)
    assert "Welcome to INC-1" in slack.ephemerals(channel, ada)[0].text

    # A failed e-mail may be claimed again, a sent one never.
    incident_id = await first_incident_id(bot)
    async with bot.ctx.sessions() as session:
        assert await emails.claim_email(session, incident_id, f"welcome:{ada}", ["ada@example.com"], "Hi")
        assert not await emails.claim_email(session, incident_id, f"welcome:{ada}", ["ada@example.com"], "Hi")


async def test_without_an_email_plugin_nobody_is_emailed(
    slack: FakeSlack,
    bot: BotProcess,  # noqa: F811
    google: FakeGoogle,  # noqa: F811
) -> None:
    ada = slack.add_user("ada", email="ada@example.com")
    await report(slack, ada, "Checkout errors")
    done = await settled(bot, len(flows.OPEN_STEPS))
    assert done["welcome_emails"].status == "done" and done["welcome_emails"].result == {}
    assert google.messages == [] and await sent_rows(bot) == []
