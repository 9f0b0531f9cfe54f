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
from storage.models import TimelineEvent

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
) -> TimelineEvent | None:
    """Write the event in its own transaction; None when an event with `dedupe_key` exists already.

    Two deliveries racing past the existence check meet the unique (incident, key) constraint; the
    loser's transaction is rolled back and it reports the duplicate like the check would have.
    """
    try:
        async with sessions() as session, session.begin():
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
