"""Daily summary claims: one per project and local date, whichever process or run gets there first."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import DailySummary
from storage.scheduling import _insert


async def claim_daily_summary(session: AsyncSession, project_id: int, day: date, now: datetime) -> int | None:
    """Claim the project's summary of `day`: its row id, or None when it was claimed already."""
    statement = (
        _insert(session)(DailySummary)
        .values(project_id=project_id, local_date=day, created_at=now)
        .on_conflict_do_nothing(index_elements=["project_id", "local_date"])
        .returning(col(DailySummary.id))
    )
    claimed = (await (await session.connection()).execute(statement)).scalar_one_or_none()
    return None if claimed is None else int(claimed)


async def record_summary_of(
    session: AsyncSession, project_id: int, day: str, incidents: int, messages: int
) -> None:
    """What the project's summary of `day` (ISO date) turned out to hold."""
    await (await session.connection()).execute(
        sa.update(DailySummary)
        .where(
            col(DailySummary.project_id) == project_id,
            col(DailySummary.local_date) == date.fromisoformat(day),
        )
        .values(incidents=incidents, messages=messages)
    )
