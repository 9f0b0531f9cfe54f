"""The incident's documents (document plugin): the incident document made at opening and kept in step
with the incident's fields, the review document made at Stable, and the executive reports' copies.

At opening, the `document` step runs once the folder step has finished (the document lives in the
folder); it links to the ticket and the conference, showing a placeholder for one still to come.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from sqlmodel import col, select

from bot.core.errors import plugin_call
from bot.incidents.card import user_name
from bot.incidents.resources import (
    COMMANDER,
    DOCUMENT,
    EXECUTIVE,
    REVIEW,
    commander_of,
    plugin_failure_text,
    record_and_bookmark,
    save_details,
    setting_of,
)
from bot.runtime.bot_context import BotContext
from plugins.errors import PluginError
from plugins.interfaces import DocumentPlugin, ExternalResource
from storage import incidents as store
from storage.models import Document, Incident, IncidentPriority, IncidentType, Project

if TYPE_CHECKING:
    from bot.incidents.opening import Opening

logger = logging.getLogger(__name__)

# Resources the document links to: it does not wait for them (a slow ticket must not hold up the
# document); it shows a placeholder, replaced when the resource lands, and once more when the
# document itself does (for one that landed while it was being copied).
SHOWN_IN_DOCUMENT = ("ticket", "conference", "document")
LINK_TO_COME = {"ticket": "(ticket link to come)", "conference": "(conference link to come)"}
# What the document shows for a field still empty: a later update replaces it with the value (an
# empty text could not be found again).
NOT_YET = {"description": "(no description yet)", "resolution": "(not resolved yet)"}


# ----- the document and its variables -----


async def template_of(ctx: BotContext, incident: Incident, kind: str) -> str | None:
    """The file id of the incident type's `kind` template (else the project's only one), or None."""
    async with ctx.sessions() as session:
        incident_type = (
            await session.get(IncidentType, incident.incident_type_id) if incident.incident_type_id else None
        )
        wanted = getattr(incident_type, kind, None) if incident_type is not None else None
        query = select(Document).where(
            Document.project_id == incident.project_id, Document.kind == kind, col(Document.enabled)
        )
        if wanted:
            query = query.where(Document.name == wanted)
        documents = list((await session.exec(query.order_by(col(Document.id)))).all())
    if not documents or (not wanted and len(documents) > 1):
        return None  # several templates and the type names none: which one is not ours to guess
    return documents[0].external_id


async def document_variables(ctx: BotContext, incident_id: int) -> dict[str, str]:
    """The incident template's `{{variables}}` as the incident stands now (templates.mdx's list)."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        incident_type = (
            await session.get(IncidentType, incident.incident_type_id) if incident.incident_type_id else None
        )
        priority = (
            await session.get(IncidentPriority, incident.incident_priority_id)
            if incident.incident_priority_id
            else None
        )
        recorded = await store.resources(session, incident_id)
        commander = await store.holder_of(session, incident_id, COMMANDER) or await store.last_holder_of(
            session, incident_id, COMMANDER
        )
        project = await session.get(Project, incident.project_id)
    coming = set((project.plugins or {}) if project is not None else {})
    channel = recorded.get("conversation")
    url = ctx.identity.get("url") if ctx.identity is not None else None
    workspace_url = str(url or "https://slack.com/").rstrip("/")
    links = {
        f"{kind}_weblink": (recorded[kind].weblink or "")
        if kind in recorded
        else (LINK_TO_COME.get(kind, "") if kind in coming else "")
        for kind in ("conference", "storage", "document", "ticket")
    }
    return {
        "name": incident.name,
        "title": incident.title,
        "description": incident.description or NOT_YET["description"],
        "resolution": incident.resolution or NOT_YET["resolution"],
        "commander_fullname": await user_name(ctx, commander, full=True) if commander else "",
        "type": incident_type.name if incident_type else "",
        "priority": priority.name if priority else "",
        "status": incident.status.capitalize(),
        **links,
        "conversation_weblink": f"{workspace_url}/archives/{channel.external_id}" if channel else "",
    }


async def make_document(opening: Opening, plugin: object) -> ExternalResource | None:
    """The incident document: the type's incident template copied into the folder, variables filled."""
    return await _copy_template(opening.ctx, opening.incident_id, cast(DocumentPlugin, plugin), DOCUMENT)


DOCUMENT_NAMES = {
    DOCUMENT: "Incident Document",
    REVIEW: "Post Incident Review Document",
    EXECUTIVE: "Executive Report",
}
TEMPLATES = {DOCUMENT: "incident_template", REVIEW: "review_template", EXECUTIVE: "executive_template"}


async def _copy_template(
    ctx: BotContext,
    incident_id: int,
    plugin: DocumentPlugin,
    kind: str,
    *,
    suffix: str = "",
    extra: Mapping[str, str] | None = None,
) -> ExternalResource | None:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        folder = (await store.resources(session, incident_id)).get("storage")
    if folder is None:
        raise PluginError("the incident's folder is not there yet")
    template = await template_of(ctx, incident, TEMPLATES[kind])
    if template is None:
        logger.info("no %s for incident %s", TEMPLATES[kind], incident.name)
        return None
    variables = {**await document_variables(ctx, incident_id), **(extra or {})}
    name = f"{incident.name} - {DOCUMENT_NAMES[kind]}{suffix}"
    made = await plugin.create_from_template(template, folder.external_id, name, variables)
    return made


async def update_document(ctx: BotContext, incident_id: int) -> None:
    """Carry the incident's current fields into its document; a failure is told to the commander once
    (until an update succeeds again), and stops nothing else."""
    setting = await setting_of(ctx, incident_id)
    if setting is None:
        return
    document, plugin = setting.recorded.get(DOCUMENT), setting.plugins.get(DOCUMENT)
    if document is None or plugin is None:
        return
    previous = dict(document.details.get("variables") or {})
    current = await document_variables(ctx, incident_id)
    current["document_weblink"] = document.weblink or ""
    if all(previous.get(key) == value for key, value in current.items()):
        return
    try:
        await plugin_call(
            ctx, cast(DocumentPlugin, plugin).update_fields(document.external_id, previous, current)
        )
    except Exception as error:
        logger.warning("document update failed", extra={"incident_id": incident_id, "error": str(error)})
        if not document.details.get("update_failure_told"):
            await save_details(ctx, incident_id, DOCUMENT, {"update_failure_told": True})
            commander = await commander_of(ctx, incident_id)
            if commander:
                await ctx.gateway.direct_message(
                    commander,
                    f"Couldn't update the incident document of {setting.incident.name}: "
                    f"{plugin_failure_text(error)}.",
                )
        return
    await save_details(ctx, incident_id, DOCUMENT, {"variables": current, "update_failure_told": False})


# ----- the review document -----


async def make_review_document(ctx: BotContext, incident_id: int) -> None:
    """At Stable: the review document from the type's review template, once per incident (a second
    Stable after a reopen finds it recorded), bookmarked and linked in the channel."""
    setting = await setting_of(ctx, incident_id)
    if setting is None or REVIEW in setting.recorded:
        return
    plugin, channel = setting.plugins.get(DOCUMENT), setting.recorded.get("conversation")
    if plugin is None or channel is None:
        return
    try:
        made = await plugin_call(ctx, _copy_template(ctx, incident_id, cast(DocumentPlugin, plugin), REVIEW))
    except Exception as error:
        logger.warning(
            "review document failed", extra={"incident_id": incident_id, "error": plugin_failure_text(error)}
        )
        commander = await commander_of(ctx, incident_id)
        if commander:
            await ctx.gateway.direct_message(
                commander,
                f"Couldn't create the review document of {setting.incident.name}: "
                f"{plugin_failure_text(error)}.",
            )
        return
    if made is None:
        return
    await record_and_bookmark(ctx, incident_id, channel.external_id, REVIEW, made)
    async with ctx.sessions() as session, session.begin():
        event = await store.add_timeline_event(
            session,
            incident_id,
            "review_document_created",
            f"Review document created: {made.name}",
            occurred_at=ctx.clock(),
            details={"weblink": made.weblink},
            dedupe_key="review_document",
        )
    if event is None:
        return  # another run announced it
    shown = f"<{made.weblink}|{made.name}>" if made.weblink else made.name
    text = f"The incident is stable: its review document is ready for the write-up: {shown}."
    await ctx.gateway.post(channel.external_id, text)


async def make_executive_document(
    ctx: BotContext, incident_id: int, number: int, fields: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """A copy of the type's executive template for the `number`-th executive report, its fields
    filled in: (its link, None), (None, why it could not be made), or (None, None) when the project
    makes no such document. The copy is named after the report, so a retry finds it."""
    setting = await setting_of(ctx, incident_id)
    plugin = setting.plugins.get(DOCUMENT) if setting is not None else None
    if setting is None or plugin is None:
        return None, None
    try:
        made = await plugin_call(
            ctx,
            _copy_template(
                ctx, incident_id, cast(DocumentPlugin, plugin), EXECUTIVE, suffix=f" {number}", extra=fields
            ),
        )
    except Exception as error:
        logger.warning(
            "executive document failed",
            extra={"incident_id": incident_id, "error": plugin_failure_text(error)},
        )
        return None, f"The executive document could not be made: {plugin_failure_text(error)}."
    if made is None:
        return None, None
    async with ctx.sessions() as session, session.begin():
        await store.record_resource(
            session, incident_id, EXECUTIVE, made.id, weblink=made.weblink, details={"name": made.name}
        )
    return made.weblink, None
