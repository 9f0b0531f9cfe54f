"""Queries the report flows share: the latest report of a kind, one per request, where it was posted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Report

TACTICAL, EXECUTIVE = "tactical", "executive"
KINDS = (TACTICAL, EXECUTIVE)


async def last_report(session: AsyncSession, incident_id: int, kind: str) -> Report | None:
    """The incident's most recent report of `kind` (ties go to the one written last)."""
    statement = (
        select(Report)
        .where(Report.incident_id == incident_id, Report.kind == kind)
        .order_by(col(Report.created_at).desc(), col(Report.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def report_number(session: AsyncSession, report: Report) -> int:
    """Which report of its kind this is in its incident: 1 for the first."""
    count = await session.exec(
        select(sa.func.count())
        .select_from(Report)
        .where(Report.incident_id == report.incident_id, Report.kind == report.kind)
        .where(col(Report.id) <= report.id)
    )
    return int(count.one())


async def report_by_request(session: AsyncSession, request_key: str) -> Report | None:
    return (await session.exec(select(Report).where(Report.request_key == request_key))).first()


async def add_report(
    session: AsyncSession,
    incident_id: int,
    kind: str,
    author_user_id: str,
    details: dict[str, Any],
    *,
    request_key: str,
    channel_id: str | None,
    now: datetime,
) -> Report:
    """Write a report; the caller's transaction fails on a request key that made one already."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    report = Report(
        incident_id=incident_id,
        kind=kind,
        author_user_id=author_user_id,
        details=details,
        request_key=request_key,
        channel_id=channel_id,
        created_at=now,
    )
    session.add(report)
    await session.flush()
    return report


async def record_message(session: AsyncSession, report_id: int, channel_id: str, ts: str) -> None:
    await (await session.connection()).execute(
        sa.update(Report).where(col(Report.id) == report_id).values(channel_id=channel_id, message_ts=ts)
    )


async def record_pinned(session: AsyncSession, report_id: int, now: datetime) -> None:
    await (await session.connection()).execute(
        sa.update(Report).where(col(Report.id) == report_id).values(pinned_at=now)
    )


async def record_delivered(session: AsyncSession, report_id: int, now: datetime) -> None:
    await (await session.connection()).execute(
        sa.update(Report).where(col(Report.id) == report_id).values(delivered_at=now)
    )


async def claim_undelivered(session: AsyncSession, report_id: int, now: datetime) -> bool:
    """Take an undelivered report for this process; False when another one took it first.

    The claim marks it delivered up front: should this attempt die too, the report stays saved
    but is not posted twice.
    """
    claimed = await (await session.connection()).execute(
        sa.update(Report)
        .where(col(Report.id) == report_id, col(Report.delivered_at).is_(None))
        .values(delivered_at=now)
    )
    return bool(claimed.rowcount)


async def undelivered_reports(session: AsyncSession, created_before: datetime) -> list[Report]:
    """Reports saved before `created_before` whose Slack side never finished (a crash in between)."""
    statement = (
        select(Report)
        .where(col(Report.delivered_at).is_(None), col(Report.created_at) < created_before)
        .order_by(col(Report.id))
    )
    return list(await session.exec(statement))
