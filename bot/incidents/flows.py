"""Reporting an incident and opening it in Slack: save first, then each step recorded and resumable.

`save_report` commits the incident (numbered atomically, keyed by the request so a redelivered
submission finds it) together with the pending steps of its opening. `open_incident` then runs
those steps: the channel first, because the reporter is waiting for it, then invitations,
channel details, the pinned summary, notifications and the commander's tips concurrently. Each
finished step is recorded; a failed one is retried by the reconcile job, and a crash is resumed
the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, select, update

from bot.config.filters import matches_stored
from bot.core.errors import failure_text, plugin_call
from bot.incidents import engagement, naming, resources, views
from bot.incidents.facts import Choice, IncidentCard, PersonCard, ReportForm
from bot.incidents.opening import Opening
from bot.incidents.resources import email_of, user_name
from bot.mail import content
from bot.mail import flows as mail
from bot.oncall import paging
from bot.runtime.bot_context import BotContext
from plugins.errors import PluginError
from plugins.interfaces import ConferencePlugin, EmailPlugin, ExternalResource, StoragePlugin, TicketPlugin
from plugins.registry import ProjectPlugins
from storage import incidents as store
from storage.models import (
    FlowStep,
    Incident,
    IncidentPriority,
    IncidentSeverity,
    IncidentType,
    Notification,
    Project,
)
from storage.workspace import enabled_notifications, enabled_projects, project_choices

logger = logging.getLogger(__name__)

OPEN_FLOW = "incident.open"
OPEN_STEPS = (
    "commander",
    "channel",
    "people",
    "details",
    "summary",
    "notifications",
    "commander_tips",
    "page_commander",
    "services",
    "welcome_emails",
)
# Run once the other steps have settled: the welcome e-mail links what they made (conference, folder...).
LATE_STEPS = ("welcome_emails",)
# Steps are claimed for this long; a process that dies mid-flow leaves them to the reconcile job after it.
CLAIM = timedelta(minutes=2)
RETRY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))

COMMANDER, REPORTER = "Incident Commander", "Reporter"
# Run (concurrently) before the rest, which run concurrently once both are done.
FIRST_STEPS = ("commander", "channel")


@dataclass(frozen=True)
class Report:
    """A submitted report, as the reporter filled it in."""

    request_key: str
    reporter_id: str
    title: str
    description: str
    project_id: int
    type_id: int | None
    severity_id: int | None
    priority_id: int | None
    visibility: str | None = None
    commander_id: str | None = None
    tags: tuple[str, ...] = ()


class NoProject(Exception):
    """The workspace has no enabled project to report into."""


def _choices(rows: list[Any]) -> list[Choice]:
    return [Choice(row.id, row.name, row.description) for row in rows]


async def report_form(
    ctx: BotContext, project_id: int | None = None, title: str = "", description: str = ""
) -> ReportForm:
    """The report modal's content for `project_id`, or for the default project."""
    async with ctx.sessions() as session:
        projects = await enabled_projects(session)
        if not projects:
            raise NoProject
        project = next((p for p in projects if p.id == project_id), projects[0])
        choices = await project_choices(session, project)
    assert project.id is not None
    default_type, default_severity, default_priority = (
        choices.default_type(),
        choices.default_severity(),
        choices.default_priority(),
    )
    return ReportForm(
        projects=_choices(projects),
        project_id=project.id,
        types=_choices(choices.types),
        severities=_choices(choices.severities),
        priorities=_choices(choices.priorities),
        default_type_id=default_type.id if default_type else None,
        default_severity_id=default_severity.id if default_severity else None,
        default_priority_id=default_priority.id if default_priority else None,
        tags=choices.tags,
        title=title,
        description=description,
    )


async def check_report(ctx: BotContext, report: Report) -> dict[str, str]:
    """Problems with the report by modal block id; empty when it can be saved."""
    errors: dict[str, str] = {}
    if not report.title.strip():
        errors[views.TITLE] = "Give the incident a title."
    async with ctx.sessions() as session:
        project = await session.get(Project, report.project_id)
        if project is None or not project.enabled:
            errors[views.PROJECT] = "This project is not available any more; choose another."
            return errors
        choices = await project_choices(session, project)
    for block_id, chosen, allowed in (
        (views.TYPE, report.type_id, choices.types),
        (views.SEVERITY, report.severity_id, choices.severities),
        (views.PRIORITY, report.priority_id, choices.priorities),
    ):
        if chosen is not None and chosen not in {row.id for row in allowed}:
            errors[block_id] = "This choice was disabled in the meantime; pick another."
    return errors


async def save_report(ctx: BotContext, report: Report) -> tuple[int, bool]:
    """Commit the incident and its pending steps; (incident id, False) when this request made one already."""
    async with ctx.sessions() as session:
        existing = await store.incident_by_request(session, report.request_key)
        if existing is not None and existing.id is not None:
            return existing.id, False
        project = await session.get(Project, report.project_id)
        assert project is not None
        choices = await project_choices(session, project)
        incident_type = next((t for t in choices.types if t.id == report.type_id), choices.default_type())
        severity = next(
            (s for s in choices.severities if s.id == report.severity_id), choices.default_severity()
        )
        priority = next(
            (p for p in choices.priorities if p.id == report.priority_id), choices.default_priority()
        )
        project_values = (project.id, project.prefix, project.name, project.incident_name_pattern)
        project_plugins = dict(project.plugins or {})
    now = ctx.clock()
    try:
        async with ctx.sessions() as session, session.begin():
            project_id, prefix, project_name, pattern = project_values
            assert project_id is not None
            number = await store.next_incident_number(session, project_id)
            incident = Incident(
                project_id=project_id,
                number=number,
                name=naming.incident_name(pattern, prefix, number, project_name),
                title=report.title.strip(),
                description=report.description.strip(),
                visibility=report.visibility or (incident_type.visibility if incident_type else "open"),
                incident_type_id=incident_type.id if incident_type else None,
                incident_severity_id=severity.id if severity else None,
                incident_priority_id=priority.id if priority else None,
                reporter_user_id=report.reporter_id,
                tags=[tag for tag in report.tags if tag in {name for _, name in choices.tags}],
                request_key=report.request_key,
                reported_at=now,
            )
            session.add(incident)
            await session.flush()
            assert incident.id is not None
            await store.add_participant(
                session,
                incident.id,
                report.reporter_id,
                [REPORTER],
                added_by=report.reporter_id,
                reason="Reported the incident",
                now=now,
            )
            if report.commander_id:
                await store.add_participant(
                    session,
                    incident.id,
                    report.commander_id,
                    [COMMANDER],
                    added_by=report.reporter_id,
                    reason="Chosen as commander by the reporter",
                    now=now,
                )
            await store.add_timeline_event(
                session,
                incident.id,
                "incident_created",
                f"Incident reported by <@{report.reporter_id}>: {incident.title}",
                actor=report.reporter_id,
                occurred_at=now,
                key_event=True,
                details={
                    "type": incident_type.name if incident_type else None,
                    "severity": severity.name if severity else None,
                    "priority": priority.name if priority else None,
                    "visibility": incident.visibility,
                },
            )
            for step in (*OPEN_STEPS, *resource_roles(project_plugins)):
                session.add(
                    FlowStep(incident_id=incident.id, flow=OPEN_FLOW, step=step, next_attempt_at=now + CLAIM)
                )
            return incident.id, True
    except IntegrityError:
        # The same submission, delivered twice at once: the other delivery saved it first.
        async with ctx.sessions() as session:
            existing = await store.incident_by_request(session, report.request_key)
        if existing is None or existing.id is None:
            raise
        return existing.id, False


async def incident_card(ctx: BotContext, incident_id: int) -> IncidentCard:
    """The incident as people see it, in four queries (five for a closed incident)."""
    async with ctx.sessions() as session:
        row = (
            await session.exec(
                select(Incident, Project, IncidentType, IncidentSeverity)
                .join(Project, col(Project.id) == col(Incident.project_id))
                .outerjoin(IncidentType, col(IncidentType.id) == col(Incident.incident_type_id))
                .outerjoin(IncidentSeverity, col(IncidentSeverity.id) == col(Incident.incident_severity_id))
                .where(Incident.id == incident_id)
            )
        ).one()
        incident, project, incident_type, severity = row
        priority = (
            await session.get(IncidentPriority, incident.incident_priority_id)
            if incident.incident_priority_id
            else None
        )
        people = await store.participants_with_roles(session, incident_id)
        recorded = await store.resources(session, incident_id)
        channel = recorded.get("conversation")
        commander = next((p.user_id for p, roles in people if COMMANDER in roles), None)
        if commander is None:  # closing ended every role: the commander is who held it last
            commander = await store.last_holder_of(session, incident_id, COMMANDER)
    commander = commander or incident.reporter_user_id
    return IncidentCard(
        id=incident_id,
        name=incident.name,
        title=incident.title,
        description=incident.description,
        status=incident.status,
        visibility=incident.visibility,
        project=project.name,
        type=incident_type.name if incident_type else "Unspecified",
        severity=severity.name if severity else "Unspecified",
        priority=priority.name if priority else "Unspecified",
        reporter_id=incident.reporter_user_id,
        commander_id=commander,
        channel_id=channel.external_id if channel else None,
        participants=[PersonCard(p.user_id, roles, p.name, p.timezone) for p, roles in people],
        tags=list(incident.tags),
        type_description=incident_type.description if incident_type else "",
        resources={role: row.weblink for role, row in recorded.items() if row.weblink},
    )


StepRunner = Callable[["Opening"], Awaitable[dict[str, Any] | None]]


async def claim_steps(ctx: BotContext, incident_id: int, lease: timedelta = CLAIM) -> bool:
    """Take the incident's unfinished steps for this process; False when another holds them.

    Nothing is taken while any step is still being run (a pending step whose lease is live): a
    failed step due again must not pull the steps another process is running into a second run.
    Taken steps go back to pending, so the running process's lease renewals cover them.
    """
    now = ctx.clock()
    running = aliased(FlowStep)
    someone_running = (
        select(running.id)
        .where(running.incident_id == incident_id, running.flow == OPEN_FLOW, running.status == "pending")
        .where(col(running.next_attempt_at) > now)
    )
    async with ctx.sessions() as session, session.begin():
        result = await (await session.connection()).execute(
            update(FlowStep)
            .where(col(FlowStep.incident_id) == incident_id, col(FlowStep.flow) == OPEN_FLOW)
            .where(col(FlowStep.status).in_(["pending", "failed"]))
            .where((col(FlowStep.next_attempt_at).is_(None)) | (col(FlowStep.next_attempt_at) <= now))
            .where(~someone_running.exists())
            .values(status="pending", next_attempt_at=now + lease)
        )
        return bool(result.rowcount)


async def extend_claim(ctx: BotContext, incident_id: int, lease: timedelta = CLAIM) -> None:
    """Keep the steps this process is running claimed, so no reconcile run takes them meanwhile."""
    async with ctx.sessions() as session, session.begin():
        await (await session.connection()).execute(
            update(FlowStep)
            .where(col(FlowStep.incident_id) == incident_id, col(FlowStep.flow) == OPEN_FLOW)
            .where(col(FlowStep.status) == "pending")
            .values(next_attempt_at=ctx.clock() + lease)
        )


@contextlib.asynccontextmanager
async def _holding(ctx: BotContext, incident_id: int) -> AsyncIterator[None]:
    """While an opening runs, this process skips it in its own reconcile runs and renews its claim
    on the steps for the other processes (a slow Slack can make an opening outlast one lease)."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(CLAIM.total_seconds() / 4)
            try:
                await extend_claim(ctx, incident_id)
            except Exception:
                logger.warning("could not renew the claim on incident %s", incident_id, exc_info=True)

    ctx.openings.add(incident_id)
    renewing = asyncio.create_task(renew(), name=f"renew-claim:{incident_id}")
    try:
        yield
    finally:
        renewing.cancel()
        ctx.openings.discard(incident_id)


async def open_incident(
    ctx: BotContext,
    incident_id: int,
    channel_ready: Callable[[IncidentCard], Awaitable[Any]] | None = None,
    *,
    resuming: bool = False,
) -> IncidentCard:
    """Run the opening steps not done yet; returns the incident as it stands afterwards.

    `channel_ready` runs alongside the remaining steps as soon as the channel exists (the
    reporter's modal turns into a link to it then, not when everything is done).
    """
    async with _holding(ctx, incident_id):
        return await _open(ctx, incident_id, channel_ready, resuming)


async def _open(
    ctx: BotContext,
    incident_id: int,
    channel_ready: Callable[[IncidentCard], Awaitable[Any]] | None,
    resuming: bool,
) -> IncidentCard:
    async with ctx.sessions() as session:
        done = await store.done_steps(session, incident_id, OPEN_FLOW)
        incident = await session.get(Incident, incident_id)
        project = await session.get(Project, incident.project_id) if incident is not None else None
    plugins = ctx.plugins_for(project) if project is not None and project.plugins else None
    opening = Opening(
        ctx,
        incident_id,
        await incident_card(ctx, incident_id),
        {step: row.result for step, row in done.items()},
        resuming=resuming,
        plugins=plugins,
    )
    # The commander and the channel come first, side by side (an on-call lookup and a channel
    # creation): the other steps invite the commander, name them in the topic, post in the channel.
    first = [step for step in FIRST_STEPS if step not in done]
    if first:
        made = await asyncio.gather(*(_run_step(opening, step, STEPS[step]) for step in first))
        if not all(made):
            return opening.card
        opening.card = await incident_card(ctx, incident_id)
    steps: dict[str, StepRunner] = {
        **STEPS,
        **{role: resource_step(role) for role in resource_roles(project.plugins if project else {})},
    }
    pending = [(step, runner) for step, runner in steps.items() if step not in {*done, *FIRST_STEPS}]
    finished = {step: asyncio.Event() for step, _ in pending}

    def waits_for(step: str) -> Iterable[str]:
        if step in LATE_STEPS:
            return [other for other in finished if other not in LATE_STEPS]
        return resources.WAITS_FOR.get(step, ())

    async def run(step: str, runner: StepRunner) -> None:
        for before in waits_for(step):
            if before in finished:
                await finished[before].wait()
        try:
            await _run_step(opening, step, runner)
        finally:
            finished[step].set()

    await asyncio.gather(
        *(run(step, runner) for step, runner in pending),
        *([channel_ready(opening.card)] if channel_ready else []),
    )
    return opening.card


async def _run_step(opening: Opening, step: str, runner: StepRunner) -> bool:
    ctx = opening.ctx
    try:
        result = await runner(opening)
    except Exception as error:
        reason = f"{failure_text(error)}"
        logger.warning(
            "incident step failed", extra={"incident_id": opening.incident_id, "step": step, "error": reason}
        )
        async with ctx.sessions() as session, session.begin():
            row = (
                await session.exec(
                    select(FlowStep).where(
                        FlowStep.incident_id == opening.incident_id,
                        FlowStep.flow == OPEN_FLOW,
                        FlowStep.step == step,
                    )
                )
            ).first()
            backoff = retry_backoff(row.attempts if row else 0)
            await store.mark_step(
                session,
                opening.incident_id,
                OPEN_FLOW,
                step,
                "failed",
                error=reason[:1000],
                next_attempt_at=ctx.clock() + backoff,
            )
        return False
    async with ctx.sessions() as session, session.begin():
        await store.mark_step(session, opening.incident_id, OPEN_FLOW, step, "done", result=result or {})
    opening.results[step] = result or {}
    return True


def retry_backoff(attempts: int) -> timedelta:
    """How long a step that failed `attempts` times before waits after this failure."""
    return RETRY_BACKOFF[min(attempts, len(RETRY_BACKOFF) - 1)]


async def choose_commander(opening: Opening) -> dict[str, Any]:
    """Give the commander role by the first role policy that resolves (a named person, or a
    service's current on-call), else to the reporter; a commander chosen in the report stays.

    This runs after the report is saved, so a slow or failing on-call system never costs the report.
    """
    ctx, card = opening.ctx, opening.card
    async with ctx.sessions() as session:
        people = await store.participants_with_roles(session, opening.incident_id)
        incident = await session.get(Incident, opening.incident_id)
    held = next((p.user_id for p, roles in people if COMMANDER in roles), None)
    if held is not None or incident is None:
        return {"commander": held}
    holder = await engagement.policy_holder(
        ctx,
        incident.project_id,
        COMMANDER,
        card.type if incident.incident_type_id else None,
        card.priority if incident.incident_priority_id else None,
    )
    commander = holder.user if holder else card.reporter_id
    reason = holder.reason if holder else "Reported it; no one else was named"
    async with ctx.sessions() as session, session.begin():
        await store.add_participant(
            session,
            opening.incident_id,
            commander,
            [COMMANDER],
            added_by=card.reporter_id,
            reason=reason,
            now=ctx.clock(),
        )
        if holder is not None and holder.service is not None:
            # The service's on-call is engaged as commander: /dispatch-engage-oncall knows, and a
            # priority that pages the commander pages through this service.
            await store.record_resource(
                session,
                opening.incident_id,
                "oncall",
                commander,
                name=holder.service.name,
                details={"service": holder.service.external_id, "role": COMMANDER},
            )
    return {"commander": commander}


async def create_channel(opening: Opening) -> dict[str, Any]:
    ctx, card = opening.ctx, opening.card
    async with ctx.sessions() as session:
        incident = await session.get(Incident, opening.incident_id)
        assert incident is not None
        project = await session.get(Project, incident.project_id)
        assert project is not None
        name = naming.channel_name(
            project.channel_name_pattern,
            prefix=project.prefix,
            number=incident.number,
            title=incident.title,
            name=incident.name,
            project=project.name,
        )
        # A restricted incident is for its participants only, whatever the project says.
        private = project.private_channels or incident.visibility == "restricted"
    # After a crash, the channel the interrupted run made (but did not record) may exist already.
    adopted = await _unrecorded_channel(ctx, name) if opening.resuming else None
    if adopted:
        channel_id, final_name = adopted, name
    else:
        channel_id, final_name = await ctx.gateway.create_channel(name, private=private)
    async with ctx.sessions() as session, session.begin():
        await store.record_resource(
            session,
            opening.incident_id,
            "conversation",
            channel_id,
            details={"name": final_name, "private": private},
        )
        await store.add_timeline_event(
            session,
            opening.incident_id,
            "channel_created",
            f"Incident channel #{final_name} created",
            occurred_at=ctx.clock(),
        )
    opening.card = IncidentCard(**{**card.__dict__, "channel_id": channel_id})
    return {"channel_id": channel_id, "name": final_name}


async def invite_people(opening: Opening) -> dict[str, Any]:
    """Invite everyone engaged so far, announce them once, and welcome each of them."""
    ctx, channel = opening.ctx, opening.channel_id
    if await engagement.engage_matching_individuals(ctx, opening.card):
        opening.card = await incident_card(ctx, opening.incident_id)
    card = opening.card
    people = card.participants
    refused = await ctx.gateway.invite(channel, [person.user_id for person in people])
    present = [person for person in people if person.user_id not in refused]
    text, blocks = views.participants_announcement(present)
    await asyncio.gather(
        ctx.gateway.post(channel, text, blocks),
        *(
            ctx.gateway.post_ephemeral(channel, person.user_id, *views.welcome(card, person.roles))
            for person in present
        ),
    )
    async with ctx.sessions() as session, session.begin():
        await store.add_timeline_event(
            session,
            opening.incident_id,
            "participants_added",
            "Added " + ", ".join(f"<@{p.user_id}> ({', '.join(p.roles)})" for p in present),
            occurred_at=ctx.clock(),
        )
    return {"invited": [p.user_id for p in present], "refused": refused}


async def channel_details(opening: Opening) -> dict[str, Any]:
    ctx, card, channel = opening.ctx, opening.card, opening.channel_id

    async def topic() -> None:
        await ctx.gateway.set_topic(channel, views.topic(card, await user_name(ctx, card.commander_id)))

    await asyncio.gather(
        topic(), ctx.gateway.set_purpose(channel, views.purpose(card, card.type_description))
    )
    return {}


async def _unrecorded_channel(ctx: BotContext, name: str) -> str | None:
    """A channel called `name` made by the bot that no incident has recorded, or None."""
    bot_user = str(ctx.identity.get("user_id") or "") if ctx.identity is not None else ""
    channel_id = await ctx.gateway.channel_named(name, created_by=bot_user) if bot_user else None
    if channel_id is None:
        return None
    async with ctx.sessions() as session:
        owner = await store.incident_by_channel(session, channel_id)
    return channel_id if owner is None else None


async def refresh_topic(ctx: BotContext, incident_id: int) -> None:
    """Set the channel topic from the incident as it is now (after a status, field or commander change)."""
    card = await incident_card(ctx, incident_id)
    if card.channel_id:
        await ctx.gateway.set_topic(
            card.channel_id, views.topic(card, await user_name(ctx, card.commander_id))
        )


async def pin_summary(opening: Opening) -> dict[str, Any]:
    text, blocks = views.summary_message(opening.card)
    ts = await opening.ctx.gateway.post(opening.channel_id, text, blocks)
    await opening.ctx.gateway.pin(opening.channel_id, ts)
    async with opening.ctx.sessions() as session, session.begin():
        await store.record_resource(
            session, opening.incident_id, "summary_message", ts, details={"channel_id": opening.channel_id}
        )
    return {"ts": ts}


async def _matching_targets(
    ctx: BotContext, incident_id: int, card: IncidentCard
) -> tuple[Project | None, list[Notification]]:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        project = await session.get(Project, incident.project_id)
        targets = await enabled_notifications(session, incident.project_id)
    facts = engagement.facts_of(card, list(incident.tags))
    return project, [target for target in targets if matches_stored(target.filters, facts, when_absent=True)]


async def notification_addresses(ctx: BotContext, card: IncidentCard) -> list[str]:
    """The notification e-mail addresses whose filters match the incident; none for a restricted one."""
    if card.visibility == "restricted":
        return []
    _project, matching = await _matching_targets(ctx, card.id, card)
    return [target.target for target in matching if target.kind == "email"]


@dataclass(frozen=True)
class Announced:
    sent: list[str]
    failed: dict[str, str]
    # The notification channels among `failed`, with Slack's error code.
    unreachable: dict[str, str] = field(default_factory=dict)


# What an e-mail announcement says, given the commander's name and the channel's link:
# (subject, template, variables).
MailBuilder = Callable[[str, str | None], content.Email]


async def announce_to_targets(
    ctx: BotContext,
    incident_id: int,
    card: IncidentCard,
    message: Callable[[bool], tuple[str, list[dict[str, Any]]]],
    mail_of: MailBuilder | None = None,
    mail_key: str = "announce",
) -> Announced:
    """Post `message(allow_join)` to every notification channel whose filters match the incident, and
    e-mail `mail_of(...)` to every matching notification address (once per `mail_key` and address).

    Never for a restricted incident. A target the bot cannot reach is logged and reported back,
    not retried: it is the operator's to fix.
    """
    if card.visibility == "restricted":
        return Announced([], {})
    project, matching = await _matching_targets(ctx, incident_id, card)
    text, blocks = message(bool(project and project.allow_self_join))
    result = Announced([], {})

    async def announce(target: str) -> None:
        try:
            await ctx.gateway.post(target, text, blocks)
            result.sent.append(target)
        except SlackApiError as error:
            result.failed[target] = result.unreachable[target] = str(error.response.get("error"))
            logger.warning("could not notify %s about %s: %s", target, card.name, result.failed[target])

    channels = [target.target for target in matching if target.kind == "conversation"]
    addresses = [target.target for target in matching if target.kind == "email"] if mail_of else []
    await asyncio.gather(
        *(announce(target) for target in channels),
        *([_email_targets(ctx, card, addresses, mail_of, mail_key, result)] if mail_of and addresses else []),
    )
    return result


async def _email_targets(
    ctx: BotContext,
    card: IncidentCard,
    addresses: list[str],
    mail_of: MailBuilder,
    key: str,
    result: Announced,
) -> None:
    plugin = await mail.email_plugin(ctx, card.id)
    if plugin is None:
        result.failed.update(dict.fromkeys(addresses, "no e-mail plugin is configured"))
        return
    commander = await user_name(ctx, card.commander_id)
    email = mail_of(commander, content.channel_link(mail.workspace_url(ctx), card.channel_id))
    reached, failed = await mail.send_each(ctx, plugin, card.id, key, addresses, email)
    result.sent.extend(reached)
    result.failed.update(failed)


async def notify_targets(opening: Opening) -> dict[str, Any]:
    """Announce the new incident in the notification channels that match it."""
    ctx, card = opening.ctx, opening.card

    def announcement(commander: str, channel: str | None) -> content.Email:
        return content.announcement(card, commander, channel)

    announced = await announce_to_targets(
        ctx, opening.incident_id, card, lambda allow_join: views.notification(card, allow_join), announcement
    )
    sent, failed = announced.sent, announced.failed
    if sent or failed:
        async with ctx.sessions() as session, session.begin():
            await store.add_timeline_event(
                session,
                opening.incident_id,
                "notifications_sent",
                f"Announced in {', '.join(sent) or 'no channel'}"
                + (f"; could not post in {', '.join(failed)}" if failed else ""),
                occurred_at=ctx.clock(),
                details={"sent": sent, "failed": failed},
            )
    told = await _tell_unreachable(opening, announced.unreachable)
    return {"sent": sent, "failed": failed, "told": told}


async def _tell_unreachable(opening: Opening, unreachable: dict[str, str]) -> list[str]:
    """DM the commander about each notification channel the announcement could not reach, once per
    incident and channel: who was told is kept in the step's result, so a rerun tells no one twice.
    Returns every channel told so far."""
    ctx, card = opening.ctx, opening.card
    earlier = await _step_row(ctx, opening.incident_id, "notifications")
    told = list((earlier.result or {}).get("told", [])) if earlier is not None else []
    bot_user = str(ctx.identity.get("user_id") or "") if ctx.identity is not None else ""
    bot = f"<@{bot_user}>" if bot_user else "the bot"
    for target, error in unreachable.items():
        if target in told:
            continue
        try:
            await ctx.gateway.direct_message(
                card.commander_id, views.unreachable_notification(card, target, error, bot)
            )
        except SlackApiError as failure:
            logger.warning("could not tell the commander about %s: %s", target, failure.response.get("error"))
            continue
        told.append(target)
        async with ctx.sessions() as session, session.begin():
            await (await session.connection()).execute(
                update(FlowStep)
                .where(col(FlowStep.incident_id) == opening.incident_id, col(FlowStep.flow) == OPEN_FLOW)
                .where(col(FlowStep.step) == "notifications")
                .values(result={**((earlier.result or {}) if earlier is not None else {}), "told": told})
            )
    return told


async def email_welcomes(opening: Opening) -> dict[str, Any]:
    """The welcome e-mail to everyone the opening invited, when the project sends e-mail."""
    plugin = cast(EmailPlugin | None, opening.plugins.get("email") if opening.plugins is not None else None)
    if plugin is None:
        return {}
    invited = opening.results.get("people", {}).get("invited")
    if invited is None:  # failed as well: the reconcile job tries both again, invitations first
        raise RuntimeError("the people are not invited yet")
    ctx = opening.ctx
    card = await incident_card(ctx, opening.incident_id)  # with the resources made meanwhile
    commander = await user_name(ctx, card.commander_id)
    mailed = await asyncio.gather(
        *(
            welcome_email(ctx, plugin, card, person.user_id, person.roles, commander)
            for person in card.participants
            if person.user_id in invited
        )
    )
    failed = {address: m.error for m in mailed if m.status == "failed" for address in m.to}
    if failed:
        # The step fails so that the reconcile job tries again; what went out is not sent twice.
        address, error = next(iter(failed.items()))
        others = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
        raise PluginError(f"couldn't send the welcome e-mail to {address}{others}: {error}")
    return {"sent": sorted(address for m in mailed if m.ok for address in m.to)}


async def welcome_email(
    ctx: BotContext, plugin: EmailPlugin, card: IncidentCard, user_id: str, roles: list[str], commander: str
) -> mail.Mailed:
    """The welcome e-mail to one person, at their Slack profile's address; once per person and incident."""
    link = content.channel_link(mail.workspace_url(ctx), card.channel_id)
    subject, template, variables = content.welcome(card, roles, commander, link)
    address = await email_of(ctx, user_id)
    return await mail.send_once(
        ctx, plugin, card.id, f"welcome:{user_id}", [address], subject, template, variables
    )


async def welcome_person(
    ctx: BotContext, card: IncidentCard, channel_id: str, user_id: str, roles: list[str]
) -> None:
    """Someone added to the response: the ephemeral welcome in the channel and, when the project sends
    e-mail, the welcome e-mail. Slack refusing the ephemeral is raised; the e-mail never raises."""
    plugin = await mail.email_plugin(ctx, card.id)
    posted, *_ = await asyncio.gather(
        ctx.gateway.post_ephemeral(channel_id, user_id, *views.welcome(card, roles)),
        *([_welcome_email(ctx, plugin, card, user_id, roles)] if plugin is not None else []),
        return_exceptions=True,
    )
    if isinstance(posted, BaseException):
        raise posted


async def _welcome_email(
    ctx: BotContext, plugin: EmailPlugin, card: IncidentCard, user_id: str, roles: list[str]
) -> mail.Mailed:
    return await welcome_email(ctx, plugin, card, user_id, roles, await user_name(ctx, card.commander_id))


async def send_commander_tips(opening: Opening) -> dict[str, Any]:
    ctx = opening.ctx
    update_command = ctx.settings.slack_commands.get("update_incident", "/dispatch-update-incident")
    text, blocks = views.commander_tips(opening.card, update_command)
    await ctx.gateway.direct_message(opening.card.commander_id, text, blocks)
    return {}


async def page_commander(opening: Opening) -> dict[str, Any]:
    """Page the commander through their on-call service when the priority says so (else nothing)."""
    return await paging.page_commander(opening.ctx, opening.incident_id, opening.card.commander_id)


async def engage_services(opening: Opening) -> dict[str, Any]:
    """Engage the on-call of every service whose filters match the incident."""
    from bot.oncall import flows as oncall  # imported here: the on-call flows build on these ones

    outcomes = await oncall.engage_matching_services(opening.ctx, opening.card, opening.channel_id)
    unanswered = [outcome.error for outcome in outcomes if outcome.retryable]
    if unanswered:  # recorded as failed: the reconcile job tries again (engaged services are skipped)
        raise RuntimeError("; ".join(str(error) for error in unanswered))
    return {"engaged": [outcome.service for outcome in outcomes if outcome.user]}


async def _step_row(ctx: BotContext, incident_id: int, step: str) -> FlowStep | None:
    async with ctx.sessions() as session:
        return (
            await session.exec(
                select(FlowStep).where(
                    FlowStep.incident_id == incident_id, FlowStep.flow == OPEN_FLOW, FlowStep.step == step
                )
            )
        ).first()


def _duration(delay: timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _what(plugins: ProjectPlugins | None, role: str) -> str:
    """ "the Jira ticket": the vendor's name (when the plugin has one) and the role's noun."""
    label = plugins.labels.get(role, "") if plugins is not None else ""
    noun = RESOURCE_NOUNS.get(role, role.replace("_", " "))
    return f"the {label} {noun}" if label else f"the {noun}"


def resource_step(role: str) -> StepRunner:
    """The opening step making the `role` plugin's resource: recorded, bookmarked, and said once when
    it fails (and once when a retry then succeeds)."""

    async def run(opening: Opening) -> dict[str, Any]:
        return await _make_resource(opening, role)

    return run


async def _make_resource(opening: Opening, role: str) -> dict[str, Any]:
    ctx, channel = opening.ctx, opening.channel_id
    earlier = await _step_row(ctx, opening.incident_id, role)
    told = bool(earlier is not None and (earlier.result or {}).get("failure_told"))
    what = _what(opening.plugins, role)
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
    if role in resources.SHOWN_IN_DOCUMENT:  # its link goes into the document, whichever came first
        await resources.update_document(ctx, opening.incident_id)
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
    groups = await resources.group_emails(opening.ctx, opening.incident_id)
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
    "document": resources.make_document,
    "participant_group": resources.make_groups,
}
RESOURCE_NOUNS = resources.RESOURCE_NOUNS


def resource_roles(choices: dict[str, Any] | None) -> list[str]:
    """The resource roles the project's plugin choices ask for, in step order."""
    return [role for role in RESOURCE_MAKERS if role in (choices or {})]


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
        what = _what(plugins, "ticket")
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
                f"Couldn't open {_what(plugins, 'storage')} of {card.name} to the organisation: {reason}. "
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


STEPS: dict[str, StepRunner] = {
    "commander": choose_commander,
    "channel": create_channel,
    "people": invite_people,
    "details": channel_details,
    "summary": pin_summary,
    "notifications": notify_targets,
    "commander_tips": send_commander_tips,
    "page_commander": page_commander,
    "services": engage_services,
    "welcome_emails": email_welcomes,
}


@dataclass(frozen=True)
class Resumed:
    """What resuming unfinished openings did: how many incidents were taken up, and the steps that
    failed again in them, by incident name (those the next reconcile run tries once they are due)."""

    taken: int = 0
    failing: dict[str, list[str]] = field(default_factory=dict)


async def resume_openings(ctx: BotContext) -> Resumed:
    """Finish the opening of incidents a crash or a failure left incomplete."""
    async with ctx.sessions() as session:
        due = await store.incidents_with_unfinished_flow(session, OPEN_FLOW, ctx.clock())
    taken, failing = 0, {}
    for incident_id in due:
        if incident_id in ctx.openings:  # still being opened here, however slowly
            continue
        if await claim_steps(ctx, incident_id):
            taken += 1
            card = await open_incident(ctx, incident_id, resuming=True)
            async with ctx.sessions() as session:
                failed = await store.failed_steps(session, incident_id, OPEN_FLOW)
            if failed:
                failing[card.name] = failed
    return Resumed(taken, failing)


async def resume_unfinished(ctx: BotContext) -> int:
    """Finish the opening of incidents a crash or a failure left incomplete; how many were taken up."""
    return (await resume_openings(ctx)).taken
