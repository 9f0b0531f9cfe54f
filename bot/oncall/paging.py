"""Paging an on-call through the on-call plugin, once per incident and service, and the commander's page
when the priority asks for it. Kept free of the incident flows so that their opening can call it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from bot.runtime.bot_context import BotContext
from plugins.interfaces import OnCallPlugin, Page
from storage import incidents as store
from storage.models import Incident, IncidentPriority, Project, Resource, Service

logger = logging.getLogger(__name__)

ENGAGED, PAGED = "oncall", "oncall_page"


def page_key(incident: Incident, service: Service) -> str:
    """The same incident and service always give the same key, so the on-call system pages once."""
    return f"dispatch-bot/{incident.name}/{service.external_id}"


def oncall_plugin(ctx: BotContext, project: Project) -> tuple[OnCallPlugin | None, str | None]:
    """The project's on-call plugin, or None with the reason in words."""
    built = ctx.plugins_for(project)
    if built.oncall is not None:
        return built.oncall, None
    if "oncall" in built.problems:
        return None, f"The on-call plugin of project {project.name} cannot run: {built.problems['oncall']}."
    return None, (
        f"Project {project.name} has no on-call plugin. Choose one in the config file "
        "(`plugins: {oncall: {plugin: pagerduty}}`) and run `dispatch-bot config apply`."
    )


@dataclass(frozen=True)
class Paged:
    page: Page
    already: bool
    """True when this incident had paged the service before, so nothing was sent now."""


async def page_service(
    ctx: BotContext,
    plugin: OnCallPlugin,
    incident: Incident,
    service: Service,
    user: str,
    requested_by: str | None,
) -> Paged:
    """Page the service's on-call (`user` in Slack) for the incident; PluginError when it fails."""
    assert incident.id is not None
    async with ctx.sessions() as session:
        earlier = (await store.resources(session, incident.id)).get(f"{PAGED}:{service.name}")
    if earlier is not None:
        return Paged(Page(earlier.external_id, earlier.weblink, created=False), already=True)
    page = await plugin.page(
        service.external_id,
        page_key(incident, service),
        f"{incident.name}: {incident.title}",
        incident.description or incident.title,
    )
    by = f"<@{requested_by}> paged" if requested_by else "Paged"
    async with ctx.sessions() as session, session.begin():
        await store.record_resource(session, incident.id, PAGED, page.id, page.weblink, name=service.name)
        await store.add_timeline_event(
            session,
            incident.id,
            "oncall_paged",
            f"{by} <@{user}> through {service.name}",
            actor=requested_by,
            occurred_at=ctx.clock(),
            details={"service": service.name, "page": page.id, "link": page.weblink},
            dedupe_key=f"page:{page.id}",
        )
    return Paged(page, already=False)


async def page_commander(ctx: BotContext, incident_id: int, commander: str) -> dict[str, Any]:
    """When the incident's priority pages the commander: page the on-call service that made them commander.

    A commander chosen by hand, or by a policy naming a person, has no service to page through; that
    is logged and the step is done.
    """
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        priority = (
            await session.get(IncidentPriority, incident.incident_priority_id)
            if incident.incident_priority_id
            else None
        )
        if priority is None or not priority.page_commander:
            return {}
        project = await session.get(Project, incident.project_id)
        assert project is not None
        engaged = (
            await session.exec(
                select(Resource).where(
                    Resource.incident_id == incident_id,
                    Resource.kind == ENGAGED,
                    Resource.external_id == commander,
                )
            )
        ).first()
        service = (
            (
                await session.exec(
                    select(Service).where(Service.project_id == project.id, Service.name == engaged.name)
                )
            ).first()
            if engaged is not None
            else None
        )
    if service is None:
        logger.info(
            "priority %s pages the commander, but %s was not made commander through an on-call service",
            priority.name,
            incident.name,
        )
        return {"paged": False, "reason": "the commander was not resolved through an on-call service"}
    plugin, problem = oncall_plugin(ctx, project)
    if plugin is None:
        logger.warning("cannot page the commander of %s: %s", incident.name, problem)
        return {"paged": False, "reason": problem}
    paged = await page_service(ctx, plugin, incident, service, commander, None)
    return {"paged": True, "page": paged.page.id, "service": service.name}
