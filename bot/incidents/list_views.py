"""Block Kit for current incidents: the list modal and the projects' daily summary (pure)."""

from __future__ import annotations

import json
from typing import Any

from bot.core.views import plain_text
from bot.incidents.channel_views import STATUS_EMOJI, self_service_buttons
from bot.incidents.facts import IncidentCard
from bot.slack.text import escape, escape_within

LIST_CALLBACK = "incident_list"
LIST_PAGE_ACTIONS = ("incident_list_previous", "incident_list_next")
LIST_PAGE_SIZE = 15
MESSAGE_BLOCKS = 50
SUMMARY_GROUPS = (("active", "Active"), ("stable", "Stable"), ("closed", "Closed in the last 24 hours"))


def _incident_line(card: IncidentCard) -> dict[str, Any]:
    """One incident as lists show it: name, title, channel, then status and the facts that rank it."""
    where = f" · <#{card.channel_id}>" if card.channel_id else ""
    lock = "🔒 " if card.visibility == "restricted" else ""
    text = (
        f"{lock}*{escape(card.name)}* {escape_within(card.title, 2000)}{where}\n"
        f"{STATUS_EMOJI.get(card.status, '')} {card.status.capitalize()}"
        f" · {escape(card.type)} · Severity {escape(card.severity)}"
        f" · Priority {escape(card.priority)} · IC <@{card.commander_id}>"
    )
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def daily_summary(
    project: str, day: str, cards: list[IncidentCard], allow_join: bool
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The project's daily summary as one or more messages of at most 50 blocks each.

    Grouped active, stable, recently closed; each open incident carries Join / Subscribe. An
    incident's line and its buttons stay in the same message.
    """
    counts = {status: sum(card.status == status for card in cards) for status, _ in SUMMARY_GROUPS}
    tally = ", ".join(f"{counts[status]} {status}" for status, _ in SUMMARY_GROUPS)
    text = f"{project} incidents daily summary, {day}: {tally}"
    units: list[list[dict[str, Any]]] = []
    for status, heading in SUMMARY_GROUPS:
        group = [card for card in cards if card.status == status]
        if not group:
            continue
        units.append([{"type": "section", "text": {"type": "mrkdwn", "text": f"*{heading}* ({len(group)})"}}])
        for card in group:
            line = [_incident_line(card)]
            if status != "closed":  # a closed incident has nothing to join or follow
                line.append(self_service_buttons(card, allow_join))
            units.append(line)
    header: list[dict[str, Any]] = [
        {"type": "header", "text": plain_text(f"📋 {project} incidents · {day}"[:150])},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(tally)}]},
    ]
    pages: list[list[dict[str, Any]]] = [header]
    for unit in units:
        if len(pages[-1]) + len(unit) > MESSAGE_BLOCKS - 1:  # room for the "continued" context
            pages.append([])
        pages[-1].extend(unit)
    if len(pages) > 1:
        for number, page in enumerate(pages, start=1):
            note = f"Part {number} of {len(pages)} of the {escape(project)} summary for {day}."
            page.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return [
        (text if number == 1 else f"{text} (part {number})", page) for number, page in enumerate(pages, 1)
    ]


def incident_list_modal(cards: list[IncidentCard], page: int, project: str | None) -> dict[str, Any]:
    """One page of current incidents grouped by project; every page says where it is in the list."""
    pages = max(1, -(-len(cards) // LIST_PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = cards[page * LIST_PAGE_SIZE : (page + 1) * LIST_PAGE_SIZE]
    blocks: list[dict[str, Any]] = []
    if not cards:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        "No active, stable or recently closed incidents"
                        + (f" in project {escape(project)}" if project else "")
                        + ". 🎉"
                    ),
                },
            }
        )
    current_project = None
    for card in shown:
        if card.project != current_project:
            current_project = card.project
            blocks.append({"type": "header", "text": plain_text(f"Project {card.project}"[:150])})
        blocks.append(_incident_line(card))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": (
                        f"{len(cards)} incident{'s' if len(cards) != 1 else ''}"
                        f" · page {page + 1} of {pages}. "
                        "Closed incidents stay listed for 24 hours."
                    ),
                }
            ],
        }
    )
    buttons = []
    if page > 0:
        buttons.append(
            {
                "type": "button",
                "action_id": LIST_PAGE_ACTIONS[0],
                "text": plain_text("Previous"),
                "value": str(page - 1),
            }
        )
    if page < pages - 1:
        buttons.append(
            {
                "type": "button",
                "action_id": LIST_PAGE_ACTIONS[1],
                "text": plain_text("Next"),
                "value": str(page + 1),
            }
        )
    if buttons:
        blocks.append({"type": "actions", "block_id": "incident_list_pages", "elements": buttons})
    return {
        "type": "modal",
        "callback_id": LIST_CALLBACK,
        "title": plain_text("Current incidents"),
        "close": plain_text("Close"),
        "blocks": blocks,
        "private_metadata": json.dumps({"page": page, "project": project}),
    }
