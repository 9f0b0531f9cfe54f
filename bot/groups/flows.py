"""The notifications group of an incident: who is in it, and changing that to a list of addresses.

The group is the plugin's (Google Groups, say); its address is recorded as the incident's
`notifications_group` resource when the opening makes it. Changes are applied as a difference, so
addresses someone added in the group's own tool stay unless they are taken off the list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

from bot.core.errors import plugin_call
from bot.groups.facts import Changed, describe
from bot.incidents.resources import NOTIFICATIONS, save_details
from bot.runtime.bot_context import BotContext
from plugins.interfaces import ParticipantGroupPlugin
from storage import incidents as store
from storage.models import Incident, Project

ROLE = "participant_group"
# Good enough to catch typos (a missing @, a space, a trailing dot); the group service has the last word.
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
)


class NotAvailable(Exception):
    """There is no notifications group to manage; the message says why, for the person who asked."""


@dataclass(frozen=True)
class Group:
    address: str
    members: list[str]


def parse_addresses(text: str) -> tuple[list[str], list[str]]:
    """(addresses, bad ones) from comma-, semicolon- or line-separated text; lower-cased, without repeats."""
    found: dict[str, None] = {}
    bad: list[str] = []
    for part in re.split(r"[,;\s]+", text or ""):
        if not part:
            continue
        if EMAIL.fullmatch(part) and ".." not in part:
            found[part.lower()] = None
        else:
            bad.append(part)
    return list(found), bad


async def plugin_and_address(ctx: BotContext, incident_id: int) -> tuple[ParticipantGroupPlugin, str]:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        project = await session.get(Project, incident.project_id) if incident is not None else None
        group = (await store.resources(session, incident_id)).get(NOTIFICATIONS)
    plugin = ctx.plugins_for(project).get(ROLE) if project is not None and project.plugins else None
    if plugin is None:
        raise NotAvailable(
            "Notifications groups are not configured for this incident's project "
            "(it has no participant_group plugin)."
        )
    if group is None:
        raise NotAvailable("This incident's notifications group is not made yet; try again in a minute.")
    return cast(ParticipantGroupPlugin, plugin), str(group.details.get("email"))


async def notifications_group(ctx: BotContext, incident_id: int) -> Group:
    """The notifications group as the group service has it now."""
    plugin, address = await plugin_and_address(ctx, incident_id)
    return Group(address, sorted(await plugin_call(ctx, plugin.members(address))))


async def set_members(ctx: BotContext, incident_id: int, user_id: str, wanted: list[str]) -> Changed:
    """Make the group's members `wanted`: the missing added, the others removed; one timeline event."""
    plugin, address = await plugin_and_address(ctx, incident_id)
    current = {email.lower() for email in await plugin_call(ctx, plugin.members(address))}
    added = [email for email in wanted if email not in current]
    removed = sorted(current - set(wanted))
    if added:
        await plugin_call(ctx, plugin.add(address, added))
    if removed:
        await plugin_call(ctx, plugin.remove(address, removed))
    await save_details(ctx, incident_id, NOTIFICATIONS, {"members": sorted(wanted)})
    if added or removed:
        async with ctx.sessions() as session, session.begin():
            await store.add_timeline_event(
                session,
                incident_id,
                "notifications_group_updated",
                f"<@{user_id}> changed the notifications group {address}: {describe(added, removed)}",
                actor=user_id,
                occurred_at=ctx.clock(),
                details={"group": address, "added": added, "removed": removed},
            )
    return Changed(address, added, removed)
