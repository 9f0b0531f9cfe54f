"""Block Kit for reports: the report modals, the channel message and the result modal (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.reports.facts import FIELD_MAX, KINDS, ReportForm, ReportKind, ReportOutcome
from bot.slack.text import escape

CALLBACKS = {key: f"report_{key}" for key in KINDS}
KIND_OF_CALLBACK = {callback: KINDS[key] for key, callback in CALLBACKS.items()}
SECTION_MAX = 3000
HEADER_MAX = 150


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def block_id(field_key: str) -> str:
    """The modal block (and action) of a report field; the submission is read back by it."""
    return f"report_{field_key}"


def message_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something: progress, a result or an error."""
    return {
        "type": "modal",
        "title": _text(title[:24]),
        "close": _text("Close"),
        "blocks": [_section(text[:SECTION_MAX])],
    }


def loading_modal(kind: ReportKind) -> dict[str, Any]:
    return message_modal(kind.name, "⏳ Loading the last report…")


def saving_modal(kind: ReportKind) -> dict[str, Any]:
    return message_modal(kind.name, f"⏳ Saving your {kind.name.lower()} and posting it…")


def _where(kind: ReportKind) -> str:
    return "posted and pinned in this channel" if kind.pinned else "posted in this channel"


def report_modal(form: ReportForm, metadata: dict[str, Any]) -> dict[str, Any]:
    """The report form, each field prefilled from the incident's last report of this kind."""
    kind = form.kind
    about = f"For *{escape(form.incident_name)}*; it is {_where(kind)}."
    if form.last_at is not None:
        by = f" by <@{form.last_author}>" if form.last_author else ""
        about += f" Prefilled from the last one ({form.last_at:%Y-%m-%d %H:%M} UTC{by})."
    else:
        about += f" This is the first {kind.name.lower()} of {escape(form.incident_name)}."
    blocks: list[dict[str, Any]] = [_context(about)]
    for field in kind.fields:
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": block_id(field.key),
            "multiline": True,
            "max_length": FIELD_MAX,
            "placeholder": _text(field.placeholder),
        }
        value = form.values.get(field.key, "")[:FIELD_MAX]
        if value:
            element["initial_value"] = value
        blocks.append(
            {
                "type": "input",
                "block_id": block_id(field.key),
                "label": _text(field.label),
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": CALLBACKS[kind.key],
        "title": _text(kind.name),
        "submit": _text("Post"),
        "close": _text("Cancel"),
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }


def chunks(text: str, size: int) -> list[str]:
    """`text` (escaped mrkdwn) in pieces of at most `size`, never splitting an entity like `&amp;`,
    preferring to cut at a line break or a space."""
    pieces: list[str] = []
    while len(text) > size:
        cut = size
        entity = text.rfind("&", 0, cut)
        if entity != -1 and ";" not in text[entity:cut]:
            cut = entity
        for separator in ("\n", " "):
            at = text.rfind(separator, 0, cut)
            if at > size // 2:
                cut = at + 1
                break
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return pieces


def report_message(
    kind: ReportKind, incident_name: str, author: str, details: Mapping[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    """The report as the channel sees it: every field whole, its text escaped (no mentions, no links)."""
    heading = f"{kind.emoji} {kind.name} · {incident_name}"[:HEADER_MAX]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _text(heading)},
        _context(f"{kind.intro} From <@{author}>."),
    ]
    for field in kind.fields:
        label = f"*{field.label}*\n"
        text = escape(str(details.get(field.key) or "").strip()) or "_(none)_"
        pieces = chunks(text, SECTION_MAX - len(label))
        blocks.append(_section(label + pieces[0]))
        blocks.extend(_section(piece) for piece in pieces[1:])
    return f"{kind.name} for {escape(incident_name)} from <@{author}>", blocks


def result_modal(outcome: ReportOutcome) -> dict[str, Any]:
    """What became of the report: where it went, what could not be done, and who did not get it."""
    kind = outcome.kind
    name = kind.name.lower()
    channel = f"<#{outcome.channel_id}>" if outcome.channel_id else "the incident channel"
    if not outcome.created:
        where = f", and posted in {channel}" if outcome.posted else ""
        lines = [f"This {name} was saved already{where}; nothing was sent again."]
    elif outcome.posted:
        done = "posted and pinned" if outcome.pinned else "posted"
        lines = [f"✅ Your {name} for {escape(outcome.incident_name)} is {done} in {channel}."]
    else:
        lines = [f"Your {name} for {escape(outcome.incident_name)} is saved, but not posted."]
    lines.extend(f"⚠️ {problem}" for problem in outcome.problems)
    if not outcome.created:
        return message_modal(kind.name, "\n\n".join(lines))
    if kind.key == "executive" and outcome.document_link:
        lines.append(f"📄 Executive document: <{outcome.document_link}|open it>")
    if outcome.emailed:
        lines.append("✉️ E-mailed to " + ", ".join(escape(address) for address in outcome.emailed) + ".")
    lines.extend(
        f"⚠️ It could not be e-mailed to {escape(address)}: {escape(reason)}."
        for address, reason in outcome.email_failed.items()
    )
    nobody = not outcome.emailed and not outcome.email_failed
    if kind.key == "executive" and nobody and not outcome.document_link:
        lines.append(
            f"Only the incident channel got it: {escape(outcome.email_note)}, so no one was e-mailed."
            if outcome.email_note
            else "Only the incident channel got it: no document or e-mail plugin is set up, so no "
            "executive document was made and the notifications group was not e-mailed."
        )
    elif nobody and outcome.email_note:
        lines.append(f"Not e-mailed: {escape(outcome.email_note)}.")
    return message_modal(kind.name, "\n\n".join(lines))


REMIND_LATER = "report_remind_later"
REMIND_CHOICES = ((30, "In 30 minutes"), (60, "In 1 hour"), (120, "In 2 hours"))


def report_reminder(
    kind: ReportKind,
    incident_name: str,
    incident_id: int,
    hours: int | None,
    channel_id: str | None,
    command: str,
    status: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The commander's DM: a report of `kind` is due (by the priority's interval, as asked, or because
    the incident's status just changed to `status`)."""
    where = f" in <#{channel_id}>" if channel_id else " in the incident channel"
    since = f" for {hours} hour{'s' if hours != 1 else ''}, which its priority asks for" if hours else " yet"
    due = (
        f"is now {status.capitalize()}: time for a {kind.name.lower()}"
        if status
        else f"has had no {kind.name.lower()}{since}"
    )
    text = (
        f"⏰ *{escape(incident_name)}* {due}. "
        f"Run `{escape(command)}`{where} to tell everyone where things stand."
    )
    later = {
        "type": "actions",
        "elements": [
            {
                "type": "static_select",
                "action_id": REMIND_LATER,
                "placeholder": _text("Remind me later"),
                "options": [
                    {"text": _text(label), "value": f"{incident_id}:{kind.key}:{minutes}"}
                    for minutes, label in REMIND_CHOICES
                ],
            }
        ],
    }
    return f"{kind.name} due for {incident_name}", [_section(text), later]


def reminder_snoozed(kind: ReportKind, incident_name: str, when: str) -> str:
    return f"OK: I will remind you about the {kind.name.lower()} of {escape(incident_name)} at {when}."
