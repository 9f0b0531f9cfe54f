"""Read-side queries over the workspace configuration: projects and their choices for a new incident."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    IncidentPriority,
    IncidentSeverity,
    IncidentType,
    Notification,
    Project,
    Tag,
    TagType,
)


@dataclass(frozen=True)
class ProjectChoices:
    """What a reporter may pick in one project, enabled rows only, in display order."""

    project: Project
    types: list[IncidentType]
    severities: list[IncidentSeverity]
    priorities: list[IncidentPriority]
    tags: list[tuple[str, str]]
    """(tag type, tag) names of the enabled tags, for the modals' tag pickers."""

    def default_type(self) -> IncidentType | None:
        return next((t for t in self.types if t.is_default), self.types[0] if self.types else None)

    def default_severity(self) -> IncidentSeverity | None:
        return next(
            (s for s in self.severities if s.is_default), self.severities[0] if self.severities else None
        )

    def default_priority(self) -> IncidentPriority | None:
        return next(
            (p for p in self.priorities if p.is_default), self.priorities[0] if self.priorities else None
        )


async def enabled_projects(session: AsyncSession) -> list[Project]:
    rows = await session.exec(
        select(Project)
        .where(col(Project.enabled))
        .order_by(col(Project.is_default).desc(), col(Project.name))
    )
    return list(rows)


async def project_choices(session: AsyncSession, project: Project) -> ProjectChoices:
    types = await session.exec(
        select(IncidentType)
        .where(IncidentType.project_id == project.id, col(IncidentType.enabled))
        .order_by(col(IncidentType.name))
    )
    severities = await session.exec(
        select(IncidentSeverity)
        .where(IncidentSeverity.project_id == project.id, col(IncidentSeverity.enabled))
        .order_by(col(IncidentSeverity.view_order), col(IncidentSeverity.name))
    )
    priorities = await session.exec(
        select(IncidentPriority)
        .where(IncidentPriority.project_id == project.id, col(IncidentPriority.enabled))
        .order_by(col(IncidentPriority.view_order), col(IncidentPriority.name))
    )
    tags = await session.exec(
        select(TagType.name, Tag.name)
        .join(TagType, col(TagType.id) == col(Tag.tag_type_id))
        .where(Tag.project_id == project.id, col(Tag.enabled), col(TagType.enabled))
        .order_by(col(TagType.name), col(Tag.name))
    )
    return ProjectChoices(
        project, list(types), list(severities), list(priorities), [(kind, name) for kind, name in tags]
    )


async def enabled_notifications(session: AsyncSession, project_id: int) -> list[Notification]:
    rows = await session.exec(
        select(Notification)
        .where(Notification.project_id == project_id, col(Notification.enabled))
        .order_by(col(Notification.name))
    )
    return list(rows)
