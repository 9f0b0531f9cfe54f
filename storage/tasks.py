"""Queries for tasks: create once per submission, list by incident or by person, change status, remind."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Incident, IncidentType, Participant, Task, TaskAssignee


@dataclass(frozen=True)
class TaskRow:
    """A task with the people on it and the incident it belongs to."""

    task: Task
    assignees: tuple[str, ...]
    incident_name: str
    incident_title: str

    @property
    def id(self) -> int:
        assert self.task.id is not None
        return self.task.id


async def task_by_request(session: AsyncSession, request_key: str) -> Task | None:
    return (await session.exec(select(Task).where(Task.request_key == request_key))).first()


async def add_task(session: AsyncSession, task: Task, assignees: Iterable[str]) -> Task:
    session.add(task)
    await session.flush()
    assert task.id is not None
    for user_id in dict.fromkeys(assignees):
        session.add(TaskAssignee(task_id=task.id, user_id=user_id))
    await session.flush()
    return task


async def _rows(session: AsyncSession, tasks: Sequence[Task]) -> list[TaskRow]:
    """The tasks with their assignees and incident, in two queries whatever their number."""
    if not tasks:
        return []
    ids = [task.id for task in tasks]
    assignees: dict[int, list[str]] = {}
    for task_id, user_id in await session.exec(
        select(TaskAssignee.task_id, TaskAssignee.user_id)
        .where(col(TaskAssignee.task_id).in_(ids))
        .order_by(col(TaskAssignee.id))
    ):
        assignees.setdefault(task_id, []).append(user_id)
    incidents = {
        incident.id: incident
        for incident in await session.exec(
            select(Incident).where(col(Incident.id).in_({task.incident_id for task in tasks}))
        )
    }
    return [
        TaskRow(
            task,
            tuple(assignees.get(task.id or 0, ())),
            incidents[task.incident_id].name,
            incidents[task.incident_id].title,
        )
        for task in tasks
    ]


async def task_row(session: AsyncSession, task_id: int) -> TaskRow | None:
    task = await session.get(Task, task_id)
    return (await _rows(session, [task]))[0] if task is not None else None


async def incident_tasks(session: AsyncSession, incident_id: int) -> list[TaskRow]:
    tasks = await session.exec(
        select(Task).where(Task.incident_id == incident_id).order_by(col(Task.created_at), col(Task.id))
    )
    return await _rows(session, list(tasks))


async def tasks_of_person(session: AsyncSession, user_id: str) -> list[TaskRow]:
    """Tasks `user_id` created, owns or is assigned, across incidents; a restricted incident's only
    while they take part in it."""
    assigned = select(TaskAssignee.task_id).where(TaskAssignee.user_id == user_id)
    taking_part = select(Participant.incident_id).where(Participant.user_id == user_id)
    statement = (
        select(Task)
        .join(Incident, col(Incident.id) == col(Task.incident_id))
        .where(
            sa.or_(
                col(Task.creator_user_id) == user_id,
                col(Task.owner_user_id) == user_id,
                col(Task.id).in_(assigned),
            )
        )
        .where(sa.or_(col(Incident.visibility) != "restricted", col(Incident.id).in_(taking_part)))
        .order_by(col(Task.created_at), col(Task.id))
    )
    return await _rows(session, list(await session.exec(statement)))


async def open_tasks_of(session: AsyncSession, incident_id: int, user_id: str) -> list[Task]:
    """The incident's open tasks assigned to `user_id`."""
    statement = (
        select(Task)
        .join(TaskAssignee, col(TaskAssignee.task_id) == col(Task.id))
        .where(Task.incident_id == incident_id, Task.status == "open", TaskAssignee.user_id == user_id)
        .order_by(col(Task.id))
    )
    return list(await session.exec(statement))


async def set_status(
    session: AsyncSession, task_id: int, status: str, user_id: str | None, now: datetime
) -> bool:
    """Move the task to `status`; False when it was there already (a double click, say)."""
    resolved = status == "resolved"
    result = await (await session.connection()).execute(
        sa.update(Task)
        .where(col(Task.id) == task_id, col(Task.status) != status)
        .values(
            status=status,
            resolved_at=now if resolved else None,
            resolved_by=user_id if resolved else None,
            updated_at=now,
        )
    )
    return bool(result.rowcount)


async def keep_message_ts(session: AsyncSession, task_id: int, ts: str) -> str | None:
    """Save `ts` as the task's message unless one is saved already; the one saved now."""
    await (await session.connection()).execute(
        sa.update(Task).where(col(Task.id) == task_id, col(Task.message_ts).is_(None)).values(message_ts=ts)
    )
    return (await session.exec(select(Task.message_ts).where(Task.id == task_id))).first()


async def overdue_tasks(session: AsyncSession, now: datetime, every: timedelta) -> list[TaskRow]:
    """Open overdue tasks of active incidents whose type allows reminders, not reminded within `every`."""
    statement = (
        select(Task)
        .join(Incident, col(Incident.id) == col(Task.incident_id))
        .join(IncidentType, col(IncidentType.id) == col(Incident.incident_type_id), isouter=True)
        .where(Task.status == "open", col(Task.reminders).is_(True), col(Task.resolve_by) <= now)
        .where(Incident.status == "active")
        .where(sa.or_(col(IncidentType.id).is_(None), col(IncidentType.exclude_from_reminders).is_(False)))
        .where(sa.or_(col(Task.last_reminded_at).is_(None), col(Task.last_reminded_at) <= now - every))
        .order_by(col(Task.id))
    )
    return await _rows(session, list(await session.exec(statement)))


async def claim_reminders(
    session: AsyncSession, task_ids: list[int], now: datetime, every: timedelta
) -> set[int]:
    """Record the reminders about to be sent, in one statement; the tasks claimed (another run may
    have sent one within `every`)."""
    if not task_ids:
        return set()
    result = await (await session.connection()).execute(
        sa.update(Task)
        .where(col(Task.id).in_(task_ids))
        .where(sa.or_(col(Task.last_reminded_at).is_(None), col(Task.last_reminded_at) <= now - every))
        .values(last_reminded_at=now)
        .returning(col(Task.id))
    )
    return {int(task_id) for task_id in result.scalars() if task_id is not None}
