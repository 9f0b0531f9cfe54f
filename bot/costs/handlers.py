"""Slack listeners for costs: each message in an incident channel recorded as activity, and adding a cost."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.core.errors import with_error_modal
from bot.costs import flows, views
from bot.incidents import report_views
from bot.incidents.context import may_lead, require_incident
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry
from bot.slack.modals import input_value, private_metadata

ADD_COST = CommandSpec(
    key="add_cost",
    default_name="/dispatch-add-cost",
    description="Add a cost to this incident (vendor support, credits, travel…); commander or scribe.",
)
LEADS_ONLY = "Only the incident commander or the scribe can add costs."
STALE_FORM = "This form could not be read (it may be out of date); nothing was added. Run the command again."
NO_TYPES = (
    "This project has no cost types to add to, only the computed response cost. "
    "Whoever keeps the configuration can list some under the project's `cost_types`."
)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def register(registry: Registry, ctx: BotContext) -> None:
    async def add_cost_modal(incident_id: int) -> dict[str, Any] | None:
        form = await flows.add_cost_form(ctx, incident_id)
        if not form.cost_types:
            return None
        return views.add_cost_modal(
            form.incident_name, form.total_cents, form.cost_types, {"incident_id": incident_id}
        )

    async def open_from_command(body: dict[str, Any], respond: AsyncRespond) -> None:
        command = registry.name_of(ADD_COST)
        found = await require_incident(
            ctx, respond, body["channel_id"], body["user_id"], command, leads_only=True
        )
        if found is None:
            return
        modal = await add_cost_modal(found.incident_id)
        if modal is None:
            await respond(response_type="ephemeral", text=NO_TYPES)
            return
        await ctx.gateway.open_view(body["trigger_id"], modal)

    @registry.command(ADD_COST)
    async def add_cost_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ctx.tasks.spawn(open_from_command(body, respond), name="cost-add-modal")

    async def push_from_update_modal(body: dict[str, Any]) -> None:
        incident_id = _int(private_metadata(body.get("view") or {}).get("incident_id"))
        trigger_id = body["trigger_id"]
        if incident_id is None:
            await ctx.gateway.push_view(trigger_id, report_views.message_modal(views.TITLE, STALE_FORM))
            return
        if not await may_lead(ctx, incident_id, body["user"]["id"]):
            await ctx.gateway.push_view(trigger_id, report_views.message_modal(views.TITLE, LEADS_ONLY))
            return
        modal = await add_cost_modal(incident_id)
        await ctx.gateway.push_view(trigger_id, modal or report_views.message_modal(views.TITLE, NO_TYPES))

    @registry.action(views.ADD_COST_BUTTON)
    async def add_cost_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        ctx.tasks.spawn(push_from_update_modal(body), name="cost-add-modal")

    @registry.view(views.ADD_COST_CALLBACK)
    async def add_cost_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body["view"]
        incident_id = _int(private_metadata(view).get("incident_id"))
        if incident_id is None:
            await ack(response_action="update", view=report_views.message_modal(views.TITLE, STALE_FORM))
            return
        user_id = body["user"]["id"]
        # The form's incident is re-checked: its context is only as honest as its sender.
        if not await may_lead(ctx, incident_id, user_id):
            await ack(response_action="errors", errors={views.AMOUNT: LEADS_ONLY})
            return
        cents = flows.parse_amount(input_value(view, views.AMOUNT))
        cost_type_id = _int(input_value(view, views.COST_TYPE))
        errors: dict[str, str] = {}
        if isinstance(cents, str):
            errors[views.AMOUNT] = cents
        type_error = await flows.check_cost_type(ctx, incident_id, cost_type_id)
        if type_error is not None:
            errors[views.COST_TYPE] = type_error
        if errors or isinstance(cents, str) or cost_type_id is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="update", view=report_views.message_modal(views.TITLE, "⏳ Saving…"))
        cost = flows.ManualCost(incident_id, user_id, cost_type_id, cents, request_key=str(view["id"]))

        async def save() -> None:
            added = await flows.add_manual_cost(ctx, cost)
            await ctx.gateway.show_result(
                view["id"],
                user_id,
                views.added_modal(added.type_name, added.cents, added.total_cents, added.incident_name),
            )

        ctx.tasks.spawn(with_error_modal(ctx, view["id"], views.TITLE, save(), user_id), name="cost-add")
