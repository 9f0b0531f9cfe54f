"""Block Kit for costs: amounts as people read them, and the "Add cost" modal."""

from __future__ import annotations

from typing import Any

from bot.core.views import form_modal
from bot.slack.text import escape

ADD_COST_CALLBACK = "cost_add"
ADD_COST_BUTTON = "cost_add_open"
COST_TYPE, AMOUNT = "cost_type", "cost_amount"
TITLE = "Add cost"


def amount(cents: int) -> str:
    """Cents as a dollar amount: 123456 → "$1,234.56"."""
    return f"${cents // 100:,}.{cents % 100:02d}"


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def add_cost_button() -> dict[str, Any]:
    """The update modal's way to the "Add cost" modal."""
    return {
        "type": "actions",
        "block_id": ADD_COST_BUTTON,
        "elements": [{"type": "button", "action_id": ADD_COST_BUTTON, "text": _text("Add cost")}],
    }


def add_cost_modal(
    incident_name: str, total_cents: int, cost_types: list[tuple[int, str]], metadata: dict[str, Any]
) -> dict[str, Any]:
    """Choose one of the project's cost types and an amount in dollars."""
    options = [{"text": _text(name[:75]), "value": str(type_id)} for type_id, name in cost_types[:100]]
    intro = (
        f"*{escape(incident_name)}* has cost *{amount(total_cents)}* so far. "
        "What you add here is kept with it and put on the timeline."
    )
    return form_modal(
        ADD_COST_CALLBACK,
        TITLE,
        "Add",
        metadata,
        intro,
        [
            {
                "type": "input",
                "block_id": COST_TYPE,
                "label": _text("Cost type"),
                "element": {"type": "static_select", "action_id": COST_TYPE, "options": options},
            },
            {
                "type": "input",
                "block_id": AMOUNT,
                "label": _text("Amount (USD)"),
                "hint": _text("A positive amount with at most two decimals, e.g. 1250 or 89.90."),
                "element": {
                    "type": "plain_text_input",
                    "action_id": AMOUNT,
                    "max_length": 20,
                    "placeholder": _text("e.g. 1250.00"),
                },
            },
        ],
    )


def added_modal(type_name: str, cents: int, total_cents: int, incident_name: str) -> dict[str, Any]:
    text = (
        f"✅ Added {amount(cents)} of {escape(type_name)}. "
        f"*{escape(incident_name)}* has cost *{amount(total_cents)}* so far."
    )
    return {
        "type": "modal",
        "title": _text(TITLE),
        "close": _text("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
