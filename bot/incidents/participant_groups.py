"""The incident's groups (participant_group plugin): the tactical group of everyone taking part and
the notifications group, made at opening once the folder exists (they are given it), and the
tactical group kept in step with who holds a role.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlmodel import col, select

from bot.core.errors import plugin_call
from bot.incidents.card import email_of
from bot.incidents.resources import NOTIFICATIONS, TACTICAL, plugin_failure_text, save_details, setting_of
from bot.runtime.bot_context import BotContext
from plugins.interfaces import ExternalResource, ParticipantGroupPlugin, StoragePlugin
from storage import incidents as store
from storage.models import Incident, Resource

if TYPE_CHECKING:
    from bot.incidents.opening import Opening

logger = logging.getLogger(__name__)

# A failed tactical group sync is tried again by the reconcile job after this long (its details
# hold when, under RETRY_AT).
GROUP_SYNC_RETRY = timedelta(minutes=5)
RETRY_AT = "sync_retry_at"


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
    setting = await setting_of(ctx, incident_id)
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
        logger.warning(
            "group sync failed", extra={"incident_id": incident_id, "error": plugin_failure_text(error)}
        )
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
