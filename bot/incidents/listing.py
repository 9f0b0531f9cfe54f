"""`/dispatch-list-incidents`: what is going on now, per project; restricted ones only to insiders."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, or_, select

from bot.incidents.facts import IncidentCard
from bot.runtime.bot_context import BotContext
from storage.models import (
    Incident,
    IncidentPriority,
    IncidentSeverity,
    IncidentType,
    Participant,
    ParticipantRole,
    Project,
    Resource,
)

RECENTLY_CLOSED = timedelta(hours=24)
LISTED = [
    col(getattr(Incident, name))
    for name in (
        "id",
        "name",
        "title",
        "description",
        "status",
        "visibility",
        "incident_type_id",
        "incident_severity_id",
        "incident_priority_id",
        "reporter_user_id",
        "tags",
    )
]
COMMANDER = "Incident Commander"


async def current_incidents(
    ctx: BotContext, user_id: str | None, project: str | None = None, project_id: int | None = None
) -> list[IncidentCard]:
    """Active and stable incidents and those closed in the last 24 h, newest first, that `user_id` may see
    (no one given: no restricted incident at all, as for a channel).

    A fixed number of queries whatever the number of incidents: names, channels and commanders
    are fetched for all of them at once.
    """
    since = ctx.clock() - RECENTLY_CLOSED
    async with ctx.sessions() as session:
        statement = (
            # Columns, not rows: loading thousands of ORM instances (the daily summary's) costs seconds.
            sa.select(*LISTED, col(Project.name).label("project"))
            .join(Project, col(Project.id) == col(Incident.project_id))
            .where(or_(col(Incident.status).in_(["active", "stable"]), col(Incident.closed_at) >= since))
            .order_by(col(Project.name), col(Incident.reported_at).desc())
        )
        if project:
            statement = statement.where(col(Project.name).ilike(project))
        if project_id is not None:
            statement = statement.where(col(Project.id) == project_id)
        rows = list(await (await session.connection()).execute(statement))
        # The same incidents as a subquery, not a list: thousands of ids would be thousands of parameters.
        ids = statement.with_only_columns(col(Incident.id)).order_by(None).scalar_subquery()
        mine = (
            set(
                await session.exec(
                    select(Participant.incident_id).where(
                        col(Participant.incident_id).in_(ids), Participant.user_id == user_id
                    )
                )
            )
            if user_id is not None
            else set()
        )
        channels = {
            incident_id: channel
            for incident_id, channel in await session.exec(
                select(Resource.incident_id, Resource.external_id).where(
                    col(Resource.incident_id).in_(ids), Resource.kind == "conversation"
                )
            )
        }
        commanders: dict[int, str] = {}
        for incident_id, holder in await session.exec(
            select(Participant.incident_id, Participant.user_id)
            .join(ParticipantRole, col(ParticipantRole.participant_id) == col(Participant.id))
            .where(col(Participant.incident_id).in_(ids), ParticipantRole.role == COMMANDER)
            .order_by(col(ParticipantRole.assumed_at))
        ):
            commanders[incident_id] = holder  # the latest assignment wins
        names: dict[tuple[str, int | None], str] = {}
        for kind, id_column, name_column in (
            ("type", IncidentType.id, IncidentType.name),
            ("severity", IncidentSeverity.id, IncidentSeverity.name),
            ("priority", IncidentPriority.id, IncidentPriority.name),
        ):
            for row_id, name in await session.exec(select(id_column, name_column)):
                names[(kind, row_id)] = name
    cards = []
    for incident in rows:
        if incident.visibility == "restricted" and incident.id not in mine:
            continue
        cards.append(
            IncidentCard(
                id=incident.id,
                name=incident.name,
                title=incident.title,
                description=incident.description,
                status=incident.status,
                visibility=incident.visibility,
                project=incident.project,
                type=names.get(("type", incident.incident_type_id or 0), "Unspecified"),
                severity=names.get(("severity", incident.incident_severity_id or 0), "Unspecified"),
                priority=names.get(("priority", incident.incident_priority_id or 0), "Unspecified"),
                reporter_id=incident.reporter_user_id,
                commander_id=commanders.get(incident.id, incident.reporter_user_id),
                channel_id=channels.get(incident.id),
                tags=list(incident.tags),
            )
        )
    return cards
