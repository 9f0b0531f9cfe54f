"""Participant and role queries the people flows need beyond storage/incidents.py (candidates to move there).

Roles are never deleted: ending one sets `renounced_at`, so each participant keeps a history.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Participant, ParticipantRole, RoleDefinition

# Used when the workspace has no role definitions (an empty database before `config apply`).
BUILTIN_SINGLE_HOLDER = frozenset({"Incident Commander", "Scribe", "Liaison"})


async def participant_of(session: AsyncSession, incident_id: int, user_id: str) -> Participant | None:
    statement = select(Participant).where(
        Participant.incident_id == incident_id, Participant.user_id == user_id
    )
    return (await session.exec(statement)).first()


async def active_role_rows(session: AsyncSession, participant_id: int) -> list[ParticipantRole]:
    statement = (
        select(ParticipantRole)
        .where(ParticipantRole.participant_id == participant_id)
        .where(col(ParticipantRole.renounced_at).is_(None))
        .order_by(col(ParticipantRole.id))
    )
    return list(await session.exec(statement))


async def role_history(session: AsyncSession, participant_id: int) -> list[ParticipantRole]:
    """Every role the participant held or holds, oldest first."""
    statement = (
        select(ParticipantRole)
        .where(ParticipantRole.participant_id == participant_id)
        .order_by(col(ParticipantRole.id))
    )
    return list(await session.exec(statement))


async def assume_role(
    session: AsyncSession, participant_id: int, role: str, now: datetime
) -> ParticipantRole:
    row = ParticipantRole(participant_id=participant_id, role=role, assumed_at=now)
    session.add(row)
    await session.flush()
    return row


async def renounce_roles(
    session: AsyncSession, participant_id: int, roles: list[str] | None, now: datetime
) -> int:
    """End the participant's active `roles` (all of them when None); how many rows this call ended.

    The condition on `renounced_at` makes two concurrent calls end each role once: the second one
    finds nothing left to end, and its caller can tell from the count.
    """
    statement = (
        sa.update(ParticipantRole)
        .where(col(ParticipantRole.participant_id) == participant_id)
        .where(col(ParticipantRole.renounced_at).is_(None))
        .values(renounced_at=now)
    )
    if roles is not None:
        statement = statement.where(col(ParticipantRole.role).in_(roles))
    result = await (await session.connection()).execute(statement)
    return int(result.rowcount or 0)


async def holders(session: AsyncSession, incident_id: int, role: str) -> list[Participant]:
    """Participants holding `role` now (more than one only for roles that allow it)."""
    statement = (
        select(Participant)
        .join(ParticipantRole, col(ParticipantRole.participant_id) == col(Participant.id))
        .where(Participant.incident_id == incident_id, ParticipantRole.role == role)
        .where(col(ParticipantRole.renounced_at).is_(None))
        .order_by(col(ParticipantRole.id))
    )
    unique: dict[int | None, Participant] = {}
    for participant in await session.exec(statement):
        unique.setdefault(participant.id, participant)
    return list(unique.values())


async def single_holder_roles(session: AsyncSession) -> frozenset[str]:
    """Roles only one person holds at a time, as the workspace configured them."""
    rows = list(await session.exec(select(RoleDefinition.name, RoleDefinition.single_holder)))
    if not rows:
        return BUILTIN_SINGLE_HOLDER
    return frozenset(name for name, single in rows if single)


async def count_message(session: AsyncSession, incident_id: int, user_id: str) -> tuple[int, int] | None:
    """Add one to the participant's message count: (participant id, new count), None if not a participant.

    An UPDATE first, so on SQLite the transaction is a writer from its first statement and
    concurrent messages queue on the lock rather than failing to upgrade a read.
    """
    result = await (await session.connection()).execute(
        sa.update(Participant)
        .where(col(Participant.incident_id) == incident_id, col(Participant.user_id) == user_id)
        .values(message_count=col(Participant.message_count) + 1)
        .returning(col(Participant.id), col(Participant.message_count))
    )
    row = result.first()
    if row is None or row[0] is None:
        return None
    return int(row[0]), int(row[1])


async def set_reason(session: AsyncSession, participant_id: int, reason: str) -> None:
    await (await session.connection()).execute(
        sa.update(Participant).where(col(Participant.id) == participant_id).values(added_reason=reason)
    )


async def fill_profile(
    session: AsyncSession, participant: Participant, *, name: str, email: str | None, timezone: str | None
) -> None:
    """Keep what Slack told us about the person, without overwriting what is already known."""
    participant.name = participant.name or name
    participant.email = participant.email or email
    participant.timezone = participant.timezone or timezone
    session.add(participant)
    await session.flush()
