"""Block Kit for the core listeners (pure functions)."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.text import escape


def plain_text(text: str) -> dict[str, Any]:
    """A plain_text object, emoji shown as emoji."""
    return {"type": "plain_text", "text": text, "emoji": True}


def button(action_id: str, text: str, value: str) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": plain_text(text), "value": value}


def help_message(commands: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """The command list as blocks: one line per (name, usage hint, description)."""
    lines = [
        f"*{name}*{' ' + escape(hint) if hint else ''} — {escape(description)}"
        for name, hint, description in commands
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*dispatch-bot commands*"}}
    ]
    # A section holds at most 3000 characters; keep well under it per block.
    chunk: list[str] = []
    for line in lines:
        if sum(len(item) + 1 for item in chunk) + len(line) > 2800:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return blocks


def error_text(correlation_id: str) -> str:
    return (
        "Something went wrong on our side and this may not have finished. "
        f"If it keeps happening, give your admin this reference: `{correlation_id}`."
    )


def error_modal(title: str, correlation_id: str) -> dict[str, Any]:
    """A modal saying the work behind it failed, with the reference the log line carries."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title[:24]},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": error_text(correlation_id)}}],
    }


def form_modal(
    callback_id: str,
    title: str,
    submit: str,
    metadata: dict[str, Any],
    intro: str,
    blocks: list[dict[str, Any]],
) -> dict[str, Any]:
    """A form modal: a line of context (mrkdwn) above its inputs, Cancel, and context in private_metadata."""
    plain = {"type": "plain_text"}
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {**plain, "text": title},
        "submit": {**plain, "text": submit},
        "close": {**plain, "text": "Cancel"},
        "private_metadata": json.dumps(metadata),
        "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": intro}]}, *blocks],
    }
