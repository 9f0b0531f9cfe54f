"""What the incident's resources share: their kinds and nouns, what they hang off (the project's
plugins, the recorded resources), recording and bookmarking one; and, after the opening, the
ticket kept in step with the incident and the folder opened to the organisation at close.

The documents are in `documents`, the groups in `participant_groups`, and the opening's resource
steps in `resource_steps`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from slack_sdk.errors import SlackApiError

from bot.core.errors import failure_text, plugin_call
from bot.incidents.card import incident_card
from bot.incidents.facts import IncidentCard
from bot.runtime.bot_context import BotContext
from plugins.errors import PluginError
from plugins.interfaces import ExternalResource, StoragePlugin
from plugins.registry import ProjectPlugins
from storage import incidents as store
from storage.models import Incident, Project, Resource

logger = logging.getLogger(__name__)

T = TypeVar("T")

COMMANDER = "Incident Commander"
TACTICAL, NOTIFICATIONS = "tactical_group", "notifications_group"
DOCUMENT, REVIEW, EXECUTIVE = "document", "review_document", "executive_document"
# Roles whose resource is recorded under another kind than the role's name.
RECORDED_AS = {"participant_group": TACTICAL}
RESOURCE_NOUNS = {
    "ticket": "ticket",
    "storage": "folder",
    "document": "document",
    "conference": "conference",
    "participant_group": "group",
    TACTICAL: "group",
    REVIEW: "review document",
}


@dataclass(frozen=True)
class Setting:
    """What the incident's resources hang off: its project's plugins and its recorded resources."""

    incident: Incident
    project: Project
    plugins: ProjectPlugins
    recorded: dict[str, Resource]


async def setting_of(ctx: BotContext, incident_id: int) -> Setting | None:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        project = await session.get(Project, incident.project_id) if incident is not None else None
        recorded = await store.resources(session, incident_id)
    if incident is None or project is None or not project.plugins:
        return None
    return Setting(incident, project, ctx.plugins_for(project), recorded)


async def record_and_bookmark(
    ctx: BotContext, incident_id: int, channel: str, role: str, resource: ExternalResource
) -> None:
    """Record the resource as `role`, then bookmark it in the channel once."""
    async with ctx.sessions() as session, session.begin():
        earlier = (await store.resources(session, incident_id)).get(role)
        bookmarked = bool(earlier is not None and earlier.details.get("bookmarked"))
        details = {"name": resource.name, **dict(resource.details), "bookmarked": bookmarked}
        await store.record_resource(
            session, incident_id, role, resource.id, weblink=resource.weblink, details=details
        )
    if bookmarked or not resource.weblink:
        return
    if earlier is None or resource.weblink not in await ctx.gateway.bookmark_links(channel):
        title = f"{RESOURCE_NOUNS.get(role, role).capitalize()} {resource.name or resource.id}"
        await ctx.gateway.bookmark(channel, title, resource.weblink)
    async with ctx.sessions() as session, session.begin():
        await store.record_resource(
            session,
            incident_id,
            role,
            resource.id,
            weblink=resource.weblink,
            details={**details, "bookmarked": True},
        )


async def save_details(ctx: BotContext, incident_id: int, kind: str, details: Mapping[str, Any]) -> None:
    async with ctx.sessions() as session, session.begin():
        resource = (await store.resources(session, incident_id)).get(kind)
        if resource is not None:
            resource.details = {**resource.details, **details}
            session.add(resource)


async def commander_of(ctx: BotContext, incident_id: int) -> str | None:
    async with ctx.sessions() as session:
        return await store.holder_of(session, incident_id, COMMANDER) or await store.last_holder_of(
            session, incident_id, COMMANDER
        )


def plugin_failure_text(error: Exception) -> str:
    return str(error) if isinstance(error, PluginError) else f"{type(error).__name__}: {error}"


# ----- the ticket and the folder, after the opening -----


def resource_phrase(plugins: ProjectPlugins | None, role: str) -> str:
    """`"the Jira ticket"`: the vendor's name (when the plugin has one) and the role's noun."""
    label = plugins.labels.get(role, "") if plugins is not None else ""
    noun = RESOURCE_NOUNS.get(role, role.replace("_", " "))
    return f"the {label} {noun}" if label else f"the {noun}"


async def update_ticket(ctx: BotContext, incident_id: int, fields: dict[str, str]) -> None:
    """Carry changed fields to the incident's ticket, if it has one; a failure is told to the commander."""
    async with ctx.sessions() as session:
        ticket = (await store.resources(session, incident_id)).get("ticket")
        incident = await session.get(Incident, incident_id)
        project = await session.get(Project, incident.project_id) if incident is not None else None
    if ticket is None or project is None or not fields:
        return
    plugins = ctx.plugins_for(project)
    plugin = plugins.ticket
    if plugin is None:
        return
    try:
        await plugin_call(ctx, plugin.update(ticket.external_id, fields))
    except Exception as error:
        logger.warning(
            "ticket update failed", extra={"incident_id": incident_id, "error": failure_text(error)}
        )
        what = resource_phrase(plugins, "ticket")
        card = await incident_card(ctx, incident_id)
        await ctx.gateway.direct_message(
            card.commander_id,
            f"Couldn't update {what} of {card.name} ({ticket.external_id}): {failure_text(error)}.",
        )


async def open_folder_to_domain(ctx: BotContext, card: IncidentCard) -> None:
    """At close, the incident's folder becomes readable by the whole organisation (never for a
    restricted incident). Done once, recorded on the folder; a failure is told to the commander and
    stops nothing else."""
    if card.visibility == "restricted":
        return
    async with ctx.sessions() as session:
        folder = (await store.resources(session, card.id)).get("storage")
        incident = await session.get(Incident, card.id)
        project = await session.get(Project, incident.project_id) if incident is not None else None
    if folder is None or project is None or folder.details.get("opened_to_domain"):
        return
    plugins = ctx.plugins_for(project)
    storage = cast(StoragePlugin | None, plugins.get("storage"))
    if storage is None:
        return
    try:
        await plugin_call(ctx, storage.open_to_domain(folder.external_id))
    except Exception as error:
        reason = failure_text(error)
        logger.warning("opening the folder failed", extra={"incident_id": card.id, "error": reason})
        with contextlib.suppress(SlackApiError):
            await ctx.gateway.direct_message(
                card.commander_id,
                f"Couldn't open {resource_phrase(plugins, 'storage')} of {card.name} to the organisation: "
                f"{reason}. "
                "Share it by hand if people outside the response should read it.",
            )
        return
    async with ctx.sessions() as session, session.begin():
        await store.record_resource(
            session,
            card.id,
            "storage",
            folder.external_id,
            weblink=folder.weblink,
            details={**folder.details, "opened_to_domain": True},
        )
