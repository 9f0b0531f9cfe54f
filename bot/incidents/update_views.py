"""Block Kit for changing an incident: the update modal, the update's announcement, and the
reminders to review a closed incident and to close a long-stable one (pure).
"""

from __future__ import annotations

import json
from typing import Any

from bot.core.views import button, plain_text
from bot.costs.views import add_cost_button, amount
from bot.incidents.channel_views import STATUS_EMOJI
from bot.incidents.facts import Choice, IncidentCard
from bot.incidents.report_views import (
    DESCRIPTION,
    DESCRIPTION_MAX,
    PRIORITY,
    SEVERITY,
    TITLE,
    TITLE_MAX,
    TYPE,
    VISIBILITY,
    tag_picker,
)
from bot.slack.text import escape, escape_within

UPDATE_CALLBACK = "incident_update"
COST_LINE = "incident_cost"
STATUS, RESOLUTION = "status", "resolution"
STATUS_CHOICES = [Choice(0, "Active"), Choice(1, "Stable"), Choice(2, "Closed")]
ARROWS = {1: "⬆️ ", -1: "⬇️ ", 0: ""}
REOPEN_BUTTON = "incident_reopen"
REVIEW_UPDATE_BUTTON = "incident_review_update"
CLOSE_REMINDER_BUTTON = "incident_close_reminder"


def _static(
    block_id: str, label: str, options: list[tuple[str, str]], selected: str | None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": block_id,
        "options": [{"text": plain_text(text[:75]), "value": value} for text, value in options[:100]],
    }
    initial = next(((text, value) for text, value in options if value == selected), None)
    if initial is not None:
        element["initial_option"] = {"text": plain_text(initial[0][:75]), "value": initial[1]}
    return {"type": "input", "block_id": block_id, "label": plain_text(label), "element": element}


def _textarea(block_id: str, label: str, value: str, *, optional: bool, limit: int) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id,
        "multiline": block_id != TITLE,
        "max_length": limit,
    }
    if value:
        element["initial_value"] = value[:limit]
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain_text(label),
        "optional": optional,
        "element": element,
    }


def update_modal(form: Any, metadata: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    """The "Update incident" modal, prefilled (`status` preselects a new status); `form` is an UpdateForm."""
    card: IncidentCard = form.incident

    def options(choices: list[Choice]) -> list[tuple[str, str]]:
        return [(choice.name, str(choice.id)) for choice in choices]

    blocks: list[dict[str, Any]] = [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": (
                        f"*{escape(card.name)}* · project {escape(card.project)}. "
                        "Each change is written to the timeline and announced in the channel."
                    ),
                }
            ],
        },
        {
            "type": "context",
            "block_id": COST_LINE,
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f":moneybag: Cost so far: *{amount(form.cost_cents)}* (recomputed every 5 min)",
                }
            ],
        },
        _textarea(TITLE, "Title", card.title, optional=False, limit=TITLE_MAX),
        _textarea(DESCRIPTION, "Description", card.description, optional=True, limit=DESCRIPTION_MAX),
        _textarea(RESOLUTION, "Resolution", form.resolution, optional=True, limit=DESCRIPTION_MAX),
        _static(STATUS, "Status", [(s.name, s.name.lower()) for s in STATUS_CHOICES], status or card.status),
    ]
    for block_id, label, choices, current in (
        (TYPE, "Type", form.types, form.type_id),
        (SEVERITY, "Severity", form.severities, form.severity_id),
        (PRIORITY, "Priority", form.priorities, form.priority_id),
    ):
        if choices:  # Slack refuses a select without options
            blocks.append(_static(block_id, label, options(choices), str(current) if current else None))
    picker = tag_picker(form.tags, card.tags)
    if picker:
        blocks.append(picker)
    blocks.append(
        _static(VISIBILITY, "Visibility", [("Open", "open"), ("Restricted", "restricted")], card.visibility)
    )
    blocks.append(add_cost_button())
    return {
        "type": "modal",
        "callback_id": UPDATE_CALLBACK,
        "title": plain_text("Update incident"),
        "submit": plain_text("Save"),
        "close": plain_text("Cancel"),
        "blocks": blocks,
        "private_metadata": json.dumps(metadata),
    }


def update_notification(
    incident: IncidentCard, changes: list[Any], actor: str
) -> tuple[str, list[dict[str, Any]]]:
    """What changed, old → new, with arrows for priority and severity (`changes` are lifecycle.Change)."""
    lines = []
    for change in changes:
        if change.field in {"Description", "Resolution"}:
            lines.append(f"• *{change.field}* updated")
        else:
            emoji = STATUS_EMOJI.get(change.new.lower(), "") + " " if change.field == "Status" else ""
            old_to_new = f"{escape(change.old)} → {escape(change.new)}"
            lines.append(f"• {ARROWS[change.direction]}{emoji}*{change.field}:* {old_to_new}")
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"*{escape(incident.name)} updated* by <@{actor}>: {escape(incident.title)}\n"
                    + "\n".join(lines)
                )[:3000],
            },
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Commander: <@{incident.commander_id}>"}],
        },
    ]
    return escape(
        f"{incident.name} updated: " + ", ".join(change.field.lower() for change in changes)
    ), blocks


def closed_review_reminder(incident: IncidentCard) -> tuple[str, list[dict[str, Any]]]:
    text = (
        f"*Thanks for closing {escape(incident.name)}.* Before it fades from memory, please check that "
        "the title, description, resolution, type, severity and priority tell the story right.\n"
        f"*Title:* {escape(incident.title)}\n*Description:* {escape(incident.description[:200])}"
    )
    return f"Please review {incident.name} now that it is closed", [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
        {
            "type": "actions",
            "block_id": "incident_closed_actions",
            "elements": [
                {**button(REVIEW_UPDATE_BUTTON, "Review and update", str(incident.id)), "style": "primary"},
                button(REOPEN_BUTTON, "Reopen incident", str(incident.id)),
            ],
        },
    ]


def close_reminder(
    incident_id: int, name: str, title: str, days: int, channel_id: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """The Monday DM to the commander of an incident stable for a week or more: close it?"""
    where = f" (<#{channel_id}>)" if channel_id else ""
    text = (
        f"🧹 *{escape(name)}*{where} has been stable for {days} days: *{escape_within(title, 500)}*\n"
        "If it is over, close it, so that it leaves the open incidents and its review can start. "
        "The button opens the update form with Closed chosen: check the resolution, then save."
    )
    return f"{name} has been stable for {days} days: close it?", [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
        {
            "type": "actions",
            "block_id": "incident_close_reminder_actions",
            "elements": [
                {**button(CLOSE_REMINDER_BUTTON, "Close incident", str(incident_id)), "style": "primary"}
            ],
        },
    ]
