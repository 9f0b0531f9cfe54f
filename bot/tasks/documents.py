"""Tasks kept in the incident document: a comment assigning someone becomes a task in the incident,
and resolving or re-opening it on either side is carried to the other at the next sync (every 30 s).

Each side's change is told apart by `Task.external_resolved`, the state the document showed at the
last sync: the document moved if it differs from that, Slack moved if the task differs from it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import sqlalchemy as sa
from sqlmodel import col, select

from bot.core.errors import failure_text
from bot.incidents.context import COMMANDER
from bot.incidents.engagement import user_for_email
from bot.runtime.bot_context import BotContext
from bot.tasks import flows
from bot.tasks.facts import TaskDraft
from plugins.interfaces import ExternalTask, TaskPlugin
from storage import incidents as store
from storage.models import Incident, Project, Resource, Task

logger = logging.getLogger(__name__)

DOCUMENT = "document"
# Documents read at once in one pass; each read is a Drive call in the plugin's worker pool.
CONCURRENT_READS = 8


async def sync_document_tasks(ctx: BotContext) -> str:
    """One pass over the active and stable incidents whose project keeps tasks in their document."""
    async with ctx.sessions() as session:
        rows = await session.exec(
            select(Incident.id, Project, Resource.external_id)
            .join(Project, col(Project.id) == col(Incident.project_id))
            .join(
                Resource,
                sa.and_(col(Resource.incident_id) == col(Incident.id), col(Resource.kind) == DOCUMENT),
            )
            .where(col(Incident.status).in_(["active", "stable"]))
        )
        due = [
            (incident_id, plugin, document)
            for incident_id, project, document in rows
            if incident_id is not None
            and (plugin := ctx.plugins_for(project).get("task")) is not None
            and document
        ]
    if not due:
        return "no incident keeps tasks in a document"
    reads = asyncio.Semaphore(CONCURRENT_READS)
    emails: dict[str, str | None] = {}

    async def sync(incident_id: int, plugin: object, document: str) -> int:
        async with reads:
            return await _sync_incident(ctx, incident_id, cast(TaskPlugin, plugin), document, emails)

    outcomes = await asyncio.gather(*(sync(*item) for item in due), return_exceptions=True)
    failed = 0
    for (incident_id, _, _), outcome in zip(due, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            failed += 1
            logger.warning(
                "document tasks not synced",
                extra={"incident_id": incident_id, "error": failure_text(cast(Exception, outcome))},
            )
    changes = sum(outcome for outcome in outcomes if isinstance(outcome, int))
    return f"{len(due)} document(s) read, {changes} change(s) carried over, {failed} failed"


async def _sync_incident(
    ctx: BotContext, incident_id: int, plugin: TaskPlugin, document: str, emails: dict[str, str | None]
) -> int:
    timeout = ctx.settings.plugin_timeout_seconds
    external = await asyncio.wait_for(plugin.list(document), timeout)
    async with ctx.sessions() as session:
        known = {
            task.external_id: task
            for task in await session.exec(
                select(Task).where(Task.incident_id == incident_id, col(Task.external_id).is_not(None))
            )
        }
    changes = 0
    for found in external:
        task = known.get(found.id)
        if task is None:
            changes += await _adopt(ctx, incident_id, document, found, emails)
        elif found.resolved != task.external_resolved:  # resolved or re-opened in the document
            status = "resolved" if found.resolved else "open"
            verb = "resolved" if found.resolved else "re-opened"
            event = f"The task was {verb} in the incident document: {task.description}"
            changes += await flows.set_status(ctx, task, status, None, event)
            await _seen(ctx, task, found.resolved)
        elif (task.status == "resolved") != found.resolved:  # resolved or re-opened in Slack
            resolved = task.status == "resolved"
            note = f"{'Resolved' if resolved else 'Re-opened'} in Slack"
            await asyncio.wait_for(plugin.set_resolved(document, found.id, resolved, note), timeout)
            await _seen(ctx, task, resolved)
            changes += 1
    return changes


async def _seen(ctx: BotContext, task: Task, resolved: bool) -> None:
    async with ctx.sessions() as session, session.begin():
        await (await session.connection()).execute(
            sa.update(Task).where(col(Task.id) == task.id).values(external_resolved=resolved)
        )


async def _user(ctx: BotContext, email: str | None, emails: dict[str, str | None]) -> str | None:
    if not email:
        return None
    if email not in emails:
        emails[email] = await user_for_email(ctx, email)
    return emails[email]


async def _adopt(
    ctx: BotContext, incident_id: int, document: str, found: ExternalTask, emails: dict[str, str | None]
) -> int:
    """Make the comment a task of the incident, posted in its channel like any other; a comment
    already resolved when first seen is finished work, left in the document."""
    if found.resolved:
        return 0
    async with ctx.sessions() as session:
        channel = (await store.resources(session, incident_id)).get("conversation")
        commander = await store.holder_of(session, incident_id, COMMANDER)
    if channel is None or commander is None:
        return 0
    assignees = [user for email in found.assignees if (user := await _user(ctx, email, emails))]
    creator = await _user(ctx, found.creator, emails) or commander
    draft = TaskDraft(
        request_key=f"document:{incident_id}:{document}:{found.id}",
        incident_id=incident_id,
        channel_id=channel.external_id,
        creator_id=creator,
        description=found.description[: flows.DESCRIPTION_MAX],
        assignees=tuple(assignees or [commander]),
        resolve_by=None,
    )
    # The document's link goes on the row first, so the channel message shows it.
    created = await flows.create_task(ctx, draft, weblink=found.weblink)
    async with ctx.sessions() as session, session.begin():
        await (await session.connection()).execute(
            sa.update(Task)
            .where(col(Task.id) == created.card.id)
            .values(external_id=found.id, external_resolved=found.resolved)
        )
    return 1
