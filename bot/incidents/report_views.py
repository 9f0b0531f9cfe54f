"""Block Kit for reporting an incident: the report modal and the modals that follow it (pure)."""

from __future__ import annotations

import json
from typing import Any

from bot.core.views import plain_text
from bot.incidents.facts import Choice, IncidentCard, ReportForm
from bot.slack.text import escape

REPORT_CALLBACK = "incident_report"
PROJECT_ACTION = "incident_report_project"
TITLE_MAX = 200
DESCRIPTION_MAX = 3000
# What a modal says when its submission cannot be read back.
STALE_FORM = "This form could not be read (it may be out of date). Close it and run the command again."

# Block ids of the report modal; the submission handler reads the values back by these.
TAGS = "tags"
TITLE, DESCRIPTION, PROJECT, TYPE, SEVERITY, PRIORITY, VISIBILITY, COMMANDER = (
    "title",
    "description",
    "project",
    "type",
    "severity",
    "priority",
    "visibility",
    "commander",
)


def tag_picker(tags: list[tuple[str, str]], selected: list[str]) -> dict[str, Any] | None:
    """A multi-select of "Type/Tag" options (at most 100, as Slack allows); None when there are no tags."""
    if not tags:
        return None
    options = [{"text": plain_text(f"{kind}/{name}"[:75]), "value": name[:150]} for kind, name in tags[:100]]
    element: dict[str, Any] = {"type": "multi_static_select", "action_id": TAGS, "options": options}
    initial = [option for option in options if option["value"] in selected]
    if initial:
        element["initial_options"] = initial
    return {
        "type": "input",
        "block_id": TAGS,
        "label": plain_text("Tags"),
        "optional": True,
        "element": element,
    }


def _option(choice: Choice) -> dict[str, Any]:
    option: dict[str, Any] = {"text": plain_text(choice.name[:75]), "value": str(choice.id)}
    if choice.description:
        option["description"] = plain_text(choice.description[:75])
    return option


def _select(
    block_id: str,
    label: str,
    choices: list[Choice],
    selected: int | None,
    *,
    dispatch: bool = False,
    action_id: str | None = None,
    optional: bool = False,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": action_id or block_id,
        "options": [_option(choice) for choice in choices[:100]],
    }
    initial = next((choice for choice in choices if choice.id == selected), None)
    if initial is not None:
        element["initial_option"] = _option(initial)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain_text(label),
        "element": element,
        "optional": optional,
    }
    if dispatch:
        block["dispatch_action"] = True
    return block


def report_modal(form: ReportForm, metadata: dict[str, Any]) -> dict[str, Any]:
    """The "Report an incident" modal; choosing another project rebuilds it with that project's choices."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": (
                        "Tell us what is happening. An incident channel opens as soon as you submit, "
                        "and you can change every field later."
                    ),
                }
            ],
        },
        {
            "type": "input",
            "block_id": TITLE,
            "label": plain_text("Title"),
            "element": {
                "type": "plain_text_input",
                "action_id": TITLE,
                "max_length": TITLE_MAX,
                "placeholder": plain_text("A short summary, e.g. Checkout fails for EU users"),
                **({"initial_value": form.title[:TITLE_MAX]} if form.title else {}),
            },
        },
        {
            "type": "input",
            "block_id": DESCRIPTION,
            "label": plain_text("Description"),
            "element": {
                "type": "plain_text_input",
                "action_id": DESCRIPTION,
                "multiline": True,
                "max_length": DESCRIPTION_MAX,
                "placeholder": plain_text("What is affected, since when, and what you have seen"),
                **({"initial_value": form.description[:DESCRIPTION_MAX]} if form.description else {}),
            },
        },
    ]
    if len(form.projects) > 1:
        blocks.append(
            _select(
                PROJECT, "Project", form.projects, form.project_id, dispatch=True, action_id=PROJECT_ACTION
            )
        )
    # A project may not define every kind of choice; Slack refuses a select without options.
    for block_id, label, choices, default in (
        (TYPE, "Type", form.types, form.default_type_id),
        (SEVERITY, "Severity", form.severities, form.default_severity_id),
        (PRIORITY, "Priority", form.priorities, form.default_priority_id),
    ):
        if choices:
            blocks.append(_select(block_id, label, choices, default))
    picker = tag_picker(form.tags, [])
    if picker:
        blocks.append(picker)
    blocks += [
        {
            "type": "input",
            "block_id": VISIBILITY,
            "label": plain_text("Visibility"),
            "optional": True,
            "hint": plain_text(
                "Leave empty to use the type's visibility. Restricted incidents are "
                "announced to no one outside the channel."
            ),
            "element": {
                "type": "static_select",
                "action_id": VISIBILITY,
                "options": [
                    {"text": plain_text("Open"), "value": "open"},
                    {"text": plain_text("Restricted"), "value": "restricted"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": COMMANDER,
            "label": plain_text("Incident commander"),
            "optional": True,
            "hint": plain_text("Leave empty and the on-call policy, or you, will lead."),
            "element": {"type": "users_select", "action_id": COMMANDER},
        },
    ]
    return {
        "type": "modal",
        "callback_id": REPORT_CALLBACK,
        "title": plain_text("Report an incident"),
        "submit": plain_text("Report"),
        "close": plain_text("Cancel"),
        "blocks": blocks,
        "private_metadata": json.dumps(metadata),
    }


def message_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something: progress, a result or an error."""
    return {
        "type": "modal",
        "title": plain_text(title[:24]),
        "close": plain_text("Close"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}],
    }


def loading_modal(title: str) -> dict[str, Any]:
    return message_modal(title, "⏳ Loading…")


def creating_modal() -> dict[str, Any]:
    return message_modal("Report an incident", "⏳ Creating your incident and its channel…")


def created_modal(incident: IncidentCard) -> dict[str, Any]:
    where = f"<#{incident.channel_id}>" if incident.channel_id else "its channel (opening now)"
    return message_modal(
        "Incident reported",
        f"*{escape(incident.name)}* is open: join the response in {where}.\n\n"
        f"*Title:* {escape(incident.title)}\n*Commander:* <@{incident.commander_id}>\n"
        f"*Type:* {escape(incident.type)} · *Severity:* {escape(incident.severity)} · "
        f"*Priority:* {escape(incident.priority)}",
    )


def saved_with_error_modal(incident: IncidentCard, correlation_id: str) -> dict[str, Any]:
    where = (
        f"its channel <#{incident.channel_id}> exists"
        if incident.channel_id
        else "its channel is being opened"
    )
    return message_modal(
        "Incident reported",
        f"*{escape(incident.name)}* is saved and {where}, but part of its opening hit an error; the "
        f"bot finishes what is left on its own. Reference: `{correlation_id}`.",
    )


def opening_modal(incident: IncidentCard, position: int = 0) -> dict[str, Any]:
    """The incident exists, its channel is on its way (`position`: its place in the queue of channels
    Slack lets the bot create only so many a minute; 0 when it is not queued)."""
    queued = (
        f"\n\nChannels are being opened one after another (Slack allows only so many a minute): "
        f"yours is number {position} in the queue. You will be invited as soon as it exists."
        if position
        else ""
    )
    return message_modal(
        "Incident reported",
        f"*{escape(incident.name)}: {escape(incident.title)}* exists. "
        f"⏳ The channel is being opened…{queued}",
    )


def channel_pending_modal(incident: IncidentCard) -> dict[str, Any]:
    return message_modal(
        "Incident reported",
        f"*{escape(incident.name)}* is saved, but Slack would not create its channel yet. "
        "It is retried automatically and you will be invited as soon as it exists.",
    )
