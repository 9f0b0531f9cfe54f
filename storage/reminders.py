"""Reminder queries: the overdue reports (in a fixed number of statements) and one claim per due moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Incident,
    IncidentPriority,
    IncidentType,
    Participant,
    ParticipantRole,
    Project,
    Reminder,
    Report,
    TimelineEvent,
)
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
    active = (
        select(Incident, IncidentPriority)
        .join(IncidentPriority, col(IncidentPriority.id) == col(Incident.incident_priority_id))
        .outerjoin(IncidentType, col(IncidentType.id) == col(Incident.incident_type_id))
        .where(Incident.status == "active")
        .where(_not_excluded())
    )
    rows = list(await session.exec(active.order_by(col(Incident.id))))
    if not rows:
        return []
    # A subquery rather than the ids: ten thousand of them would be ten thousand parameters.
    ids = active.with_only_columns(col(Incident.id)).scalar_subquery()
    latest: dict[tuple[int, str], datetime] = {
        (incident_id, kind): when
        for incident_id, kind, when in await session.exec(
            select(Report.incident_id, Report.kind, sa.func.max(Report.created_at))
            .where(col(Report.incident_id).in_(ids))
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


@dataclass(frozen=True)
class StableIncident:
    incident: Incident
    project: Project
    stable_since: datetime
    commander: str | None


def _not_excluded() -> sa.ColumnElement[bool]:
    """Incidents without a type, or whose type does not opt out of reminders."""
    return sa.or_(col(IncidentType.id).is_(None), sa.not_(col(IncidentType.exclude_from_reminders)))


async def stable_incidents(
    session: AsyncSession, since: datetime, commander_role: str
) -> list[StableIncident]:
    """Stable incidents of enabled projects, stable since `since` or earlier, with their commander.

    "Since" is the last status change (an incident stable, active again, then stable is counted
    from the second time). Three queries, however many incidents there are.
    """
    rows = list(
        await session.exec(
            select(Incident, Project)
            .join(Project, col(Project.id) == col(Incident.project_id))
            .outerjoin(IncidentType, col(IncidentType.id) == col(Incident.incident_type_id))
            .where(Incident.status == "stable", col(Project.enabled), _not_excluded())
            .where(col(Incident.stable_at) <= since)
            .order_by(col(Incident.id))
        )
    )
    if not rows:
        return []
    ids = [incident.id for incident, _ in rows if incident.id is not None]
    changed: dict[int, datetime] = {
        incident_id: when
        for incident_id, when in await session.exec(
            select(TimelineEvent.incident_id, sa.func.max(TimelineEvent.occurred_at))
            .where(col(TimelineEvent.incident_id).in_(ids), TimelineEvent.kind == "status_changed")
            .group_by(col(TimelineEvent.incident_id))
        )
    }
    commanders = await current_holders(session, ids, commander_role)
    found = []
    for incident, project in rows:
        assert incident.id is not None and incident.stable_at is not None
        moment = changed.get(incident.id) or incident.stable_at
        if moment.tzinfo is None:  # SQLite's aggregate comes back naive
            moment = moment.replace(tzinfo=since.tzinfo)
        if moment <= since:
            found.append(StableIncident(incident, project, moment, commanders.get(incident.id)))
    return found


async def current_holders(session: AsyncSession, incident_ids: list[int], role: str) -> dict[int, str]:
    """Who holds `role` now in each incident (the latest to take it); one query."""
    holders: dict[int, str] = {}
    for incident_id, user_id in await session.exec(
        select(Participant.incident_id, Participant.user_id)
        .join(ParticipantRole, col(ParticipantRole.participant_id) == col(Participant.id))
        .where(col(Participant.incident_id).in_(incident_ids), ParticipantRole.role == role)
        .where(col(ParticipantRole.renounced_at).is_(None))
        .order_by(col(ParticipantRole.assumed_at), col(ParticipantRole.id))
    ):
        holders[incident_id] = user_id  # the latest assignment wins
    return holders


# Rows per claiming statement: five parameters each stays far below PostgreSQL's 32 767.
CLAIM_BATCH = 1000


@dataclass(frozen=True)
class Claim:
    incident_id: int
    kind: str
    due_at: datetime
    user_id: str | None


async def claim_reminders(session: AsyncSession, claims: list[Claim], now: datetime) -> set[tuple[int, str]]:
    """Claim each reminder's due moment, all in one statement per 1 000; the (incident, kind) pairs this
    call won. Those another run or process claimed first are left out. Each (incident, kind) at most once."""
    won: set[tuple[int, str]] = set()
    connection = await session.connection()
    for start in range(0, len(claims), CLAIM_BATCH):
        batch = claims[start : start + CLAIM_BATCH]
        statement = (
            _insert(session)(Reminder)
            .values(
                [
                    {
                        "incident_id": claim.incident_id,
                        "kind": claim.kind,
                        "due_at": claim.due_at,
                        "user_id": claim.user_id,
                        "created_at": now,
                    }
                    for claim in batch
                ]
            )
            .on_conflict_do_nothing(index_elements=["incident_id", "kind", "due_at"])
            .returning(col(Reminder.incident_id), col(Reminder.kind))
        )
        won.update((int(incident_id), str(kind)) for incident_id, kind in await connection.execute(statement))
    return won
