"""Reporting an incident: the report modal's content, its checks, and saving it.

`save_report` commits the incident (numbered atomically, keyed by the request so a redelivered
submission finds it) together with the pending steps of its opening, which `opening_runner` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.incidents import naming, report_views
from bot.incidents.context import COMMANDER
from bot.incidents.facts import Choice, ReportForm
from bot.incidents.opening import CLAIM, OPEN_FLOW, OPEN_STEPS
from bot.incidents.resource_steps import resource_roles
from bot.knowledge import tags as found_tags
from bot.runtime.bot_context import BotContext
from storage import incidents as store
from storage.models import FlowStep, Incident, Project
from storage.workspace import enabled_projects, project_choices

REPORTER = "Reporter"


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
        errors[report_views.TITLE] = "Give the incident a title."
    async with ctx.sessions() as session:
        project = await session.get(Project, report.project_id)
        if project is None or not project.enabled:
            errors[report_views.PROJECT] = "This project is not available any more; choose another."
            return errors
        choices = await project_choices(session, project)
    for block_id, chosen, allowed in (
        (report_views.TYPE, report.type_id, choices.types),
        (report_views.SEVERITY, report.severity_id, choices.severities),
        (report_views.PRIORITY, report.priority_id, choices.priorities),
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
            await found_tags.discover(session, incident, now)
            for step in (*OPEN_STEPS, *resource_roles(project_plugins)):
                session.add(
                    FlowStep(
                        incident_id=incident.id,
                        flow=OPEN_FLOW,
                        step=step,
                        next_attempt_at=now + CLAIM,
                        claimed_by=str(ctx.process["instance"]),
                    )
                )
            return incident.id, True
    except IntegrityError:
        # The same submission, delivered twice at once: the other delivery saved it first.
        async with ctx.sessions() as session:
            existing = await store.incident_by_request(session, report.request_key)
        if existing is None or existing.id is None:
            raise
        return existing.id, False
