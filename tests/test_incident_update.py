"""Updating an incident and moving it through its statuses, as its commander does in Slack."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Incident, IncidentPriority, ParticipantRole, TimelineEvent
from tests.test_incident_report import report, wait_until_opened
from tests.test_people import active_roles, eventually, invite, timeline


async def open_incident(slack: FakeSlack, bot: BotProcess, user: str, title: str) -> str:
    await report(slack, user, title)
    await wait_until_opened(slack, bot)
    channel = next(
        call.response["channel"]["id"] for call in slack.calls_to("conversations.create") if call.ok
    )
    return str(channel)


async def open_update_modal(slack: FakeSlack, user: str, channel: str) -> dict[str, Any]:
    await slack.as_user(user).slash_command("/dispatch-update-incident", channel=channel)
    await slack.wait_for(lambda: (slack.open_view_for(user) or {}).get("callback_id") == "incident_update")
    view = slack.open_view_for(user)
    assert view is not None
    return view


async def close_and_review(slack: FakeSlack, user: str, channel: str) -> Any:
    """Close the incident from its channel; the review DM its commander then gets."""
    await open_update_modal(slack, user, channel)
    await slack.as_user(user).submit_view({"Status": "Closed", "Severity": "Low"})
    await slack.wait_for(
        lambda: any("Thanks for closing" in str(m.blocks) for m in slack.dms_to(user)), timeout=5
    )
    return next(m for m in slack.dms_to(user) if "Thanks for closing" in str(m.blocks))


async def the_incident(bot: BotProcess) -> Incident:
    async with bot.ctx.sessions() as session:
        return (await session.exec(select(Incident))).one()


async def test_the_commander_raises_the_priority_and_everyone_sees_it(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Checkout errors")
    view = await open_update_modal(slack, ada, channel)
    assert "Checkout errors" in str(view["blocks"])  # prefilled

    result = await slack.as_user(ada).submit_view({"Priority": "High", "Severity": "High"})
    assert result.response_action == "update"
    await slack.wait_for(lambda: "Saved" in str(slack.open_view_for(ada) or {}), timeout=5)
    await slack.wait_for(lambda: "Priority: High" in (slack.channel(channel).topic or ""), timeout=5)

    update = [m for m in slack.messages(channel) if "INC-1 updated" in m.text][-1]
    shown = str(update.blocks)
    assert "⬆️" in shown and "Medium → High" in shown
    pinned = slack.pins(channel)[0]
    await slack.wait_for(lambda: "High" in str(slack.pins(channel)[0].blocks), timeout=5)
    assert pinned.ts == slack.pins(channel)[0].ts  # the same pinned message, edited in place

    async with bot.ctx.sessions() as session:
        events = (
            await session.exec(select(TimelineEvent).where(TimelineEvent.kind == "field_updated"))
        ).all()
    assert sorted(event.details["field"] for event in events) == ["Priority", "Severity"]


async def test_only_the_commander_or_scribe_may_update(slack: FakeSlack, bot: BotProcess) -> None:
    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    channel = await open_incident(slack, bot, ada, "Slow search")
    await bot.ctx.gateway.invite(channel, [bob])
    await slack.as_user(bob).slash_command("/dispatch-update-incident", channel=channel)
    await slack.wait_for(lambda: any(post.user == bob for post in slack.response_url_posts), timeout=5)
    refusal = [post.body for post in slack.response_url_posts if post.user == bob][-1]
    assert "Only the incident commander or the scribe" in refusal["text"] and f"<@{ada}>" in refusal["text"]


async def test_an_incident_command_outside_an_incident_channel_says_where_it_works(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    general = slack.add_channel("general", members=[ada])
    await slack.as_user(ada).slash_command("/dispatch-update-incident", channel=general)
    await slack.wait_for(lambda: bool(slack.response_url_posts), timeout=5)
    text = slack.response_url_posts[-1].body["text"]
    assert "only works in an incident channel" in text and "/dispatch-report-incident" in text


async def test_a_provisional_severity_cannot_be_kept_when_stabilising(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Disk filling")
    await open_update_modal(slack, ada, channel)
    result = await slack.as_user(ada).submit_view({"Status": "Stable", "Severity": "Undetermined"})
    assert result.response_action == "errors"
    assert "severity" in result.errors
    assert (await the_incident(bot)).status == "active"


async def test_closing_ends_roles_archives_the_channel_and_asks_the_commander_to_review(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Login outage")
    await open_update_modal(slack, ada, channel)
    await slack.as_user(ada).submit_view({"Status": "Closed", "Severity": "Low", "Resolution": "Rolled back"})
    await slack.wait_for(lambda: slack.channel(channel).is_archived, timeout=5)

    incident = await the_incident(bot)
    assert incident.status == "closed" and incident.closed_at is not None and incident.stable_at is not None
    async with bot.ctx.sessions() as session:
        active = (
            await session.exec(select(ParticipantRole).where(col(ParticipantRole.renounced_at).is_(None)))
        ).all()
    assert active == []
    await slack.wait_for(
        lambda: any("Thanks for closing INC-1" in str(message.blocks) for message in slack.dms_to(ada)),
        timeout=5,
    )
    closing = [m for m in slack.messages(channel) if "INC-1 updated" in m.text][-1]
    assert "Active → Closed" in str(closing.blocks)


async def test_the_commander_reopens_a_closed_incident_from_the_review_message(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Queue stuck")
    review = await close_and_review(slack, ada, channel)
    assert slack.channel(channel).is_archived

    await slack.as_user(ada).click_button(review.channel, review.ts, "Reopen incident")
    await slack.wait_for(lambda: not slack.channel(channel).is_archived, timeout=5)
    await slack.wait_for(lambda: "Active" in (slack.channel(channel).topic or ""), timeout=5)
    incident = await the_incident(bot)
    assert incident.status == "active" and incident.closed_at is None
    async with bot.ctx.sessions() as session:
        active = (
            await session.exec(
                select(ParticipantRole.role).where(col(ParticipantRole.renounced_at).is_(None))
            )
        ).all()
    assert sorted(active) == ["Incident Commander", "Reporter"]
    await slack.wait_for(
        lambda: any("Closed → Active" in str(m.blocks) for m in slack.messages(channel)), timeout=5
    )


async def test_reopening_invites_back_only_the_people_taking_part_at_the_close(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada, bob, cleo = slack.add_user("ada"), slack.add_user("bob"), slack.add_user("cleo")
    channel = await open_incident(slack, bot, ada, "Queue stuck")
    await invite(slack, ada, bob, channel)
    await invite(slack, ada, cleo, channel)
    await eventually(lambda: active_roles(bot, bob))
    await eventually(lambda: active_roles(bot, cleo))
    await slack.as_user(bob).leave_channel(channel)
    await eventually(lambda: timeline(bot, "participant_left"))
    review = await close_and_review(slack, ada, channel)
    invited_before = len(slack.calls_to("conversations.invite"))

    await slack.as_user(ada).click_button(review.channel, review.ts, "Reopen incident")
    await slack.wait_for(lambda: any("Closed → Active" in str(m.blocks) for m in slack.messages(channel)))
    invited = {
        user
        for call in slack.calls_to("conversations.invite")[invited_before:]
        for user in str(call.args["users"]).split(",")
    }
    assert invited == {ada, cleo}
    assert bob not in slack.members(channel) and await active_roles(bot, bob) == []
    assert await active_roles(bot, cleo) == ["Observer"]


async def test_the_pinned_summary_buttons_open_the_right_forms(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Broken deploys")
    summary = slack.pins(channel)[0]
    for label, callback_id in (
        ("Add timeline event", "timeline_add_event"),
        ("Assign role", "people_assign_role"),
        ("Mark stable", "incident_update"),
    ):
        await slack.as_user(ada).click_button(channel, summary.ts, label)
        await slack.wait_for(
            lambda cid=callback_id: (slack.open_view_for(ada) or {}).get("callback_id") == cid
        )
        await slack.as_user(ada).close_view()


async def test_mark_stable_preselects_the_new_status(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Broken deploys")
    summary = slack.pins(channel)[0]
    await slack.as_user(ada).click_button(channel, summary.ts, "Mark stable")
    await slack.wait_for(lambda: (slack.open_view_for(ada) or {}).get("callback_id") == "incident_update")
    await slack.as_user(ada).submit_view({"Severity": "Low"})
    await slack.wait_for(
        lambda: "Active → Stable" in str([m.blocks for m in slack.messages(channel)]), timeout=5
    )
    assert (await the_incident(bot)).status == "stable"


async def test_tags_are_chosen_when_reporting_and_changed_by_an_update(
    slack: FakeSlack, bot: BotProcess
) -> None:
    from storage.models import Tag, TagType
    from tests.test_incident_report import incident_project

    async with bot.ctx.sessions() as session:
        project_id = await incident_project(bot)
        component = TagType(project_id=project_id, name="component")
        session.add(component)
        await session.flush()
        assert component.id is not None
        for name in ("database", "checkout"):
            session.add(Tag(project_id=project_id, tag_type_id=component.id, name=name))
        await session.commit()
    ada = slack.add_user("ada")
    # A description naming no tag: discoverable tags it named would be added (tests/test_knowledge.py).
    await report(slack, ada, "Slow queries", Description="Queries take seconds.", Tags=["component/database"])
    await wait_until_opened(slack, bot)
    assert (await the_incident(bot)).tags == ["database"]

    channel = str(next(c.response["channel"]["id"] for c in slack.calls_to("conversations.create") if c.ok))
    view = await open_update_modal(slack, ada, channel)
    assert "initial_options" in str(view["blocks"])  # the current tag is preselected
    await slack.as_user(ada).submit_view({"Tags": ["component/database", "component/checkout"]})
    await slack.wait_for(lambda: any("Tags" in str(m.blocks) for m in slack.messages(channel)), timeout=5)
    assert (await the_incident(bot)).tags == ["checkout", "database"]


async def test_an_update_cannot_be_aimed_at_another_incident(slack: FakeSlack, bot: BotProcess) -> None:
    import json

    ada, eve = slack.add_user("ada"), slack.add_user("eve")
    await report(slack, ada, "First outage")
    await report(slack, eve, "Second outage")
    await wait_until_opened(slack, bot, count=2)
    first = slack.channel_by_name("inc-1-first-outage") or slack.channel_by_name("inc-2-first-outage")
    second = slack.channel_by_name("inc-1-second-outage") or slack.channel_by_name("inc-2-second-outage")
    assert first is not None and second is not None
    view = await open_update_modal(slack, ada, first.id)
    async with bot.ctx.sessions() as session:
        other = next(i for i in (await session.exec(select(Incident))).all() if i.title == "Second outage")
    metadata = json.loads(view["private_metadata"])
    metadata["incident_id"] = other.id  # forged: ada leads the first incident, not the second
    slack.workspace.views[view["id"]]["private_metadata"] = json.dumps(
        metadata
    )  # as a forged client would send
    result = await slack.as_user(ada).submit_view({"Title": "Hijacked"})
    assert result.response_action == "errors"
    async with bot.ctx.sessions() as session:
        titles = sorted(i.title for i in (await session.exec(select(Incident))).all())
    assert titles == ["First outage", "Second outage"]


async def test_a_form_with_unreadable_context_gets_an_answer_not_an_error(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Flaky DNS")
    view = await open_update_modal(slack, ada, channel)
    slack.workspace.views[view["id"]]["private_metadata"] = "{not json"  # as a broken client would send
    result = await slack.as_user(ada).submit_view({"Title": "Flaky DNS in eu-west"})
    assert result.response_action == "update"
    assert "could not be read" in str(result.ack)
    assert (await the_incident(bot)).title == "Flaky DNS"


async def commander_and_scribe(
    slack: FakeSlack, bot: BotProcess, title: str
) -> tuple[str, str, str, Incident]:
    """An incident that ada commands and bob scribes: ada, bob, its channel and the incident."""
    from storage import incidents as store

    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    channel = await open_incident(slack, bot, ada, title)
    incident = await the_incident(bot)
    assert incident.id is not None
    async with bot.ctx.sessions() as session, session.begin():
        await store.add_participant(session, incident.id, bob, ["Scribe"])
    return ada, bob, channel, incident


async def test_two_leads_editing_different_fields_both_keep_their_change(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada, bob, channel, _ = await commander_and_scribe(slack, bot, "Checkout errors")
    await open_update_modal(slack, ada, channel)
    await open_update_modal(slack, bob, channel)  # both forms show priority Medium and the old title

    await slack.as_user(ada).submit_view({"Priority": "High"})
    await slack.wait_for(lambda: "Saved" in str(slack.open_view_for(ada) or {}), timeout=5)
    await slack.as_user(bob).submit_view({"Title": "Checkout errors in eu-west"})
    await slack.wait_for(lambda: "Saved" in str(slack.open_view_for(bob) or {}), timeout=5)

    async with bot.ctx.sessions() as session:
        saved = (await session.exec(select(Incident))).one()
        priority = await session.get(IncidentPriority, saved.incident_priority_id)
    assert saved.title == "Checkout errors in eu-west"
    assert priority is not None and priority.name == "High"  # bob's stale form did not undo ada's change
    await slack.wait_for(lambda: any("title" in m.text for m in slack.messages(channel)), timeout=5)
    bobs = next(m for m in slack.messages(channel) if "INC-1 updated: title" in m.text)
    assert "Priority" not in str(bobs.blocks)


async def test_two_reopens_at_once_reopen_once(slack: FakeSlack, bot: BotProcess) -> None:
    import asyncio

    from bot.incidents import lifecycle

    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Queue stuck")
    await open_update_modal(slack, ada, channel)
    await slack.as_user(ada).submit_view({"Status": "Closed", "Severity": "Low"})
    await slack.wait_for(lambda: slack.channel(channel).is_archived, timeout=5)
    incident = await the_incident(bot)
    assert incident.id is not None

    first, second = await asyncio.gather(
        lifecycle.reopen(bot.ctx, incident.id, ada), lifecycle.reopen(bot.ctx, incident.id, ada)
    )
    assert sorted([bool(first), bool(second)]) == [False, True]  # one reopened, the other found it open
    async with bot.ctx.sessions() as session:
        active = (
            await session.exec(
                select(ParticipantRole.role).where(col(ParticipantRole.renounced_at).is_(None))
            )
        ).all()
    assert sorted(active) == ["Incident Commander", "Reporter"]  # roles given back once, not twice
    reopened = [m for m in slack.messages(channel) if "Closed → Active" in str(m.blocks)]
    assert len(reopened) == 1


async def test_the_commander_corrects_a_closed_incident_from_the_review_message(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    channel = await open_incident(slack, bot, ada, "Queue stuck")
    review = await close_and_review(slack, ada, channel)
    assert "update command" not in str(review.blocks)  # an archived channel takes no commands

    await slack.as_user(ada).click_button(review.channel, review.ts, "Review and update")
    await slack.wait_for(lambda: (slack.open_view_for(ada) or {}).get("callback_id") == "incident_update")
    await slack.as_user(ada).submit_view({"Resolution": "A stuck consumer was restarted"})
    await slack.wait_for(lambda: "Saved" in str(slack.open_view_for(ada) or {}), timeout=5)
    incident = await the_incident(bot)
    assert incident.resolution == "A stuck consumer was restarted" and incident.status == "closed"
    assert slack.channel(channel).is_archived
    async with bot.ctx.sessions() as session:
        fields = (
            await session.exec(select(TimelineEvent).where(TimelineEvent.kind == "field_updated"))
        ).all()
    assert [event.details["field"] for event in fields] == ["Severity", "Resolution"]  # closing, then review

    # Someone who never led it is told so, and gets no form.
    await slack.as_user(bob).click_button(review.channel, review.ts, "Review and update")
    await slack.wait_for(lambda: any(post.user == bob for post in slack.response_url_posts), timeout=5)
    assert (
        "last commander or scribe" in [p.body for p in slack.response_url_posts if p.user == bob][-1]["text"]
    )
    assert slack.open_view_for(bob) is None


async def test_a_type_that_needs_a_resolution_cannot_close_without_one(
    slack: FakeSlack, bot: BotProcess
) -> None:
    from storage.models import IncidentType

    ada = slack.add_user("ada")
    channel = await open_incident(slack, bot, ada, "Leaked token")
    incident = await the_incident(bot)
    async with bot.ctx.sessions() as session, session.begin():
        incident_type = await session.get(IncidentType, incident.incident_type_id)
        assert incident_type is not None
        incident_type.resolution_required = True
        session.add(incident_type)
    await open_update_modal(slack, ada, channel)
    refused = await slack.as_user(ada).submit_view({"Status": "Closed", "Severity": "Low"})
    assert refused.errors is not None
    assert "need a resolution before they close" in refused.errors["resolution"]
    assert (await the_incident(bot)).status == "active"

    closed = await slack.as_user(ada).submit_view(
        {"Status": "Closed", "Severity": "Low", "Resolution": "Token revoked and rotated"}
    )
    assert closed.response_action == "update"
    await slack.wait_for(lambda: slack.channel(channel).is_archived, timeout=5)
    assert (await the_incident(bot)).resolution == "Token revoked and rotated"


async def test_an_update_that_a_change_saved_meanwhile_makes_invalid_is_refused(
    slack: FakeSlack, bot: BotProcess
) -> None:
    from storage.models import IncidentType

    ada, bob, channel, incident = await commander_and_scribe(slack, bot, "Leaked token")
    async with bot.ctx.sessions() as session, session.begin():
        incident_type = await session.get(IncidentType, incident.incident_type_id)
        assert incident_type is not None
        incident_type.resolution_required = True
        session.add(incident_type)
        saved = await session.get(Incident, incident.id)
        assert saved is not None
        saved.resolution = "Token revoked"
        session.add(saved)
    await open_update_modal(slack, ada, channel)
    await open_update_modal(slack, bob, channel)  # both forms show the resolution "Token revoked"

    await slack.as_user(bob).submit_view({"Resolution": ""})  # bob clears it: fine while active
    await slack.wait_for(lambda: "Saved" in str(slack.open_view_for(bob) or {}))
    closing = await slack.as_user(ada).submit_view({"Status": "Closed", "Severity": "Low"})
    assert closing.errors is None  # ada's form still shows a resolution
    await slack.wait_for(lambda: "Not saved" in str(slack.open_view_for(ada) or {}))
    assert "need a resolution before they close" in str(slack.open_view_for(ada))
    closed = await the_incident(bot)
    assert (closed.status, closed.resolution) == ("active", "")
    assert not slack.channel(channel).is_archived
    # Her form is back with what she chose: she adds the resolution and saves, nothing retyped.
    retry = slack.open_view_for(ada)
    assert retry is not None and retry.get("callback_id") == "incident_update"
    await slack.as_user(ada).submit_view({"Resolution": "Token rotated"})
    await slack.wait_for(lambda: slack.channel(channel).is_archived, timeout=5)
    assert (await the_incident(bot)).resolution == "Token rotated"


async def test_an_update_waiting_too_long_on_another_change_says_so_and_saves_nothing(
    slack: FakeSlack, database_url: str
) -> None:
    from storage import incidents as store
    from storage.db import create_engine, session_factory
    from tests.conftest import running_bot

    other_process = create_engine(database_url)
    async with running_bot(slack, database_url, database_lock_timeout_seconds=1) as bot:
        ada = slack.add_user("ada")
        channel = await open_incident(slack, bot, ada, "Checkout errors")
        incident = await the_incident(bot)
        assert incident.id is not None
        async with session_factory(other_process)() as session, session.begin():
            await store.lock_incident(session, incident.id)  # a change that takes its time
            await open_update_modal(slack, ada, channel)
            await slack.as_user(ada).submit_view({"Priority": "High"})
            await slack.wait_for(
                lambda: "still being saved" in str(slack.open_view_for(ada) or {}), timeout=10
            )
        assert "save again in a moment" in str(slack.open_view_for(ada))
        assert (await the_incident(bot)).incident_priority_id == incident.incident_priority_id

        # The form is back with her choice: saving it again, as it is, goes through.
        await slack.as_user(ada).submit_view({})
        await slack.wait_for(lambda: "Saved: priority" in str(slack.open_view_for(ada) or {}), timeout=5)
    await other_process.dispose()
