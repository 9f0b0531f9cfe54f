"""Engaging the on-call of a service in an incident: resolve them through the on-call plugin, add them,
invite and announce them, and page them when asked.

One member per service per incident: the engagement is claimed first as a resource row (unique per
incident, kind and name), so two submissions at once cannot both engage. A page carries a key made
of the incident and the service, so asking again (or a retried request) never pages twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.filters import matches_stored
from bot.incidents import participant_groups
from bot.incidents.card import incident_card
from bot.incidents.engagement import facts_of as engagement_facts
from bot.incidents.engagement import user_for_email
from bot.incidents.facts import IncidentCard
from bot.incidents.welcome import welcome_person
from bot.oncall import paging, views
from bot.oncall.facts import EngageForm, EngageOutcome, ServiceOption
from bot.people import queries as people_queries
from bot.runtime.bot_context import BotContext
from plugins.errors import PluginError
from plugins.interfaces import OnCallPlugin
from storage import incidents as store
from storage.models import Incident, Project, Resource, Service

logger = logging.getLogger(__name__)

ENGAGED = paging.ENGAGED
PARTICIPANT, OBSERVER = "Participant", "Observer"
# Resolving and recording take seconds; a claim this old was left by a process that died meanwhile.
CLAIM_LIFETIME = timedelta(minutes=2)
# Asking the on-call plugin who is on call: longer than this and the engagement is tried again later.
ONCALL_TIMEOUT = 20.0
# The names of the fields a check can complain about; the handlers map them to modal blocks.
SERVICE = "service"


@dataclass(frozen=True)
class Engagement:
    incident_id: int
    channel_id: str
    service_id: int
    page: bool
    requested_by: str | None
    """Who asked; None when the service's filters matched the incident and the bot engaged it."""


async def _project_services(session: AsyncSession, project_id: int) -> list[Service]:
    rows = await session.exec(
        select(Service)
        .where(Service.project_id == project_id, col(Service.enabled))
        .order_by(col(Service.name))
    )
    return list(rows)


async def _engaged(session: AsyncSession, incident_id: int, now: datetime) -> dict[str, str]:
    """Service name → the Slack user engaged for it (empty while an engagement is in progress).

    A claim left unfinished longer than CLAIM_LIFETIME belonged to a process that died: not engaged.
    """
    rows = await session.exec(
        select(Resource).where(Resource.incident_id == incident_id, Resource.kind == ENGAGED)
    )
    return {
        row.name: row.external_id for row in rows if row.external_id or row.updated_at > now - CLAIM_LIFETIME
    }


async def engage_form(ctx: BotContext, incident_id: int) -> EngageForm:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        project = await session.get(Project, incident.project_id)
        assert project is not None
        services = await _project_services(session, project.id or 0)
        engaged = await _engaged(session, incident_id, ctx.clock())
    options = [
        ServiceOption(s.id or 0, s.name, s.description, s.name in engaged, engaged.get(s.name) or None)
        for s in services
    ]
    problem = None
    if not services:
        problem = (
            f"No on-call service is configured for project {project.name}. Add one under `services:` "
            "in the config file and run `dispatch-bot config apply`."
        )
    else:
        _, problem = paging.oncall_plugin(ctx, project)
    return EngageForm(incident_id, incident.name, options, problem)


async def check_engagement(ctx: BotContext, engagement: Engagement) -> dict[str, str]:
    """What stops the engagement, by field; empty when it can go ahead."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, engagement.incident_id)
        service = await session.get(Service, engagement.service_id)
        if incident is None or service is None or service.project_id != incident.project_id:
            return {SERVICE: "Choose one of the listed services."}
        engaged = (await _engaged(session, engagement.incident_id, ctx.clock())).get(service.name)
        person = (
            await people_queries.participant_of(session, engagement.incident_id, engaged) if engaged else None
        )
    if engaged:
        # An inline modal error is plain text: a name, not a <@mention> that would show as code.
        who = f" ({person.name})" if person is not None and person.name else ""
        return {SERVICE: f"{service.name} is already engaged: its on-call{who} is in this incident."}
    if engaged is not None:
        return {SERVICE: f"{service.name} is being engaged by someone else right now; try again in a minute."}
    return {}


async def _claim(ctx: BotContext, incident_id: int, service: Service) -> str | None:
    """Take the service's engagement for this request; the claim's token, or None when someone else
    holds it.

    A claim dropped as stale and taken by another request has another token, so a slow request that
    outlived its claim can neither finish nor drop the new one.
    """
    for _ in range(2):
        now, token = ctx.clock(), uuid.uuid4().hex
        try:
            async with ctx.sessions() as session, session.begin():
                session.add(
                    Resource(
                        incident_id=incident_id,
                        kind=ENGAGED,
                        name=service.name,
                        external_id="",
                        details={"claim": token},
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            if not await _drop_unfinished(ctx, incident_id, service, older_than=now - CLAIM_LIFETIME):
                return None
        else:
            return token
    return None


async def _claim_row(session: AsyncSession, incident_id: int, service: Service) -> Resource | None:
    query = select(Resource).where(
        Resource.incident_id == incident_id, Resource.kind == ENGAGED, Resource.name == service.name
    )
    return (await session.exec(query.with_for_update())).first()


async def _drop_unfinished(
    ctx: BotContext,
    incident_id: int,
    service: Service,
    *,
    token: str | None = None,
    older_than: datetime | None = None,
) -> bool:
    """Drop the service's unfinished claim (nobody engaged yet): the one with `token`, or one older
    than `older_than`; True if it was dropped."""
    async with ctx.sessions() as session, session.begin():
        claim = await _claim_row(session, incident_id, service)
        if claim is None or claim.external_id:
            return False
        if token is not None and (claim.details or {}).get("claim") != token:
            return False
        if older_than is not None and claim.updated_at >= older_than:
            return False
        await session.delete(claim)
    return True


class _ClaimLost(Exception):
    """The claim outlived its lifetime and another request took the engagement over."""


async def engage_oncall(ctx: BotContext, engagement: Engagement) -> EngageOutcome:
    """Resolve, record, invite and announce the service's on-call, then page if asked."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, engagement.incident_id)
        service = await session.get(Service, engagement.service_id)
        assert incident is not None and service is not None
        project = await session.get(Project, incident.project_id)
        assert project is not None
    outcome = EngageOutcome(service=service.name)
    plugin, problem = paging.oncall_plugin(ctx, project)
    if plugin is None:
        outcome.error = problem
        return outcome
    claim = await _claim(ctx, engagement.incident_id, service)
    if claim is None:
        outcome.error = f"{service.name} is already engaged in this incident."
        return outcome
    try:
        user = await _resolve(ctx, plugin, service, outcome)
    except BaseException:
        await _drop_unfinished(ctx, engagement.incident_id, service, token=claim)
        raise
    if user is None:
        await _drop_unfinished(ctx, engagement.incident_id, service, token=claim)
        return outcome
    outcome.user = user
    try:
        newly_added = await _record(ctx, claim, engagement, service, outcome)
    except _ClaimLost:
        outcome.user = None
        outcome.error = f"{service.name} was engaged by someone else meanwhile."
        return outcome
    await _announce(ctx, engagement, service, outcome, newly_added)
    if engagement.page:
        await _page(ctx, plugin, engagement, incident, service, outcome)
    await participant_groups.sync_tactical_group(ctx, engagement.incident_id)
    return outcome


async def engage_matching_services(
    ctx: BotContext, card: IncidentCard, channel_id: str
) -> list[EngageOutcome]:
    """Engage the on-call of each project service whose filters match the incident (once per service).

    Run at opening and whenever an update makes more filters match; a service already engaged is
    skipped by the claim, and a plugin that cannot answer leaves the incident as it is.
    """
    async with ctx.sessions() as session:
        incident = await session.get(Incident, card.id)
        assert incident is not None
        services = await _project_services(session, incident.project_id)
        tags = list(incident.tags)
    facts = engagement_facts(card, tags)
    matching = [
        s for s in services if s.id is not None and matches_stored(s.filters, facts, when_absent=False)
    ]
    outcomes = []
    for service in matching:
        assert service.id is not None
        outcome = await engage_oncall(
            ctx, Engagement(card.id, channel_id, service.id, page=False, requested_by=None)
        )
        if outcome.error and "already engaged" not in outcome.error:
            logger.warning("could not engage %s: %s", service.name, outcome.error)
        outcomes.append(outcome)
    return outcomes


async def _resolve(
    ctx: BotContext, plugin: OnCallPlugin, service: Service, outcome: EngageOutcome
) -> str | None:
    try:
        person = await asyncio.wait_for(plugin.oncall(service.external_id), ONCALL_TIMEOUT)
    except (PluginError, TimeoutError) as error:
        reason = str(error) or f"no answer within {ONCALL_TIMEOUT:.0f} s"
        outcome.error = f"Could not find who is on call for {service.name}: {reason}"
        outcome.retryable = True
        return None
    if person is None:
        outcome.error = f"Nobody is on call for {service.name} right now (first escalation level)."
        return None
    outcome.person = person
    user = await user_for_email(ctx, person.email)
    if user is None:
        outcome.error = (
            f"{person.name or person.email} is on call for {service.name}, but no Slack user has the "
            f"e-mail address {person.email}. Invite them by hand."
        )
    return user


async def _record(
    ctx: BotContext, token: str, engagement: Engagement, service: Service, outcome: EngageOutcome
) -> bool:
    """Save who was engaged on the claim; True when they were not taking part before."""
    assert outcome.user is not None and outcome.person is not None
    user, person, now = outcome.user, outcome.person, ctx.clock()
    async with ctx.sessions() as session, session.begin():
        claim = await _claim_row(session, engagement.incident_id, service)
        if claim is None or claim.external_id or (claim.details or {}).get("claim") != token:
            raise _ClaimLost
        claim.external_id = user
        claim.details = {"email": person.email, "name": person.name, "service": service.external_id}
        existing = await people_queries.participant_of(session, engagement.incident_id, user)
        held = await store.active_roles_of(session, existing.id) if existing and existing.id else []
        if existing is not None and existing.id is not None and set(held) - {OBSERVER}:
            roles: list[str] = []  # already working on it in a role of their own
        else:
            roles = [PARTICIPANT]
            if existing is not None and existing.id is not None:
                await people_queries.renounce_roles(session, existing.id, [OBSERVER], now)
        await store.add_participant(
            session,
            engagement.incident_id,
            user,
            roles,
            added_by=engagement.requested_by,
            reason=f"On call for {service.name}",
            name=person.name,
            email=person.email,
            now=now,
        )
        await store.add_timeline_event(
            session,
            engagement.incident_id,
            "oncall_engaged",
            (f"<@{engagement.requested_by}> engaged" if engagement.requested_by else "Engaged automatically:")
            + f" <@{user}>, on call for {service.name}",
            actor=engagement.requested_by,
            occurred_at=now,
            details={"service": service.name, "user": user, "email": person.email},
            dedupe_key=f"oncall:{service.name}",
        )
    return existing is None


async def _announce(
    ctx: BotContext, engagement: Engagement, service: Service, outcome: EngageOutcome, newly_added: bool
) -> None:
    assert outcome.user is not None
    channel, user = engagement.channel_id, outcome.user
    try:
        refused = await ctx.gateway.invite(channel, [user])
    except SlackApiError as error:
        logger.warning("engage on-call: invite failed: %s", error.response.get("error"))
        refused = [user]
    if refused:
        outcome.problems.append(f"Could not invite <@{user}> to the channel; add them by hand.")
    text, blocks = views.engaged_announcement(user, service.name, engagement.requested_by)
    try:
        await ctx.gateway.post(channel, text, blocks)
    except SlackApiError as error:
        outcome.problems.append(f"Could not announce them in the channel ({error.response.get('error')}).")
    if newly_added and not refused:
        card = await incident_card(ctx, engagement.incident_id)
        try:
            await welcome_person(ctx, card, channel, user, [PARTICIPANT])
        except SlackApiError as error:
            logger.info("could not welcome %s: %s", user, error.response.get("error"))


async def _page(
    ctx: BotContext,
    plugin: OnCallPlugin,
    engagement: Engagement,
    incident: Incident,
    service: Service,
    outcome: EngageOutcome,
) -> None:
    assert outcome.user is not None
    try:
        paged = await paging.page_service(
            ctx, plugin, incident, service, outcome.user, engagement.requested_by
        )
    except PluginError as error:
        outcome.problems.append(f"<@{outcome.user}> is engaged, but the page failed: {error}")
        return
    outcome.paged, outcome.page_link = True, paged.page.weblink
