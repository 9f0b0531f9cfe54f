"""Queries for incident costs: response cost type, amounts, totals, and the activity costs come from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

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
    Resource,
    RoleDefinition,
)
from storage.models.cost import RESPONSE_COST
from storage.scheduling import _insert


async def response_cost_type(session: AsyncSession, project_id: int) -> IncidentCostType:
    """The project's computed "Response Cost" type, created on first use."""
    found = (
        await session.exec(
            select(IncidentCostType).where(
                IncidentCostType.project_id == project_id, IncidentCostType.name == RESPONSE_COST
            )
        )
    ).first()
    if found is not None:
        return found
    cost_type = IncidentCostType(project_id=project_id, name=RESPONSE_COST, editable=False, default=True)
    session.add(cost_type)
    await session.flush()
    return cost_type


async def manual_cost_types(session: AsyncSession, project_id: int) -> list[IncidentCostType]:
    """The project's cost types people add amounts to by hand (all but the computed one), by name."""
    rows = await session.exec(
        select(IncidentCostType)
        .where(
            IncidentCostType.project_id == project_id,
            col(IncidentCostType.editable),
            col(IncidentCostType.enabled),
        )
        .order_by(col(IncidentCostType.name))
    )
    return list(rows.all())


async def add_cost(session: AsyncSession, incident_id: int, cost_type_id: int, cents: int) -> IncidentCost:
    """Add `cents` to the incident's amount of that cost type, creating the row the first time."""
    row = (
        await session.exec(
            select(IncidentCost).where(
                IncidentCost.incident_id == incident_id, IncidentCost.cost_type_id == cost_type_id
            )
        )
    ).first()
    if row is None:
        row = IncidentCost(incident_id=incident_id, cost_type_id=cost_type_id, amount_cents=0)
    row.amount_cents += cents
    session.add(row)
    await session.flush()
    return row


async def totals_cents(session: AsyncSession, incident_ids: Iterable[int]) -> dict[int, int]:
    """Each incident's total cost over all cost types, in one query."""
    ids = list(incident_ids)
    if not ids:
        return {}
    rows = await session.exec(
        select(IncidentCost.incident_id, sa.func.sum(IncidentCost.amount_cents))
        .where(col(IncidentCost.incident_id).in_(ids))
        .group_by(col(IncidentCost.incident_id))
    )
    return {incident_id: int(total or 0) for incident_id, total in rows.all()}


async def record_activity(
    session: AsyncSession, incident_id: int, user_id: str, ts: str, *, in_thread: bool, posted_at: datetime
) -> bool:
    """Record one message (once per ts: a redelivery adds nothing); True when it was new."""
    statement = (
        _insert(session)(ParticipantActivity)
        .values(incident_id=incident_id, user_id=user_id, ts=ts, in_thread=in_thread, posted_at=posted_at)
        .on_conflict_do_nothing(index_elements=["incident_id", "ts"])
    )
    result = await (await session.connection()).execute(statement)
    return bool(result.rowcount)


# Incidents whose response cost is still moving; closed incidents keep the cost they closed with.
OPEN_STATUSES = ("active", "stable")


@dataclass(frozen=True)
class Candidate:
    """An incident the cost pass looks at, with what decides whether anything changed since last time."""

    incident: Incident
    project: Project
    state: IncidentCostState | None
    type_cost_model: str | None
    last_activity_id: int


async def cost_candidates(
    session: AsyncSession, incident_ids: Sequence[int] | None = None
) -> list[Candidate]:
    """Open incidents (or the ones named, whatever their status) with their cost state: two queries."""
    statement = (
        select(Incident, Project, IncidentCostState, IncidentType.cost_model)
        .join(Project, col(Project.id) == col(Incident.project_id))
        .outerjoin(IncidentCostState, col(IncidentCostState.incident_id) == col(Incident.id))
        .outerjoin(IncidentType, col(IncidentType.id) == col(Incident.incident_type_id))
        .order_by(col(Incident.id))
    )
    if incident_ids is None:
        statement = statement.where(col(Incident.status).in_(OPEN_STATUSES))
    else:
        statement = statement.where(col(Incident.id).in_(list(incident_ids)))
    rows = list((await session.exec(statement)).all())
    ids = [incident.id for incident, *_ in rows]
    last: dict[int, int] = {}
    if ids:
        found = await session.exec(
            select(ParticipantActivity.incident_id, sa.func.max(ParticipantActivity.id))
            .where(col(ParticipantActivity.incident_id).in_(ids))
            .group_by(col(ParticipantActivity.incident_id))
        )
        last = {incident_id: int(max_id or 0) for incident_id, max_id in found.all()}
    return [
        Candidate(incident, project, state, cost_model, last.get(incident.id or 0, 0))
        for incident, project, state, cost_model in rows
    ]


async def cost_models(session: AsyncSession, project_ids: Iterable[int]) -> dict[tuple[int, str], CostModel]:
    """The projects' cost models in use, by (project, case-folded name)."""
    ids = list(set(project_ids))
    if not ids:
        return {}
    rows = await session.exec(
        select(CostModel).where(
            col(CostModel.project_id).in_(ids), col(CostModel.enabled), col(CostModel.active)
        )
    )
    return {(row.project_id, row.name.strip().casefold()): row for row in rows.all()}


async def role_multipliers(session: AsyncSession) -> dict[str, float]:
    rows = await session.exec(select(RoleDefinition).where(col(RoleDefinition.enabled)))
    return {row.name: row.cost_multiplier for row in rows.all()}


async def role_spans(
    session: AsyncSession, incident_ids: Sequence[int]
) -> list[tuple[int, str, ParticipantRole]]:
    """Every role span of the incidents' participants, as (incident, user, span), in one query."""
    if not incident_ids:
        return []
    rows = await session.exec(
        select(Participant.incident_id, Participant.user_id, ParticipantRole)
        .join(Participant, col(Participant.id) == col(ParticipantRole.participant_id))
        .where(col(Participant.incident_id).in_(list(incident_ids)))
        .order_by(col(ParticipantRole.id))
    )
    return [(incident_id, user_id, role) for incident_id, user_id, role in rows.all()]


async def speakers(session: AsyncSession, incident_ids: Sequence[int]) -> set[tuple[int, str]]:
    """(incident, user) for everyone who wrote at least once in each incident, in one query."""
    if not incident_ids:
        return set()
    rows = await session.exec(
        select(ParticipantActivity.incident_id, ParticipantActivity.user_id)
        .where(col(ParticipantActivity.incident_id).in_(list(incident_ids)))
        .distinct()
    )
    return {(incident_id, user_id) for incident_id, user_id in rows.all()}


@dataclass(frozen=True)
class Activity:
    """One recorded message, as the cost computation reads it (plain values, no ORM object)."""

    incident_id: int
    user_id: str
    posted_at: datetime
    in_thread: bool


async def activities(session: AsyncSession, incident_ids: Sequence[int]) -> list[Activity]:
    """Every recorded message of the incidents, in one query."""
    if not incident_ids:
        return []
    rows = await session.exec(
        select(
            ParticipantActivity.incident_id,
            ParticipantActivity.user_id,
            ParticipantActivity.posted_at,
            ParticipantActivity.in_thread,
        )
        .where(col(ParticipantActivity.incident_id).in_(list(incident_ids)))
        .order_by(col(ParticipantActivity.id))
    )
    return [Activity(*row) for row in rows.all()]


async def response_cost_types(session: AsyncSession, project_ids: Iterable[int]) -> dict[int, int]:
    """Each project's response cost type id, creating the missing ones."""
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    rows = await session.exec(
        select(IncidentCostType).where(
            col(IncidentCostType.project_id).in_(ids), IncidentCostType.name == RESPONSE_COST
        )
    )
    found = {row.project_id: row.id for row in rows.all() if row.id is not None}
    for project_id in ids:
        if project_id not in found:
            created = await response_cost_type(session, project_id)
            assert created.id is not None
            found[project_id] = created.id
    return found


async def amounts(
    session: AsyncSession, incident_ids: Sequence[int], cost_type_ids: Iterable[int]
) -> dict[int, int]:
    """The incidents' current amounts of the given cost types (one per incident), in one query."""
    if not incident_ids:
        return {}
    rows = await session.exec(
        select(IncidentCost).where(
            col(IncidentCost.incident_id).in_(list(incident_ids)),
            col(IncidentCost.cost_type_id).in_(list(set(cost_type_ids))),
        )
    )
    return {row.incident_id: row.amount_cents for row in rows.all()}


STATE_FIELDS = ("model", "settled_cents", "settled_until", "last_activity_id", "status", "computed_at")


async def save_computed(
    session: AsyncSession, costs: list[dict[str, Any]], states: list[dict[str, Any]], now: datetime
) -> None:
    """Write computed amounts and cost states of many incidents: one statement each, whatever their number."""
    if not costs:
        return
    insert = _insert(session)
    cost_statement = insert(IncidentCost)
    cost_statement = cost_statement.on_conflict_do_update(
        index_elements=["incident_id", "cost_type_id"],
        set_={"amount_cents": cost_statement.excluded.amount_cents, "updated_at": now},
    )
    connection = await session.connection()
    await connection.execute(cost_statement, [{**row, "created_at": now, "updated_at": now} for row in costs])
    state_statement = insert(IncidentCostState)
    state_statement = state_statement.on_conflict_do_update(
        index_elements=["incident_id"],
        set_={
            name: getattr(state_statement.excluded, name)
            for name in (
                "model",
                "settled_cents",
                "settled_until",
                "last_activity_id",
                "status",
                "computed_at",
            )
        },
    )
    await connection.execute(state_statement, states)


async def with_ticket(session: AsyncSession, incident_ids: Sequence[int]) -> set[int]:
    """Which of the incidents have a ticket, in one query."""
    if not incident_ids:
        return set()
    rows = await session.exec(
        select(Resource.incident_id).where(
            Resource.kind == "ticket", col(Resource.incident_id).in_(list(incident_ids))
        )
    )
    return set(rows.all())
