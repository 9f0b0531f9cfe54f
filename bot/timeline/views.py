"""Block Kit and text for the timeline: the add-event and timeline modals, notes, the export (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.core.views import form_modal
from bot.slack.text import escape
from bot.timeline.facts import AddEventForm, EventLine, TimelinePage
from bot.timeline.text import USER_MENTION, clip, is_safe_link, safe_mrkdwn

ADD_EVENT_CALLBACK = "timeline_add_event"
TIMELINE_CALLBACK = "timeline_list"
PREVIOUS_ACTION, NEXT_ACTION, EXPORT_ACTION = "timeline_previous", "timeline_next", "timeline_export"

# Block ids of the add-event modal; the submission handler reads the values back by these.
DESCRIPTION, DATE, TIME, TIMEZONE = "description", "date", "time", "timezone"
DESCRIPTION_MAX = 3000
USER_TIMEZONE, UTC_CHOICE = "user", "utc"

# A page keeps the modal far below Slack's 100 blocks and each event's section below 3000 characters.
EVENT_TEXT_MAX = 1500
MAX_MODAL_TITLE = 24

KIND_EMOJI = {
    "incident_created": "🚨",
    "channel_created": "#️⃣",
    "participants_added": "👥",
    "notifications_sent": "📣",
    "slack_message": "💬",
    "manual": "📝",
    "status_changed": "🔁",
    "field_updated": "✏️",
    "role_assigned": "🎖️",
    "report": "📋",
    "task": "✅",
}
DEFAULT_EMOJI = "🔹"
KEY_EVENT = "⭐"


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def utc_label(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def kind_emoji(kind: str) -> str:
    return KIND_EMOJI.get(kind, DEFAULT_EMOJI)


def message_modal(title: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": _text(clip(title, MAX_MODAL_TITLE)),
        "close": _text("Close"),
        "blocks": [{"type": "section", "text": _mrkdwn(text)}],
    }


def add_event_modal(form: AddEventForm, metadata: dict[str, Any]) -> dict[str, Any]:
    """The "Add timeline event" modal, prefilled from the command's DESC, DATE and TIME."""
    own_zone = {
        "text": _text(clip(f"Your Slack time zone ({form.user_timezone})", 75)),
        "value": USER_TIMEZONE,
    }
    utc = {"text": _text("UTC"), "value": UTC_CHOICE}
    description: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": DESCRIPTION,
        "multiline": True,
        "max_length": DESCRIPTION_MAX,
        "placeholder": _text("What happened, e.g. Rolled back the 14:02 deploy"),
    }
    if form.description:
        description["initial_value"] = form.description[:DESCRIPTION_MAX]
    intro = (
        f"Adds an event to the timeline of *{escape(form.incident_name)}* "
        "and posts a short note about it in the incident channel."
    )
    return form_modal(
        ADD_EVENT_CALLBACK,
        "Add timeline event",
        "Add",
        metadata,
        intro,
        [
            {"type": "input", "block_id": DESCRIPTION, "label": _text("Description"), "element": description},
            {
                "type": "input",
                "block_id": DATE,
                "label": _text("Date"),
                "element": {
                    "type": "datepicker",
                    "action_id": DATE,
                    "initial_date": form.date.isoformat(),
                },
            },
            {
                "type": "input",
                "block_id": TIME,
                "label": _text("Time"),
                "element": {
                    "type": "timepicker",
                    "action_id": TIME,
                    "initial_time": form.time.strftime("%H:%M"),
                },
            },
            {
                "type": "input",
                "block_id": TIMEZONE,
                "label": _text("Time zone"),
                "hint": _text("The date and time above are in this time zone; the timeline shows UTC."),
                "element": {
                    "type": "static_select",
                    "action_id": TIMEZONE,
                    "options": [own_zone, utc],
                    "initial_option": own_zone,
                },
            },
        ],
    )


def manual_confirmation(
    user_id: str, occurred_at: datetime, description: str, local: str | None = None
) -> str:
    """The note in the incident channel after someone added an event by hand."""
    when = f"*{utc_label(occurred_at)} UTC*" + (f" ({escape(local)})" if local else "")
    return f"🕒 <@{user_id}> added to the timeline: {when} — {escape(clip(description, 2000))}"


def not_saved_text(reason: str, description: str) -> str:
    """Why a submitted event was not added, with the text back so nothing typed is lost."""
    quoted = "\n".join(f">{line}" for line in escape(clip(description, 2500)).splitlines() or [""])
    return f"Your timeline event was not added: {reason}\n{quoted}"


def _event_line(event: EventLine) -> str:
    body = safe_mrkdwn(event.description, EVENT_TEXT_MAX) or "_(no text)_"
    if event.kind == "slack_message":
        author = f"<@{event.author}>" if event.author else f"*{escape(event.author_name or 'someone')}*"
        body = f"{author}: {body}"
        if is_safe_link(event.permalink):
            body += f" <{event.permalink}|(message)>"
        if event.actor:
            body += f"\n_added by <@{event.actor}>_"
    elif event.actor:
        body += f" — <@{event.actor}>"
    star = f" {KEY_EVENT}" if event.key_event else ""
    return f"`{utc_label(event.occurred_at)}`  {kind_emoji(event.kind)}{star}  {body}"


def timeline_modal(page: TimelinePage, metadata: dict[str, Any]) -> dict[str, Any]:
    """One page of the timeline, oldest first, with paging and export buttons."""
    count = f"{page.total} event{'s' if page.total != 1 else ''}"
    pages = f" · page {page.page + 1} of {page.pages}" if page.pages > 1 else ""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": _mrkdwn(
                f"*{escape(page.incident_name)} · {escape(clip(page.incident_title, 200))}*\n"
                f"{count}{pages} · times in UTC"
            ),
        }
    ]
    if page.note:
        blocks.append({"type": "context", "elements": [_mrkdwn(page.note)]})
    blocks.append({"type": "divider"})
    if not page.events:
        blocks.append({"type": "section", "text": _mrkdwn("_Nothing on the timeline yet._")})
    blocks += [{"type": "section", "text": _mrkdwn(_event_line(event))} for event in page.events]
    buttons: list[dict[str, Any]] = []
    if page.page > 0:
        buttons.append(
            {
                "type": "button",
                "action_id": PREVIOUS_ACTION,
                "text": _text("Previous"),
                "value": str(page.page - 1),
            }
        )
    if page.page + 1 < page.pages:
        buttons.append(
            {"type": "button", "action_id": NEXT_ACTION, "text": _text("Next"), "value": str(page.page + 1)}
        )
    buttons.append(
        {"type": "button", "action_id": EXPORT_ACTION, "text": _text("Export as Markdown"), "value": "export"}
    )
    blocks += [{"type": "divider"}, {"type": "actions", "block_id": "timeline_buttons", "elements": buttons}]
    return {
        "type": "modal",
        "callback_id": TIMELINE_CALLBACK,
        "title": _text(clip(f"{page.incident_name} timeline", MAX_MODAL_TITLE)),
        "close": _text("Close"),
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }


def _named(text: str, names: Mapping[str, str]) -> str:
    return USER_MENTION.sub(lambda match: "@" + names.get(match.group(1), match.group(1)), text)


def timeline_markdown(
    incident_name: str,
    incident_title: str,
    events: list[EventLine],
    names: Mapping[str, str],
    exported_at: datetime,
) -> str:
    """The whole timeline as a Markdown document, people by name, for the channel and for reviews."""
    lines = [
        f"# {incident_name} timeline: {incident_title}",
        "",
        f"Exported from Slack on {utc_label(exported_at)} UTC. "
        f"{len(events)} event{'s' if len(events) != 1 else ''}; times are UTC, oldest first.",
        "",
    ]
    for event in events:
        description = _named(event.description, names).strip() or "(no text)"
        if event.kind == "slack_message":
            author = names.get(event.author or "", "") or event.author_name or "someone"
            description = f"Message from {author}: {description}"
            if event.permalink:
                description += f" ([open in Slack]({event.permalink}))"
            by = f" _(added by {names.get(event.actor, event.actor)})_" if event.actor else ""
        else:
            by = f" _({names.get(event.actor, event.actor)})_" if event.actor else ""
        star = f" {KEY_EVENT}" if event.key_event else ""
        first, *rest = description.splitlines() or [""]
        lines.append(f"- **{utc_label(event.occurred_at)}** {kind_emoji(event.kind)}{star} {first}")
        lines += [f"  {line}" if line.strip() else "" for line in rest]
        lines[-1] += by
    return "\n".join(lines) + "\n"


def export_note(channel_id: str, filename: str, count: int) -> str:
    return f"✅ Exported {count} event{'s' if count != 1 else ''} to <#{channel_id}> as `{escape(filename)}`."


def export_comment(user_id: str, incident_name: str, count: int) -> str:
    return (
        f"<@{user_id}> exported the timeline of {escape(incident_name)} "
        f"({count} event{'s' if count != 1 else ''}) as Markdown."
    )
