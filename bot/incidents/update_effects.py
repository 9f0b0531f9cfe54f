"""What people see after an update or a close, as recorded effects (see bot/runtime/effects.py).

`record` writes them in the update's own transaction, in stages: a reopened channel is unarchived
before the update is posted in it; at a close the update is posted, then the channel archived, then
the commander asked to review and everyone for feedback. Each effect reads the incident as it is
when it runs, does only what an earlier attempt did not, and stands alone: the archive refused
does not cancel the feedback DMs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.costs import flows as costs
from bot.feedback import views as feedback_views
from bot.incidents import (
    channel_views,
    documents,
    engagement,
    participant_groups,
    resources,
    self_service,
    update_views,
)
from bot.incidents.announcements import announce_to_targets
from bot.incidents.card import incident_card, refresh_topic, user_name
from bot.incidents.facts import Change, IncidentCard
from bot.incidents.welcome import welcome_person
from bot.knowledge import suggestions
from bot.mail import content
from bot.oncall import flows as oncall
from bot.reports import reminders as report_reminders
from bot.runtime import effects
from bot.runtime.bot_context import BotContext
from bot.slack.gateway import error_code
from storage import incidents as store
from storage.effects import NewEffect
from storage.models import Effect

logger = logging.getLogger(__name__)

# Changes that can make more people's filters match the incident.
ENGAGING_FIELDS = {"Title", "Description", "Type", "Severity", "Priority", "Visibility", "Tags"}
# Changes that can make more runbooks' filters match, or bring new terms into the description.
SUGGESTING_FIELDS = {*ENGAGING_FIELDS, "Status"}
# The changes a ticket keeps in step with, by the ticket plugin's field name.
TICKET_FIELDS = {"Title": "title", "Status": "status", "Priority": "priority"}


REOPEN_CHANNEL = "update.reopen_channel"
POST = "update.post"
REFRESH = "update.refresh_channel"
ANNOUNCE = "update.announce"
FOLLOWERS = "update.followers"
DOCUMENT = "update.document"
ENGAGE = "update.engage"
TICKET = "update.ticket"
STATUS_REMINDER = "update.status_reminder"
REVIEW_DOCUMENT = "update.review_document"
COSTS = "update.costs"
ARCHIVE = "close.archive"
ASK_REVIEW = "close.ask_review"
FEEDBACK = "close.feedback"
OPEN_FOLDER = "close.open_folder"


def ticket_fields(name: str, changes: Sequence[Change]) -> dict[str, str]:
    fields = {TICKET_FIELDS[c.field]: c.new for c in changes if c.field in TICKET_FIELDS}
    return {**fields, "name": name} if fields else {}


async def record(
    session: Any,
    ctx: BotContext,
    incident_id: int,
    name: str,
    status: str,
    changes: Sequence[Change],
    actor: str,
    tags_found: bool = False,
) -> list[list[str]]:
    """Record the effects of an update that left the incident in `status` (with tags found in its
    text, when `tags_found`); their keys by stage."""
    moved = next((change for change in changes if change.field == "Status"), None)
    closing = moved is not None and moved.new == "Closed"
    reopening = moved is not None and moved.old == "Closed"
    # A correction to a closed incident (from the review DM) finds its channel archived: nothing to post.
    archived = status == "closed" and not closing and ctx.settings.archive_closed_channels
    update, now = uuid.uuid4().hex[:12], ctx.clock()
    payload = {
        "incident_id": incident_id,
        "actor": actor,
        "changes": [[c.field, c.old, c.new, c.direction] for c in changes],
        "closing": closing,
    }

    def new(kind: str, **extra: Any) -> NewEffect:
        return NewEffect(kind, f"{kind}:{incident_id}:{update}", now, {**payload, **extra}, incident_id)

    reopen = [new(REOPEN_CHANNEL)] if reopening else []
    tell = [
        *([] if archived else [new(POST), new(REFRESH)]),
        new(ANNOUNCE),
        new(FOLLOWERS),
        new(DOCUMENT),
        *([new(ENGAGE)] if status == "active" and any(c.field in ENGAGING_FIELDS for c in changes) else []),
        *(
            [suggestions.suggest_effect(incident_id, update, now)]
            if status != "closed" and (tags_found or any(c.field in SUGGESTING_FIELDS for c in changes))
            else []
        ),
        *([new(TICKET, fields=ticket_fields(name, changes))] if ticket_fields(name, changes) else []),
        *([new(STATUS_REMINDER)] if moved and not closing else []),
        *([new(REVIEW_DOCUMENT)] if moved and moved.new == "Stable" else []),
        # A new type may bring another cost model; becoming stable ends role time and adds the review.
        *([new(COSTS)] if any(c.field in {"Type", "Status"} for c in changes) else []),
    ]
    archive = [new(ARCHIVE)] if closing and ctx.settings.archive_closed_channels else []
    after_close = [new(ASK_REVIEW), new(FEEDBACK), new(OPEN_FOLDER)] if closing else []
    stages = [reopen, tell, archive, after_close]
    await effects.record(session, ctx, [row for stage in stages for row in stage])
    return [[row.key for row in stage] for stage in stages if stage]


def _changes(row: Effect) -> list[Change]:
    return [Change(str(f), str(old), str(new), int(d)) for f, old, new, d in row.payload["changes"]]


def _incident_id(row: Effect) -> int:
    return int(row.payload["incident_id"])


async def _message(ctx: BotContext, row: Effect) -> tuple[IncidentCard, str, list[dict[str, Any]]]:
    card = await incident_card(ctx, _incident_id(row))
    text, blocks = update_views.update_notification(card, _changes(row), str(row.payload["actor"]))
    return card, text, blocks


@effects.effect(REOPEN_CHANNEL, "unarchive the channel and invite its responders back")
async def reopen_channel(ctx: BotContext, row: Effect) -> str:
    card = await incident_card(ctx, _incident_id(row))
    if card.status == "closed":
        return "closed again meanwhile"
    if not card.channel_id:
        return "no channel"
    try:
        await ctx.slack.conversations_unarchive(channel=card.channel_id)
    except SlackApiError as error:
        if error_code(error) != "not_archived":
            raise
    # Those whose roles the reopen gave back: not people who had left before it closed.
    await ctx.gateway.invite(
        card.channel_id, [person.user_id for person in card.participants if person.roles]
    )
    return "reopened"


@effects.effect(POST, "post the update in the incident channel")
async def post_update(ctx: BotContext, row: Effect) -> str:
    card, text, blocks = await _message(ctx, row)
    if not card.channel_id:
        return "no channel"
    try:
        ts = await ctx.gateway.post_once(card.channel_id, row.key, text, blocks, row.attempts > 1)
    except SlackApiError as error:
        if error_code(error) == "is_archived":  # closed and archived before this retry came
            return "the channel is archived"
        raise
    row.result["ts"] = ts
    return "posted"


@effects.effect(REFRESH, "refresh the channel's topic and pinned summary")
async def refresh_channel(ctx: BotContext, row: Effect) -> str:
    incident_id = _incident_id(row)
    card = await incident_card(ctx, incident_id)
    if not card.channel_id:
        return "no channel"
    if not row.payload.get("closing"):
        await refresh_topic(ctx, incident_id)
    async with ctx.sessions() as session:
        summary = (await store.resources(session, incident_id)).get("summary_message")
    if summary is not None:
        text, blocks = channel_views.summary_message(card)
        await ctx.gateway.update_message(card.channel_id, summary.external_id, text, blocks)
    return "refreshed"


@effects.effect(ANNOUNCE, "announce the update in the notification channels")
async def announce_update(ctx: BotContext, row: Effect) -> str:
    card, text, blocks = await _message(ctx, row)
    changes = _changes(row)

    def with_buttons(allow_join: bool) -> tuple[str, list[dict[str, Any]]]:
        if card.status == "closed":
            return text, blocks
        return text, [*blocks, channel_views.self_service_buttons(card, allow_join)]

    actor_name = await user_name(ctx, str(row.payload["actor"]))

    def update_email(commander: str, channel: str | None) -> content.Email:
        return content.update(card, changes, actor_name, commander, channel)

    # One e-mail per update and address: the effect's key names the update.
    digest = hashlib.sha256(row.key.encode()).hexdigest()[:12]
    announced = await announce_to_targets(ctx, card.id, card, with_buttons, update_email, f"update:{digest}")
    return f"{len(announced.sent)} reached, {len(announced.failed)} not"


@effects.effect(FOLLOWERS, "tell the incident's followers about the update")
async def tell_followers(ctx: BotContext, row: Effect) -> str:
    card, text, blocks = await _message(ctx, row)
    followers = await self_service.subscribers(ctx, card.id)
    if card.visibility == "restricted":  # a restricted incident tells no one outside the response
        inside = {person.user_id for person in card.participants}
        followers = [user for user in followers if user in inside]

    async def tell(user: str, maybe_sent: bool) -> None:
        await ctx.gateway.direct_message(user, text, blocks, key=f"{row.key}:{user}", maybe_posted=maybe_sent)

    told = await effects.each_once(row, followers, tell)
    return f"{len(told)} told"


@effects.effect(DOCUMENT, "update the incident document")
async def update_document(ctx: BotContext, row: Effect) -> None:
    await documents.update_document(ctx, _incident_id(row))


@effects.effect(REVIEW_DOCUMENT, "create the review document")
async def review_document(ctx: BotContext, row: Effect) -> None:
    await documents.make_review_document(ctx, _incident_id(row))


@effects.effect(ENGAGE, "bring in the people and on-call services the update now matches")
async def engage_newly_matching(ctx: BotContext, row: Effect) -> str:
    """While active, people and on-call services whose filters now match are brought in, as at the start."""
    card = await incident_card(ctx, _incident_id(row))
    if card.status != "active" or not card.channel_id:
        return "not active"
    _services, added = await asyncio.gather(
        oncall.engage_matching_services(ctx, card, card.channel_id),
        engagement.engage_matching_individuals(ctx, card),
    )
    if not added:
        return "nobody new"
    await participant_groups.sync_tactical_group(ctx, card.id)
    refreshed = await incident_card(ctx, card.id)
    newcomers = [person for person in refreshed.participants if person.user_id in added]
    refused = await ctx.gateway.invite(card.channel_id, added)
    present = [person for person in newcomers if person.user_id not in refused]
    if present:
        text, blocks = channel_views.participants_announcement(present)
        await asyncio.gather(
            ctx.gateway.post(card.channel_id, text, blocks),
            *(welcome_person(ctx, refreshed, card.channel_id, p.user_id, p.roles) for p in present),
        )
    return f"{len(present)} brought in"


@effects.effect(TICKET, "update the ticket")
async def update_ticket(ctx: BotContext, row: Effect) -> None:
    await resources.update_ticket(ctx, _incident_id(row), dict(row.payload["fields"]))


@effects.effect(STATUS_REMINDER, "remind the commander of the report a status change calls for")
async def status_reminder(ctx: BotContext, row: Effect) -> str:
    return await report_reminders.remind_after_status_change(ctx, _incident_id(row), row)


@effects.effect(COSTS, "recompute the incident's cost")
async def recompute_cost(ctx: BotContext, row: Effect) -> None:
    await costs.recompute(ctx, [_incident_id(row)])


@effects.effect(ARCHIVE, "archive the channel")
async def archive_channel(ctx: BotContext, row: Effect) -> str:
    """Archiving comes before the close's DMs, so that whatever they lead to (a reopen) comes after it."""
    card = await incident_card(ctx, _incident_id(row))
    if card.status != "closed":
        return "reopened meanwhile"
    if not card.channel_id:
        return "no channel"
    try:
        await ctx.slack.conversations_archive(channel=card.channel_id)
    except SlackApiError as error:
        if error_code(error) != "already_archived":
            raise
    return "archived"


@effects.effect(ASK_REVIEW, "ask the commander to review the closed incident")
async def ask_review(ctx: BotContext, row: Effect) -> str:
    card = await incident_card(ctx, _incident_id(row))
    text, blocks = update_views.closed_review_reminder(card)
    await ctx.gateway.direct_message(
        card.commander_id, text, blocks, key=row.key, maybe_posted=row.attempts > 1
    )
    return "asked"


@effects.effect(FEEDBACK, "ask the participants for feedback")
async def ask_feedback(ctx: BotContext, row: Effect) -> str:
    """Every participant of the incident (roles ended or not), once each."""
    card = await incident_card(ctx, _incident_id(row))
    async with ctx.sessions() as session:
        people = await store.participant_user_ids(session, card.id)
    text, blocks = feedback_views.request_message(card.id, card.name, card.title)

    async def ask(user: str, maybe_sent: bool) -> None:
        await ctx.gateway.direct_message(user, text, blocks, key=f"{row.key}:{user}", maybe_posted=maybe_sent)

    asked = await effects.each_once(row, people, ask)
    return f"{len(asked)} asked"


@effects.effect(OPEN_FOLDER, "open the incident's folder to the organisation")
async def open_folder(ctx: BotContext, row: Effect) -> None:
    await resources.open_folder_to_domain(ctx, await incident_card(ctx, _incident_id(row)))
