"""Timeline queries the timeline flows need beyond storage.incidents: pages, counts and removal by key.

They live here until storage/ grows a timeline module; they take a session and know nothing of Slack.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import incidents as incident_store
from storage.db import SessionFactory
from storage.models import TimelineClaim, TimelineEvent

_ORDER = (col(TimelineEvent.occurred_at), col(TimelineEvent.id))


async def count_events(session: AsyncSession, incident_id: int) -> int:
    statement = (
        select(sa.func.count()).select_from(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
    )
    return int((await session.exec(statement)).one())


async def events_page(
    session: AsyncSession, incident_id: int, offset: int, limit: int
) -> list[TimelineEvent]:
    """Events in the order they happened (ties in the order they were written)."""
    statement = (
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(*_ORDER)
        .offset(offset)
        .limit(limit)
    )
    return list(await session.exec(statement))


async def all_events(session: AsyncSession, incident_id: int) -> list[TimelineEvent]:
    statement = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id).order_by(*_ORDER)
    return list(await session.exec(statement))


async def event_by_key(session: AsyncSession, incident_id: int, dedupe_key: str) -> TimelineEvent | None:
    statement = select(TimelineEvent).where(
        TimelineEvent.incident_id == incident_id, TimelineEvent.dedupe_key == dedupe_key
    )
    return (await session.exec(statement)).first()


async def add_unique_event(
    sessions: SessionFactory,
    incident_id: int,
    kind: str,
    description: str,
    *,
    dedupe_key: str,
    actor: str | None,
    occurred_at: datetime,
    source: str,
    details: dict[str, Any],
    claim_id: int | None = None,
) -> TimelineEvent | None:
    """Write the event in its own transaction; None when an event with `dedupe_key` exists already,
    or when `claim_id` is given and that claim was deleted (the reaction was removed meanwhile).

    Two deliveries racing past the existence check meet the unique (incident, key) constraint; the
    loser's transaction is rolled back and it reports the duplicate like the check would have.
    """
    try:
        async with sessions() as session, session.begin():
            if claim_id is not None and not await _delete_claim(session, claim_id):
                return None
            event = await incident_store.add_timeline_event(
                session,
                incident_id,
                kind,
                description,
                actor=actor,
                occurred_at=occurred_at,
                details=details,
                dedupe_key=dedupe_key,
            )
            if event is not None:
                event.source = source[:100]
                session.add(event)
                await session.flush()
            return event
    except IntegrityError:
        return None


async def remove_event(session: AsyncSession, incident_id: int, dedupe_key: str) -> bool:
    """Delete the event written under `dedupe_key`; False when there was none."""
    event = await event_by_key(session, incident_id, dedupe_key)
    if event is None:
        return False
    await session.delete(event)
    await session.flush()
    return True


async def claim(sessions: SessionFactory, incident_id: int, dedupe_key: str) -> int:
    """Record, in its own transaction, that a capture of `dedupe_key` has started; the claim's id."""
    async with sessions() as session, session.begin():
        row = TimelineClaim(incident_id=incident_id, dedupe_key=dedupe_key)
        session.add(row)
        await session.flush()
        assert row.id is not None
        return row.id


async def drop_claim(sessions: SessionFactory, claim_id: int) -> None:
    """Forget a claim whose capture wrote nothing (no-op when it is gone already)."""
    async with sessions() as session, session.begin():
        await _delete_claim(session, claim_id)


async def has_claim(session: AsyncSession, incident_id: int, dedupe_key: str) -> bool:
    statement = select(TimelineClaim.id).where(
        TimelineClaim.incident_id == incident_id, TimelineClaim.dedupe_key == dedupe_key
    )
    return (await session.exec(statement)).first() is not None


async def remove_claims(session: AsyncSession, incident_id: int, dedupe_key: str) -> bool:
    """Delete every capture in progress for `dedupe_key`, so none of them writes its event."""
    result = await (await session.connection()).execute(
        sa.delete(TimelineClaim).where(
            col(TimelineClaim.incident_id) == incident_id, col(TimelineClaim.dedupe_key) == dedupe_key
        )
    )
    return bool(result.rowcount)


async def _delete_claim(session: AsyncSession, claim_id: int) -> bool:
    # A DELETE locks the row (PostgreSQL) or the database (SQLite), so this and remove_claims are
    # ordered by their commits: only one of them finds the row.
    statement = sa.delete(TimelineClaim).where(col(TimelineClaim.id) == claim_id)
    result = await (await session.connection()).execute(statement)
    return bool(result.rowcount)
