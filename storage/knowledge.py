"""Knowledge queries: a project's runbooks, definitions and discoverable tags, and what each incident
was told once (documents suggested, terms explained) or must not be told again (tags removed by hand)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Definition, Document, IncidentMemory, Tag, TagType
from storage.scheduling import _insert

SUGGESTED = "document"
EXPLAINED = "term"
REMOVED_TAG = "tag_removed"


async def runbooks(session: AsyncSession, project_id: int) -> list[Document]:
    """The project's enabled runbooks and reference documents (templates are copied, not suggested)."""
    rows = await session.exec(
        select(Document)
        .where(Document.project_id == project_id, col(Document.enabled), Document.kind == "runbook")
        .order_by(col(Document.name))
    )
    return list(rows)


async def definitions(session: AsyncSession, project_ids: Sequence[int] | None = None) -> list[Definition]:
    """Enabled definitions of these projects (of every project when None), by term."""
    statement = select(Definition).where(col(Definition.enabled))
    if project_ids is not None:
        statement = statement.where(col(Definition.project_id).in_(list(project_ids)))
    return list(await session.exec(statement.order_by(col(Definition.term), col(Definition.id))))


async def discoverable_tags(session: AsyncSession, project_id: int) -> list[tuple[TagType, Tag]]:
    """The project's enabled tags that may be found in an incident's text, with their type."""
    rows = await session.exec(
        select(TagType, Tag)
        .join(TagType, col(TagType.id) == col(Tag.tag_type_id))
        .where(Tag.project_id == project_id, col(Tag.enabled), col(TagType.enabled))
        .where(col(Tag.discoverable), col(TagType.discoverable))
        .order_by(col(TagType.name), col(Tag.name))
    )
    return list(rows.all())


async def remembered(session: AsyncSession, incident_id: int, kind: str) -> dict[str, str | None]:
    """What the incident has of `kind`, by name, with the key of the message that claimed it."""
    rows = await session.exec(
        select(IncidentMemory.name, IncidentMemory.effect_key).where(
            IncidentMemory.incident_id == incident_id, IncidentMemory.kind == kind
        )
    )
    return dict(rows.all())


async def remember(
    session: AsyncSession, incident_id: int, kind: str, names: Iterable[str], key: str | None = None
) -> None:
    """Remember `names` for the incident (each once: a name remembered before keeps its first row).
    Does not commit."""
    values = [
        {"incident_id": incident_id, "kind": kind, "name": name[:200], "effect_key": key}
        for name in dict.fromkeys(names)
    ]
    if not values:
        return
    await (await session.connection()).execute(
        _insert(session)(IncidentMemory)
        .values(values)
        .on_conflict_do_nothing(index_elements=["incident_id", "kind", "name"])
    )


async def claim(
    session: AsyncSession, incident_id: int, kind: str, names: Iterable[str], key: str
) -> set[str]:
    """Claim `names` for the message `key`: the names this message holds afterwards (those claimed
    now and by an earlier attempt of it), not those another message claimed first. Commits."""
    await remember(session, incident_id, kind, names, key)
    rows = await session.exec(
        select(IncidentMemory.name).where(
            IncidentMemory.incident_id == incident_id,
            IncidentMemory.kind == kind,
            IncidentMemory.effect_key == key,
        )
    )
    held = set(rows.all())
    await session.commit()
    return held


async def forget(session: AsyncSession, incident_id: int, kind: str, names: Iterable[str]) -> None:
    """Forget `names` of `kind` for the incident. Does not commit."""
    wanted = list(names)
    if not wanted:
        return
    await (await session.connection()).execute(
        sa.delete(IncidentMemory).where(
            col(IncidentMemory.incident_id) == incident_id,
            col(IncidentMemory.kind) == kind,
            col(IncidentMemory.name).in_(wanted),
        )
    )
