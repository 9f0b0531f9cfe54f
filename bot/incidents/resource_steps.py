"""The opening's resource steps: one per plugin role the project chose (ticket, folder, conference,
document, groups), each making the resource, recording and bookmarking it, and saying once in the
channel when it fails (and once when a retry then succeeds).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, cast

from slack_sdk.errors import SlackApiError
from sqlmodel import col, update

from bot.core.errors import failure_text
from bot.incidents import documents, participant_groups, resources
from bot.incidents.card import email_of
from bot.incidents.opening import OPEN_FLOW, Opening, StepRunner, retry_backoff, step_row
from plugins.errors import PluginError
from plugins.interfaces import ConferencePlugin, ExternalResource, StoragePlugin, TicketPlugin
from storage.models import FlowStep

# An opening step that needs others' resources runs once those steps have finished (done or failed):
# the document and the groups live in (or are given) the folder.
WAITS_FOR = {"document": ("storage",), "participant_group": ("storage",)}


def _duration(delay: timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def resource_step(role: str) -> StepRunner:
    """The opening step making the `role` plugin's resource: recorded, bookmarked, and said once when
    it fails (and once when a retry then succeeds)."""

    async def run(opening: Opening) -> dict[str, Any]:
        return await _make_resource(opening, role)

    return run


async def _make_resource(opening: Opening, role: str) -> dict[str, Any]:
    ctx, channel = opening.ctx, opening.channel_id
    earlier = await step_row(ctx, opening.incident_id, role)
    told = bool(earlier is not None and (earlier.result or {}).get("failure_told"))
    what = resources.resource_phrase(opening.plugins, role)
    timeout = ctx.settings.plugin_timeout_seconds
    try:
        plugin = opening.plugins.get(role) if opening.plugins is not None else None
        if plugin is None:
            problem = opening.plugins.problems.get(role) if opening.plugins is not None else None
            raise PluginError(problem or f"no {role} plugin is configured")
        try:
            resource = await asyncio.wait_for(RESOURCE_MAKERS[role](opening, plugin), timeout)
        except TimeoutError:
            raise PluginError(f"no answer within {timeout:g} seconds") from None
    except Exception as error:
        if not told:
            delay = _duration(retry_backoff(earlier.attempts if earlier is not None else 0))
            with contextlib.suppress(SlackApiError):
                await ctx.gateway.post(
                    channel, f"Couldn't create {what}: {failure_text(error)} — will retry in {delay}."
                )
            async with ctx.sessions() as session, session.begin():
                await (await session.connection()).execute(
                    update(FlowStep)
                    .where(col(FlowStep.incident_id) == opening.incident_id, col(FlowStep.flow) == OPEN_FLOW)
                    .where(col(FlowStep.step) == role)
                    .values(result={"failure_told": True})
                )
        raise
    if resource is None:
        return {"made": None}
    await _record_and_bookmark(opening, resources.RECORDED_AS.get(role, role), resource, what)
    if role in documents.SHOWN_IN_DOCUMENT:  # its link goes into the document, whichever came first
        await documents.update_document(ctx, opening.incident_id)
    if told:
        shown = f"<{resource.weblink}|{resource.name or resource.id}>" if resource.weblink else resource.id
        await ctx.gateway.post(channel, f"{what[0].upper()}{what[1:]} is ready now: {shown}.")
    return {"id": resource.id, "weblink": resource.weblink}


async def _record_and_bookmark(opening: Opening, kind: str, resource: ExternalResource, what: str) -> None:
    """Record the resource, then bookmark it once: a retry finds the bookmark it (or Slack) has."""
    await resources.record_and_bookmark(opening.ctx, opening.incident_id, opening.channel_id, kind, resource)


async def make_ticket(opening: Opening, plugin: object) -> ExternalResource:
    ticket = cast(TicketPlugin, plugin)
    card = opening.card
    commander, reporter = await asyncio.gather(
        email_of(opening.ctx, card.commander_id), email_of(opening.ctx, card.reporter_id)
    )
    return await ticket.create(card.name, card.title, card.type, card.priority, commander, reporter)


async def _people_emails(opening: Opening) -> list[str]:
    card = opening.card
    found = await asyncio.gather(
        *(email_of(opening.ctx, user) for user in {card.commander_id, card.reporter_id})
    )
    return sorted(email for email in found if email)


async def make_folder(opening: Opening, plugin: object) -> ExternalResource:
    """The incident's storage folder, shared with its commander and reporter."""
    storage = cast(StoragePlugin, plugin)
    card = opening.card
    # A folder made after the groups (a retry, say) is shared with them at once.
    groups = await participant_groups.group_emails(opening.ctx, opening.incident_id)
    name = f"{card.name} {card.title}"[:100]
    return await storage.create_folder(name, await _people_emails(opening), groups)


async def make_conference(opening: Opening, plugin: object) -> ExternalResource:
    """A conference (a video call) for the incident, its commander and reporter invited."""
    conference = cast(ConferencePlugin, plugin)
    card = opening.card
    return await conference.create(card.name, card.title, await _people_emails(opening))


# The plugin roles whose resource the opening makes, in order; one line here adds a role's step
# (its maker gets the opening and the plugin, and returns what the plugin made).
# A maker returning None has nothing to make (no template configured, say): the step is done.
RESOURCE_MAKERS: dict[str, Callable[[Opening, object], Awaitable[ExternalResource | None]]] = {
    "ticket": make_ticket,
    "storage": make_folder,
    "conference": make_conference,
    "document": documents.make_document,
    "participant_group": participant_groups.make_groups,
}


def resource_roles(choices: dict[str, Any] | None) -> list[str]:
    """The resource roles the project's plugin choices ask for, in step order."""
    return [role for role in RESOURCE_MAKERS if role in (choices or {})]
