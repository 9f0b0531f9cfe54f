"""Sent e-mail records: one claim per incident and purpose, taken atomically before the e-mail goes out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.effects import held_by_the_dead
from storage.models import SentEmail
from storage.scheduling import _insert

# A claim still "sending" with no process named (made before claims named one) after this long
# belongs to a process that died mid-send: the e-mail may be claimed again.
SENDING_LEASE = timedelta(minutes=5)


async def claim_email(
    session: AsyncSession,
    incident_id: int,
    key: str,
    recipients: Sequence[str],
    subject: str,
    now: datetime,
    claimant: str | None = None,
) -> bool:
    """Take the e-mail `key` of the incident for `claimant` (a process instance); False when it was
    sent or is being sent.

    One statement each way, so two deliveries of the same event cannot both win; a failed e-mail,
    or one whose sending process died before saying how it went, can be claimed again (a retry).
    A send still going in a live process is not, however long it has taken. Commits.
    """
    values = {
        "recipients": list(recipients),
        "subject": subject[:500],
        "updated_at": now,
        "claimed_by": claimant,
    }
    inserted = (
        await (await session.connection()).execute(
            _insert(session)(SentEmail)
            .values(incident_id=incident_id, key=key, status="sending", created_at=now, **values)
            .on_conflict_do_nothing(index_elements=["incident_id", "key"])
            .returning(col(SentEmail.id))
        )
    ).scalar_one_or_none()
    if inserted is None:
        claimed_by = col(SentEmail.claimed_by)
        sender_gone = sa.or_(
            claimed_by.is_not(None) & held_by_the_dead(claimed_by, now),
            claimed_by.is_(None) & (col(SentEmail.updated_at) < now - SENDING_LEASE),
        )
        abandoned = (col(SentEmail.status) == "sending") & sender_gone
        retried = await (await session.connection()).execute(
            update(SentEmail)
            .where(col(SentEmail.incident_id) == incident_id, col(SentEmail.key) == key)
            .where((col(SentEmail.status) == "failed") | abandoned)
            .values(status="sending", error=None, **values)
        )
        inserted = retried.rowcount or None
    await session.commit()
    return inserted is not None


async def finish_email(
    session: AsyncSession, incident_id: int, key: str, now: datetime, error: str | None = None
) -> None:
    """Record how the claimed e-mail went: sent at `now`, or failed with `error`. Commits."""
    await (await session.connection()).execute(
        update(SentEmail)
        .where(col(SentEmail.incident_id) == incident_id, col(SentEmail.key) == key)
        .values(
            status="failed" if error else "sent",
            error=error[:1000] if error else None,
            sent_at=None if error else now,
            updated_at=now,
        )
    )
    await session.commit()


async def sent_emails(session: AsyncSession, incident_id: int) -> list[SentEmail]:
    """The incident's e-mail records, oldest first."""
    rows = await session.exec(
        select(SentEmail).where(SentEmail.incident_id == incident_id).order_by(col(SentEmail.id))
    )
    return list(rows)
