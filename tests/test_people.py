"""The people of an incident as responders meet them, through the fake Slack, on SQLite and PostgreSQL:
assigning roles, the participant list, reasons, and what joining, writing and leaving do."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Participant, ParticipantRole, TimelineEvent
from tests.test_incident_report import report, wait_until_opened


@dataclass
class Incident:
    channel: str
    commander: str


async def open_incident(slack: FakeSlack, bot: BotProcess, title: str = "Checkout is down") -> Incident:
    """Alice reports an incident (and so commands it); returns its channel.

    Slack tells the app about the invitations the app itself makes; so does the fake, from here on.
    """
    slack.echo_api_events = True
    alice = slack.add_user("alice", tz="Europe/Paris", title="Payments engineer")
    await report(slack, alice, title)
    await wait_until_opened(slack, bot)
    channel = slack.channel_by_name("inc-1-" + title.lower().replace(" ", "-"))
    assert channel is not None
    return Incident(channel.id, alice)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 3.0) -> Any:
    """Poll an async check (a database read) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def role_rows(bot: BotProcess, user: str) -> list[ParticipantRole]:
    async with bot.ctx.sessions() as session:
        statement = (
            select(ParticipantRole)
            .join(Participant, col(Participant.id) == col(ParticipantRole.participant_id))
            .where(Participant.user_id == user)
            .order_by(col(ParticipantRole.id))
        )
        return list((await session.exec(statement)).all())


async def active_roles(bot: BotProcess, user: str) -> list[str]:
    return sorted(row.role for row in await role_rows(bot, user) if row.renounced_at is None)


async def participant(bot: BotProcess, user: str) -> Participant | None:
    async with bot.ctx.sessions() as session:
        return (await session.exec(select(Participant).where(Participant.user_id == user))).first()


async def timeline(bot: BotProcess, kind: str) -> list[TimelineEvent]:
    async with bot.ctx.sessions() as session:
        statement = select(TimelineEvent).where(TimelineEvent.kind == kind).order_by(col(TimelineEvent.id))
        return list((await session.exec(statement)).all())


async def invite(slack: FakeSlack, inviter: str, user: str, channel: str) -> Any:
    """`inviter` adds `user` to the (private) incident channel from the Slack client.

    The fake's simulated users can only join public channels, so this does what Slack does on an
    invitation: the user becomes a member and the app gets member_joined_channel with the inviter.
    """
    slack.channel(channel).members.add(user)
    event = {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "G" if slack.channel(channel).is_private else "C",
        "team": slack.workspace.team_id,
        "inviter": inviter,
    }
    return await slack.emit_event(event)


def open_modal(slack: FakeSlack, user: str, callback_id: str) -> dict[str, Any] | None:
    view = slack.open_view_for(user)
    return view if view and view.get("callback_id") == callback_id else None


async def assign(slack: FakeSlack, lead: str, channel: str, person: str, role: str) -> Any:
    """The lead runs /dispatch-assign-role and submits the modal."""
    actor = slack.as_user(lead)
    await actor.slash_command("/dispatch-assign-role", channel=channel)
    await slack.wait_for(lambda: open_modal(slack, lead, "people_assign_role"))
    return await actor.submit_view({"Person": person, "Role": role})


def texts(slack: FakeSlack, channel: str) -> list[str]:
    return [message.text + str(message.blocks or "") for message in slack.messages(channel)]


async def test_the_commander_makes_someone_scribe(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    bob = slack.add_user("bob")
    submitted = await assign(slack, incident.commander, incident.channel, bob, "Scribe")
    assert submitted.response_action == "update"

    await slack.wait_for(lambda: "is now the *Scribe*" in str(slack.open_view_for(incident.commander)))
    assert bob in slack.members(incident.channel)
    announced = [text for text in texts(slack, incident.channel) if "New Scribe" in text]
    assert len(announced) == 1 and f"<@{bob}>" in announced[0]
    assert any("Welcome to INC-1" in message.text for message in slack.ephemerals(incident.channel, bob))
    assert await active_roles(bot, bob) == ["Scribe"]
    added = await participant(bot, bob)
    assert added is not None and added.added_by == incident.commander
    [event] = await timeline(bot, "role_assigned")
    assert f"<@{bob}>" in event.description and "Scribe" in event.description
    # The bot's own invitation is not a second way in: Bob is not an Observer as well.
    await asyncio.sleep(0.1)
    assert await active_roles(bot, bob) == ["Scribe"]


async def test_handing_over_command_moves_the_topic_the_tips_and_the_history(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    alice = incident.commander
    carol = slack.add_user("carol")
    await assign(slack, alice, incident.channel, carol, "Incident Commander")

    await slack.wait_for(lambda: "IC: carol" in slack.channel(incident.channel).topic)
    await slack.wait_for(lambda: any("incident commander of INC-1" in m.text for m in slack.dms_to(carol)))
    assert any("New Incident Commander" in text for text in texts(slack, incident.channel))
    assert await active_roles(bot, carol) == ["Incident Commander"]
    assert await active_roles(bot, alice) == ["Participant", "Reporter"]
    history = {(row.role, row.renounced_at is not None) for row in await role_rows(bot, alice)}
    assert ("Incident Commander", True) in history and ("Participant", False) in history
    [event] = await timeline(bot, "role_assigned")
    assert f"taking over from <@{alice}>" in event.description

    # The new commander leads now: she can assign, and the former one cannot any more.
    dave = slack.add_user("dave")
    await assign(slack, carol, incident.channel, dave, "Liaison")
    await eventually(lambda: active_roles(bot, dave))
    await slack.as_user(alice).slash_command("/dispatch-assign-role", channel=incident.channel)
    refusal = await slack.wait_for(
        lambda: [m for m in slack.ephemerals(incident.channel, alice) if "Only the incident" in m.text]
    )
    assert f"<@{carol}>" in refusal[0].text


async def test_two_leads_giving_command_to_two_people_at_once_leave_one_commander(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    alice = incident.commander
    bob, carol, dave = slack.add_user("bob"), slack.add_user("carol"), slack.add_user("dave")
    await assign(slack, alice, incident.channel, bob, "Scribe")
    await eventually(lambda: active_roles(bot, bob))
    for lead in (alice, bob):
        await slack.as_user(lead).slash_command("/dispatch-assign-role", channel=incident.channel)
        await slack.wait_for(lambda lead=lead: open_modal(slack, lead, "people_assign_role"))

    # Both forms are checked before either assignment is saved: both leads still lead.
    await asyncio.gather(
        slack.as_user(alice).submit_view({"Person": carol, "Role": "Incident Commander"}),
        slack.as_user(bob).submit_view({"Person": dave, "Role": "Incident Commander"}),
    )
    for lead in (alice, bob):
        await slack.wait_for(lambda lead=lead: "is now" in str(slack.open_view_for(lead)), timeout=15)

    roles = {person: await active_roles(bot, person) for person in (carol, dave)}
    assert sorted(roles.values()) == [["Incident Commander"], ["Participant"]]
    assert await active_roles(bot, alice) == ["Participant", "Reporter"]
    first, second = (await timeline(bot, "role_assigned"))[-2:]
    assert first.details["user"] in second.details["previous"]  # the second took over from the first


async def test_only_leads_may_assign_roles(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    mallory = slack.add_user("mallory")
    await invite(slack, incident.commander, mallory, incident.channel)
    await eventually(lambda: active_roles(bot, mallory))
    await slack.as_user(mallory).slash_command("/dispatch-assign-role", channel=incident.channel)
    refusal = await slack.wait_for(
        lambda: [m for m in slack.ephemerals(incident.channel, mallory) if "Only the incident" in m.text]
    )
    assert f"<@{incident.commander}>" in refusal[0].text and "/dispatch-assign-role" in refusal[0].text
    assert slack.open_view_for(mallory) is None


async def test_assigning_a_role_someone_holds_or_to_a_deactivated_account_is_refused_in_the_modal(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    alice = incident.commander
    submitted = await assign(slack, alice, incident.channel, alice, "Incident Commander")
    assert submitted.errors == {
        "people_person": "alice is already the Incident Commander. Pick someone else."
    }

    gone = slack.add_user("gone", deleted=True)
    submitted = await slack.as_user(alice).submit_view({"Person": gone, "Role": "Scribe"})
    assert submitted.errors is not None and "deactivated" in submitted.errors["people_person"]
    assert await participant(bot, gone) is None
    assert await timeline(bot, "role_assigned") == []


async def test_the_person_chosen_is_looked_up_before_the_form_is_sent(
    slack: FakeSlack, bot: BotProcess
) -> None:
    """The submit has 3 s to answer with inline errors: the profile is fetched when the person is chosen."""
    incident = await open_incident(slack, bot)
    alice, gone = incident.commander, slack.add_user("gone", deleted=True)
    actor = slack.as_user(alice)
    await actor.slash_command("/dispatch-assign-role", channel=incident.channel)
    await slack.wait_for(lambda: open_modal(slack, alice, "people_assign_role"))
    await actor.select_in_view("Person", gone)
    await slack.wait_for(lambda: [c for c in slack.calls_to("users.info") if c.args.get("user") == gone])
    looked_up = len(slack.calls_to("users.info"))

    submitted = await actor.submit_view({"Person": gone, "Role": "Scribe"})
    assert submitted.errors is not None and "deactivated" in submitted.errors["people_person"]
    assert len(slack.calls_to("users.info")) == looked_up  # answered from what was fetched at the choice


async def test_the_participant_list_shows_roles_titles_and_time_zones(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    erin = slack.add_user("erin", tz="America/New_York", title="Database SRE")
    await assign(slack, incident.commander, incident.channel, erin, "Liaison")
    await eventually(lambda: active_roles(bot, erin))

    await slack.as_user(erin).slash_command("/dispatch-list-participants", channel=incident.channel)
    view = await slack.wait_for(lambda: open_modal(slack, erin, "people_list"))
    shown = str(view["blocks"])
    assert "2 people with a role" in shown
    assert "Incident Commander, Reporter" in shown and "Liaison" in shown
    assert "Payments engineer" in shown and "Europe/Paris" in shown
    assert "Database SRE" in shown and "America/New_York" in shown
    assert f"Added by <@{incident.commander}>: _Assigned the Liaison role_" in shown


async def test_a_long_participant_list_is_paged(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    crowd = [slack.add_user(f"watcher{index}") for index in range(22)]
    for user in crowd:
        await invite(slack, incident.commander, user, incident.channel)

    async def all_joined() -> bool:
        return len(await timeline(bot, "participant_joined")) == len(crowd)

    await eventually(all_joined)
    await slack.as_user(crowd[0]).slash_command("/dispatch-list-participants", channel=incident.channel)
    first = await slack.wait_for(lambda: open_modal(slack, crowd[0], "people_list"))
    assert "23 people with a role · page 1 of 2" in str(first["blocks"])
    assert len(first["blocks"]) <= 100
    await slack.as_user(crowd[0]).click_in_view("Next ▶")
    second = await slack.wait_for(
        lambda: "page 2 of 2" in str(slack.open_view_for(crowd[0])) and slack.open_view_for(crowd[0])
    )
    assert str(second["blocks"]).count("Observer") == 3


async def test_someone_says_why_they_are_here(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    frank = slack.add_user("frank")
    await invite(slack, incident.commander, frank, incident.channel)
    await eventually(lambda: active_roles(bot, frank))

    await slack.as_user(frank).slash_command("/dispatch-update-participant", channel=incident.channel)
    view = await slack.wait_for(lambda: open_modal(slack, frank, "people_update"))
    assert "Invited to the channel" in str(view["blocks"])  # prefilled with the current reason
    await slack.as_user(frank).submit_view(
        {"Why are you here / expertise": "I run the <!channel> payments DB"}
    )

    saved = await slack.wait_for(
        lambda: [m for m in slack.ephemerals(incident.channel, frank) if m.text.startswith("Saved")]
    )
    assert "&lt;!channel&gt;" in saved[0].text and "<!channel>" not in saved[0].text
    stored = await participant(bot, frank)
    assert stored is not None and stored.added_reason == "I run the <!channel> payments DB"


async def test_the_commander_updates_someone_elses_reason(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    gus = slack.add_user("gus")
    await invite(slack, incident.commander, gus, incident.channel)
    await eventually(lambda: active_roles(bot, gus))

    lead = slack.as_user(incident.commander)
    await lead.slash_command(f"/dispatch-update-participant <@{gus}|gus>", channel=incident.channel)
    await slack.wait_for(lambda: open_modal(slack, incident.commander, "people_update"))
    await lead.submit_view({"Why are you here / expertise": "Knows the queue consumers"})

    async def saved() -> bool:
        stored = await participant(bot, gus)
        return stored is not None and stored.added_reason == "Knows the queue consumers"

    await eventually(saved)

    # Someone who does not lead may not do the same.
    await slack.as_user(gus).slash_command(
        f"/dispatch-update-participant <@{incident.commander}>", channel=incident.channel
    )
    refusal = await slack.wait_for(
        lambda: [m for m in slack.ephemerals(incident.channel, gus) if "your own entry" in m.text]
    )
    assert refusal and open_modal(slack, gus, "people_update") is None


async def test_a_newcomer_observes_and_becomes_a_participant_after_three_messages(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    hana = slack.add_user("hana")
    newcomer = slack.as_user(hana)
    await invite(slack, incident.commander, hana, incident.channel)
    assert await eventually(lambda: active_roles(bot, hana)) == ["Observer"]
    await slack.wait_for(
        lambda: any("Welcome to INC-1" in m.text for m in slack.ephemerals(incident.channel, hana))
    )

    for text in ("I see errors in eu-west", "Rolling back?"):
        second = await newcomer.post_message(incident.channel, text)

    async def counted(expected: int) -> bool:
        stored = await participant(bot, hana)
        return stored is not None and stored.message_count == expected

    await eventually(lambda: counted(2))
    # Slack delivers the second message again, in a new envelope: it is not counted twice.
    again = {
        "type": "message",
        "channel": incident.channel,
        "user": hana,
        "text": second.text,
        "ts": second.ts,
    }
    delivery = await slack.emit_event({**again, "event_ts": second.ts, "channel_type": "channel"})
    await slack.wait_for(lambda: delivery.acked_at is not None)
    await bot.ctx.tasks.drain(5)  # the work the event started after its ack
    assert await counted(2) and await active_roles(bot, hana) == ["Observer"]
    await newcomer.post_message(incident.channel, "Rollback done")
    await eventually(lambda: counted(3))
    assert await eventually(lambda: active_roles(bot, hana)) == ["Participant"]
    history = [(row.role, row.renounced_at is not None) for row in await role_rows(bot, hana)]
    assert history == [("Observer", True), ("Participant", False)]
    [promotion] = await timeline(bot, "role_changed")
    assert f"<@{hana}>" in promotion.description and "Participant" in promotion.description


async def test_a_member_who_writes_without_a_join_event_becomes_a_participant(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    ines = slack.add_user("ines")
    slack.channel(incident.channel).members.add(ines)  # she was there before the bot could see it
    await slack.as_user(ines).post_message(incident.channel, "Our dashboards show it too")
    assert await eventually(lambda: active_roles(bot, ines)) == ["Observer"]
    stored = await participant(bot, ines)
    assert stored is not None and stored.message_count == 1


async def test_a_participant_who_leaves_loses_their_roles(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    jack = slack.add_user("jack")
    await assign(slack, incident.commander, incident.channel, jack, "Scribe")
    await eventually(lambda: active_roles(bot, jack))

    await slack.as_user(jack).leave_channel(incident.channel)

    async def ended() -> bool:
        rows = await role_rows(bot, jack)
        return bool(rows) and all(row.renounced_at is not None for row in rows)

    await eventually(ended)
    assert jack not in slack.members(incident.channel)
    [left] = await timeline(bot, "participant_left")
    assert "Scribe" in left.description
    assert await participant(bot, jack) is not None  # the row and its history stay


async def test_the_commander_who_leaves_is_brought_back_and_asked_to_hand_off(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    alice = incident.commander
    await slack.as_user(alice).leave_channel(incident.channel)

    await slack.wait_for(lambda: alice in slack.members(incident.channel))
    told = await slack.wait_for(
        lambda: [m for m in slack.ephemerals(incident.channel, alice) if "hand the role" in m.text.lower()]
    )
    assert "/dispatch-assign-role" in told[0].text
    assert await active_roles(bot, alice) == ["Incident Commander", "Reporter"]
    assert len(await timeline(bot, "commander_left")) == 1
    assert await timeline(bot, "participant_left") == []


async def test_people_commands_outside_an_incident_channel_say_where_they_work(
    slack: FakeSlack, bot: BotProcess
) -> None:
    kim = slack.add_user("kim")
    general = slack.add_channel("general", members=[kim, slack.bot_user_id])
    commands = ("/dispatch-assign-role", "/dispatch-list-participants", "/dispatch-update-participant")
    for command in commands:
        await slack.as_user(kim).slash_command(command, channel=general)
    answers = await slack.wait_for(
        lambda: len(slack.ephemerals(general, kim)) == 3 and slack.ephemerals(general, kim)
    )
    assert sorted(answer.text.split(" only works in an incident channel")[0] for answer in answers) == sorted(
        f"`{command}`" for command in commands
    )
    assert slack.open_view_for(kim) is None


async def test_a_redelivered_join_adds_one_participant(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    liam = slack.add_user("liam")
    delivery = await invite(slack, incident.commander, liam, incident.channel)
    again = await slack.deliver("events_api", delivery.payload)
    await again.acked(timeout=3)
    await eventually(lambda: active_roles(bot, liam))
    await asyncio.sleep(0.2)  # let both deliveries finish

    async with bot.ctx.sessions() as session:
        rows = (await session.exec(select(Participant).where(Participant.user_id == liam))).all()
    assert len(rows) == 1
    assert [row.role for row in await role_rows(bot, liam)] == ["Observer"]
    assert len(await timeline(bot, "participant_joined")) == 1
    welcomes = [m for m in slack.ephemerals(incident.channel, liam) if "Welcome" in m.text]
    assert len(welcomes) == 1


async def test_edits_joins_and_bot_posts_are_not_counted_as_messages(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    alice = incident.commander
    message = await slack.as_user(alice).post_message(incident.channel, "Paging the DB team")

    async def count() -> int:
        stored = await participant(bot, alice)
        assert stored is not None
        return stored.message_count

    await eventually(lambda: _equals(count(), 1))
    base = {"channel": incident.channel, "channel_type": "group", "ts": message.ts}
    for event in (
        {**base, "subtype": "message_changed", "message": {"user": alice, "text": "Paging the DB team now"}},
        {**base, "subtype": "channel_join", "user": alice, "text": f"<@{alice}> has joined the channel"},
        {**base, "subtype": "bot_message", "bot_id": "B0OTHER", "text": "deploy finished"},
    ):
        delivery = await slack.emit_event({"type": "message", **event})
        await delivery.acked(timeout=3)
    await slack.as_user(alice).post_message(incident.channel, "DB team is here")
    await eventually(lambda: _equals(count(), 2))
    await asyncio.sleep(0.1)
    assert await count() == 2


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_the_hourly_sync_brings_in_members_whose_join_was_missed(
    slack: FakeSlack, bot: BotProcess
) -> None:
    from bot.people import membership

    incident = await open_incident(slack, bot)
    jade = slack.add_user("jade")
    slack.channel(incident.channel).members.add(jade)  # joined while the bot was down: no event
    assert await active_roles(bot, jade) == []

    assert await membership.sync_members(bot.ctx) == "added 1 member(s) the bot had missed"
    assert await active_roles(bot, jade) == ["Observer"]
    assert [e for e in await timeline(bot, "participant_joined") if f"<@{jade}>" in e.description]
    assert await membership.sync_members(bot.ctx) == "added 0 member(s) the bot had missed"
