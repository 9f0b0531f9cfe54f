"""Slack listeners for tasks: create one, list the incident's or my own, resolve and re-open them."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.incidents.context import require_incident
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry
from bot.slack.modals import input_value, private_metadata
from bot.tasks import flows, views
from bot.tasks.facts import TaskDraft

logger = logging.getLogger(__name__)

CREATE = CommandSpec(
    key="create_task",
    default_name="/dispatch-create-task",
    description="Create a task in this incident: what needs doing, who does it, by when.",
)
LIST = CommandSpec(
    key="list_tasks",
    default_name="/dispatch-list-tasks",
    description="This incident's tasks, open and resolved.",
)
LIST_MINE = CommandSpec(
    key="list_my_tasks",
    default_name="/dispatch-list-my-tasks",
    description="Your tasks in every incident: the ones you created, own or are assigned.",
)
FIELD_BLOCKS = {"description": views.DESCRIPTION, "due": views.DUE}


def parse_draft(body: dict[str, Any]) -> TaskDraft:
    view = body["view"]
    metadata = private_metadata(view)
    return TaskDraft(
        request_key=f"view:{view['id']}",
        incident_id=int(metadata["incident_id"]),
        channel_id=str(metadata["channel_id"]),
        creator_id=body["user"]["id"],
        description=input_value(view, views.DESCRIPTION) or "",
        assignees=tuple(input_value(view, views.ASSIGNEES) or ()),
        resolve_by=flows.due_at(input_value(view, views.DUE)),
    )


def register(registry: Registry, ctx: BotContext) -> None:
    leads_only = ctx.settings.tasks_leads_only

    @registry.command(CREATE)
    async def create_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def open_modal() -> None:
            command = registry.name_of(CREATE)
            found = await require_incident(
                ctx, respond, body["channel_id"], body["user_id"], command, leads_only=leads_only
            )
            if found is None:
                return
            metadata = {"incident_id": found.incident_id, "channel_id": found.channel_id}
            due = flows.default_due(ctx.clock())
            await ctx.gateway.open_view(
                body["trigger_id"], views.create_modal(metadata, found.incident.name, due)
            )

        ctx.tasks.spawn(open_modal(), name="task-create-modal")

    @registry.view(views.CREATE_CALLBACK)
    async def create_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        try:
            draft = parse_draft(body)
        except (KeyError, TypeError, ValueError):
            await ack(
                response_action="update",
                view=views.message_modal(
                    "Create a task", "This form could not be read (it may be out of date); nothing was saved."
                ),
            )
            return
        if not await flows.may_work_on(ctx, draft.incident_id, draft.creator_id, leads_only):
            who = "the incident commander or the scribe" if leads_only else "the incident's participants"
            await ack(
                response_action="errors", errors={views.DESCRIPTION: f"Only {who} can create its tasks."}
            )
            return
        errors = flows.check_draft(draft, ctx.clock())
        if errors:
            await ack(response_action="errors", errors={FIELD_BLOCKS[k]: v for k, v in errors.items()})
            return
        await ack()

        async def create() -> None:
            try:
                await flows.create_task(ctx, draft)
            except Exception:
                logger.exception("creating a task failed", extra={"incident_id": draft.incident_id})
                await ctx.gateway.post_ephemeral(
                    draft.channel_id,
                    draft.creator_id,
                    f"Sorry, the task could not be created. Your text: {draft.description[:500]}",
                )

        ctx.tasks.spawn(create(), name="task-create")

    async def show_list(trigger_id: str, metadata: dict[str, Any], user_id: str) -> None:
        view = await _list_view(metadata, user_id)
        await ctx.gateway.open_view(trigger_id, view)

    async def _list_view(metadata: dict[str, Any], user_id: str) -> dict[str, Any]:
        if metadata.get("mine"):
            return views.tasks_modal(await flows.my_tasks(ctx, user_id), "My tasks", {"mine": True}, True)
        incident_id = int(metadata["incident_id"])
        name = await flows.incident_name(ctx, incident_id)
        cards = await flows.incident_tasks(ctx, incident_id)
        return views.tasks_modal(cards, f"Tasks of {name}", {"incident_id": incident_id}, False)

    @registry.command(LIST)
    async def list_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def show() -> None:
            found = await require_incident(
                ctx, respond, body["channel_id"], body["user_id"], registry.name_of(LIST)
            )
            if found is not None:
                await show_list(body["trigger_id"], {"incident_id": found.incident_id}, body["user_id"])

        ctx.tasks.spawn(show(), name="task-list")

    @registry.command(LIST_MINE)
    async def list_mine_command(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        ctx.tasks.spawn(show_list(body["trigger_id"], {"mine": True}, body["user_id"]), name="task-list-mine")

    @registry.action({"action_id": re.compile(f"^{views.STATUS_BUTTON}:")})
    async def status_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = body["actions"][0]
        task_id, _, status = str(action.get("value") or "").partition(":")
        if not task_id.isdigit():
            logger.warning("task button without a task id", extra={"value": action.get("value")})
            return
        user_id = body["user"]["id"]
        view = body.get("view")
        channel_id = (body.get("channel") or {}).get("id", "")
        message_ts = (body.get("container") or {}).get("message_ts")
        clicked = (channel_id, str(message_ts)) if not view and message_ts else None

        async def change() -> None:
            card, outcome = await flows.change_status(
                ctx, int(task_id), status, user_id, leads_only, clicked=clicked
            )
            if card is None:
                await respond(
                    text="This task no longer exists.", response_type="ephemeral", replace_original=False
                )
                return
            if outcome == "refused":
                text = views.status_refused(card.incident_name)
                await respond(text=text, response_type="ephemeral", replace_original=False)
                return
            if view:  # a task list: redraw it where it is
                await ctx.gateway.update_view(view["id"], await _list_view(private_metadata(view), user_id))
            elif channel_id.startswith("D"):
                # The reminder DM: the channel's own task message was edited by the flow already.
                text, blocks = views.task_message(card)
                await respond(text=text, blocks=blocks, replace_original=True)

        ctx.tasks.spawn(change(), name="task-status")
