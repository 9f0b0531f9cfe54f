"""Queries the incident flows share: numbering, participants and roles, timeline, resources, flow steps."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.effects import held_by_the_dead
from storage.models import (
    FlowStep,
    Incident,
    IncidentCounter,
    Participant,
    ParticipantRole,
    Resource,
    TimelineEvent,
)
from storage.types import utcnow


async def next_incident_number(session: AsyncSession, project_id: int) -> int:
    """Take the project's next number; the row lock holds until the caller's transaction ends.

    Call it first in its transaction: on SQLite that makes the transaction a writer from the
    start, so concurrent reporters queue on the lock instead of failing to upgrade a read lock.
    """
    dialect = session.bind.dialect.name if session.bind is not None else ""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await (await session.connection()).execute(
        insert(IncidentCounter)
        .values(project_id=project_id, last_number=0)
        .on_conflict_do_nothing(index_elements=["project_id"])
    )
    result = await (await session.connection()).execute(
        sa.update(IncidentCounter)
        .where(col(IncidentCounter.project_id) == project_id)
        .values(last_number=col(IncidentCounter.last_number) + 1)
        .returning(col(IncidentCounter.last_number))
    )
    return int(result.scalar_one())


async def lock_incident(session: AsyncSession, incident_id: int) -> Incident | None:
    """The incident, read for a change: other changers of it wait until this transaction ends.

    An UPDATE that changes nothing takes the row lock on PostgreSQL and the write lock on SQLite,
    so two concurrent updates (or reopens) apply one after the other, each seeing the other's result.
    """
    await (await session.connection()).execute(
        sa.update(Incident).where(col(Incident.id) == incident_id).values(id=col(Incident.id))
    )
    return await session.get(Incident, incident_id, populate_existing=True)


async def incident_by_request(session: AsyncSession, request_key: str) -> Incident | None:
    return (await session.exec(select(Incident).where(Incident.request_key == request_key))).first()


async def incident_by_channel(session: AsyncSession, channel_id: str) -> Incident | None:
    statement = (
        select(Incident)
        .join(Resource, col(Resource.incident_id) == col(Incident.id))
        .where(Resource.kind == "conversation", Resource.external_id == channel_id)
    )
    return (await session.exec(statement)).first()


async def resources(session: AsyncSession, incident_id: int) -> dict[str, Resource]:
    rows = await session.exec(select(Resource).where(Resource.incident_id == incident_id))
    return {row.kind if not row.name else f"{row.kind}:{row.name}": row for row in rows}


async def record_resource(
    session: AsyncSession,
    incident_id: int,
    kind: str,
    external_id: str,
    weblink: str | None = None,
    name: str = "",
    details: dict[str, Any] | None = None,
) -> Resource:
    existing = (
        await session.exec(
            select(Resource).where(
                Resource.incident_id == incident_id, Resource.kind == kind, Resource.name == name
            )
        )
    ).first()
    resource = existing or Resource(incident_id=incident_id, kind=kind, name=name, external_id=external_id)
    resource.external_id = external_id
    resource.weblink = weblink
    resource.details = details or {}
    session.add(resource)
    await session.flush()
    return resource


async def add_participant(
    session: AsyncSession,
    incident_id: int,
    user_id: str,
    roles: Iterable[str],
    *,
    added_by: str | None = None,
    reason: str = "",
    name: str = "",
    email: str | None = None,
    timezone: str | None = None,
    now: datetime | None = None,
) -> tuple[Participant, list[str]]:
    """Add the person (or find them) and give them the roles they lack; returns the roles added."""
    participant = (
        await session.exec(
            select(Participant).where(Participant.incident_id == incident_id, Participant.user_id == user_id)
        )
    ).first()
    if participant is None:
        participant = Participant(
            incident_id=incident_id,
            user_id=user_id,
            added_by=added_by,
            added_reason=reason,
            name=name,
            email=email,
            timezone=timezone,
        )
        session.add(participant)
        await session.flush()
    assert participant.id is not None
    held = set(await active_roles_of(session, participant.id))
    added = [role for role in dict.fromkeys(roles) if role not in held]
    for role in added:
        session.add(ParticipantRole(participant_id=participant.id, role=role, assumed_at=now or utcnow()))
    await session.flush()
    return participant, added


async def active_roles_of(session: AsyncSession, participant_id: int) -> list[str]:
    rows = await session.exec(
        select(ParticipantRole.role)
        .where(ParticipantRole.participant_id == participant_id)
        .where(col(ParticipantRole.renounced_at).is_(None))
        .order_by(col(ParticipantRole.id))
    )
    return list(rows)


async def participants_with_roles(
    session: AsyncSession, incident_id: int
) -> list[tuple[Participant, list[str]]]:
    """Every participant with their active roles, in the order they were added."""
    statement = (
        select(Participant, ParticipantRole)
        .join(
            ParticipantRole,
            sa.and_(
                col(ParticipantRole.participant_id) == col(Participant.id),
                col(ParticipantRole.renounced_at).is_(None),
            ),
            isouter=True,
        )
        .where(Participant.incident_id == incident_id)
        .order_by(col(Participant.id), col(ParticipantRole.id))
    )
    grouped: dict[int, tuple[Participant, list[str]]] = {}
    for participant, role in await session.exec(statement):
        assert participant.id is not None
        entry = grouped.setdefault(participant.id, (participant, []))
        if role is not None:
            entry[1].append(role.role)
    return list(grouped.values())


async def holder_of(session: AsyncSession, incident_id: int, role: str) -> str | None:
    statement = (
        select(Participant.user_id)
        .join(ParticipantRole, col(ParticipantRole.participant_id) == col(Participant.id))
        .where(Participant.incident_id == incident_id, ParticipantRole.role == role)
        .where(col(ParticipantRole.renounced_at).is_(None))
        .order_by(col(ParticipantRole.assumed_at).desc())
    )
    return (await session.exec(statement)).first()


async def conversations(session: AsyncSession, incident_ids: Iterable[int]) -> dict[int, str]:
    """Each incident's channel id, for the incidents that have one; one query."""
    rows = await session.exec(
        select(Resource.incident_id, Resource.external_id).where(
            col(Resource.incident_id).in_(list(incident_ids)), Resource.kind == "conversation"
        )
    )
    return {incident_id: external_id for incident_id, external_id in rows}


async def last_status_change(session: AsyncSession, incident_id: int) -> datetime | None:
    """When the incident's status last changed (its latest status_changed timeline event)."""
    statement = (
        select(TimelineEvent.occurred_at)
        .where(TimelineEvent.incident_id == incident_id, TimelineEvent.kind == "status_changed")
        .order_by(col(TimelineEvent.occurred_at).desc(), col(TimelineEvent.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def add_timeline_event(
    session: AsyncSession,
    incident_id: int,
    kind: str,
    description: str,
    *,
    actor: str | None = None,
    occurred_at: datetime | None = None,
    details: dict[str, Any] | None = None,
    key_event: bool = False,
    dedupe_key: str | None = None,
) -> TimelineEvent | None:
    """Write one event; with `dedupe_key`, a second write of the same fact adds nothing (None)."""
    if dedupe_key is not None:
        existing = (
            await session.exec(
                select(TimelineEvent.id).where(
                    TimelineEvent.incident_id == incident_id, TimelineEvent.dedupe_key == dedupe_key
                )
            )
        ).first()
        if existing is not None:
            return None
    event = TimelineEvent(
        incident_id=incident_id,
        kind=kind,
        description=description,
        actor=actor,
        occurred_at=occurred_at or utcnow(),
        details=details or {},
        is_key_event=key_event,
        dedupe_key=dedupe_key,
    )
    session.add(event)
    await session.flush()
    return event


async def done_steps(session: AsyncSession, incident_id: int, flow: str) -> dict[str, FlowStep]:
    rows = await session.exec(
        select(FlowStep).where(FlowStep.incident_id == incident_id, FlowStep.flow == flow)
    )
    return {row.step: row for row in rows if row.status == "done"}


async def failed_steps(session: AsyncSession, incident_id: int, flow: str) -> list[str]:
    """The steps of the incident's `flow` whose last attempt failed, in name order."""
    rows = await session.exec(
        select(FlowStep.step)
        .where(FlowStep.incident_id == incident_id, FlowStep.flow == flow, FlowStep.status == "failed")
        .order_by(col(FlowStep.step))
    )
    return list(rows)


async def mark_step(
    session: AsyncSession,
    incident_id: int,
    flow: str,
    step: str,
    status: str,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    """Record how a step went, in one statement (the step rows exist from the moment the flow is saved)."""
    values: dict[str, Any] = {
        "status": status,
        "attempts": col(FlowStep.attempts) + (0 if status == "pending" else 1),
        "last_error": error,
        "next_attempt_at": next_attempt_at,
        "updated_at": utcnow(),
    }
    if result is not None:
        values["result"] = result
    updated = await (await session.connection()).execute(
        sa.update(FlowStep)
        .where(
            col(FlowStep.incident_id) == incident_id, col(FlowStep.flow) == flow, col(FlowStep.step) == step
        )
        .values(**values)
    )
    if not updated.rowcount:
        session.add(
            FlowStep(
                incident_id=incident_id,
                flow=flow,
                step=step,
                status=status,
                attempts=0 if status == "pending" else 1,
                result=result or {},
                last_error=error,
                next_attempt_at=next_attempt_at,
            )
        )
        await session.flush()


def step_due(now: datetime) -> Any:
    """A step to run now: never claimed, due again, or claimed by a process that died."""
    return sa.or_(
        col(FlowStep.next_attempt_at).is_(None),
        col(FlowStep.next_attempt_at) <= now,
        held_by_the_dead(col(FlowStep.claimed_by), now) & col(FlowStep.claimed_by).is_not(None),
    )


async def incidents_with_unfinished_flow(session: AsyncSession, flow: str, now: datetime) -> list[int]:
    """Open incidents whose `flow` has a step left pending or failed and due again, or held by a dead
    process (a closed incident's opening is past finishing: its channel is archived, its people gone)."""
    statement = (
        select(FlowStep.incident_id)
        .join(Incident, col(Incident.id) == col(FlowStep.incident_id))
        .where(Incident.status != "closed")
        .where(FlowStep.flow == flow, col(FlowStep.status).in_(["pending", "failed"]))
        .where(step_due(now))
        .distinct()
    )
    return list(await session.exec(statement))


async def roles_of_user(session: AsyncSession, incident_id: int, user_id: str) -> list[str]:
    participant = (
        await session.exec(
            select(Participant).where(Participant.incident_id == incident_id, Participant.user_id == user_id)
        )
    ).first()
    if participant is None or participant.id is None:
        return []
    return await active_roles_of(session, participant.id)


async def last_holder_of(session: AsyncSession, incident_id: int, role: str) -> str | None:
    """Who held `role` last, even if the role has ended (a closed incident's commander)."""
    statement = (
        select(Participant.user_id)
        .join(ParticipantRole, col(ParticipantRole.participant_id) == col(Participant.id))
        .where(Participant.incident_id == incident_id, ParticipantRole.role == role)
        .order_by(col(ParticipantRole.assumed_at).desc(), col(ParticipantRole.id).desc())
    )
    return (await session.exec(statement)).first()


async def participant_user_ids(session: AsyncSession, incident_id: int) -> list[str]:
    rows = await session.exec(
        select(Participant.user_id)
        .where(Participant.incident_id == incident_id)
        .order_by(col(Participant.id))
    )
    return list(rows)


async def open_incident_channels(session: AsyncSession) -> list[tuple[int, str, set[str]]]:
    """Active and stable incidents with their channel and the people holding a role there now."""
    statement = (
        select(Incident.id, Resource.external_id)
        .join(Resource, col(Resource.incident_id) == col(Incident.id))
        .where(Resource.kind == "conversation", col(Incident.status).in_(["active", "stable"]))
        .order_by(col(Incident.id))
    )
    channels = [
        (incident_id, channel) for incident_id, channel in await session.exec(statement) if incident_id
    ]
    if not channels:
        return []
    holders: dict[int, set[str]] = {}
    rows = await session.exec(
        select(Participant.incident_id, Participant.user_id)
        .join(ParticipantRole, col(ParticipantRole.participant_id) == col(Participant.id))
        .where(col(Participant.incident_id).in_([incident_id for incident_id, _ in channels]))
        .where(col(ParticipantRole.renounced_at).is_(None))
    )
    for incident_id, user_id in rows:
        holders.setdefault(incident_id, set()).add(user_id)
    return [(incident_id, channel, holders.get(incident_id, set())) for incident_id, channel in channels]
