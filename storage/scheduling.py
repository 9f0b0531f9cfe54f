"""Scheduler queries: claiming a job's slot, recording its run, and taking due timers across processes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import JobRun, ScheduledAction


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else ""
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def start_run(
    session: AsyncSession,
    job: str,
    slot_start: datetime | None,
    started_at: datetime,
    runner: dict[str, Any],
    trigger: str = "schedule",
) -> int | None:
    """Record that a run starts; with a slot, return None when another process already took it.

    One statement, so two processes firing the same slot at the same instant cannot both win.
    `runner` holds the hostname, pid and instance of the process. Commits.
    """
    statement = (
        _insert(session)(JobRun)
        .values(job=job, slot_start=slot_start, trigger=trigger, started_at=started_at, **runner)
        .on_conflict_do_nothing(index_elements=["job", "slot_start"])
        .returning(col(JobRun.id))
    )
    run_id = (await (await session.connection()).execute(statement)).scalar_one_or_none()
    await session.commit()
    return None if run_id is None else int(run_id)


async def finish_run(
    session: AsyncSession, run_id: int, finished_at: datetime, ok: bool, outcome: str, keep: timedelta
) -> None:
    """Record how a run ended, and forget this job's runs older than `keep`. Commits."""
    connection = await session.connection()
    await connection.execute(
        sa.update(JobRun)
        .where(col(JobRun.id) == run_id)
        .values(finished_at=finished_at, ok=ok, outcome=outcome)
    )
    job = (await session.exec(select(JobRun.job).where(JobRun.id == run_id))).one()
    await connection.execute(
        sa.delete(JobRun).where(col(JobRun.job) == job, col(JobRun.started_at) < finished_at - keep)
    )
    await session.commit()


async def last_runs(session: AsyncSession, jobs: Iterable[str]) -> dict[str, JobRun]:
    """The latest run of each job, by any process."""
    latest: dict[str, JobRun] = {}
    for job in jobs:
        row = (
            await session.exec(
                select(JobRun)
                .where(JobRun.job == job)
                .order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            latest[job] = row
    return latest


async def schedule(
    session: AsyncSession,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    incident_id: int | None = None,
) -> ScheduledAction:
    """Schedule `kind` to run at `due_at`, once per `key`: scheduling a key again returns the first row.

    Does not commit, so a flow can schedule in the same transaction as the change that calls for it.
    """
    await (await session.connection()).execute(
        _insert(session)(ScheduledAction)
        .values(kind=kind, key=key, due_at=due_at, payload=payload or {}, incident_id=incident_id)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return (await session.exec(select(ScheduledAction).where(ScheduledAction.key == key))).one()


async def claim_due_actions(
    session: AsyncSession, now: datetime, claimant: str, lease: timedelta, limit: int
) -> list[ScheduledAction]:
    """Take up to `limit` pending actions due by `now` for `claimant`, oldest first. Commits.

    On PostgreSQL rows another process is claiming are skipped (`FOR UPDATE SKIP LOCKED`), so
    replicas draining at once share the work; SQLite has one writer at a time and ignores the
    clause. A claim older than `lease` belongs to a process that died: it is taken again.
    """
    claimable = (
        col(ScheduledAction.status) == "pending",
        col(ScheduledAction.due_at) <= now,
        sa.or_(col(ScheduledAction.claimed_at).is_(None), col(ScheduledAction.claimed_at) < now - lease),
    )
    due = (
        select(ScheduledAction.id)
        .where(*claimable)
        .order_by(col(ScheduledAction.due_at), col(ScheduledAction.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await (await session.connection()).execute(
        sa.update(ScheduledAction)
        # Checked again on the row itself: a row claimed meanwhile is not taken twice.
        .where(col(ScheduledAction.id).in_(due.scalar_subquery()), *claimable)
        .values(claimed_at=now, claimed_by=claimant)
        .returning(col(ScheduledAction.id))
    )
    ids = [row_id for row_id in result.scalars() if row_id is not None]
    await session.commit()
    if not ids:
        return []
    rows = await session.exec(
        select(ScheduledAction)
        .where(col(ScheduledAction.id).in_(ids))
        .order_by(col(ScheduledAction.due_at), col(ScheduledAction.id))
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def finish_action(session: AsyncSession, action_id: int, now: datetime) -> None:
    """Mark an action done. Commits."""
    await (await session.connection()).execute(
        sa.update(ScheduledAction)
        .where(col(ScheduledAction.id) == action_id)
        .values(status="done", done_at=now, attempts=col(ScheduledAction.attempts) + 1, last_error=None)
    )
    await session.commit()


async def retry_action(
    session: AsyncSession, action_id: int, error: str, retry_at: datetime | None, now: datetime
) -> None:
    """Release a failed action for a later attempt at `retry_at`, or abandon it when that is None."""
    values: dict[str, Any] = {
        "attempts": col(ScheduledAction.attempts) + 1,
        "last_error": error,
        "claimed_at": None,
        "claimed_by": None,
    }
    if retry_at is None:
        values.update(status="abandoned", done_at=now)
    else:
        values.update(due_at=retry_at)
    await (await session.connection()).execute(
        sa.update(ScheduledAction).where(col(ScheduledAction.id) == action_id).values(**values)
    )
    await session.commit()


async def forget_finished_actions(session: AsyncSession, before: datetime) -> int:
    """Delete actions done or abandoned before `before`; how many. Commits."""
    result = await (await session.connection()).execute(
        sa.delete(ScheduledAction).where(
            col(ScheduledAction.status) != "pending", col(ScheduledAction.done_at) < before
        )
    )
    await session.commit()
    return int(result.rowcount or 0)
