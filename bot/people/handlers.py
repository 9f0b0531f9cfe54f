"""Slack listeners for an incident's people: role assignment, the participant list and reasons, and
the channel events (joins, leaves, messages) that keep the participant list true."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.core.errors import with_error_modal
from bot.incidents import channel_views
from bot.incidents.context import may_see, require_incident
from bot.people import flows, membership, roles, views
from bot.people.messages import ChannelMessage, MessageDispatcher
from bot.people.profiles import Profiles
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry
from bot.slack.modals import input_value, private_metadata

logger = logging.getLogger(__name__)

ASSIGN_ROLE = CommandSpec(
    key="assign_role",
    default_name="/dispatch-assign-role",
    description="Give someone a role in this incident (commander, scribe, liaison…); commander or scribe.",
    usage_hint="[@person]",
)
LIST_PARTICIPANTS = CommandSpec(
    key="list_participants",
    default_name="/dispatch-list-participants",
    description="Who takes part in this incident: roles, team, time zone, and why they are here.",
)
UPDATE_PARTICIPANT = CommandSpec(
    key="update_participant",
    default_name="/dispatch-update-participant",
    description="Say why you take part and what you know about (leads can do it for anyone).",
    usage_hint="[@person]",
)

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
FIELD_BLOCKS = {flows.PERSON: views.PERSON, flows.ROLE: views.ROLE}


def mentioned_user(text: str) -> str | None:
    """The first user mentioned in a command's text (Slack sends `<@U123|name>` for `@name`)."""
    found = MENTION.search(text or "")
    return found.group(1) if found else None


def _state(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict((view.get("state") or {}).get("values") or {})


def _reason_block(view: dict[str, Any]) -> str | None:
    return next((block_id for block_id in _state(view) if block_id.startswith(views.REASON_PREFIX)), None)


def _event_key(body: dict[str, Any], event: dict[str, Any]) -> str:
    """What identifies one event across redeliveries: Slack keeps event_ts (and event_id) for a retry."""
    return str(event.get("event_ts") or body.get("event_id") or uuid.uuid4().hex)


def register(registry: Registry, ctx: BotContext) -> None:
    registry.require_scopes(
        "channels:read",
        "groups:read",
        "channels:history",
        "groups:history",
        "users:read",
        "users:read.email",
        "channels:manage",
        "groups:write",
        "im:write",
    )
    profiles = Profiles(ctx.slack)

    @registry.on_message
    async def activity(message: ChannelMessage) -> None:
        await membership.count_activity(ctx, profiles, message)

    messages = MessageDispatcher(ctx, registry.message_hooks)

    # ----- /dispatch-assign-role -----

    async def open_assign_modal(
        respond: AsyncRespond, channel_id: str, user_id: str, trigger_id: str, text: str = ""
    ) -> None:
        command = registry.name_of(ASSIGN_ROLE)
        found = await require_incident(ctx, respond, channel_id, user_id, command, leads_only=True)
        if found is None:
            return
        metadata = {"incident_id": found.incident_id, "channel_id": found.channel_id}
        person = mentioned_user(text)
        if person:
            ctx.tasks.spawn(_look_up(person), name="assign-role-profile")
        await ctx.gateway.open_view(trigger_id, views.assign_modal(metadata, flows.ASSIGNABLE_ROLES, person))

    async def _look_up(user_id: str) -> None:
        """Fetch a chosen person's profile now, so the check at submit reads it without a Slack call."""
        try:
            await profiles.get(user_id, fresh=True)
        except Exception:
            logger.info("could not look up %s ahead of an assignment", user_id, exc_info=True)

    @registry.action(views.PERSON_CHOSEN)
    async def assign_person_chosen(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        chosen = (body.get("actions") or [{}])[0].get("selected_user")
        if chosen:
            ctx.tasks.spawn(_look_up(str(chosen)), name="assign-role-profile")

    @registry.command(ASSIGN_ROLE)
    async def assign_role_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ctx.tasks.spawn(
            open_assign_modal(
                respond, body["channel_id"], body["user_id"], body["trigger_id"], body.get("text", "")
            ),
            name="assign-role-modal",
        )

    @registry.action(channel_views.ASSIGN_ROLE_BUTTON)
    async def assign_role_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        channel = (body.get("channel") or {}).get("id", "")
        ctx.tasks.spawn(
            open_assign_modal(respond, channel, body["user"]["id"], body["trigger_id"]),
            name="assign-role-modal",
        )

    @registry.view(views.ASSIGN_CALLBACK)
    async def assign_role_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view, user = body["view"], body["user"]["id"]
        metadata = private_metadata(view)
        incident_id, channel_id = metadata.get("incident_id"), str(metadata.get("channel_id") or "")
        if not isinstance(incident_id, int) or not await roles.may_assign(ctx, channel_id, incident_id, user):
            await ack(
                response_action="update",
                view=views.message_modal(
                    "Assign a role",
                    "Only the incident commander or the scribe of this incident can assign roles, "
                    "and you are not (any more). Nothing was changed.",
                ),
            )
            return
        assignment = roles.Assignment(
            incident_id=incident_id,
            channel_id=channel_id,
            user_id=input_value(view, views.PERSON) or "",
            role=input_value(view, views.ROLE) or "",
            assigned_by=user,
        )
        errors = await roles.check_assignment(ctx, profiles, assignment)
        if errors:
            await ack(response_action="errors", errors={FIELD_BLOCKS[k]: v for k, v in errors.items()})
            return
        await ack(response_action="update", view=views.assigning_modal())

        async def assign() -> None:
            outcome = await roles.assign_role(ctx, profiles, assignment)
            card_name = await flows.incident_name(ctx, incident_id)
            await ctx.gateway.update_view(
                view["id"],
                views.assigned_modal(assignment.user_id, assignment.role, card_name, outcome.problems),
            )

        ctx.tasks.spawn(with_error_modal(ctx, view["id"], "Assign a role", assign()), name="assign-role")

    # ----- /dispatch-list-participants -----

    @registry.command(LIST_PARTICIPANTS)
    async def list_participants_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def show() -> None:
            found = await require_incident(ctx, respond, body["channel_id"], body["user_id"], body["command"])
            if found is None:
                return
            view_id = await ctx.gateway.open_view(body["trigger_id"], views.loading_modal("Participants"))
            await with_error_modal(ctx, view_id, "Participants", _show_page(view_id, found.incident_id, 0))

        ctx.tasks.spawn(show(), name="list-participants")

    async def _show_page(view_id: str, incident_id: int, page: int) -> None:
        shown = await flows.participant_page(ctx, profiles, incident_id, page)
        await ctx.gateway.update_view(
            view_id, views.participants_modal(shown, show_avatars=shown.total <= flows.PAGE_SIZE)
        )

    @registry.action({"block_id": views.PAGES})
    async def participants_page(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        view = body["view"]
        incident_id = private_metadata(view).get("incident_id")
        try:
            page = int(body["actions"][0].get("value") or 0)
        except (TypeError, ValueError):
            page = 0
        if isinstance(incident_id, int) and await may_see(ctx, incident_id, body["user"]["id"]):
            ctx.tasks.spawn(
                with_error_modal(ctx, view["id"], "Participants", _show_page(view["id"], incident_id, page)),
                name="list-participants-page",
            )

    # ----- /dispatch-update-participant -----

    @registry.command(UPDATE_PARTICIPANT)
    async def update_participant_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def open_modal() -> None:
            user = body["user_id"]
            found = await require_incident(ctx, respond, body["channel_id"], user, body["command"])
            if found is None:
                return
            target = mentioned_user(body.get("text", "")) or user
            if target != user and not found.leads:
                await respond(
                    response_type="ephemeral",
                    text=(
                        "You can update your own entry; the incident commander or the scribe can "
                        f"update anyone's. Run `{body['command']}` without a name to update yours."
                    ),
                )
                return
            reason = await flows.current_reason(ctx, found.incident_id, target)
            metadata = {"incident_id": found.incident_id, "channel_id": found.channel_id}
            await ctx.gateway.open_view(
                body["trigger_id"], views.update_modal(metadata, target, reason, choose_person=found.leads)
            )

        ctx.tasks.spawn(open_modal(), name="update-participant-modal")

    @registry.action(views.UPDATE_PERSON_ACTION)
    async def update_person_chosen(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        view = body["view"]
        metadata = private_metadata(view)
        target = body["actions"][0].get("selected_user")
        incident_id = metadata.get("incident_id")
        if not target or not isinstance(incident_id, int):
            return

        async def rebuild() -> None:
            reason = await flows.current_reason(ctx, incident_id, target)
            await ctx.gateway.update_view(
                view["id"], views.update_modal(metadata, target, reason, choose_person=True)
            )

        ctx.tasks.spawn(rebuild(), name="update-participant-person")

    @registry.view(views.UPDATE_CALLBACK)
    async def update_participant_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view, actor = body["view"], body["user"]["id"]
        metadata = private_metadata(view)
        incident_id, channel_id = metadata.get("incident_id"), str(metadata.get("channel_id") or "")
        reason_block = _reason_block(view) or f"{views.REASON_PREFIX}{actor}"
        reason = input_value(view, reason_block) or ""
        chosen = input_value(view, views.UPDATE_PERSON)
        target = chosen or str(metadata.get("target") or actor)
        if not isinstance(incident_id, int):
            await ack(
                response_action="update", view=views.message_modal("Update participant", "Nothing saved.")
            )
            return
        if chosen and chosen != reason_block.removeprefix(views.REASON_PREFIX):
            # Submitted before the modal reloaded for the newly chosen person: the text is someone else's.
            await ack(
                response_action="errors",
                errors={views.UPDATE_PERSON: "Loading this person's entry; check the text and save again."},
            )
            return
        errors = await flows.check_reason_update(ctx, incident_id, channel_id, actor, target, reason)
        if errors:
            blocks = {flows.PERSON: views.UPDATE_PERSON, flows.REASON: reason_block}
            if flows.PERSON in errors and chosen is None:
                errors = {flows.REASON: errors[flows.PERSON]}  # no person picker shown to point at
            await ack(response_action="errors", errors={blocks[k]: v for k, v in errors.items()})
            return
        await ack()

        async def save() -> None:
            await flows.save_reason(ctx, profiles, incident_id, actor, target, reason)
            name = await flows.incident_name(ctx, incident_id)
            await ctx.gateway.post_ephemeral(
                channel_id, actor, views.reason_saved(actor, target, reason, name)
            )

        ctx.tasks.spawn(save(), name="update-participant")

    # ----- channel events -----

    @registry.event("member_joined_channel")
    async def member_joined(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        user = event.get("user")
        if not user or user == context.bot_user_id:
            return
        inviter = event.get("inviter")
        human_inviter = inviter if inviter and inviter != context.bot_user_id else None
        ctx.tasks.spawn(
            membership.member_joined(
                ctx, profiles, event["channel"], user, human_inviter, _event_key(body, event)
            ),
            name="member-joined",
        )

    @registry.event("member_left_channel")
    async def member_left(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        user = event.get("user")
        if not user or user == context.bot_user_id:
            return
        ctx.tasks.spawn(
            membership.member_left(ctx, event["channel"], user, _event_key(body, event)), name="member-left"
        )

    @registry.event("message")
    async def message(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        ctx.tasks.spawn(
            messages.dispatch(event, str(body.get("event_id") or ""), context.bot_user_id), name="message"
        )
