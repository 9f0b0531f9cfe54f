"""Slack listeners for /dispatch-run-workflow (the form, its workflow choice, its submission) and
/dispatch-list-workflows."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.core.errors import with_error_modal
from bot.incidents.context import IncidentContext, incident_context, require_incident
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry
from bot.slack.modals import input_value, private_metadata
from bot.workflows import flows, views

RUN_WORKFLOW = CommandSpec(
    key="run_workflow",
    default_name="/dispatch-run-workflow",
    description="Run one of the project's workflows for this incident; anyone taking part.",
)
LIST_WORKFLOWS = CommandSpec(
    key="list_workflows",
    default_name="/dispatch-list-workflows",
    description="The workflows run for this incident, their status and what they made.",
)
STALE_FORM = "This form could not be read (it may be out of date); nothing ran. Run the command again."


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def why_not(found: IncidentContext) -> str | None:
    """Why this person cannot run a workflow in this incident, or None."""
    if found.incident.status == "closed":
        return f"{found.incident.name} is closed: workflows run only for open incidents."
    if not found.roles:
        return f"Only people taking part in {found.incident.name} can run its workflows."
    return None


def register(registry: Registry, ctx: BotContext) -> None:
    async def open_run_form(body: dict[str, Any], respond: AsyncRespond) -> None:
        found = await require_incident(
            ctx, respond, body["channel_id"], body["user_id"], registry.name_of(RUN_WORKFLOW)
        )
        if found is None:
            return
        refusal = why_not(found)
        choices = await flows.workflow_choices(ctx, found.incident_id) if refusal is None else []
        if refusal is None and not choices:
            refusal = (
                "This project has no workflows to run. Whoever keeps the configuration can list some "
                "under the project's `workflows`."
            )
        if refusal is not None:
            await respond(response_type="ephemeral", text=refusal)
            return
        chosen = choices[0] if len(choices) == 1 else None
        metadata = {"incident_id": found.incident_id, "channel_id": found.channel_id}
        await ctx.gateway.open_view(
            body["trigger_id"], views.run_modal(found.incident.name, choices, chosen, metadata)
        )

    @registry.command(RUN_WORKFLOW)
    async def run_workflow_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ctx.tasks.spawn(open_run_form(body, respond), name="workflow-run-modal")

    @registry.action(views.WORKFLOW_ACTION)
    async def workflow_chosen(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        view = body["view"]
        metadata = private_metadata(view)
        incident_id, chosen_id = _int(metadata.get("incident_id")), _int(input_value(view, views.WORKFLOW))

        async def rebuild() -> None:
            if incident_id is None:
                await ctx.gateway.update_view(view["id"], views.message_modal(views.TITLE, STALE_FORM))
                return
            choices = await flows.workflow_choices(ctx, incident_id)
            chosen = next((c for c in choices if c.id == chosen_id), None)
            name = await flows.incident_name(ctx, incident_id)
            reason = input_value(view, views.REASON) or ""
            # With the hash: a later pick, or the submission's "Starting…", wins over this rebuild.
            await ctx.gateway.update_view(
                view["id"], views.run_modal(name, choices, chosen, metadata, reason), view.get("hash")
            )

        ctx.tasks.spawn(rebuild(), name="workflow-run-modal-choice")

    @registry.view(views.RUN_CALLBACK)
    async def run_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view, user_id = body["view"], body["user"]["id"]
        metadata = private_metadata(view)
        incident_id, channel_id = _int(metadata.get("incident_id")), str(metadata.get("channel_id") or "")
        found = await incident_context(ctx, channel_id, user_id) if incident_id is not None else None
        if found is None or found.incident_id != incident_id:
            await ack(response_action="update", view=views.message_modal(views.TITLE, STALE_FORM))
            return
        # The form's incident is checked again: its context is only as honest as its sender.
        refusal = why_not(found)
        if refusal is not None:
            await ack(response_action="update", view=views.message_modal(views.TITLE, refusal))
            return
        workflow_id = _int(input_value(view, views.WORKFLOW))
        choices = await flows.workflow_choices(ctx, found.incident_id)
        chosen = next((c for c in choices if c.id == workflow_id), None)
        # A parameter the form did not show (the configuration changed meanwhile) keeps its default.
        entered = (
            {p.key: input_value(view, views.parameter_block(chosen.id, p.key)) for p in chosen.parameters}
            if chosen
            else {}
        )
        parameters = {key: str(value).strip() for key, value in entered.items() if value is not None}
        request = flows.RunRequest(
            request_key=f"view:{view['id']}",
            incident_id=found.incident_id,
            user_id=user_id,
            workflow_id=workflow_id or 0,
            reason=str(input_value(view, views.REASON) or ""),
            parameters=parameters,
        )
        problems = flows.check_request(request, choices)
        if problems:
            has_reason = any(b.get("block_id") == views.REASON for b in view.get("blocks", []))
            errors = {views.WORKFLOW: problems["workflow"]} if "workflow" in problems else {}
            if "reason" in problems:
                errors[views.REASON if has_reason else views.WORKFLOW] = problems["reason"]
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="update", view=views.message_modal(views.TITLE, "⏳ Starting…"))

        async def start() -> None:
            instance = await flows.start(ctx, request)
            await ctx.gateway.update_view(
                view["id"], views.message_modal(views.TITLE, views.result_text(instance))
            )

        ctx.tasks.spawn(with_error_modal(ctx, view["id"], views.TITLE, start()), name="workflow-run")

    async def open_runs(body: dict[str, Any], respond: AsyncRespond) -> None:
        found = await require_incident(
            ctx, respond, body["channel_id"], body["user_id"], registry.name_of(LIST_WORKFLOWS)
        )
        if found is None:
            return
        runs = await flows.runs(ctx, found.incident_id)
        modal = views.runs_modal(found.incident.name, runs, registry.name_of(RUN_WORKFLOW))
        await ctx.gateway.open_view(body["trigger_id"], modal)

    @registry.command(LIST_WORKFLOWS)
    async def list_workflows_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ctx.tasks.spawn(open_runs(body, respond), name="workflow-list-modal")
