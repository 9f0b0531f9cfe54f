"""Slack listeners for the timeline: the capture reaction, the two commands, paging and export."""

from __future__ import annotations

import logging
import uuid
from datetime import date, time
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.core.views import error_text
from bot.incidents import channel_views
from bot.incidents.context import incident_context, may_see, require_incident
from bot.runtime.bot_context import BotContext
from bot.slack.listeners import CommandSpec, Registry
from bot.slack.modals import input_value, private_metadata
from bot.timeline import flows, views
from bot.timeline.facts import ManualEntry, Reaction

logger = logging.getLogger(__name__)

ADD_EVENT = CommandSpec(
    key="add_timeline_event",
    default_name="/dispatch-add-timeline-event",
    description="Add an event to the incident's timeline (incident commander or scribe).",
    usage_hint="[DESC what happened DATE yyyy-mm-dd TIME hh:mm]",
)
TIMELINE = CommandSpec(
    key="timeline",
    default_name="/dispatch-timeline",
    description="Show the incident's timeline, page by page, and export it as Markdown.",
)


# ----- payload parsing -----


class MalformedEvent(ValueError):
    """A reaction event without the fields Slack always sends."""


def parse_reaction(event: dict[str, Any]) -> Reaction | None:
    """The reaction of a reaction_added/removed event; None when it is on a file, not a message."""
    item = event.get("item")
    if not isinstance(item, dict):
        raise MalformedEvent("no item")
    if item.get("type") != "message":
        return None
    channel, ts, user, emoji = item.get("channel"), item.get("ts"), event.get("user"), event.get("reaction")
    if not all(isinstance(value, str) and value for value in (channel, ts, user, emoji)):
        raise MalformedEvent("item without channel, ts, user or reaction")
    item_user = event.get("item_user")
    return Reaction(
        channel_id=str(channel),
        ts=str(ts),
        user_id=str(user),
        emoji=str(emoji).split("::", 1)[0],
        item_user=item_user if isinstance(item_user, str) else None,
    )


def _reaction_of(event: dict[str, Any]) -> Reaction | None:
    try:
        reaction = parse_reaction(event)
    except (MalformedEvent, AttributeError) as error:
        logger.warning("skipped a malformed reaction event (%s): %.500r", error, event)
        return None
    if reaction is None:
        logger.debug("reaction on something other than a message: %.200r", event.get("item"))
    return reaction


def _parse_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _parse_time(value: Any) -> time | None:
    try:
        return time.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def parse_entry(body: dict[str, Any]) -> ManualEntry:
    view = body["view"]
    metadata = private_metadata(view)
    choice = str(input_value(view, views.TIMEZONE))
    timezone = {views.USER_TIMEZONE: metadata.get("timezone"), views.UTC_CHOICE: "UTC"}.get(choice)
    return ManualEntry(
        request_key=str(view["id"]),
        incident_id=int(metadata["incident_id"]),
        channel_id=str(metadata["channel_id"]),
        user_id=body["user"]["id"],
        description=input_value(view, views.DESCRIPTION) or "",
        date=_parse_date(input_value(view, views.DATE)),
        time=_parse_time(input_value(view, views.TIME)),
        timezone=timezone,
    )


# ----- work done after the ack -----


async def open_add_event_modal(ctx: BotContext, body: dict[str, Any], respond: AsyncRespond) -> None:
    command = body.get("command") or ADD_EVENT.default_name
    found = await require_incident(
        ctx, respond, body["channel_id"], body["user_id"], command, leads_only=True
    )
    if found is None:
        return
    form = await flows.add_event_form(
        ctx, found.incident, found.channel_id, found.user_id, str(body.get("text") or "")
    )
    metadata = {
        "incident_id": form.incident_id,
        "channel_id": form.channel_id,
        "timezone": form.user_timezone,
    }
    await ctx.gateway.open_view(body["trigger_id"], views.add_event_modal(form, metadata))


async def open_timeline_modal(ctx: BotContext, body: dict[str, Any], respond: AsyncRespond) -> None:
    command = body.get("command") or TIMELINE.default_name
    found = await require_incident(ctx, respond, body["channel_id"], body["user_id"], command)
    if found is None:
        return
    page = await flows.timeline_page(ctx, found.incident_id, 0)
    await ctx.gateway.open_view(body["trigger_id"], views.timeline_modal(page, _page_metadata(page)))


def _page_metadata(page: Any) -> dict[str, Any]:
    return {"incident_id": page.incident_id, "channel_id": page.channel_id, "page": page.page}


async def _checked_incident(ctx: BotContext, metadata: dict[str, Any], user_id: str) -> int | None:
    """The incident named in a modal's metadata, if its channel still belongs to it and `user_id`
    may see it (the metadata comes from the client, and a restricted timeline is for its people)."""
    try:
        incident_id, channel_id = int(metadata["incident_id"]), str(metadata["channel_id"])
    except (KeyError, TypeError, ValueError):
        return None
    found = await incident_context(ctx, channel_id, user_id)
    if found is None or found.incident_id != incident_id:
        return None
    return incident_id if await may_see(ctx, incident_id, user_id) else None


async def show_page(ctx: BotContext, view: dict[str, Any], user_id: str, page: int, note: str = "") -> None:
    metadata = private_metadata(view)
    incident_id = await _checked_incident(ctx, metadata, user_id)
    if incident_id is None:
        await ctx.gateway.update_view(
            view["id"],
            views.message_modal("Timeline", "This timeline cannot be shown: the form is out of date."),
        )
        return
    timeline = await flows.timeline_page(ctx, incident_id, page, note)
    await ctx.gateway.update_view(view["id"], views.timeline_modal(timeline, _page_metadata(timeline)))


async def export_and_report(ctx: BotContext, view: dict[str, Any], user_id: str) -> None:
    metadata = private_metadata(view)
    page = metadata["page"] if isinstance(metadata.get("page"), int) else 0
    incident_id = await _checked_incident(ctx, metadata, user_id)
    if incident_id is None:
        await show_page(ctx, view, user_id, page)
        return
    await show_page(ctx, view, user_id, page, "⏳ Uploading the timeline to the incident channel…")
    try:
        export = await flows.export_timeline(ctx, incident_id, user_id)
        note = views.export_note(export.channel_id, export.filename, export.count)
    except Exception:
        correlation_id = uuid.uuid4().hex[:12]
        logger.exception("exporting a timeline failed", extra={"correlation_id": correlation_id})
        note = f"⚠️ The export could not be uploaded. {error_text(correlation_id)}"
    await show_page(ctx, view, user_id, page, note)


def register(registry: Registry, ctx: BotContext) -> None:
    registry.require_scopes(
        "reactions:read", "channels:history", "groups:history", "files:write", "users:read", "chat:write"
    )

    @registry.event("reaction_added")
    async def reaction_added(ack: AsyncAck, event: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        reaction = _reaction_of(event)
        if reaction is None or reaction.emoji != flows.TIMELINE_REACTION:
            return
        bot = flows.BotIdentity(context.bot_user_id, context.bot_id)

        async def capture() -> None:
            outcome = await flows.capture_message(ctx, reaction, bot)
            logger.debug("reaction on %s in %s: %s", reaction.ts, reaction.channel_id, outcome)

        ctx.tasks.spawn(capture(), name="timeline-capture")

    @registry.event("reaction_removed")
    async def reaction_removed(ack: AsyncAck, event: dict[str, Any]) -> None:
        await ack()
        reaction = _reaction_of(event)
        if reaction is None or reaction.emoji != flows.TIMELINE_REACTION:
            return

        async def release() -> None:
            outcome = await flows.release_message(ctx, reaction)
            logger.debug("reaction removed from %s in %s: %s", reaction.ts, reaction.channel_id, outcome)

        ctx.tasks.spawn(release(), name="timeline-release")

    @registry.command(ADD_EVENT)
    async def add_event_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ctx.tasks.spawn(open_add_event_modal(ctx, body, respond), name="timeline-add-modal")

    @registry.action(channel_views.ADD_EVENT_BUTTON)
    async def add_event_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        as_command = {
            "channel_id": (body.get("channel") or {}).get("id", ""),
            "user_id": body["user"]["id"],
            "trigger_id": body["trigger_id"],
            "command": registry.name_of(ADD_EVENT),
            "text": "",
        }
        ctx.tasks.spawn(open_add_event_modal(ctx, as_command, respond), name="timeline-add-modal")

    @registry.view(views.ADD_EVENT_CALLBACK)
    async def add_event_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        try:
            entry = parse_entry(body)
        except (KeyError, TypeError, ValueError):
            logger.warning(
                "timeline form without a readable incident", extra={"view_id": body["view"].get("id")}
            )
            await ack(
                response_action="update",
                view=views.message_modal(
                    "Add timeline event",
                    "This form could not be read (it may be out of date); nothing was saved. "
                    "Run the command again in the incident channel.",
                ),
            )
            return
        errors = flows.check_entry(entry, ctx.clock())
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        ctx.tasks.spawn(flows.save_manual_event(ctx, entry), name="timeline-add-event")

    @registry.command(TIMELINE)
    async def timeline_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ctx.tasks.spawn(open_timeline_modal(ctx, body, respond), name="timeline-modal")

    async def turn_page(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        try:
            page = int(action.get("value") or 0)
        except ValueError:
            page = 0
        ctx.tasks.spawn(show_page(ctx, body["view"], body["user"]["id"], page), name="timeline-page")

    registry.action(views.PREVIOUS_ACTION)(turn_page)
    registry.action(views.NEXT_ACTION)(turn_page)

    @registry.action(views.EXPORT_ACTION)
    async def export_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        ctx.tasks.spawn(export_and_report(ctx, body["view"], body["user"]["id"]), name="timeline-export")
