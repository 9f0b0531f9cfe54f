"""Workflow runs: one per submitted form, taken atomically, and the unfinished ones to follow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Resource, Workflow, WorkflowInstance
from storage.scheduling import _insert


async def enabled_workflows(session: AsyncSession, project_id: int) -> list[Workflow]:
    statement = (
        select(Workflow)
        .where(Workflow.project_id == project_id, col(Workflow.enabled).is_(True))
        .order_by(col(Workflow.name))
    )
    return list(await session.exec(statement))


async def claim_instance(session: AsyncSession, values: dict[str, Any]) -> tuple[WorkflowInstance, bool]:
    """The run of `values["request_key"]`, made now (True) or found made by an earlier delivery (False).

    One insert that does nothing on a conflict, so two deliveries of one form never make two runs.
    Commits.
    """
    made = (
        await (await session.connection()).execute(
            _insert(session)(WorkflowInstance)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["request_key"])
            .returning(col(WorkflowInstance.id))
        )
    ).scalar_one_or_none()
    await session.commit()
    found = (
        await session.exec(
            select(WorkflowInstance).where(WorkflowInstance.request_key == values["request_key"])
        )
    ).one()
    return found, made is not None


async def advance(
    session: AsyncSession, instance_id: int, *, from_status: str, unstarted: bool = False, **values: Any
) -> WorkflowInstance | None:
    """Change the run from `from_status` (and not yet answered for, with `unstarted`) to `values`; None when
    it is no longer so, because another process moved it first, which then says so. Commits."""
    statement = (
        sa.update(WorkflowInstance)
        .where(col(WorkflowInstance.id) == instance_id, col(WorkflowInstance.status) == from_status)
        .where(col(WorkflowInstance.finished_at).is_(None))
        .values(**values)
    )
    if unstarted:
        statement = statement.where(col(WorkflowInstance.external_id).is_(None))
    changed = (await (await session.connection()).execute(statement)).rowcount
    await session.commit()
    if not changed:
        return None
    return await session.get(WorkflowInstance, instance_id, populate_existing=True)


async def take_stalled_start(
    session: AsyncSession, instance_id: int, stalled_before: datetime, now: datetime
) -> bool:
    """Take a run whose start got no answer before `stalled_before`, to start it again; False when
    another process took it (or it has been answered for) meanwhile. Commits."""
    taken = (
        await (await session.connection()).execute(
            sa.update(WorkflowInstance)
            .where(col(WorkflowInstance.id) == instance_id, col(WorkflowInstance.external_id).is_(None))
            .where(
                col(WorkflowInstance.finished_at).is_(None), col(WorkflowInstance.updated_at) < stalled_before
            )
            .values(updated_at=now)
        )
    ).rowcount
    await session.commit()
    return bool(taken)


async def runs_of(session: AsyncSession, incident_id: int) -> list[WorkflowInstance]:
    """The incident's runs, the latest first."""
    statement = (
        select(WorkflowInstance)
        .where(WorkflowInstance.incident_id == incident_id)
        .order_by(col(WorkflowInstance.id).desc())
    )
    return list(await session.exec(statement))


async def unfinished_runs(session: AsyncSession) -> list[tuple[WorkflowInstance, str | None]]:
    """Every run not finished yet, with its incident's channel (if it has one)."""
    statement = (
        select(WorkflowInstance, Resource.external_id)
        .outerjoin(
            Resource,
            (col(Resource.incident_id) == col(WorkflowInstance.incident_id))
            & (col(Resource.kind) == "conversation"),
        )
        .where(col(WorkflowInstance.finished_at).is_(None))
        .order_by(col(WorkflowInstance.id))
    )
    return [(instance, channel) for instance, channel in await session.exec(statement)]
