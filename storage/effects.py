"""Outbox queries: recording effects with the change that calls for them, claiming the due ones for a
live process, recording how they ended; and the heartbeats that tell live processes from dead ones."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import BotProcess, Effect

# A process that has not written its heartbeat for this long is dead: its claims are taken again.
DEAD_AFTER = timedelta(seconds=6)


@dataclass(frozen=True)
class NewEffect:
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    incident_id: int | None = None


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else ""
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def record(session: AsyncSession, effects: Sequence[NewEffect], now: datetime) -> None:
    """Record `effects` in one statement; a key recorded before keeps its first row.

    Does not commit: the effects are written in the same transaction as the change that causes them,
    so they exist exactly when the change does.
    """
    if not effects:
        return
    await (await session.connection()).execute(
        _insert(session)(Effect)
        .values(
            [
                {
                    "kind": effect.kind,
                    "key": effect.key,
                    "due_at": effect.due_at,
                    "payload": effect.payload,
                    "incident_id": effect.incident_id,
                    "status": "pending",
                    "attempts": 0,
                    "result": {},
                    "created_at": now,
                }
                for effect in effects
            ]
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )


def dead_processes(now: datetime) -> Any:
    """The instances whose heartbeat stopped (or that said they stopped), as a subquery."""
    return select(BotProcess.instance).where(col(BotProcess.heartbeat_at) < now - DEAD_AFTER)


def held_by_the_dead(claimed_by: Any, now: datetime) -> Any:
    """A claim nobody alive holds: no claimant, or one whose heartbeat stopped.

    A claimant with no heartbeat row at all is taken to be alive (a process that never beat, or one
    forgotten a day after it died): its claim then ends with its lease, as before heartbeats.
    """
    return sa.or_(claimed_by.is_(None), claimed_by.in_(dead_processes(now)))


async def claim(
    session: AsyncSession,
    now: datetime,
    process: dict[str, Any],
    lease: timedelta,
    limit: int,
    keys: Iterable[str] | None = None,
) -> list[Effect]:
    """Take up to `limit` pending effects due by `now` (only those of `keys`, when given) for
    `process`, oldest first, counting the attempt. Commits.

    The process's heartbeat is written with the claim: a claimant is alive when it claims.

    On PostgreSQL rows another process is claiming are skipped (`FOR UPDATE SKIP LOCKED`), so
    replicas draining at once share the work; SQLite has one writer at a time and ignores the clause.
    A claim is taken again when its process is dead, or when it is older than `lease` (a live
    process stuck on it).
    """
    await heartbeat(session, process, now)
    claimant = str(process["instance"])
    claimable = [
        col(Effect.status) == "pending",
        col(Effect.due_at) <= now,
        sa.or_(held_by_the_dead(col(Effect.claimed_by), now), col(Effect.claimed_at) < now - lease),
    ]
    if keys is not None:
        claimable.append(col(Effect.key).in_(list(keys)))
    due = (
        select(Effect.id)
        .where(*claimable)
        .order_by(col(Effect.due_at), col(Effect.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await (await session.connection()).execute(
        sa.update(Effect)
        # Checked again on the row itself: a row claimed meanwhile is not taken twice.
        .where(col(Effect.id).in_(due.scalar_subquery()), *claimable)
        .values(claimed_at=now, claimed_by=claimant, attempts=col(Effect.attempts) + 1)
        .returning(col(Effect.id))
    )
    ids = [row_id for row_id in result.scalars() if row_id is not None]
    await session.commit()
    if not ids:
        return []
    rows = await session.exec(
        select(Effect)
        .where(col(Effect.id).in_(ids))
        .order_by(col(Effect.due_at), col(Effect.id))
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def finish(session: AsyncSession, effect_id: int, now: datetime, result: dict[str, Any]) -> None:
    """Mark an effect done with what it did. Commits."""
    await (await session.connection()).execute(
        sa.update(Effect)
        .where(col(Effect.id) == effect_id)
        .values(status="done", done_at=now, result=result, last_error=None)
    )
    await session.commit()


async def release(
    session: AsyncSession,
    effect_id: int,
    error: str,
    retry_at: datetime | None,
    now: datetime,
    result: dict[str, Any],
) -> None:
    """Release a failed effect for a later attempt at `retry_at`, or abandon it when that is None.
    `result` keeps what the attempt did before it failed (the targets already reached…). Commits."""
    values: dict[str, Any] = {"last_error": error, "claimed_at": None, "claimed_by": None, "result": result}
    if retry_at is None:
        values.update(status="abandoned", done_at=now)
    else:
        values.update(due_at=retry_at)
    await (await session.connection()).execute(
        sa.update(Effect).where(col(Effect.id) == effect_id).values(**values)
    )
    await session.commit()


async def forget_finished(session: AsyncSession, before: datetime) -> int:
    """Delete effects done or abandoned before `before`; how many. Commits."""
    result = await (await session.connection()).execute(
        sa.delete(Effect).where(col(Effect.status) != "pending", col(Effect.done_at) < before)
    )
    await session.commit()
    return int(result.rowcount or 0)


async def beat(session: AsyncSession, process: dict[str, Any], now: datetime) -> None:
    """Write the process's heartbeat (its row made on the first beat). Commits."""
    await heartbeat(session, process, now)
    await session.commit()


async def heartbeat(session: AsyncSession, process: dict[str, Any], now: datetime) -> None:
    """Write the heartbeat in the caller's transaction (a claim is taken by a live process)."""
    statement = _insert(session)(BotProcess).values(**process, started_at=now, heartbeat_at=now)
    await (await session.connection()).execute(
        statement.on_conflict_do_update(index_elements=["instance"], set_={"heartbeat_at": now})
    )


async def stopped(session: AsyncSession, instance: str, now: datetime, forget_before: datetime) -> None:
    """A process stopping cleanly says so (its heartbeat made old: its claims are free at once), and
    forgets processes silent since before `forget_before`. Commits."""
    connection = await session.connection()
    await connection.execute(
        sa.update(BotProcess)
        .where(col(BotProcess.instance) == instance)
        .values(heartbeat_at=now - DEAD_AFTER - timedelta(seconds=1))
    )
    await connection.execute(sa.delete(BotProcess).where(col(BotProcess.heartbeat_at) < forget_before))
    await session.commit()
