"""Block Kit for the notifications group: the members modal and the sentences after it (pure)."""

from __future__ import annotations

import json
from typing import Any

from bot.groups.facts import Changed, describe
from bot.slack.text import escape

CALLBACK = "groups_notifications"
MEMBERS = "groups_notifications_members"
MEMBERS_MAX = 3000


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def members_modal(metadata: dict[str, Any], address: str, members: list[str]) -> dict[str, Any]:
    """The members as one editable list; a list too long for a text input is only described, since
    saving a cut list would remove everyone past the cut."""
    shown = ", ".join(members)
    if len(shown) > MEMBERS_MAX:
        return message_modal(
            f"*{escape(address)}* has {len(members)} members, too many to edit here: "
            "change them in the group service itself."
        )
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "members",
        "multiline": True,
        "max_length": MEMBERS_MAX,
        "placeholder": _text("e.g. execs@example.com, support-leads@example.com"),
    }
    if members:
        element["initial_value"] = shown
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "title": _text("Notifications group"),
        "submit": _text("Save"),
        "close": _text("Cancel"),
        "private_metadata": json.dumps(metadata),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"Who gets the incident's e-mail notifications through *{escape(address)}*.",
                },
            },
            {
                "type": "input",
                "block_id": MEMBERS,
                "optional": True,
                "label": _text("Members (comma-separated e-mail addresses)"),
                "element": element,
            },
        ],
    }


def message_modal(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": _text("Notifications group"),
        "close": _text("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}],
    }


def bad_addresses(bad: list[str]) -> str:
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    word = "is not an e-mail address" if len(bad) == 1 else "are not e-mail addresses"
    return f"{shown} {word}; separate addresses with commas."[:2000]


def changed(outcome: Changed) -> str:
    done = describe(outcome.added, outcome.removed)
    if not done:
        return f"The notifications group {outcome.address} already had exactly those members."
    return f"Notifications group {outcome.address} updated: {done}."
