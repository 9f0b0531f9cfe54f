"""Scheduler queries: claiming a job's slot and recording its run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import JobRun


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
