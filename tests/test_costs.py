"""Incident costs through the real bot and the fake Slack, on SQLite and PostgreSQL, with the clock held:
messages recorded as activity, the response cost computed by the job (classic and cost model), shown in
the update modal, pushed to the ticket, and costs added by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from bot.costs.flows import ManualCost, add_manual_cost, compute_costs
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import (
    CostModel,
    Incident,
    IncidentCost,
    IncidentCostState,
    IncidentCostType,
    IncidentType,
    Participant,
    ParticipantActivity,
    ParticipantRole,
    Project,
)
from tests.test_incident_update import open_update_modal
from tests.test_people import active_roles, assign, eventually, open_incident, timeline


async def activity(bot: BotProcess) -> list[ParticipantActivity]:
    async with bot.ctx.sessions() as session:
        statement = select(ParticipantActivity).order_by(col(ParticipantActivity.id))
        return list((await session.exec(statement)).all())


async def activity_count(bot: BotProcess, expected: int) -> bool:
    return len(await activity(bot)) == expected


async def _has_role(bot: BotProcess, user: str, role: str) -> bool:
    return role in await active_roles(bot, user)


async def _state_model_is(bot: BotProcess, model: Any) -> bool:
    async with bot.ctx.sessions() as session:
        state = (await session.exec(select(IncidentCostState))).first()
    return state is not None and state.model == model and state.settled_until is not None


async def _state_status_is(bot: BotProcess, status: str) -> bool:
    async with bot.ctx.sessions() as session:
        state = (await session.exec(select(IncidentCostState))).first()
    return state is not None and state.status == status


def hold_clock(bot: BotProcess, at: datetime) -> None:
    bot.ctx.clock = lambda: at


async def test_messages_in_the_channel_and_its_threads_are_recorded_once(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    alice = incident.commander
    start = bot.ctx.clock()
    hold_clock(bot, start)
    root = await slack.as_user(alice).post_message(incident.channel, "Looking at the payments DB")
    await eventually(lambda: activity_count(bot, 1))
    hold_clock(bot, start + timedelta(minutes=3))
    await slack.as_user(alice).post_message(incident.channel, "Replica lag is 40 s", thread_ts=root.ts)
    await eventually(lambda: activity_count(bot, 2))

    # Slack delivering the first message again, and an edit of it, record nothing more.
    event: dict[str, Any] = {
        "type": "message",
        "channel": incident.channel,
        "channel_type": "group",
        "user": alice,
        "text": root.text,
        "ts": root.ts,
    }
    await (await slack.emit_event(event)).acked(timeout=3)
    edit = {**event, "subtype": "message_changed", "message": {"user": alice, "text": "edited"}}
    await (await slack.emit_event(edit)).acked(timeout=3)
    # A visible effect after both: the next message is recorded, so the two before were handled.
    await slack.as_user(alice).post_message(incident.channel, "Failing over")
    await eventually(lambda: activity_count(bot, 3))
    await asyncio.sleep(0.1)
    rows = await activity(bot)
    assert [(row.user_id, row.in_thread) for row in rows] == [(alice, False), (alice, True), (alice, False)]
    assert rows[0].ts == root.ts
    assert rows[0].posted_at == start and rows[1].posted_at == start + timedelta(minutes=3)


async def response_cents(bot: BotProcess) -> int | None:
    async with bot.ctx.sessions() as session:
        row = (await session.exec(select(IncidentCost))).first()
        return row.amount_cents if row is not None else None


async def cost_is(bot: BotProcess, cents: int) -> bool:
    return await response_cents(bot) == cents


async def roles_of(bot: BotProcess) -> list[tuple[str, str]]:
    async with bot.ctx.sessions() as session:
        rows = await session.exec(
            select(Participant.user_id, ParticipantRole.role)
            .join(Participant, col(Participant.id) == col(ParticipantRole.participant_id))
            .order_by(col(ParticipantRole.id))
        )
        return [(user, role) for user, role in rows.all()]


async def test_the_classic_cost_counts_role_time_of_people_who_wrote_and_the_review_at_stable(
    slack: FakeSlack, bot: BotProcess
) -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    hold_clock(bot, t0)
    incident = await open_incident(slack, bot)
    alice = incident.commander
    bob, carol = slack.add_user("bob"), slack.add_user("carol")
    hold_clock(bot, t0 + timedelta(minutes=30))
    await assign(slack, alice, incident.channel, bob, "Scribe")
    await eventually(lambda: _has_role(bot, bob, "Scribe"))
    await assign(slack, alice, incident.channel, carol, "Liaison")
    await eventually(lambda: _has_role(bot, carol, "Liaison"))
    hold_clock(bot, t0 + timedelta(minutes=40))
    await slack.as_user(alice).post_message(incident.channel, "Failing over to the replica")
    await slack.as_user(bob).post_message(incident.channel, "Noted in the timeline")
    await eventually(lambda: activity_count(bot, 2))

    # Two hours in, at $25 an hour (ceil(50,000 / 2,080)): Alice commands for 2 h (x1) and reported
    # (x0.5), Bob is scribe for 1.5 h (x0.75); Carol holds a role but never wrote, so she costs nothing.
    hold_clock(bot, t0 + timedelta(hours=2))
    [computed] = await compute_costs(bot.ctx)
    assert computed.cents == 10313  # (2 + 1 + 1.125) h x $25 = $103.125
    assert await response_cents(bot) == 10313

    # Stable at 3 h: role time stops there, and the review adds 1 + 0.5 x 3 participants hours.
    hold_clock(bot, t0 + timedelta(hours=3))
    modal = await open_update_modal(slack, alice, incident.channel)
    [cost_line] = [block for block in modal["blocks"] if block.get("block_id") == "incident_cost"]
    assert "Cost so far: *$103.13*" in cost_line["elements"][0]["text"]
    await slack.as_user(alice).submit_view({"Status": "Stable", "Severity": "Low"})
    # (3 + 1.5 + 1.875 + 2.5) h x $25 = $221.875
    await eventually(lambda: cost_is(bot, 22188), timeout=5)

    # Later passes find nothing new in the stable incident and leave its cost alone.
    hold_clock(bot, t0 + timedelta(hours=5))
    assert await compute_costs(bot.ctx) == []
    assert await response_cents(bot) == 22188

    # Closing ends every role; the incident keeps the cost it had, and later passes leave it out.
    hold_clock(bot, t0 + timedelta(hours=6))
    await open_update_modal(slack, alice, incident.channel)
    await slack.as_user(alice).submit_view({"Status": "Closed"})
    await eventually(lambda: _state_status_is(bot, "closed"), timeout=5)
    hold_clock(bot, t0 + timedelta(days=2))
    assert await compute_costs(bot.ctx) == []
    assert await response_cents(bot) == 22188


async def seed_incidents(bot: BotProcess, count: int, start: datetime, first_number: int) -> list[int]:
    """Open incidents written straight to the database, each with a commander who wrote once at `start`."""
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        assert project.id is not None
        ids = []
        for number in range(first_number, first_number + count):
            incident = Incident(
                project_id=project.id,
                number=number,
                name=f"INC-{number}",
                title="Slow",
                reporter_user_id="U1",
            )
            session.add(incident)
            await session.flush()
            assert incident.id is not None
            person = Participant(incident_id=incident.id, user_id=f"U{number}")
            session.add(person)
            await session.flush()
            assert person.id is not None
            session.add(
                ParticipantRole(participant_id=person.id, role="Incident Commander", assumed_at=start)
            )
            session.add(
                ParticipantActivity(
                    incident_id=incident.id, user_id=f"U{number}", ts=f"{number}.0", posted_at=start
                )
            )
            ids.append(incident.id)
        await session.commit()
    return ids


async def test_the_cost_job_runs_once_per_slot_in_as_many_statements_for_six_incidents_as_for_one(
    slack: FakeSlack, bot: BotProcess
) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await seed_incidents(bot, 1, start, first_number=100)
    hold_clock(bot, start + timedelta(minutes=30))
    await compute_costs(bot.ctx)  # the first pass also makes the project's response cost type
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(bot.ctx.engine.sync_engine, "before_cursor_execute", count)
    try:
        hold_clock(bot, start + timedelta(hours=1))
        assert len(await compute_costs(bot.ctx)) == 1
        for_one = len(statements)
        await seed_incidents(bot, 5, start, first_number=101)
        statements.clear()
        hold_clock(bot, start + timedelta(hours=2))
        assert [c.cents for c in await compute_costs(bot.ctx)] == [5000] * 6  # 2 h of command at $25
        assert len(statements) == for_one, statements
    finally:
        sa.event.remove(bot.ctx.engine.sync_engine, "before_cursor_execute", count)

    assert bot.scheduler is not None
    hold_clock(bot, start + timedelta(hours=3, minutes=1))
    first = await bot.scheduler.fire("incident-costs")
    assert first is not None and first.outcome == "computed the cost of 6 incident(s), 0 pushed to tickets"
    hold_clock(bot, start + timedelta(hours=3, minutes=4))
    assert await bot.scheduler.fire("incident-costs") is None  # the same five-minute slot
    async with bot.ctx.sessions() as session:
        amounts = (await session.exec(select(IncidentCost.amount_cents))).all()
    assert sorted(amounts) == [7542] * 6  # 3 h 1 min at $25


async def use_cost_model(bot: BotProcess, type_name: str, rate: int) -> None:
    """The project costs `rate` an hour and its type `type_name` uses a five-minute activity model."""
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        assert project.id is not None
        project.annual_employee_cost, project.business_year_hours = rate * 2080, 2080
        session.add(project)
        activities = [
            {"kind": "slack_channel_activity", "response_time_seconds": 300, "enabled": True},
            {"kind": "slack_thread_activity", "response_time_seconds": 120, "enabled": True},
        ]
        session.add(CostModel(project_id=project.id, name="Five minutes", activities=activities))
        incident_type = (await session.exec(select(IncidentType).where(IncidentType.name == type_name))).one()
        incident_type.cost_model = "five minutes"
        session.add(incident_type)
        await session.commit()


async def test_a_cost_model_costs_merged_activity_windows_and_a_new_type_counts_from_then_on(
    slack: FakeSlack, bot: BotProcess
) -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    hold_clock(bot, t0)
    incident = await open_incident(slack, bot)  # of the default type, General
    await use_cost_model(bot, "General", rate=100)
    alice = incident.commander
    bob = slack.add_user("bob")
    await assign(slack, alice, incident.channel, bob, "Participant")
    await eventually(lambda: _has_role(bot, bob, "Participant"))

    # The seed's second example: Cookie at 100, 150 and 500 s, Nate at 200 s, five minutes each.
    root = None
    for written, (seconds, person) in enumerate(((100, alice), (150, alice), (200, bob), (500, alice)), 1):
        hold_clock(bot, t0 + timedelta(seconds=seconds))
        posted = await slack.as_user(person).post_message(incident.channel, f"Update at {seconds} s")
        root = root or posted
        await eventually(lambda n=written: activity_count(bot, n))
    hold_clock(bot, t0 + timedelta(minutes=15))
    [computed] = await compute_costs(bot.ctx)
    assert computed.cents == 2639  # (350 + 300 + 300) s at $100 an hour = $26.39

    # Nothing new: the next pass skips it. A thread reply opens a two-minute window of its own.
    hold_clock(bot, t0 + timedelta(minutes=20))
    assert await compute_costs(bot.ctx) == []
    assert root is not None
    await slack.as_user(bob).post_message(incident.channel, "Replica is healthy", thread_ts=root.ts)
    await eventually(lambda: activity_count(bot, 5))
    [computed] = await compute_costs(bot.ctx)
    assert computed.cents == 2972  # (950 + 120) s at $100 an hour = $29.72

    # A new type without a cost model: what was spent stays, and role time counts from the change.
    await open_update_modal(slack, alice, incident.channel)
    await slack.as_user(alice).submit_view({"Type": "Service Outage"})
    await eventually(lambda: _state_model_is(bot, None), timeout=5)
    assert await response_cents(bot) == 2972
    hold_clock(bot, t0 + timedelta(hours=1, minutes=20))
    # An hour later: Alice commands (x1) and reported (x0.5), Bob takes part (x0.5): 2 h at $100.
    [computed] = await compute_costs(bot.ctx)
    assert computed.cents == 2972 + 20000


async def add_cost_types(bot: BotProcess, *names: str) -> None:
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        assert project.id is not None
        session.add_all([IncidentCostType(project_id=project.id, name=name) for name in names])
        await session.commit()


async def costs_by_type(bot: BotProcess) -> dict[str, int]:
    """The costs people added, by type (the computed response cost is left out: the running bot's
    incident-costs job may compute it at any moment)."""
    async with bot.ctx.sessions() as session:
        rows = await session.exec(
            select(IncidentCostType.name, IncidentCost.amount_cents)
            .join(IncidentCostType, col(IncidentCostType.id) == col(IncidentCost.cost_type_id))
            .where(IncidentCostType.name != "Response Cost")
        )
        return dict(rows.all())


async def test_the_commander_adds_a_cost_checked_in_the_modal_and_kept_once(
    slack: FakeSlack, bot: BotProcess
) -> None:
    incident = await open_incident(slack, bot)
    alice = incident.commander
    await add_cost_types(bot, "Vendor support", "Customer credits")
    actor = slack.as_user(alice)
    await actor.slash_command("/dispatch-add-cost", channel=incident.channel)
    await slack.wait_for(lambda: (slack.open_view_for(alice) or {}).get("callback_id") == "cost_add")
    modal = slack.open_view_for(alice)
    assert modal is not None and "has cost *$0.00* so far" in str(modal["blocks"][0])

    for typed, error in (
        ("12.345", "at most two decimals"),
        ("-5", "at most two decimals"),
        ("0.00", "more than zero"),
        ("lots", "at most two decimals"),
        ("2000000000", "check the number of zeros"),
    ):
        refused = await actor.submit_view({"Cost type": "Vendor support", "Amount (USD)": typed})
        assert refused.errors is not None and error in refused.errors["cost_amount"], typed
    assert await costs_by_type(bot) == {}

    saved = await actor.submit_view({"Cost type": "Vendor support", "Amount (USD)": "1,250.5"})
    assert saved.response_action == "update"
    await slack.wait_for(lambda: "Added $1,250.50 of Vendor support" in str(slack.open_view_for(alice)))
    assert "has cost *$1,250.50* so far" in str(slack.open_view_for(alice))
    assert await costs_by_type(bot) == {"Vendor support": 125050}
    [event] = await timeline(bot, "cost_added")
    assert event.description == f"<@{alice}> added 1250.50 USD of Vendor support (total 1250.50 USD)"

    # The same submission delivered again (same view) adds nothing.
    cost_type_id = int(modal["blocks"][1]["element"]["options"][1]["value"])  # Vendor support
    again = ManualCost(event.incident_id, alice, cost_type_id, 125050, request_key=modal["id"])
    assert (await add_manual_cost(bot.ctx, again)).added is False
    assert await costs_by_type(bot) == {"Vendor support": 125050}


async def test_add_cost_from_the_update_modal_and_only_for_leads(slack: FakeSlack, bot: BotProcess) -> None:
    incident = await open_incident(slack, bot)
    alice = incident.commander
    await add_cost_types(bot, "Customer credits")
    await open_update_modal(slack, alice, incident.channel)
    await slack.as_user(alice).click_in_view("cost_add_open")
    await slack.wait_for(lambda: (slack.open_view_for(alice) or {}).get("callback_id") == "cost_add")
    await slack.as_user(alice).submit_view({"Cost type": "Customer credits", "Amount (USD)": "300"})
    await slack.wait_for(lambda: "Added $300.00 of Customer credits" in str(slack.open_view_for(alice)))
    assert await costs_by_type(bot) == {"Customer credits": 30000}

    bob = slack.add_user("bob")
    await bot.ctx.gateway.invite(incident.channel, [bob])
    await slack.as_user(bob).slash_command("/dispatch-add-cost", channel=incident.channel)
    await slack.wait_for(lambda: any(post.user == bob for post in slack.response_url_posts), timeout=5)
    refusal = [post.body for post in slack.response_url_posts if post.user == bob][-1]
    assert "Only the incident commander or the scribe can run `/dispatch-add-cost`" in refusal["text"]
