"""Reminder queries: the overdue reports (in a fixed number of statements) and one claim per due moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Incident, IncidentPriority, IncidentType, Reminder, Report
from storage.scheduling import _insert


@dataclass(frozen=True)
class DueReport:
    incident: Incident
    kind: str
    hours: int
    due_at: datetime
    """The latest whole interval since the last report of its kind (or since the incident was reported)."""


async def overdue_reports(session: AsyncSession, now: datetime, kinds: dict[str, str]) -> list[DueReport]:
    """Active incidents whose priority wants a report of a kind (`kinds`: kind → priority column)
    more often than they got one. Two queries, however many incidents there are."""
    rows = list(
        await session.exec(
            select(Incident, IncidentPriority)
            .join(IncidentPriority, col(IncidentPriority.id) == col(Incident.incident_priority_id))
            .outerjoin(IncidentType, col(IncidentType.id) == col(Incident.incident_type_id))
            .where(Incident.status == "active")
            .where(sa.or_(col(IncidentType.id).is_(None), sa.not_(col(IncidentType.exclude_from_reminders))))
            .order_by(col(Incident.id))
        )
    )
    if not rows:
        return []
    latest: dict[tuple[int, str], datetime] = {
        (incident_id, kind): when
        for incident_id, kind, when in await session.exec(
            select(Report.incident_id, Report.kind, sa.func.max(Report.created_at))
            .where(col(Report.incident_id).in_([incident.id for incident, _ in rows]))
            .group_by(col(Report.incident_id), col(Report.kind))
        )
    }
    due: list[DueReport] = []
    for incident, priority in rows:
        assert incident.id is not None
        for kind, column in kinds.items():
            hours = getattr(priority, column)
            if not hours:
                continue
            since = latest.get((incident.id, kind)) or incident.reported_at
            if since.tzinfo is None:  # SQLite's aggregate comes back naive
                since = since.replace(tzinfo=now.tzinfo)
            intervals = int((now - since) / timedelta(hours=hours))
            if intervals >= 1:  # due again every interval until a report comes
                due.append(DueReport(incident, kind, hours, since + intervals * timedelta(hours=hours)))
    return due


async def claim_reminder(
    session: AsyncSession, incident_id: int, kind: str, due_at: datetime, user_id: str | None, now: datetime
) -> bool:
    """Claim the reminder for this due moment; False when another run or process claimed it first."""
    statement = (
        _insert(session)(Reminder)
        .values(incident_id=incident_id, kind=kind, due_at=due_at, user_id=user_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["incident_id", "kind", "due_at"])
        .returning(col(Reminder.id))
    )
    return (await (await session.connection()).execute(statement)).scalar_one_or_none() is not None
