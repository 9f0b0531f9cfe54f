"""Block Kit for tasks: the create modal, the task message in the channel, the task lists, the reminder."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.slack.text import escape, escape_within
from bot.tasks.facts import TaskCard

CREATE_CALLBACK = "task_create"
LIST_CALLBACK = "task_list"
STATUS_BUTTON = "task_status"
DESCRIPTION, ASSIGNEES, DUE = "task_description", "task_assignees", "task_due"
# A modal holds at most 100 blocks: a list shows this many tasks of each status and says how many more.
LIST_LIMIT = 40


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "no date"


def _people(users: tuple[str, ...]) -> str:
    return ", ".join(f"<@{user}>" for user in users) or "nobody"


def message_modal(title: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": _text(title[:24]),
        "close": _text("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}],
    }


def create_modal(metadata: dict[str, Any], incident_name: str, due: datetime) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CREATE_CALLBACK,
        "title": _text("Create a task"),
        "submit": _text("Create"),
        "close": _text("Cancel"),
        "private_metadata": json.dumps(metadata),
        "blocks": [
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"A task of *{escape(incident_name)}*, posted in its channel. "
                        "Assignees who are not taking part yet are added to the incident.",
                    }
                ],
            },
            {
                "type": "input",
                "block_id": DESCRIPTION,
                "label": _text("What needs doing"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": DESCRIPTION,
                    "multiline": True,
                    "max_length": 2000,
                },
            },
            {
                "type": "input",
                "block_id": ASSIGNEES,
                "optional": True,
                "label": _text("Assignees"),
                "hint": _text("Leave empty to take it on yourself."),
                "element": {"type": "multi_users_select", "action_id": ASSIGNEES, "max_selected_items": 10},
            },
            {
                "type": "input",
                "block_id": DUE,
                "optional": True,
                "label": _text("Due"),
                "element": {"type": "datepicker", "action_id": DUE, "initial_date": _day(due)},
            },
        ],
    }


def status_button(card: TaskCard, where: str = "message") -> dict[str, Any]:
    target = "resolved" if card.is_open else "open"
    button: dict[str, Any] = {
        "type": "button",
        "action_id": f"{STATUS_BUTTON}:{where}:{card.id}",
        "text": _text("Resolve" if card.is_open else "Re-open"),
        "value": f"{card.id}:{target}",
    }
    if card.is_open:
        button["style"] = "primary"
    return button


def _facts(card: TaskCard) -> str:
    state = "✅ Resolved" + (f" by <@{card.resolved_by}>" if card.resolved_by else "")
    kept = f" · <{card.weblink}|in the document>" if card.weblink else ""
    return (
        f"{'🔲 Open' if card.is_open else state} · due {_day(card.resolve_by)} · "
        f"assigned to {_people(card.assignees)} · created by <@{card.creator_id}>{kept}"
    )


def task_message(card: TaskCard) -> tuple[str, list[dict[str, Any]]]:
    """The task in the incident channel, edited in place when it is resolved or re-opened."""
    people = ", ".join(f"<@{user}>" for user in card.assignees)
    summary = f"Task for {people}: {escape_within(card.description, 250)}"
    return summary, [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Task:* {escape_within(card.description, 2900)}"},
            "accessory": status_button(card),
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _facts(card)}]},
    ]


def added_for_a_task(card: TaskCard) -> str:
    return (
        f"You were added to {escape(card.incident_name)} because <@{card.creator_id}> assigned you a task: "
        f"{escape_within(card.description, 500)}"
    )


def tasks_modal(cards: list[TaskCard], title: str, metadata: dict[str, Any], mine: bool) -> dict[str, Any]:
    """Tasks grouped open, then resolved, each with its Resolve or Re-open button."""
    blocks: list[dict[str, Any]] = []
    for heading, status in (("Open tasks", "open"), ("Resolved tasks", "resolved")):
        group = [card for card in cards if card.status == status]
        blocks.append({"type": "header", "text": _text(f"{heading} ({len(group)})")})
        if not group:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "No tasks."}]})
        for card in group[-LIST_LIMIT:]:
            where = f"*{escape(card.incident_name)}* · " if mine else ""
            blocks.append(
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"{where}{escape_within(card.description, 2000)}\n{_facts(card)}"[:3000],
                    },
                    "accessory": status_button(card, "list"),
                }
            )
        if len(group) > LIST_LIMIT:
            blocks.append(
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": f"The {len(group) - LIST_LIMIT} oldest {status} tasks are not shown.",
                        }
                    ],
                }
            )
    return {
        "type": "modal",
        "callback_id": LIST_CALLBACK,
        "title": _text(title[:24]),
        "close": _text("Close"),
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }


def overdue_reminder(card: TaskCard, incident_title: str) -> tuple[str, list[dict[str, Any]]]:
    text = (
        f"⏰ A task of *{escape(card.incident_name)}* ({escape(incident_title)}) was due "
        f"{_day(card.resolve_by)}: {escape_within(card.description, 2000)}"
    )
    return f"Overdue task in {card.incident_name}", [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": text[:3000]},
            "accessory": status_button(card),
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "Resolve it here when it is done; this comes once a day."}
            ],
        },
    ]


def status_refused(incident_name: str) -> str:
    return f"Only the people working on {escape(incident_name)} can change its tasks."
