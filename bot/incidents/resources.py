"""The incident's document, review document and groups (document and participant_group plugins).

At opening, the `document` step runs once the folder, ticket and conference steps have finished (the
document lives in the folder and links to the others) and the `participant_group` step once the folder
has (the groups are given it). Later changes are carried over here too: key fields into the document,
people into the tactical group, and at Stable the review document.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from slack_sdk.errors import SlackApiError
from sqlmodel import col, select

from bot.core.errors import failure_text, plugin_call
from bot.incidents.card import email_of, incident_card, user_name
from bot.incidents.facts import IncidentCard
from bot.runtime.bot_context import BotContext
from plugins.errors import PluginError
from plugins.interfaces import DocumentPlugin, ExternalResource, ParticipantGroupPlugin, StoragePlugin
from plugins.registry import ProjectPlugins
from storage import incidents as store
from storage.models import Document, Incident, IncidentPriority, IncidentType, Project, Resource

if TYPE_CHECKING:
    from bot.incidents.opening import Opening

logger = logging.getLogger(__name__)

T = TypeVar("T")

COMMANDER = "Incident Commander"
TACTICAL, NOTIFICATIONS = "tactical_group", "notifications_group"
# A failed tactical group sync is tried again by the reconcile job after this long (its details
# hold when, under RETRY_AT).
GROUP_SYNC_RETRY = timedelta(minutes=5)
RETRY_AT = "sync_retry_at"
DOCUMENT, REVIEW, EXECUTIVE = "document", "review_document", "executive_document"
# An opening step that needs others' resources runs once those steps have finished (done or failed):
# the document and the groups live in (or are given) the folder.
WAITS_FOR = {"document": ("storage",), "participant_group": ("storage",)}
# Resources the document links to: it does not wait for them (a slow ticket must not hold up the
# document); it shows a placeholder, replaced when the resource lands, and once more when the
# document itself does (for one that landed while it was being copied).
SHOWN_IN_DOCUMENT = ("ticket", "conference", "document")
LINK_TO_COME = {"ticket": "(ticket link to come)", "conference": "(conference link to come)"}
# What the document shows for a field still empty: a later update replaces it with the value (an
# empty text could not be found again).
NOT_YET = {"description": "(no description yet)", "resolution": "(not resolved yet)"}
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


async def _setting(ctx: BotContext, incident_id: int) -> Setting | None:
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


# ----- keeping the document in step -----


async def update_document(ctx: BotContext, incident_id: int) -> None:
    """Carry the incident's current fields into its document; a failure is told to the commander once
    (until an update succeeds again), and stops nothing else."""
    setting = await _setting(ctx, incident_id)
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
            commander = await _commander(ctx, incident_id)
            if commander:
                await ctx.gateway.direct_message(
                    commander,
                    f"Couldn't update the incident document of {setting.incident.name}: {_text(error)}.",
                )
        return
    await save_details(ctx, incident_id, DOCUMENT, {"variables": current, "update_failure_told": False})


async def save_details(ctx: BotContext, incident_id: int, kind: str, details: Mapping[str, Any]) -> None:
    async with ctx.sessions() as session, session.begin():
        resource = (await store.resources(session, incident_id)).get(kind)
        if resource is not None:
            resource.details = {**resource.details, **details}
            session.add(resource)


async def _commander(ctx: BotContext, incident_id: int) -> str | None:
    async with ctx.sessions() as session:
        return await store.holder_of(session, incident_id, COMMANDER) or await store.last_holder_of(
            session, incident_id, COMMANDER
        )


def _text(error: Exception) -> str:
    return str(error) if isinstance(error, PluginError) else f"{type(error).__name__}: {error}"


# ----- the tactical and notifications groups -----


async def participant_emails(ctx: BotContext, incident_id: int) -> list[str]:
    """The e-mail addresses of everyone holding a role in the incident, sorted."""
    async with ctx.sessions() as session:
        people = [p for p, roles in await store.participants_with_roles(session, incident_id) if roles]
    found = await asyncio.gather(*(_email(ctx, p.user_id, p.email) for p in people))
    return sorted({email for email in found if email})


async def _email(ctx: BotContext, user_id: str, known: str | None) -> str:
    return known or await email_of(ctx, user_id)


async def group_emails(ctx: BotContext, incident_id: int) -> list[str]:
    """The incident's groups' addresses, as recorded (none before the groups exist)."""
    async with ctx.sessions() as session:
        recorded = await store.resources(session, incident_id)
    kinds = [kind for kind in (TACTICAL, NOTIFICATIONS) if kind in recorded]
    return [str(recorded[kind].details.get("email")) for kind in kinds]


async def make_groups(opening: Opening, plugin: object) -> ExternalResource:
    """The tactical group `<name>` (everyone taking part) and `<name>-notifications` (empty at first),
    both given the folder; the tactical group is returned, the notifications group recorded here."""
    ctx, card = opening.ctx, opening.card
    groups = cast(ParticipantGroupPlugin, plugin)
    members = await participant_emails(ctx, opening.incident_id)
    tactical = await groups.create(card.name, members, card.title)
    informed = await groups.create(f"{card.name}-notifications", [], card.title)
    async with ctx.sessions() as session, session.begin():
        kept = (await store.resources(session, opening.incident_id)).get(NOTIFICATIONS)
        await store.record_resource(
            session,
            opening.incident_id,
            NOTIFICATIONS,
            informed.id,
            weblink=informed.weblink,
            details={
                "name": informed.name,
                **dict(informed.details),
                "members": (kept.details.get("members") if kept else None) or [],
            },
        )
        folder = (await store.resources(session, opening.incident_id)).get("storage")
    storage = opening.plugins.get("storage") if opening.plugins is not None else None
    if folder is not None and storage is not None:
        addresses = [str(tactical.details["email"]), str(informed.details["email"])]
        await cast(StoragePlugin, storage).add_participants(folder.external_id, [], addresses)
    details = {**tactical.details, "members": members}
    return ExternalResource(tactical.id, tactical.weblink, tactical.name, details)


async def sync_tactical_group(ctx: BotContext, incident_id: int) -> bool:
    """Put the tactical group in step with who holds a role: newcomers added, those whose roles all
    ended removed. Only addresses the bot added are ever removed; a closed incident is left as it was.
    False when the group's plugin failed and the sync is put off to a retry."""
    setting = await _setting(ctx, incident_id)
    if setting is None or setting.incident.status == "closed":
        return True
    group, plugin = setting.recorded.get(TACTICAL), setting.plugins.get("participant_group")
    if group is None or plugin is None:
        return True
    groups = cast(ParticipantGroupPlugin, plugin)
    had = set(group.details.get("members") or [])
    wanted = set(await participant_emails(ctx, incident_id))
    address = str(group.details.get("email"))
    try:
        if wanted - had:
            await plugin_call(ctx, groups.add(address, sorted(wanted - had)))
        if had - wanted:
            await plugin_call(ctx, groups.remove(address, sorted(had - wanted)))
    except Exception as error:
        # What was recorded still says who is missing: the next change, or the reconcile job once
        # the retry time has come, tries again.
        logger.warning("group sync failed", extra={"incident_id": incident_id, "error": _text(error)})
        retry_at = ctx.clock() + GROUP_SYNC_RETRY
        await save_details(ctx, incident_id, TACTICAL, {RETRY_AT: retry_at.isoformat()})
        return False
    if wanted != had or group.details.get(RETRY_AT):
        await save_details(ctx, incident_id, TACTICAL, {"members": sorted(wanted), RETRY_AT: None})
    return True


async def retry_group_syncs(ctx: BotContext) -> tuple[int, int]:
    """Sync the tactical groups of open incidents whose last sync failed and is due a retry: how many
    are in step now, and how many failed again (put off to a later retry)."""
    now = ctx.clock()
    async with ctx.sessions() as session:
        rows = await session.exec(
            select(Resource.incident_id, Resource.details)
            .join(Incident, col(Incident.id) == col(Resource.incident_id))
            .where(Resource.kind == TACTICAL, Incident.status != "closed")
        )
        due = [incident_id for incident_id, details in rows.all() if _due(details.get(RETRY_AT), now)]
    synced = 0
    for incident_id in due:
        try:
            if await sync_tactical_group(ctx, incident_id):
                synced += 1
        except Exception:  # one incident's trouble (a lock, say) leaves the others to their turn
            logger.exception("group sync retry failed", extra={"incident_id": incident_id})
    return synced, len(due) - synced


def _due(retry_at: Any, now: datetime) -> bool:
    try:
        when = datetime.fromisoformat(str(retry_at)) if retry_at else None
    except ValueError:
        return False
    return when is not None and when.tzinfo is not None and when <= now


# ----- the review document -----


async def make_review_document(ctx: BotContext, incident_id: int) -> None:
    """At Stable: the review document from the type's review template, once per incident (a second
    Stable after a reopen finds it recorded), bookmarked and linked in the channel."""
    setting = await _setting(ctx, incident_id)
    if setting is None or REVIEW in setting.recorded:
        return
    plugin, channel = setting.plugins.get(DOCUMENT), setting.recorded.get("conversation")
    if plugin is None or channel is None:
        return
    try:
        made = await plugin_call(ctx, _copy_template(ctx, incident_id, cast(DocumentPlugin, plugin), REVIEW))
    except Exception as error:
        logger.warning("review document failed", extra={"incident_id": incident_id, "error": _text(error)})
        commander = await _commander(ctx, incident_id)
        if commander:
            await ctx.gateway.direct_message(
                commander, f"Couldn't create the review document of {setting.incident.name}: {_text(error)}."
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
    setting = await _setting(ctx, incident_id)
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
        logger.warning("executive document failed", extra={"incident_id": incident_id, "error": _text(error)})
        return None, f"The executive document could not be made: {_text(error)}."
    if made is None:
        return None, None
    async with ctx.sessions() as session, session.begin():
        await store.record_resource(
            session, incident_id, EXECUTIVE, made.id, weblink=made.weblink, details={"name": made.name}
        )
    return made.weblink, None
