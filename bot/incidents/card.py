"""The incident as people see it (its card, its channel's topic), and its people as Slack names them.

Low in the capability, importing no flow: the opening, the changes, the on-call engagement and the
other capabilities read the incident from here without importing one another.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from sqlmodel import col, select

from bot.incidents import channel_views
from bot.incidents.context import COMMANDER
from bot.incidents.facts import IncidentCard, PersonCard
from bot.runtime.bot_context import BotContext
from storage import incidents as store
from storage.models import Incident, IncidentPriority, IncidentSeverity, IncidentType, Project


async def incident_card(ctx: BotContext, incident_id: int) -> IncidentCard:
    """The incident as people see it, in four queries (five for a closed incident)."""
    async with ctx.sessions() as session:
        row = (
            await session.exec(
                select(Incident, Project, IncidentType, IncidentSeverity)
                .join(Project, col(Project.id) == col(Incident.project_id))
                .outerjoin(IncidentType, col(IncidentType.id) == col(Incident.incident_type_id))
                .outerjoin(IncidentSeverity, col(IncidentSeverity.id) == col(Incident.incident_severity_id))
                .where(Incident.id == incident_id)
            )
        ).one()
        incident, project, incident_type, severity = row
        priority = (
            await session.get(IncidentPriority, incident.incident_priority_id)
            if incident.incident_priority_id
            else None
        )
        people = await store.participants_with_roles(session, incident_id)
        recorded = await store.resources(session, incident_id)
        channel = recorded.get("conversation")
        commander = next((p.user_id for p, roles in people if COMMANDER in roles), None)
        if commander is None:  # closing ended every role: the commander is who held it last
            commander = await store.last_holder_of(session, incident_id, COMMANDER)
    commander = commander or incident.reporter_user_id
    return IncidentCard(
        id=incident_id,
        name=incident.name,
        title=incident.title,
        description=incident.description,
        status=incident.status,
        visibility=incident.visibility,
        project=project.name,
        type=incident_type.name if incident_type else "Unspecified",
        severity=severity.name if severity else "Unspecified",
        priority=priority.name if priority else "Unspecified",
        reporter_id=incident.reporter_user_id,
        commander_id=commander,
        channel_id=channel.external_id if channel else None,
        participants=[PersonCard(p.user_id, roles, p.name, p.timezone) for p, roles in people],
        tags=list(incident.tags),
        type_description=incident_type.description if incident_type else "",
        resources={role: row.weblink for role, row in recorded.items() if row.weblink},
    )


async def email_of(ctx: BotContext, user_id: str) -> str:
    try:
        response = await ctx.slack.users_info(user=user_id)
    except SlackApiError:
        return ""
    return str(((response.get("user") or {}).get("profile") or {}).get("email") or "")


async def user_name(ctx: BotContext, user_id: str, *, full: bool = False) -> str:
    """How Slack shows the person (their display name), or their full name; the id if unknown."""
    try:
        response = await ctx.slack.users_info(user=user_id)
    except SlackApiError:
        return user_id
    user = response.get("user") or {}
    profile = user.get("profile") or {}
    shown = (user.get("real_name"), profile.get("real_name")) if full else (profile.get("display_name"),)
    return str(
        next((name for name in shown if name), None) or user.get("real_name") or user.get("name") or user_id
    )


async def refresh_topic(ctx: BotContext, incident_id: int) -> None:
    """Set the channel topic from the incident as it is now (after a status, field or commander change)."""
    card = await incident_card(ctx, incident_id)
    if card.channel_id:
        await ctx.gateway.set_topic(
            card.channel_id, channel_views.topic(card, await user_name(ctx, card.commander_id))
        )
