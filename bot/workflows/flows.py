"""Running a workflow for an incident and following its run; no Slack shapes here, only facts.

A run is claimed once per submitted form before the external system is called, so a redelivered
submission starts nothing twice. The `workflow-runs` job reads the state of every unfinished run,
tells the channel when it changes, and starts again a run whose start a crash cut short (with the
same run key, which the external system uses to recognise it).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from bot.core.errors import failure_text, plugin_call
from bot.incidents.card import incident_card
from bot.runtime.bot_context import BotContext
from bot.workflows import views
from bot.workflows.facts import Parameter, WorkflowChoice
from plugins.errors import PluginError, PluginNoAnswer, PluginNotFound
from plugins.interfaces import WorkflowPlugin, WorkflowRun
from storage import incidents as incident_store
from storage import workflows as store
from storage.models import Incident, Project, Workflow, WorkflowInstance

logger = logging.getLogger(__name__)

STARTING = "starting"
# The statuses after which a run changes no more (vendors' words, lower-cased).
FINAL = frozenset(
    {"completed", "succeeded", "success", "failed", "error", "cancelled", "canceled", "lost", "abandoned"}
)
# A run its system has not reported ended after this long is no longer followed.
FOLLOW_FOR = timedelta(days=7)
# A start with no answer (a timeout, a crash mid-start) is asked for again this long after the last
# try, with the same key; after START_WINDOW it is given up on and said to be uncertain.
START_LEASE = timedelta(minutes=2)
START_WINDOW = timedelta(minutes=10)
CONCURRENT_POLLS = 8


@dataclass(frozen=True)
class RunRequest:
    """A submitted "Run workflow" form."""

    request_key: str
    incident_id: int
    user_id: str
    workflow_id: int
    reason: str
    parameters: Mapping[str, str]


class NotAvailable(Exception):
    """Why no workflow can be run here; a sentence for the person who asked."""


async def workflow_choices(ctx: BotContext, incident_id: int) -> list[WorkflowChoice]:
    """The enabled workflows of the incident's project, by name."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        workflows = await store.enabled_workflows(session, incident.project_id)
    return [
        WorkflowChoice(
            id=workflow.id or 0,
            name=workflow.name,
            description=workflow.description,
            parameters=[
                Parameter(str(p.get("key", "")), str(p.get("value") or ""), str(p.get("description") or ""))
                for p in workflow.parameters
                if p.get("key")
            ],
        )
        for workflow in workflows
    ]


async def incident_name(ctx: BotContext, incident_id: int) -> str:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
    return incident.name if incident is not None else ""


def check_request(request: RunRequest, choices: list[WorkflowChoice]) -> dict[str, str]:
    """Problems by form field ("workflow", "reason"); empty when the run can start."""
    problems: dict[str, str] = {}
    if request.workflow_id not in {choice.id for choice in choices}:
        problems["workflow"] = (
            "Choose one of the project's workflows (it may have been turned off meanwhile)."
        )
    if not request.reason.strip():
        problems["reason"] = "Say why it should run: the channel and the timeline show it."
    return problems


def _plugin(ctx: BotContext, project: Project, workflow_plugin: str) -> WorkflowPlugin:
    """The plugin the workflow names, with the project's options for it when the project chose it."""
    chosen = (project.plugins or {}).get("workflow") or {}
    choice = chosen if chosen.get("plugin") == workflow_plugin else {"plugin": workflow_plugin}
    built = ctx.plugins.for_project(project.name, {"workflow": choice})
    plugin = built.get("workflow")
    if plugin is None:
        raise NotAvailable(
            f"The workflow plugin {workflow_plugin!r} cannot run: {built.problems.get('workflow')}."
        )
    return cast(WorkflowPlugin, plugin)


async def start(ctx: BotContext, request: RunRequest) -> WorkflowInstance:
    """Claim the run of this form and start it, once; the channel is told how it went."""
    async with ctx.sessions() as session:
        workflow = await session.get(Workflow, request.workflow_id)
        assert workflow is not None
        now = ctx.clock()
        instance, made = await store.claim_instance(
            session,
            {
                "incident_id": request.incident_id,
                "workflow_id": workflow.id,
                "workflow_name": workflow.name,
                "creator_id": request.user_id,
                "reason": request.reason.strip(),
                "parameters": dict(request.parameters),
                "request_key": request.request_key,
                "run_key": uuid.uuid4().hex,
                "status": STARTING,
                "created_at": now,
                "updated_at": now,
            },
        )
    if not made:
        return instance  # another delivery of the same form has it
    return await _start(ctx, instance)


async def _start(ctx: BotContext, instance: WorkflowInstance) -> WorkflowInstance:
    """Ask the workflow's system to start the run (again, with the same key, after a lost answer)."""
    assert instance.id is not None
    card = await incident_card(ctx, instance.incident_id)
    try:
        workflow, plugin = await _workflow_plugin(ctx, instance)
        context = {
            "workflow": workflow.name,
            "reason": instance.reason,
            "requested_by": instance.creator_id,
            "incident": {
                "name": card.name,
                "title": card.title,
                "status": card.status,
                "severity": card.severity,
                "priority": card.priority,
                "type": card.type,
                "channel": card.channel_id or "",
                "commander": card.commander_id,
            },
        }
        defaults = {str(p["key"]): str(p.get("value") or "") for p in workflow.parameters if p.get("key")}
        run = await plugin_call(
            ctx,
            plugin.run(
                workflow.external_id,
                {**defaults, **instance.parameters},
                key=instance.run_key,
                context=context,
            ),
        )
    except PluginNoAnswer as error:
        # It may have started: the job asks again with the same key, which the system recognises.
        return await _unanswered(ctx, instance, card.channel_id, failure_text(error))
    except Exception as error:
        if not isinstance(error, PluginError | NotAvailable):
            logger.exception("workflow start failed", extra={"incident_id": instance.incident_id})
        return await _not_started(ctx, instance, card.channel_id, failure_text(error))
    async with ctx.sessions() as session:
        saved = await store.advance(
            session, instance.id, from_status=STARTING, unstarted=True, **_state(ctx, run)
        )
    if saved is None:  # another process had it answered for meanwhile, and says so
        return instance
    await _record(
        ctx,
        saved,
        f"<@{saved.creator_id}> started the workflow {saved.workflow_name}: {saved.reason}",
        "started",
    )
    await _tell(ctx, card.channel_id, views.started_text(saved))
    if saved.finished_at is not None:  # some systems answer with the run already done
        await _tell(ctx, card.channel_id, views.status_text(saved))
    return saved


async def _workflow_plugin(ctx: BotContext, instance: WorkflowInstance) -> tuple[Workflow, WorkflowPlugin]:
    """The run's workflow as configured now, and the plugin that runs it."""
    async with ctx.sessions() as session:
        workflow = await session.get(Workflow, instance.workflow_id) if instance.workflow_id else None
        project = await session.get(Project, workflow.project_id) if workflow else None
    if workflow is None or project is None:
        raise NotAvailable("The workflow is no longer in the project's configuration.")
    return workflow, _plugin(ctx, project, workflow.plugin)


def _artifacts(run: WorkflowRun) -> list[dict[str, Any]]:
    return [{"name": a.name, "weblink": a.weblink} for a in run.artifacts]


def _state(ctx: BotContext, run: WorkflowRun) -> dict[str, Any]:
    """The columns a run's answer sets."""
    now = ctx.clock()
    return {
        "external_id": run.id,
        "status": run.status,
        "weblink": run.weblink,
        "status_url": run.status_url,
        "artifacts": _artifacts(run),
        "error": None,
        "finished_at": now if run.status in FINAL else None,
        "updated_at": now,
    }


async def _not_started(
    ctx: BotContext, instance: WorkflowInstance, channel_id: str | None, reason: str
) -> WorkflowInstance:
    assert instance.id is not None
    logger.warning("workflow not started", extra={"incident_id": instance.incident_id, "error": reason})
    now = ctx.clock()
    async with ctx.sessions() as session:
        saved = await store.advance(
            session, instance.id, from_status=STARTING, unstarted=True, **_failed(reason, now)
        )
    if saved is None:
        return instance
    await _tell(ctx, channel_id, views.not_started_text(saved))
    return saved


def _failed(reason: str, now: datetime) -> dict[str, Any]:
    return {"status": "failed", "error": reason[:1000], "finished_at": now, "updated_at": now}


async def _unanswered(
    ctx: BotContext, instance: WorkflowInstance, channel_id: str | None, reason: str
) -> WorkflowInstance:
    """No answer to the start: said once, the run kept for the job to ask again; given up on (and
    said) once START_WINDOW has passed since it was asked for."""
    assert instance.id is not None
    logger.warning("workflow start unanswered", extra={"incident_id": instance.incident_id, "error": reason})
    now = ctx.clock()
    if now - instance.created_at >= START_WINDOW:
        async with ctx.sessions() as session:
            saved = await store.advance(
                session, instance.id, from_status=STARTING, unstarted=True, **_failed(reason, now)
            )
        if saved is not None:
            await _tell(ctx, channel_id, views.interrupted_text(saved))
        return saved or instance
    first = instance.error is None
    async with ctx.sessions() as session:
        saved = await store.advance(
            session, instance.id, from_status=STARTING, unstarted=True, error=reason[:1000], updated_at=now
        )
    if saved is not None and first:
        await _tell(ctx, channel_id, views.unanswered_text(saved))
    return saved or instance


async def _record(ctx: BotContext, instance: WorkflowInstance, text: str, what: str) -> None:
    async with ctx.sessions() as session, session.begin():
        await incident_store.add_timeline_event(
            session,
            instance.incident_id,
            "workflow",
            text,
            actor=instance.creator_id if what == "started" else None,
            occurred_at=ctx.clock(),
            details={
                "workflow": instance.workflow_name,
                "run": instance.external_id,
                "status": instance.status,
            },
            dedupe_key=f"workflow:{instance.id}:{what}",
        )


async def _tell(ctx: BotContext, channel_id: str | None, text: str) -> None:
    if not channel_id:
        return
    try:
        await ctx.gateway.post(channel_id, text)
    except Exception:
        # An archived channel (a closed incident) takes no messages: the run is still followed.
        logger.info("could not tell the channel about a workflow run", exc_info=True)


async def runs(ctx: BotContext, incident_id: int) -> list[WorkflowInstance]:
    async with ctx.sessions() as session:
        return await store.runs_of(session, incident_id)


async def follow_runs(ctx: BotContext) -> str:
    """The `workflow-runs` job: read each unfinished run's state, tell its channel what changed; ask
    again for runs whose start got no answer."""
    async with ctx.sessions() as session:
        unfinished = await store.unfinished_runs(session)
    limit = asyncio.Semaphore(CONCURRENT_POLLS)
    now = ctx.clock()

    async def follow(instance: WorkflowInstance, channel: str | None) -> str:
        async with limit:
            if instance.external_id is None:
                assert instance.id is not None
                async with ctx.sessions() as session:
                    taken = await store.take_stalled_start(session, instance.id, now - START_LEASE, now)
                if not taken:
                    return "starting"
                await _start(ctx, instance)
                return "restarted"
            return await _follow(ctx, instance, channel)

    outcomes = await asyncio.gather(
        *(follow(instance, channel) for instance, channel in unfinished),
        return_exceptions=True,
    )
    changed = sum(1 for outcome in outcomes if outcome in {"changed", "restarted"})
    failed = sum(1 for outcome in outcomes if isinstance(outcome, BaseException) or outcome == "unread")
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            logger.error("following a workflow run failed", exc_info=outcome)
    return f"followed {len(unfinished)} run(s): {changed} changed, {failed} could not be read"


async def _follow(ctx: BotContext, instance: WorkflowInstance, channel: str | None) -> str:
    assert instance.external_id is not None
    if instance.created_at < ctx.clock() - FOLLOW_FOR:
        await _changed(ctx, instance, channel, WorkflowRun(id=instance.external_id, status="abandoned"))
        return "changed"
    try:
        workflow, plugin = await _workflow_plugin(ctx, instance)
        run = await plugin_call(
            ctx, plugin.get_instance(workflow.external_id, instance.external_id, instance.status_url)
        )
    except PluginNotFound:
        run = WorkflowRun(id=instance.external_id, status="lost")
    except (PluginError, NotAvailable) as error:
        logger.warning(
            "workflow run not read", extra={"incident_id": instance.incident_id, "error": str(error)}
        )
        return "unread"
    artifacts = _artifacts(run)
    if run.status == instance.status and (not artifacts or artifacts == instance.artifacts):
        return "same"
    await _changed(ctx, instance, channel, run)
    return "changed"


async def _changed(
    ctx: BotContext, instance: WorkflowInstance, channel: str | None, run: WorkflowRun
) -> None:
    """Save how the run stands now; a new status is told in the channel, a final one put on the
    timeline, by whichever process saved it first."""
    assert instance.id is not None
    state = _state(ctx, run)
    state["weblink"] = state["weblink"] or instance.weblink
    state["status_url"] = state["status_url"] or instance.status_url
    state["artifacts"] = state["artifacts"] or instance.artifacts
    async with ctx.sessions() as session:
        saved = await store.advance(session, instance.id, from_status=instance.status, **state)
    if saved is None or saved.status == instance.status:
        return
    await _tell(ctx, channel, views.status_text(saved))
    if saved.finished_at is not None:
        await _record(
            ctx, saved, f"The workflow {saved.workflow_name} {views.final_word(saved.status)}", "finished"
        )
