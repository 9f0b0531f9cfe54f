"""Block Kit for feedback: the request sent at closing and the feedback modal (pure)."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.text import escape

PROVIDE_BUTTON = "feedback_provide"
CALLBACK = "feedback_submit"
RATING, TEXT, ANONYMOUS = "rating", "text", "anonymous"
RATINGS = {
    "5": "Very satisfied",
    "4": "Satisfied",
    "3": "Neither satisfied nor dissatisfied",
    "2": "Dissatisfied",
    "1": "Very dissatisfied",
}


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def request_message(incident_id: int, name: str, title: str) -> tuple[str, list[dict[str, Any]]]:
    text = (
        f"*{escape(name)} is closed.* Thanks for your part in _{escape(title)}_. How did the response go "
        "for you? Two clicks help the next one go better."
    )
    return f"How did {name} go for you?", [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "feedback_request",
            "elements": [
                {
                    "type": "button",
                    "action_id": PROVIDE_BUTTON,
                    "text": _text("Give feedback"),
                    "value": str(incident_id),
                    "style": "primary",
                },
            ],
        },
    ]


def feedback_modal(incident_id: int, name: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "title": _text("Incident feedback"),
        "submit": _text("Send"),
        "close": _text("Cancel"),
        "private_metadata": json.dumps({"incident_id": incident_id}),
        "blocks": [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"About *{escape(name)}*."}]},
            {
                "type": "input",
                "block_id": RATING,
                "label": _text("How satisfied are you with the response?"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": RATING,
                    "options": [{"text": _text(label), "value": value} for value, label in RATINGS.items()],
                },
            },
            {
                "type": "input",
                "block_id": TEXT,
                "label": _text("What went well, what should change?"),
                "optional": True,
                "element": {
                    "type": "plain_text_input",
                    "action_id": TEXT,
                    "multiline": True,
                    "max_length": 3000,
                },
            },
            {
                "type": "input",
                "block_id": ANONYMOUS,
                "label": _text("Anonymity"),
                "optional": True,
                "element": {
                    "type": "checkboxes",
                    "action_id": ANONYMOUS,
                    "options": [{"text": _text("Don't show my name with this feedback"), "value": "yes"}],
                },
            },
        ],
    }


SAVING = "⏳ Saving your feedback…"
UNREADABLE = "This form could not be read (it may be out of date). Use the button in the message again."
OUTCOMES = {
    "saved": "Thank you: your feedback is saved.",
    "already": "You had already sent feedback for this incident; it is unchanged.",
    "refused": "Feedback is asked of the incident's participants, and you were not one of them.",
}


def result_modal(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": _text("Incident feedback"),
        "close": _text("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
