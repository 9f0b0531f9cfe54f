"""Storage on both engines: migrations reach head with no drift, timestamps come back in UTC."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from storage.db import SessionFactory, create_engine
from storage.migrate import downgrade, is_at_head, schema_drift, upgrade
from storage.models import Incident, Project


async def test_migrations_reach_head_without_drift_and_downgrade_cleanly(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        assert not await is_at_head(engine)
        await asyncio.to_thread(upgrade, empty_database_url)
        assert await is_at_head(engine)
        assert await schema_drift(engine) == []
        await asyncio.to_thread(downgrade, empty_database_url, "base")
        assert not await is_at_head(engine)
    finally:
        await engine.dispose()


async def test_timestamps_round_trip_as_utc(sessions: SessionFactory) -> None:
    reported = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    async with sessions() as session:
        project = Project(name="Default", prefix="INC")
        session.add(project)
        await session.flush()
        assert project.id is not None
        session.add(
            Incident(
                project_id=project.id,
                number=1,
                name="INC-1",
                title="Disk full",
                reporter_user_id="U1",
                reported_at=reported,
            )
        )
        await session.commit()
    async with sessions() as session:
        incident = (await session.exec(select(Incident))).one()
    assert incident.reported_at == reported
    assert incident.reported_at.tzinfo is not None
    assert incident.reported_at.utcoffset() == timedelta(0)
    assert incident.created_at.tzinfo == UTC


async def test_incident_numbers_are_unique_per_project(sessions: SessionFactory) -> None:
    async with sessions() as session:
        project = Project(name="Default", prefix="INC")
        session.add(project)
        await session.commit()
    assert project.id is not None
    with pytest.raises(IntegrityError):
        async with sessions() as session:
            for _ in range(2):
                session.add(
                    Incident(
                        project_id=project.id, number=7, name=f"INC-7-{_}", title="t", reporter_user_id="U1"
                    )
                )
            await session.commit()


async def test_changes_inside_json_columns_are_saved(sessions: SessionFactory) -> None:
    async with sessions() as session:
        project = Project(name="Default", prefix="INC")
        session.add(project)
        await session.flush()
        assert project.id is not None
        incident = Incident(project_id=project.id, number=1, name="INC-1", title="t", reporter_user_id="U1")
        session.add(incident)
        await session.commit()
    async with sessions() as session:
        incident = (await session.exec(select(Incident))).one()
        incident.tags.append("database")
        session.add(incident)
        await session.commit()
    async with sessions() as session:
        assert (await session.exec(select(Incident))).one().tags == ["database"]
