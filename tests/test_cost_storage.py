"""Incident cost storage on both engines: one response cost type per project, amounts add up per incident."""

from __future__ import annotations

from sqlmodel import select

from storage.costs import add_cost, response_cost_type, totals_cents
from storage.db import SessionFactory
from storage.models import Incident, IncidentCost, IncidentCostType, Project


async def test_costs_accumulate_per_incident_and_type(sessions: SessionFactory) -> None:
    async with sessions() as session:
        project = Project(name="Default", prefix="INC")
        session.add(project)
        await session.flush()
        assert project.id is not None
        first = Incident(project_id=project.id, number=1, name="INC-1", title="t", reporter_user_id="U1")
        second = Incident(project_id=project.id, number=2, name="INC-2", title="t", reporter_user_id="U1")
        session.add_all([first, second])
        await session.flush()
        assert first.id is not None and second.id is not None
        response = await response_cost_type(session, project.id)
        assert (await response_cost_type(session, project.id)).id == response.id
        travel = IncidentCostType(project_id=project.id, name="Travel")
        session.add(travel)
        await session.flush()
        assert response.id is not None and travel.id is not None
        await add_cost(session, first.id, response.id, 1667)
        await add_cost(session, first.id, response.id, 972)
        await add_cost(session, first.id, travel.id, 5000)
        await add_cost(session, second.id, response.id, 2500)
        await session.commit()
        first_id, second_id = first.id, second.id
    async with sessions() as session:
        types = (await session.exec(select(IncidentCostType).order_by(IncidentCostType.name))).all()
        assert [(t.name, t.editable, t.default) for t in types] == [
            ("Response Cost", False, True),
            ("Travel", True, False),
        ]
        assert len((await session.exec(select(IncidentCost))).all()) == 3
        assert await totals_cents(session, [first_id, second_id, 999]) == {first_id: 7639, second_id: 2500}
