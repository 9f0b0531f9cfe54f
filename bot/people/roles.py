"""Giving someone a role: who may, the checks at submit, the change saved then told in Slack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents import channel_views, documents, participant_groups, resources
from bot.incidents.card import email_of, incident_card, refresh_topic
from bot.incidents.context import incident_context
from bot.incidents.welcome import welcome_person
from bot.people import queries as q
from bot.people import views
from bot.people.flows import (
    ASSIGNABLE_ROLES,
    COMMANDER,
    OBSERVER,
    PARTICIPANT,
    PASSIVE_ROLES,
    PERSON,
    PROFILE_CHECK_TIMEOUT,
    PROFILE_FRESH_FOR,
    ROLE,
    command_name,
    ensure_participant,
    in_transaction,
    profile_of,
)
from bot.people.profiles import Profile, Profiles
from bot.runtime.bot_context import BotContext
from storage import incidents as store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assignment:
    incident_id: int
    channel_id: str
    user_id: str
    role: str
    assigned_by: str


@dataclass
class AssignOutcome:
    assignment: Assignment
    changed: bool
    previous: list[str] = field(default_factory=list)
    newly_added: bool = False
    problems: list[str] = field(default_factory=list)
    """What could not be done in Slack (the roles are saved regardless), in words for the assigner."""


async def may_assign(ctx: BotContext, channel_id: str, incident_id: int, user_id: str) -> bool:
    """Whether `user_id` still leads the incident of `channel_id` (re-checked on every submission)."""
    found = await incident_context(ctx, channel_id, user_id)
    return found is not None and found.incident_id == incident_id and found.leads


async def check_assignment(ctx: BotContext, profiles: Profiles, assignment: Assignment) -> dict[str, str]:
    """What is wrong with the assignment, by field; empty when it can go ahead."""
    if assignment.role not in ASSIGNABLE_ROLES:
        return {ROLE: "Choose one of the listed roles."}
    try:
        profile = await asyncio.wait_for(
            profiles.get(assignment.user_id, max_age=PROFILE_FRESH_FOR), timeout=PROFILE_CHECK_TIMEOUT
        )
    except (TimeoutError, SlackApiError):
        profile = Profile(user_id=assignment.user_id)  # unchecked; the invitation will tell
    if not profile.known:
        return {
            PERSON: "Slack does not know this person (the account may have been removed). Pick someone else."
        }
    if profile.deleted:
        return {PERSON: f"{profile.display}'s Slack account is deactivated. Pick someone else."}
    if profile.is_bot:
        return {PERSON: f"{profile.display} is a bot; roles are for people."}
    async with ctx.sessions() as session:
        held = await store.roles_of_user(session, assignment.incident_id, assignment.user_id)
    if assignment.role in held:
        article = "the " if assignment.role not in (PARTICIPANT, OBSERVER) else "a "
        return {PERSON: f"{profile.display} is already {article}{assignment.role}. Pick someone else."}
    if assignment.role == OBSERVER and COMMANDER in held:
        return {PERSON: f"{profile.display} is the incident commander. Give that role to someone else first."}
    return {}


async def assign_role(ctx: BotContext, profiles: Profiles, assignment: Assignment) -> AssignOutcome:
    """Give the role (ending it for its previous holder when only one may hold it), then tell Slack."""
    profile = await profile_of(profiles, assignment.user_id)
    now = ctx.clock()
    role = assignment.role

    async def save(session: AsyncSession) -> AssignOutcome:
        # Other assignments (and updates, reopens) of this incident wait until this one is saved,
        # so a second assignment of a single-holder role sees, and takes over from, the first.
        await store.lock_incident(session, assignment.incident_id)
        participant, created = await ensure_participant(
            session,
            assignment.incident_id,
            profile,
            added_by=assignment.assigned_by,
            reason=f"Assigned the {role} role",
            now=now,
        )
        assert participant.id is not None
        if role in await store.active_roles_of(session, participant.id):
            return AssignOutcome(assignment, changed=False)
        previous: list[str] = []
        if role in await q.single_holder_roles(session):
            for holder in await q.holders(session, assignment.incident_id, role):
                if holder.id is None or holder.id == participant.id:
                    continue
                await q.renounce_roles(session, holder.id, [role], now)
                if not set(await store.active_roles_of(session, holder.id)) - PASSIVE_ROLES:
                    await q.renounce_roles(session, holder.id, [OBSERVER], now)
                    await q.assume_role(session, holder.id, PARTICIPANT, now)
                previous.append(holder.user_id)
        # The new role replaces the generic ones: Participant and Observer exclude each other too.
        replaced = (
            [PARTICIPANT]
            if role == OBSERVER
            else [OBSERVER]
            if role == PARTICIPANT
            else [
                PARTICIPANT,
                OBSERVER,
            ]
        )
        await q.renounce_roles(session, participant.id, replaced, now)
        await q.assume_role(session, participant.id, role, now)
        takeover = f", taking over from {', '.join(f'<@{user}>' for user in previous)}" if previous else ""
        await store.add_timeline_event(
            session,
            assignment.incident_id,
            "role_assigned",
            f"<@{assignment.assigned_by}> assigned <@{assignment.user_id}> the role {role}{takeover}",
            actor=assignment.assigned_by,
            occurred_at=now,
            key_event=role == COMMANDER,
            details={"role": role, "user": assignment.user_id, "previous": previous},
        )
        return AssignOutcome(assignment, changed=True, previous=previous, newly_added=created)

    outcome = await in_transaction(ctx, save)
    if outcome.changed:
        await _announce_assignment(ctx, outcome)
        await participant_groups.sync_tactical_group(ctx, assignment.incident_id)
    return outcome


async def _announce_assignment(ctx: BotContext, outcome: AssignOutcome) -> None:
    """Slack's side of an assignment; each part is tried even when another fails."""
    assignment = outcome.assignment
    channel, user = assignment.channel_id, assignment.user_id

    async def attempt(what: str, step: Awaitable[object]) -> None:
        try:
            await step
        except SlackApiError as error:
            code = error.response.get("error", "an error")
            logger.warning("assign role: could not %s: %s", what, code)
            outcome.problems.append(f"Could not {what} (Slack answered {code}).")

    refused = []
    try:
        refused = await ctx.gateway.invite(channel, [user])
    except SlackApiError as error:
        refused = [user]
        logger.warning("assign role: invite failed: %s", error.response.get("error"))
    if refused:
        outcome.problems.append(f"Could not invite <@{user}> to the channel; add them by hand.")
    text, blocks = views.role_announcement(assignment.role, user, assignment.assigned_by, outcome.previous)
    await attempt("announce the new role in the channel", ctx.gateway.post(channel, text, blocks))
    card = await incident_card(ctx, assignment.incident_id)
    if outcome.newly_added and not refused:
        await attempt(
            "welcome them in the channel",
            welcome_person(ctx, card, channel, user, [assignment.role]),
        )
    if assignment.role == COMMANDER:
        await attempt("refresh the channel topic", refresh_topic(ctx, assignment.incident_id))
        await attempt(
            "update the ticket",
            resources.update_ticket(ctx, assignment.incident_id, {"commander": await email_of(ctx, user)}),
        )
        update = command_name(ctx, "update_incident", "/dispatch-update-incident")
        tips_text, tips_blocks = channel_views.commander_tips(card, update)
        await attempt("send the commander tips", ctx.gateway.direct_message(user, tips_text, tips_blocks))
        await documents.update_document(ctx, assignment.incident_id)
