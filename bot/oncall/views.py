"""Block Kit for engaging on-call people: the modal, its outcomes and the channel announcement (pure)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot.slack.text import escape

if TYPE_CHECKING:
    from bot.oncall.facts import EngageForm, EngageOutcome

ENGAGE_CALLBACK = "oncall_engage"
# Block ids; the submission handler reads the values back by these.
SERVICE, PAGE = "oncall_service", "oncall_page"
PAGE_VALUE = "page"
MAX_OPTIONS = 100  # Slack's limit for a static select


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def message_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something: progress, a result or why nothing can be done."""
    return {"type": "modal", "title": _text(title[:24]), "close": _text("Close"), "blocks": [_section(text)]}


def engage_modal(form: EngageForm, metadata: dict[str, Any]) -> dict[str, Any]:
    """The service picker and the Page checkbox; the services already engaged say by whom."""
    if form.problem:
        return message_modal("Engage on-call", f"⚠️ {escape(form.problem)}")
    options = []
    for service in form.services[:MAX_OPTIONS]:
        label = f"{service.name} (engaged)" if service.engaged else service.name
        option: dict[str, Any] = {"text": _text(label[:75]), "value": str(service.id)}
        if service.description:
            option["description"] = _text(service.description[:75])
        options.append(option)
    engaged = [s for s in form.services if s.engaged_user]
    blocks: list[dict[str, Any]] = [
        _context(
            f"The person on call for the service now is added to {escape(form.incident_name)}, invited "
            "to this channel and announced. Tick *Page* to also page them through the on-call system."
        ),
        {
            "type": "input",
            "block_id": SERVICE,
            "label": _text("Service"),
            "element": {"type": "static_select", "action_id": SERVICE, "options": options},
        },
        {
            "type": "input",
            "block_id": PAGE,
            "optional": True,
            "label": _text("Page"),
            "element": {
                "type": "checkboxes",
                "action_id": PAGE,
                "options": [
                    {
                        "text": _text("Page the on-call"),
                        "description": _text("Sends a page now; asking again never pages twice."),
                        "value": PAGE_VALUE,
                    }
                ],
            },
        },
    ]
    if engaged:
        lines = ", ".join(f"{escape(s.name)}: <@{s.engaged_user}>" for s in engaged)
        blocks.append(_context(f"Already engaged — {lines}"[:3000]))
    return {
        "type": "modal",
        "callback_id": ENGAGE_CALLBACK,
        "title": _text("Engage on-call"),
        "submit": _text("Engage"),
        "close": _text("Cancel"),
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }


def engaging_modal() -> dict[str, Any]:
    return message_modal("Engage on-call", "⏳ Finding who is on call…")


def outcome_modal(outcome: EngageOutcome) -> dict[str, Any]:
    if outcome.user is None:
        return message_modal("On-call not engaged", f"⚠️ {escape(outcome.error or 'Nobody was engaged.')}")
    text = f"✅ <@{outcome.user}> is engaged as the on-call of *{escape(outcome.service)}*."
    if outcome.paged:
        link = f" (<{outcome.page_link}|the page>)" if outcome.page_link else ""
        text += f"\n📟 They were paged{link}."
    if outcome.problems:
        # Problems name people as <@U…>: keep the mentions, escape nothing else the bot did not write.
        text += "\n\n" + "\n".join(f"⚠️ {problem}" for problem in outcome.problems)
    return message_modal("On-call engaged", text)


def engaged_announcement(
    user: str, service: str, requested_by: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """The channel message for a newly engaged on-call."""
    headline = f"📟 <@{user}> joins as the on-call of *{escape(service)}*"
    why = f"Engaged by <@{requested_by}>" if requested_by else "Engaged because the service's filters match"
    return f"{headline.replace('*', '')}", [_section(headline), _context(why)]
