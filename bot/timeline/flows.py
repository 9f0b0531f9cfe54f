"""The incident timeline: messages captured with a reaction, events added by hand, paging and export.

Every write is keyed (the reacted message, the submitted modal), so Slack's redeliveries and two
people reacting at once still give one event. A capture claims the message in the database before
reading it from Slack and writes its event only while its claim is there; a removal deletes the
claims, so "added then removed at once" leaves no stale event, whichever replicas handle the two.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot.incidents.context import incident_context
from bot.runtime.bot_context import BotContext
from bot.slack.gateway import error_code
from bot.timeline import reader, store, views
from bot.timeline.facts import (
    AddEventForm,
    CapturedMessage,
    EventLine,
    ManualEntry,
    Reaction,
    TimelinePage,
)
from bot.timeline.text import message_to_plain, parse_command, user_ids_in
from storage import incidents as incident_store
from storage.models import Incident, TimelineEvent

logger = logging.getLogger(__name__)

# The emoji that puts a message on the timeline; a later change can make it a setting.
TIMELINE_REACTION = "stopwatch"
MESSAGE_KIND, MANUAL_KIND = "slack_message", "manual"
PAGE_SIZE = 20
# A clock a few minutes off, or "now" typed by hand, is not a mistake; a time later than this is.
FUTURE_TOLERANCE = timedelta(minutes=5)
_LINK = re.compile(r"<(https?://[^|<>]+)(?:\|[^<>]*)?>")


def message_key(channel_id: str, ts: str) -> str:
    return f"message:{channel_id}:{ts}"


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is in this workspace, so it does not put its own messages on the timeline."""

    user_id: str | None
    bot_id: str | None


async def _incident_id(ctx: BotContext, channel_id: str) -> int | None:
    async with ctx.sessions() as session:
        incident = await incident_store.incident_by_channel(session, channel_id)
    return incident.id if incident is not None else None


def _from_bot(message: dict[str, Any], bot: BotIdentity) -> bool:
    return bool(
        (bot.user_id and message.get("user") == bot.user_id)
        or (bot.bot_id and message.get("bot_id") == bot.bot_id)
    )


# ----- reaction capture -----


async def capture_message(ctx: BotContext, reaction: Reaction, bot: BotIdentity) -> str:
    """Put the reacted message on its incident's timeline; returns what happened, for the log."""
    if reaction.emoji != TIMELINE_REACTION:
        return "other emoji"
    incident_id = await _incident_id(ctx, reaction.channel_id)
    if incident_id is None:
        return "not an incident channel"
    if bot.user_id and reaction.item_user == bot.user_id:
        return "the bot's own message"
    key = message_key(reaction.channel_id, reaction.ts)
    async with ctx.sessions() as session:
        if await store.event_by_key(session, incident_id, key) is not None:
            return "already on the timeline"
    # Claimed before Slack is read: a removal from now on, on any replica, cancels this capture.
    claim_id = await store.claim(ctx.sessions, incident_id, key)
    event = None
    try:
        message = await reader.fetch_message(ctx.slack, reaction.channel_id, reaction.ts)
        if message is None:
            return "message not found"
        if _from_bot(message, bot):
            return "the bot's own message"
        if "reactions" in message and reader.reaction_count(message, TIMELINE_REACTION) == 0:
            return "reaction already removed"
        captured = await read_message(ctx, reaction.channel_id, message)
        event = await store.add_unique_event(
            ctx.sessions,
            incident_id,
            MESSAGE_KIND,
            captured.text,
            dedupe_key=key,
            actor=reaction.user_id,
            occurred_at=captured.occurred_at,
            source=f"Slack message from {captured.author_name}",
            details={
                "channel_id": reaction.channel_id,
                "ts": captured.ts,
                "thread_ts": captured.thread_ts,
                "author": captured.author,
                "author_name": captured.author_name,
                "permalink": captured.permalink,
                "files": captured.files,
                "links": captured.links,
            },
            claim_id=claim_id,
        )
    finally:
        if event is None:  # a written event took its claim with it, in the same transaction
            await store.drop_claim(ctx.sessions, claim_id)
    return "added" if event is not None else "already on the timeline, or removed meanwhile"


async def read_message(ctx: BotContext, channel_id: str, message: dict[str, Any]) -> CapturedMessage:
    """The message as timeline text: names for mentions, links and files kept, with its permalink."""
    ts = str(message["ts"])
    raw = str(message.get("text") or "")
    if not raw.strip():
        raw = "\n".join(
            str(attachment.get("fallback") or attachment.get("text") or "")
            for attachment in message.get("attachments") or []
        ).strip()
    author = message.get("user")
    names = reader.Names(ctx.slack)
    known = await names.many([*user_ids_in(raw), *([author] if author else [])])
    text = message_to_plain(raw, known)
    files = [
        {"name": str(file.get("name") or file.get("title") or "file"), "link": str(link)}
        for file in message.get("files") or []
        if (link := file.get("permalink") or file.get("url_private"))
    ]
    if files:
        text = "\n".join([text, *(f"📎 {file['name']}: {file['link']}" for file in files)]).strip()
    bot_name = (message.get("bot_profile") or {}).get("name") or message.get("username")
    author_name = known.get(author, "") if author else ""
    try:
        permalink: str | None = await ctx.gateway.permalink(channel_id, ts)
    except SlackApiError as error:
        logger.info("no permalink for %s in %s: %s", ts, channel_id, error_code(error))
        permalink = None
    thread_ts = message.get("thread_ts")
    return CapturedMessage(
        ts=ts,
        author=str(author) if author else None,
        author_name=str(author_name or bot_name or author or "someone"),
        text=text,
        occurred_at=datetime.fromtimestamp(float(ts), UTC),
        permalink=permalink,
        thread_ts=str(thread_ts) if thread_ts and thread_ts != ts else None,
        files=files,
        links=list(dict.fromkeys(_LINK.findall(raw))),
    )


async def release_message(ctx: BotContext, reaction: Reaction) -> str:
    """Take the message off the timeline once nobody's reaction keeps it there; returns what happened."""
    if reaction.emoji != TIMELINE_REACTION:
        return "other emoji"
    incident_id = await _incident_id(ctx, reaction.channel_id)
    if incident_id is None:
        return "not an incident channel"
    key = message_key(reaction.channel_id, reaction.ts)
    async with ctx.sessions() as session:
        event = await store.event_by_key(session, incident_id, key)
        if event is None and not await store.has_claim(session, incident_id, key):
            return "not on the timeline"
    remaining = await reader.current_reaction_count(
        ctx.slack, reaction.channel_id, reaction.ts, TIMELINE_REACTION
    )
    if remaining is None:
        return "reactions unknown, kept"
    if remaining > 0:
        return "still reacted, kept"
    async with ctx.sessions() as session, session.begin():
        # Claims first: a capture committing its event meanwhile holds its claim's row until it
        # commits, so once this is past the claims that event is there to delete.
        cancelled = await store.remove_claims(session, incident_id, key)
        removed = await store.remove_event(session, incident_id, key)
    if removed:
        return "removed"
    return "capture in progress cancelled" if cancelled else "not on the timeline"


# ----- events added by hand -----


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name) if name and reader.valid_timezone(name) else ZoneInfo("UTC")


async def add_event_form(
    ctx: BotContext, incident: Incident, channel_id: str, user_id: str, text: str
) -> AddEventForm:
    """The modal's starting values: what the command said, the rest "now" in the person's time zone."""
    assert incident.id is not None
    timezone = await reader.Names(ctx.slack).timezone(user_id)
    prefill = parse_command(text)
    now = ctx.clock().astimezone(zone(timezone))
    return AddEventForm(
        incident_id=incident.id,
        incident_name=incident.name,
        channel_id=channel_id,
        description=prefill.description,
        date=prefill.date or now.date(),
        time=prefill.time or now.time().replace(second=0, microsecond=0),
        user_timezone=timezone,
    )


def occurred_at(entry: ManualEntry) -> datetime | None:
    """The entered moment in UTC; None when date, time or time zone is missing."""
    if entry.date is None or entry.time is None or entry.timezone is None:
        return None
    local = datetime.combine(entry.date, entry.time, tzinfo=zone(entry.timezone))
    return local.astimezone(UTC)


def check_entry(entry: ManualEntry, now: datetime) -> dict[str, str]:
    """Problems by modal block id; empty when the event can be saved."""
    errors: dict[str, str] = {}
    if not entry.description.strip():
        errors[views.DESCRIPTION] = "Describe what happened."
    elif len(entry.description) > views.DESCRIPTION_MAX:
        errors[views.DESCRIPTION] = f"Keep it under {views.DESCRIPTION_MAX} characters."
    if entry.date is None:
        errors[views.DATE] = "Pick the date it happened."
    if entry.time is None:
        errors[views.TIME] = "Pick the time it happened."
    if entry.timezone is None or not reader.valid_timezone(entry.timezone):
        errors[views.TIMEZONE] = "Choose a time zone."
    moment = occurred_at(entry)
    if moment is not None and views.TIME not in errors and moment > now + FUTURE_TOLERANCE:
        errors[views.TIME] = (
            f"That is {views.utc_label(moment)} UTC, which has not happened yet. "
            "Check the date, the time and the time zone."
        )
    return errors


async def save_manual_event(ctx: BotContext, entry: ManualEntry) -> str:
    """Store the event (once per submitted modal) and post a short note in the incident channel."""
    found = await incident_context(ctx, entry.channel_id, entry.user_id)
    if found is None or found.incident_id != entry.incident_id:
        await ctx.gateway.direct_message(
            entry.user_id,
            views.not_saved_text("this channel is no longer an incident channel.", entry.description),
        )
        return "no incident"
    if not found.leads:
        await ctx.gateway.post_ephemeral(
            entry.channel_id,
            entry.user_id,
            views.not_saved_text(
                f"only the incident commander or the scribe of {found.incident.name} can add events, "
                "and you no longer hold either role.",
                entry.description,
            ),
        )
        return "not a lead"
    moment = occurred_at(entry)
    assert moment is not None and entry.date is not None and entry.time is not None
    event = await store.add_unique_event(
        ctx.sessions,
        entry.incident_id,
        MANUAL_KIND,
        entry.description.strip(),
        dedupe_key=f"manual:{entry.request_key}",
        actor=entry.user_id,
        occurred_at=moment,
        source="Added in Slack",
        details={
            "entered": {
                "date": entry.date.isoformat(),
                "time": entry.time.strftime("%H:%M"),
                "timezone": entry.timezone,
            }
        },
    )
    if event is None:
        return "already added"
    local = None
    if entry.timezone and entry.timezone != "UTC":
        local = f"{entry.time.strftime('%H:%M')} in {entry.timezone}"
    await ctx.gateway.post(
        entry.channel_id, views.manual_confirmation(entry.user_id, moment, entry.description.strip(), local)
    )
    return "added"


# ----- reading and exporting -----


def _line(event: TimelineEvent) -> EventLine:
    assert event.id is not None
    details = event.details or {}
    return EventLine(
        id=event.id,
        occurred_at=event.occurred_at,
        kind=event.kind,
        description=event.description,
        actor=event.actor,
        source=event.source,
        key_event=event.is_key_event,
        author=details.get("author"),
        author_name=str(details.get("author_name") or ""),
        permalink=details.get("permalink"),
    )


async def timeline_page(ctx: BotContext, incident_id: int, page: int, note: str = "") -> TimelinePage:
    """Page `page` (0-based, clamped to the pages there are) of the incident's timeline."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            raise LookupError(f"incident {incident_id} does not exist")
        channel = (await incident_store.resources(session, incident_id)).get("conversation")
        total = await store.count_events(session, incident_id)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        rows = await store.events_page(session, incident_id, page * PAGE_SIZE, PAGE_SIZE)
    return TimelinePage(
        incident_id=incident_id,
        incident_name=incident.name,
        incident_title=incident.title,
        channel_id=channel.external_id if channel else "",
        events=[_line(row) for row in rows],
        page=page,
        pages=pages,
        total=total,
        note=note,
    )


@dataclass(frozen=True)
class Export:
    channel_id: str
    filename: str
    count: int


async def export_timeline(ctx: BotContext, incident_id: int, user_id: str) -> Export:
    """Upload the whole timeline as a Markdown file to the incident channel."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            raise LookupError(f"incident {incident_id} does not exist")
        channel = (await incident_store.resources(session, incident_id)).get("conversation")
        rows = await store.all_events(session, incident_id)
    if channel is None:
        raise LookupError(f"{incident.name} has no channel")
    events = [_line(row) for row in rows]
    people: list[str] = []
    for event in events:
        people += [person for person in (event.actor, event.author) if person]
        people += user_ids_in(event.description)
    names = await reader.Names(ctx.slack).many(people)
    document = views.timeline_markdown(incident.name, incident.title, events, names, ctx.clock())
    filename = f"{incident.name}-timeline.md"
    await ctx.slack.files_upload_v2(
        channel=channel.external_id,
        content=document,
        filename=filename,
        title=f"{incident.name} timeline",
        initial_comment=views.export_comment(user_id, incident.name, len(events)),
    )
    return Export(channel.external_id, filename, len(events))
