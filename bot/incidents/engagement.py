"""Who is brought in without being asked: the commander from role policies, people whose filters match.

Individuals are configured by e-mail; Slack resolves each to a user. A policy naming an on-call
service asks the project's on-call plugin who is on call; without a plugin, or when it cannot answer
in time, the next policy (and in the end the reporter) is used.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from sqlmodel import col, select

from bot.config.filters import IncidentFacts, describe, from_column, matches_stored
from bot.incidents.facts import IncidentCard
from bot.runtime.bot_context import BotContext
from plugins.errors import PluginError
from storage import incidents as store
from storage.models import Incident, IndividualContact, Project, RolePolicy, Service

logger = logging.getLogger(__name__)

OBSERVER = "Observer"
# The channel waits for the on-call commander lookup; a slow on-call system must not hold it up.
ONCALL_TIMEOUT = 5.0


async def user_for_email(ctx: BotContext, email: str) -> str | None:
    try:
        response = await ctx.slack.users_lookupByEmail(email=email)
    except SlackApiError as error:
        logger.warning("no Slack user for %s: %s", email, error.response.get("error"))
        return None
    user = response.get("user") or {}
    return None if user.get("deleted") else str(user.get("id") or "") or None


@dataclass(frozen=True)
class PolicyHolder:
    """Who a role policy gives the role to, why, and the on-call service they came from (if any)."""

    user: str
    reason: str
    service: Service | None = None


async def policy_holder(
    ctx: BotContext, project_id: int, role: str, type_name: str | None, priority_name: str | None
) -> PolicyHolder | None:
    """The Slack user the first matching role policy that resolves gives `role` to, for this type
    and priority: a named person, or the current on-call of a named service."""
    async with ctx.sessions() as session:
        policies = await session.exec(
            select(RolePolicy)
            .where(RolePolicy.project_id == project_id, RolePolicy.role == role, col(RolePolicy.enabled))
            .order_by(col(RolePolicy.id))
        )
        chosen = [
            policy
            for policy in policies
            if (not policy.incident_types or type_name in policy.incident_types)
            and (not policy.incident_priorities or priority_name in policy.incident_priorities)
        ]
        project = await session.get(Project, project_id)
        service_ids = [p.service_id for p in chosen if p.service_id is not None]
        services = {
            s.id: s
            for s in await session.exec(select(Service).where(col(Service.id).in_(service_ids)))
            if s.enabled
        }
    for policy in chosen:
        if policy.individual_email:
            user = await user_for_email(ctx, policy.individual_email)
            if user:
                return PolicyHolder(user, "Commander by role policy")
            continue
        service = services.get(policy.service_id)
        if service is None or project is None:
            continue
        user = await _on_call_user(ctx, project, service, policy.name)
        if user:
            return PolicyHolder(user, f"On call for {service.name} (role policy {policy.name})", service)
    return None


async def _on_call_user(ctx: BotContext, project: Project, service: Service, policy: str) -> str | None:
    plugin = ctx.plugins_for(project).oncall
    if plugin is None:
        logger.info("role policy %r names an on-call service; no on-call plugin resolves it", policy)
        return None
    try:
        person = await asyncio.wait_for(plugin.oncall(service.external_id), ONCALL_TIMEOUT)
    except (PluginError, TimeoutError) as error:
        logger.warning("role policy %r: no on-call for %s: %s", policy, service.name, error or "timed out")
        return None
    if person is None:
        logger.info("role policy %r: nobody is on call for %s", policy, service.name)
        return None
    return await user_for_email(ctx, person.email)


def facts_of(card: IncidentCard, tags: list[str]) -> IncidentFacts:
    """What filters see of an incident (notification channels, people, runbooks)."""
    return IncidentFacts(
        project=card.project,
        type=card.type,
        priority=card.priority,
        severity=card.severity,
        status=card.status,
        visibility=card.visibility,
        tags=frozenset(tags),
        title=card.title,
        description=card.description,
    )


async def engage_matching_individuals(ctx: BotContext, card: IncidentCard) -> list[str]:
    """Add the configured individuals whose filters match as Observers; returns those newly added."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, card.id)
        assert incident is not None
        contacts = list(
            await session.exec(
                select(IndividualContact).where(
                    IndividualContact.project_id == incident.project_id, col(IndividualContact.enabled)
                )
            )
        )
        tags = list(incident.tags)
    facts = facts_of(card, tags)
    matching = [c for c in contacts if matches_stored(c.filters, facts, when_absent=False)]
    if not matching:
        return []
    users = await asyncio.gather(*(user_for_email(ctx, contact.email) for contact in matching))
    added: list[str] = []
    async with ctx.sessions() as session, session.begin():
        for contact, user in zip(matching, users, strict=True):
            if user is None or user in added or await store.roles_of_user(session, card.id, user):
                continue  # unknown in Slack, or already taking part
            reason = f"Engaged automatically: {describe(from_column(contact.filters), when_absent=False)}"
            await store.add_participant(
                session, card.id, user, [OBSERVER], reason=reason, name=contact.name, email=contact.email
            )
            added.append(user)
        if added:
            await store.add_timeline_event(
                session,
                card.id,
                "participants_engaged",
                "Engaged "
                + ", ".join(f"<@{user}>" for user in added)
                + " (their filters match the incident)",
                occurred_at=ctx.clock(),
            )
    return added
