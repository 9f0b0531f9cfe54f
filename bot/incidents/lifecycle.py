"""Changing an incident: its fields and its status (Active → Stable → Closed, and reopening).

`apply_update` saves the changes, one timeline event per changed field, and the effects people
must see of them (`update_effects`: the update posted in the channel and to matching notification
channels, the topic and pinned summary refreshed, the archive at a close…) in one transaction.
Closing ends every role; reopening gives back the roles the close ended.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from bot.incidents import report_views, update_effects, update_views
from bot.incidents.card import incident_card
from bot.incidents.context import may_lead
from bot.incidents.facts import Change, Choice, IncidentCard
from bot.knowledge import tags as found_tags
from bot.runtime import effects
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


@dataclass(frozen=True)
class Saved:
    """What an update changed (nothing saved when nothing did), and the keys of the effects it
    recorded, by stage, for `update_effects`' run right after."""

    changes: list[Change]
    effects: list[list[str]] = field(default_factory=list)

    async def run_effects(self, ctx: BotContext) -> None:
        await effects.run_stages(ctx, *self.effects)


async def apply_update(ctx: BotContext, update: Update) -> Saved:
    """Save the update and record what people must see of it (see update_effects)."""
    try:
        return await _apply_update(ctx, update)
    except DBAPIError as error:
        if is_lock_timeout(error):
            raise IncidentBusy(str(error.orig)) from error
        raise


async def _apply_update(ctx: BotContext, update: Update) -> Saved:
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
            return Saved([])
        previous_status = incident.status
        await found_tags.note_hand_changes(session, update.incident_id, incident.tags, update.tags)
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
        found = await found_tags.discover(session, incident, now)
        if update.status == "closed" and previous_status != "closed":
            await _end_all_roles(session, update.incident_id, now)
        elif previous_status == "closed" and update.status != "closed":
            await _restore_roles(session, update.incident_id, incident.closed_at)
            incident.closed_at = None
        stages = await update_effects.record(
            session,
            ctx,
            update.incident_id,
            incident.name,
            incident.status,
            changes,
            update.user_id,
            tags_found=bool(found),
        )
    return Saved(changes, stages)


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
    saved = await apply_update(ctx, replace(unchanged, status="active", shown=shown_digest(unchanged)))
    await saved.run_effects(ctx)
    return saved.changes


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
