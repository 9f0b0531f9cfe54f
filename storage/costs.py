"""Queries for incident costs: response cost type, amounts, totals, and the activity costs come from."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import IncidentCost, IncidentCostType, ParticipantActivity
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
    """Record one message (once per ts: a redelivery adds nothing); True when it was new. Commits."""
    statement = (
        _insert(session)(ParticipantActivity)
        .values(incident_id=incident_id, user_id=user_id, ts=ts, in_thread=in_thread, posted_at=posted_at)
        .on_conflict_do_nothing(index_elements=["incident_id", "ts"])
    )
    result = await (await session.connection()).execute(statement)
    await session.commit()
    return bool(result.rowcount)
