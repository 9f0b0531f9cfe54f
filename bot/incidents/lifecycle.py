"""Changing an incident: its fields and its status (Active → Stable → Closed, and reopening).

`apply_update` saves the changes and one timeline event per changed field in one transaction;
`after_update` then does what people see: the update posted in the channel and to matching
notification channels, the topic and pinned summary refreshed, and the status effects (closing
ends every role and archives the channel; reopening unarchives it and gives people their roles back).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from bot.costs import flows as costs
from bot.feedback import flows as feedback
from bot.incidents import (
    announcements,
    channel_views,
    documents,
    engagement,
    participant_groups,
    report_views,
    resources,
    self_service,
    update_views,
)
from bot.incidents.card import incident_card, refresh_topic, user_name
from bot.incidents.context import may_lead
from bot.incidents.facts import Choice, IncidentCard
from bot.incidents.welcome import welcome_person
from bot.mail import content
from bot.oncall import flows as oncall
from bot.reports import reminders as report_reminders
from bot.runtime.bot_context import BotContext
from storage import costs as cost_store
from storage import incidents as store
from storage.db import is_lock_timeout
from storage.models import (
    Incident,
    IncidentPriority,
    IncidentSeverity,
    IncidentType,
    Participant,
    ParticipantRole,
    Project,
)
from storage.workspace import project_choices

logger = logging.getLogger(__name__)

STATUSES = ("active", "stable", "closed")
# Changes that can make more people's filters match the incident.
ENGAGING_FIELDS = {"Title", "Description", "Type", "Severity", "Priority", "Visibility", "Tags"}


@dataclass(frozen=True)
class Update:
    incident_id: int
    user_id: str
    title: str
    description: str
    resolution: str
    status: str
    type_id: int | None
    severity_id: int | None
    priority_id: int | None
    visibility: str
    tags: tuple[str, ...] = ()
    # A digest of each field as the form showed it: fields left as shown keep whatever the
    # incident holds when the update is saved, so two people editing different fields both win.
    shown: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def of(cls, incident: Incident, user_id: str) -> Update:
        """The incident as it stands, as an update by `user_id`."""
        return cls(
            incident_id=incident.id or 0,
            user_id=user_id,
            title=incident.title,
            description=incident.description,
            resolution=incident.resolution,
            status=incident.status,
            type_id=incident.incident_type_id,
            severity_id=incident.incident_severity_id,
            priority_id=incident.incident_priority_id,
            visibility=incident.visibility,
            tags=tuple(incident.tags),
        )


EDITABLE = tuple(f.name for f in fields(Update) if f.name not in {"incident_id", "user_id", "shown"})


def _normalised(update: Update, name: str) -> str:
    value = getattr(update, name)
    if name == "tags":
        return ",".join(sorted(value))
    return "" if value is None else str(value).strip()


def shown_digest(update: Update) -> dict[str, str]:
    """What a form shows, as short digests small enough for a modal's private_metadata."""
    return {name: hashlib.sha256(_normalised(update, name).encode()).hexdigest()[:10] for name in EDITABLE}


def _rebase(update: Update, incident: Incident) -> Update:
    """Keep only the fields this person changed on the form; the rest take the incident's current values."""
    if not update.shown:
        return update
    submitted = shown_digest(update)
    current = Update.of(incident, update.user_id)
    kept = {name: getattr(current, name) for name in EDITABLE if submitted[name] == update.shown.get(name)}
    return replace(update, **kept)


@dataclass(frozen=True)
class Change:
    """One changed field, by its display name; `direction` is +1/-1 for a priority or severity moving."""

    field: str
    old: str
    new: str
    direction: int = 0


@dataclass(frozen=True)
class UpdateForm:
    incident: IncidentCard
    resolution: str
    type_id: int | None
    severity_id: int | None
    priority_id: int | None
    types: list[Choice]
    severities: list[Choice]
    priorities: list[Choice]
    tags: list[tuple[str, str]]
    shown: dict[str, str]
    # What the incident has cost so far, all cost types together.
    cost_cents: int = 0


async def update_form(ctx: BotContext, incident_id: int) -> UpdateForm:
    card = await incident_card(ctx, incident_id)
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        project = await session.get(Project, incident.project_id)
        assert project is not None
        choices = await project_choices(session, project)
        cost = (await cost_store.totals_cents(session, [incident_id])).get(incident_id, 0)
    return UpdateForm(
        incident=card,
        resolution=incident.resolution,
        type_id=incident.incident_type_id,
        severity_id=incident.incident_severity_id,
        priority_id=incident.incident_priority_id,
        types=[Choice(t.id, t.name, t.description) for t in choices.types if t.id is not None],
        severities=[Choice(s.id, s.name, s.description) for s in choices.severities if s.id is not None],
        priorities=[Choice(p.id, p.name, p.description) for p in choices.priorities if p.id is not None],
        tags=choices.tags,
        shown=shown_digest(Update.of(incident, "")),
        cost_cents=cost,
    )


async def check_update(ctx: BotContext, update: Update) -> dict[str, str]:
    """Problems by modal block id; empty when the update can be saved."""
    async with ctx.sessions() as session:
        severity = await session.get(IncidentSeverity, update.severity_id) if update.severity_id else None
        incident_type = await session.get(IncidentType, update.type_id) if update.type_id else None
    return problems(update, severity, incident_type)


def problems(
    update: Update, severity: IncidentSeverity | None, incident_type: IncidentType | None
) -> dict[str, str]:
    """What stops the update as it would be saved, by modal block id (`severity` and `incident_type`
    are the ones it chooses)."""
    errors: dict[str, str] = {}
    if not update.title.strip():
        errors[report_views.TITLE] = "The incident needs a title."
    if update.status not in STATUSES:
        errors[update_views.STATUS] = "Choose Active, Stable or Closed."
    if (
        update.status == "closed"
        and incident_type is not None
        and incident_type.resolution_required
        and not update.resolution.strip()
    ):
        errors[update_views.RESOLUTION] = (
            f"{incident_type.name} incidents need a resolution before they close: say what fixed it."
        )
    if (
        severity is not None
        and update.status in {"stable", "closed"}
        and not severity.allowed_for_stable_incidents
    ):
        errors[report_views.SEVERITY] = (
            f"Severity {severity.name} is for incidents still being assessed; "
            f"choose the real severity before marking it {update.status}."
        )
    return errors


class UpdateRefused(Exception):
    """Someone changed the incident between the form's check and its saving, and the update, merged
    with their change, breaks a rule; `problems` are by modal block id."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def _direction(
    old: IncidentPriority | IncidentSeverity | None, new: IncidentPriority | IncidentSeverity | None
) -> int:
    if old is None or new is None or old.view_order == new.view_order:
        return 0
    return 1 if new.view_order > old.view_order else -1


class IncidentBusy(Exception):
    """Another change held the incident for longer than the database lock timeout; nothing was saved."""


async def apply_update(ctx: BotContext, update: Update) -> list[Change]:
    """Save the update; returns what changed (nothing saved, and [] returned, when nothing did)."""
    try:
        return await _apply_update(ctx, update)
    except DBAPIError as error:
        if is_lock_timeout(error):
            raise IncidentBusy(str(error.orig)) from error
        raise


async def _apply_update(ctx: BotContext, update: Update) -> list[Change]:
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        incident = await store.lock_incident(session, update.incident_id)
        assert incident is not None
        update = _rebase(update, incident)
        old_type = await _get(session, IncidentType, incident.incident_type_id)
        new_type = await _get(session, IncidentType, update.type_id)
        old_severity = await _get(session, IncidentSeverity, incident.incident_severity_id)
        new_severity = await _get(session, IncidentSeverity, update.severity_id)
        old_priority = await _get(session, IncidentPriority, incident.incident_priority_id)
        new_priority = await _get(session, IncidentPriority, update.priority_id)
        # The form was checked before the merge with changes saved meanwhile: check what will be saved.
        refused = problems(update, new_severity, new_type)
        if refused:
            raise UpdateRefused(refused)
        changes: list[Change] = []

        def compare(field: str, old: str, new: str, direction: int = 0) -> None:
            if old != new:
                changes.append(Change(field, old, new, direction))

        compare("Title", incident.title, update.title.strip())
        compare("Description", incident.description, update.description.strip())
        compare("Resolution", incident.resolution, update.resolution.strip())
        compare("Status", incident.status.capitalize(), update.status.capitalize())
        compare("Type", _name(old_type), _name(new_type))
        compare("Severity", _name(old_severity), _name(new_severity), _direction(old_severity, new_severity))
        compare("Priority", _name(old_priority), _name(new_priority), _direction(old_priority, new_priority))
        compare("Visibility", incident.visibility.capitalize(), update.visibility.capitalize())
        compare("Tags", ", ".join(sorted(incident.tags)) or "none", ", ".join(sorted(update.tags)) or "none")
        if not changes:
            return []
        previous_status = incident.status
        incident.title = update.title.strip()
        incident.description = update.description.strip()
        incident.resolution = update.resolution.strip()
        incident.incident_type_id = update.type_id
        incident.incident_severity_id = update.severity_id
        incident.incident_priority_id = update.priority_id
        incident.visibility = update.visibility
        incident.tags = sorted(update.tags)
        incident.status = update.status
        if update.status != previous_status:
            if update.status == "stable" and incident.stable_at is None:
                incident.stable_at = now
            if update.status == "closed":
                incident.stable_at = incident.stable_at or now
                incident.closed_at = now
        session.add(incident)
        for change in changes:
            await store.add_timeline_event(
                session,
                update.incident_id,
                "status_changed" if change.field == "Status" else "field_updated",
                f"<@{update.user_id}> changed the {change.field.lower()}"
                + (
                    ""
                    if change.field in {"Description", "Resolution"}
                    else f" from {change.old} to {change.new}"
                ),
                actor=update.user_id,
                occurred_at=now,
                key_event=change.field == "Status",
                details={"field": change.field, "old": change.old, "new": change.new},
            )
        if update.status == "closed" and previous_status != "closed":
            await _end_all_roles(session, update.incident_id, now)
        elif previous_status == "closed" and update.status != "closed":
            await _restore_roles(session, update.incident_id, incident.closed_at)
            incident.closed_at = None
    return changes


async def reopen(ctx: BotContext, incident_id: int, user_id: str) -> list[Change] | None:
    """Make a closed incident active again, if `user_id` led it; None when they may not, [] if not closed."""
    if not await may_lead(ctx, incident_id, user_id):
        return None
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
    assert incident is not None
    if incident.status != "closed":
        return []
    # Only the status is shown as changed, so the fields keep what the incident holds when it is saved.
    unchanged = Update.of(incident, user_id)
    changes = await apply_update(ctx, replace(unchanged, status="active", shown=shown_digest(unchanged)))
    await after_update(ctx, incident_id, changes, user_id)
    return changes


async def _get(session: Any, model: Any, row_id: int | None) -> Any:
    return await session.get(model, row_id) if row_id is not None else None


def _name(row: Any) -> str:
    return str(row.name) if row is not None else "Unspecified"


async def _end_all_roles(session: Any, incident_id: int, now: Any) -> None:
    open_roles = await session.exec(
        select(ParticipantRole)
        .join(Participant, col(Participant.id) == col(ParticipantRole.participant_id))
        .where(Participant.incident_id == incident_id, col(ParticipantRole.renounced_at).is_(None))
    )
    for role in open_roles:
        role.renounced_at = now
        session.add(role)


async def _restore_roles(session: Any, incident_id: int, closed_at: Any) -> None:
    """Give back the roles that closing ended (those renounced at the closing time)."""
    if closed_at is None:
        return
    ended = await session.exec(
        select(ParticipantRole, Participant)
        .join(Participant, col(Participant.id) == col(ParticipantRole.participant_id))
        .where(Participant.incident_id == incident_id, ParticipantRole.renounced_at == closed_at)
    )
    for role, participant in ended:
        await store.add_participant(session, incident_id, participant.user_id, [role.role])


async def after_update(ctx: BotContext, incident_id: int, changes: list[Change], actor: str) -> None:
    """What people see after an update: messages, topic, summary, and the status effects."""
    if not changes:
        return
    card = await incident_card(ctx, incident_id)
    status = next((change for change in changes if change.field == "Status"), None)
    closing = status is not None and status.new == "Closed"
    reopening = status is not None and status.old == "Closed"
    if reopening and card.channel_id:
        await _unarchive(ctx, card.channel_id)
        # Those whose roles the reopen gave back: not people who had left before it closed.
        await ctx.gateway.invite(
            card.channel_id, [person.user_id for person in card.participants if person.roles]
        )
    text, blocks = update_views.update_notification(card, changes, actor)
    # A correction to a closed incident (from the review DM) finds its channel archived: nothing to post.
    archived = card.status == "closed" and not closing and ctx.settings.archive_closed_channels
    if card.channel_id and not archived:
        await ctx.gateway.post(card.channel_id, text, blocks)
    engaging = (
        bool(card.channel_id)
        and card.status == "active"
        and any(change.field in ENGAGING_FIELDS for change in changes)
    )
    followers = await self_service.subscribers(ctx, incident_id)
    if card.visibility == "restricted":  # a restricted incident tells no one outside the response
        inside = {person.user_id for person in card.participants}
        followers = [user for user in followers if user in inside]
    # Independent effects: one failing (Slack refusing a message, say) must not stop the others.
    outcomes = await asyncio.gather(
        _notify_targets(ctx, card, text, blocks, changes, actor),
        *([] if archived else [_refresh_channel(ctx, incident_id, card, closing)]),
        *([_engage_newly_matching(ctx, card)] if engaging and not archived else []),
        *(ctx.gateway.direct_message(user, text, blocks) for user in followers),
        resources.update_ticket(ctx, incident_id, ticket_fields(card, changes)),
        # Into Active or Stable (a reopen included): the commander is asked where things stand now.
        *([report_reminders.remind_after_status_change(ctx, incident_id)] if status and not closing else []),
        documents.update_document(ctx, incident_id),
        *([documents.make_review_document(ctx, incident_id)] if status and status.new == "Stable" else []),
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            logger.warning("an update effect failed for incident %s", incident_id, exc_info=outcome)
    # A new type may bring another cost model; becoming stable ends role time and adds the review.
    if any(change.field in {"Type", "Status"} for change in changes):
        try:
            await costs.recompute(ctx, [incident_id])
        except Exception:
            logger.warning("recomputing the cost failed for incident %s", incident_id, exc_info=True)
    if closing:
        await _close_effects(ctx, card)


# The changes a ticket keeps in step with, by the ticket plugin's field name.
TICKET_FIELDS = {"Title": "title", "Status": "status", "Priority": "priority"}


def ticket_fields(card: IncidentCard, changes: list[Change]) -> dict[str, str]:
    fields = {TICKET_FIELDS[c.field]: c.new for c in changes if c.field in TICKET_FIELDS}
    return {**fields, "name": card.name} if fields else {}


async def _engage_newly_matching(ctx: BotContext, card: IncidentCard) -> None:
    """While active, people and on-call services whose filters now match are brought in, as at the start."""
    assert card.channel_id
    _services, added = await asyncio.gather(
        oncall.engage_matching_services(ctx, card, card.channel_id),
        engagement.engage_matching_individuals(ctx, card),
    )
    if not added or not card.channel_id:
        return
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


async def _refresh_channel(ctx: BotContext, incident_id: int, card: IncidentCard, closing: bool) -> None:
    if not card.channel_id:
        return
    if not closing:
        await refresh_topic(ctx, incident_id)
    async with ctx.sessions() as session:
        summary = (await store.resources(session, incident_id)).get("summary_message")
    if summary is not None:
        text, blocks = channel_views.summary_message(card)
        await ctx.gateway.update_message(card.channel_id, summary.external_id, text, blocks)


async def _notify_targets(
    ctx: BotContext,
    card: IncidentCard,
    text: str,
    blocks: list[dict[str, Any]],
    changes: list[Change],
    actor: str,
) -> None:
    def with_buttons(allow_join: bool) -> tuple[str, list[dict[str, Any]]]:
        if card.status == "closed":
            return text, blocks
        return text, [*blocks, channel_views.self_service_buttons(card, allow_join)]

    actor_name = await user_name(ctx, actor)

    def update_email(commander: str, channel: str | None) -> content.Email:
        return content.update(card, changes, actor_name, commander, channel)

    # One e-mail per update and address: the update is named by what changed and when.
    digest = hashlib.sha256(repr([(c.field, c.old, c.new) for c in changes]).encode()).hexdigest()[:12]
    key = f"update:{ctx.clock():%Y%m%d%H%M%S}:{digest}"
    await announcements.announce_to_targets(ctx, card.id, card, with_buttons, update_email, key)


async def _close_effects(ctx: BotContext, card: IncidentCard) -> None:
    """Closing: the channel is archived, then the IC is asked to review the facts and everyone for
    feedback, and the incident's folder is opened to the organisation.

    Archiving comes first so that whatever the DMs lead to (a reopen, say) happens after it.
    """
    if card.channel_id and ctx.settings.archive_closed_channels:
        try:
            await ctx.slack.conversations_archive(channel=card.channel_id)
        except SlackApiError as error:
            if error.response.get("error") != "already_archived":
                raise
    text, blocks = update_views.closed_review_reminder(card)
    await asyncio.gather(
        ctx.gateway.direct_message(card.commander_id, text, blocks),
        feedback.request_feedback(ctx, card.id, card.name, card.title),
        resources.open_folder_to_domain(ctx, card),
    )


async def _unarchive(ctx: BotContext, channel_id: str) -> None:
    try:
        await ctx.slack.conversations_unarchive(channel=channel_id)
    except SlackApiError as error:
        if error.response.get("error") != "not_archived":
            raise
