"""Block Kit for reporting and running an incident: modals, the channel's messages and DMs (pure)."""

from __future__ import annotations

import json
from typing import Any

from bot.costs.views import add_cost_button, amount
from bot.incidents.facts import Choice, IncidentCard, PersonCard, ReportForm
from bot.slack.text import escape, escape_within

REPORT_CALLBACK = "incident_report"
UPDATE_BUTTON = "incident_update_open"
# Buttons of the pinned summary; the capability that owns each action registers its listener.
ADD_EVENT_BUTTON = "incident_summary_add_event"
ASSIGN_ROLE_BUTTON = "incident_summary_assign_role"
TACTICAL_REPORT_BUTTON = "incident_summary_tactical_report"
STABLE_BUTTON, CLOSE_BUTTON = "incident_summary_stable", "incident_summary_close"
REOPEN_BUTTON = "incident_reopen"
REVIEW_UPDATE_BUTTON = "incident_review_update"
CLOSE_REMINDER_BUTTON = "incident_close_reminder"
JOIN_BUTTON, SUBSCRIBE_BUTTON = "incident_join", "incident_subscribe"
PROJECT_ACTION = "incident_report_project"
TITLE_MAX = 200
DESCRIPTION_MAX = 3000

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
STATUS_EMOJI = {"active": "🔥", "stable": "🛡️", "closed": "✅"}


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _button(action_id: str, text: str, value: str) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": _text(text), "value": value}


def tag_picker(tags: list[tuple[str, str]], selected: list[str]) -> dict[str, Any] | None:
    """A multi-select of "Type/Tag" options (at most 100, as Slack allows); None when there are no tags."""
    if not tags:
        return None
    options = [{"text": _text(f"{kind}/{name}"[:75]), "value": name[:150]} for kind, name in tags[:100]]
    element: dict[str, Any] = {"type": "multi_static_select", "action_id": TAGS, "options": options}
    initial = [option for option in options if option["value"] in selected]
    if initial:
        element["initial_options"] = initial
    return {"type": "input", "block_id": TAGS, "label": _text("Tags"), "optional": True, "element": element}


def _option(choice: Choice) -> dict[str, Any]:
    option: dict[str, Any] = {"text": _text(choice.name[:75]), "value": str(choice.id)}
    if choice.description:
        option["description"] = _text(choice.description[:75])
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
        "label": _text(label),
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
            "label": _text("Title"),
            "element": {
                "type": "plain_text_input",
                "action_id": TITLE,
                "max_length": TITLE_MAX,
                "placeholder": _text("A short summary, e.g. Checkout fails for EU users"),
                **({"initial_value": form.title[:TITLE_MAX]} if form.title else {}),
            },
        },
        {
            "type": "input",
            "block_id": DESCRIPTION,
            "label": _text("Description"),
            "element": {
                "type": "plain_text_input",
                "action_id": DESCRIPTION,
                "multiline": True,
                "max_length": DESCRIPTION_MAX,
                "placeholder": _text("What is affected, since when, and what you have seen"),
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
            "label": _text("Visibility"),
            "optional": True,
            "hint": _text(
                "Leave empty to use the type's visibility. Restricted incidents are "
                "announced to no one outside the channel."
            ),
            "element": {
                "type": "static_select",
                "action_id": VISIBILITY,
                "options": [
                    {"text": _text("Open"), "value": "open"},
                    {"text": _text("Restricted"), "value": "restricted"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": COMMANDER,
            "label": _text("Incident commander"),
            "optional": True,
            "hint": _text("Leave empty and the on-call policy, or you, will lead."),
            "element": {"type": "users_select", "action_id": COMMANDER},
        },
    ]
    return {
        "type": "modal",
        "callback_id": REPORT_CALLBACK,
        "title": _text("Report an incident"),
        "submit": _text("Report"),
        "close": _text("Cancel"),
        "blocks": blocks,
        "private_metadata": json.dumps(metadata),
    }


def message_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something: progress, a result or an error."""
    return {
        "type": "modal",
        "title": _text(title[:24]),
        "close": _text("Close"),
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


def channel_pending_modal(incident: IncidentCard) -> dict[str, Any]:
    return message_modal(
        "Incident reported",
        f"*{escape(incident.name)}* is saved, but Slack would not create its channel yet. "
        "It is retried automatically and you will be invited as soon as it exists.",
    )


def topic(incident: IncidentCard, commander_name: str) -> str:
    return (
        f"IC: {commander_name} | {incident.status.capitalize()} | {incident.type} | "
        f"Severity: {incident.severity} | Priority: {incident.priority}"
    )


def purpose(incident: IncidentCard, type_description: str) -> str:
    return type_description or f"Response to {incident.name}: {incident.title}"


def _facts_fields(incident: IncidentCard) -> list[dict[str, Any]]:
    return [
        {
            "type": "mrkdwn",
            "text": f"*Status*\n{STATUS_EMOJI.get(incident.status, '')} {incident.status.capitalize()}",
        },
        {"type": "mrkdwn", "text": f"*Commander*\n<@{incident.commander_id}>"},
        {"type": "mrkdwn", "text": f"*Type*\n{escape(incident.type)}"},
        {"type": "mrkdwn", "text": f"*Severity*\n{escape(incident.severity)}"},
        {"type": "mrkdwn", "text": f"*Priority*\n{escape(incident.priority)}"},
        {"type": "mrkdwn", "text": f"*Reporter*\n<@{incident.reporter_id}>"},
    ]


def _visibility_note(incident: IncidentCard) -> str:
    if incident.visibility == "restricted":
        return "🔒 Restricted: keep details inside this channel."
    return "🌐 Open"


def summary_message(incident: IncidentCard) -> tuple[str, list[dict[str, Any]]]:
    """The pinned summary at the top of the incident channel."""
    description = escape_within(incident.description, 2900) or "_No description yet._"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _text(f"{incident.name}: {incident.title}"[:150])},
        {"type": "section", "text": {"type": "mrkdwn", "text": description}},
        {"type": "section", "fields": _facts_fields(incident)},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": (f"{_visibility_note(incident)} · Project {escape(incident.project)}"),
                }
            ],
        },
    ]
    if incident.status != "closed":
        blocks.append(
            {
                "type": "actions",
                "block_id": "incident_summary_actions",
                "elements": [
                    _button(UPDATE_BUTTON, "Update incident", str(incident.id)),
                    _button(ADD_EVENT_BUTTON, "Add timeline event", str(incident.id)),
                    _button(ASSIGN_ROLE_BUTTON, "Assign role", str(incident.id)),
                    _button(TACTICAL_REPORT_BUTTON, "Tactical report", str(incident.id)),
                    *(
                        [_button(STABLE_BUTTON, "Mark stable", "stable")]
                        if incident.status == "active"
                        else []
                    ),
                    _button(CLOSE_BUTTON, "Close incident", "closed"),
                ],
            }
        )
    return escape(f"{incident.name}: {incident.title}"), blocks


def _person_line(person: PersonCard) -> str:
    details = ", ".join(person.roles) or "Participant"
    where = f" · {escape(person.timezone)}" if person.timezone else ""
    return f"• <@{person.user_id}> — {escape(details)}{where}"


def participants_announcement(people: list[PersonCard]) -> tuple[str, list[dict[str, Any]]]:
    heading = "New participant" if len(people) == 1 else f"{len(people)} new participants"
    lines = "\n".join(_person_line(person) for person in people)
    return heading, [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{heading}*\n{lines}"[:3000]}},
    ]


# The resources a newcomer needs first, in the order they are shown, with how they are shown.
RESOURCE_LINKS = (
    ("conference", "📞 Join the conference"),
    ("document", "📄 Incident document"),
    ("storage", "📁 Incident folder"),
    ("ticket", "🎫 Ticket"),
)


def _resource_links(incident: IncidentCard) -> list[dict[str, Any]]:
    lines = [
        f"<{incident.resources[role]}|{label}>"
        for role, label in RESOURCE_LINKS
        if incident.resources.get(role)
    ]
    if not lines:
        return []
    return [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]


def welcome(incident: IncidentCard, roles: list[str]) -> tuple[str, list[dict[str, Any]]]:
    role_text = ", ".join(roles) if roles else "Participant"
    restricted = incident.visibility == "restricted"
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"*Welcome to {escape(incident.name)}*\nYou are here as *{escape(role_text)}* "
                    f"in the response to _{escape(incident.title)}_."
                ),
            },
        },
        {"type": "section", "fields": _facts_fields(incident)},
        *_resource_links(incident),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": (
                        "🔒 This incident is restricted: do not share its details outside this channel."
                        if restricted
                        else "Everything about the incident happens in this channel; the pinned "
                        "message has the summary."
                    ),
                }
            ],
        },
    ]
    return f"Welcome to {incident.name}", blocks


def commander_tips(incident: IncidentCard, update_command: str) -> tuple[str, list[dict[str, Any]]]:
    channel = f"<#{incident.channel_id}>" if incident.channel_id else "the incident channel"
    text = (
        f"*You are the incident commander of {escape(incident.name)}* ({channel}).\n"
        f"• Keep the status, severity and priority current with `{update_command}`.\n"
        "• Bring people in by mentioning them in the channel.\n"
        "• Mark key moments with a :stopwatch: reaction so they land in the timeline.\n"
        "• Hand the role over as soon as someone better placed is around."
    )
    return f"You are the incident commander of {incident.name}", [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    ]


def self_service_buttons(incident: IncidentCard, allow_join: bool) -> dict[str, Any]:
    """Join (when the project lets people in on their own) and Subscribe, for announcements."""
    buttons = [
        {
            "type": "button",
            "action_id": SUBSCRIBE_BUTTON,
            "text": _text("Subscribe"),
            "value": str(incident.id),
        }
    ]
    if allow_join:
        buttons.insert(
            0,
            {
                "type": "button",
                "action_id": JOIN_BUTTON,
                "text": _text("Join"),
                "value": str(incident.id),
                "style": "primary",
            },
        )
    return {"type": "actions", "block_id": f"incident_self_service_{incident.id}", "elements": buttons}


def notification(incident: IncidentCard, allow_join: bool) -> tuple[str, list[dict[str, Any]]]:
    """The announcement sent to notification targets."""
    text, _ = summary_message(incident)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _text(f"🚨 New incident {incident.name}"[:150])},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"*{escape_within(incident.title, 1000)}*\n{escape_within(incident.description, 1800)}"
                ),
            },
        },
        {"type": "section", "fields": _facts_fields(incident)},
    ]
    if incident.status != "closed":
        blocks.append(self_service_buttons(incident, allow_join))
    return f"New incident {text}", blocks


def channel_reference(target: str) -> str:
    """A notification target as Slack shows it: a link for a channel id, `#name` for a name."""
    return f"<#{target}>" if target[:1] in ("C", "G") and target.isupper() else f"#{escape(target)}"


# Why Slack refused a post, in plain words, and what to do about it; `{bot}` and `{channel}` are filled in.
UNREACHABLE_REASONS = {
    "not_in_channel": (
        "the bot is not a member of it. Invite it there (`/invite {bot}` in {channel}), "
        "or point the notification at another channel in the project's configuration."
    ),
    "channel_not_found": (
        "there is no such channel, or it is private and the bot is not in it. Fix the notification's "
        "target in the project's configuration, or invite {bot} if the channel is private."
    ),
    "is_archived": (
        "the channel is archived. Unarchive it, or point the notification at another channel "
        "in the project's configuration."
    ),
}


def unreachable_notification(incident: IncidentCard, target: str, error: str, bot: str) -> str:
    """The commander's DM saying a notification channel did not get the incident's announcement."""
    channel = channel_reference(target)
    reason = UNREACHABLE_REASONS.get(
        error,
        "Slack refused the post (`{error}`). Check the channel and the project's configuration.",
    ).format(bot=bot, channel=channel, error=escape(error))
    return f"The announcement of {incident.name} could not be posted in {channel}: {reason}"


UPDATE_CALLBACK = "incident_update"
COST_LINE = "incident_cost"
STATUS, RESOLUTION = "status", "resolution"
STATUS_CHOICES = [Choice(0, "Active"), Choice(1, "Stable"), Choice(2, "Closed")]
ARROWS = {1: "⬆️ ", -1: "⬇️ ", 0: ""}


def _static(
    block_id: str, label: str, options: list[tuple[str, str]], selected: str | None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": block_id,
        "options": [{"text": _text(text[:75]), "value": value} for text, value in options[:100]],
    }
    initial = next(((text, value) for text, value in options if value == selected), None)
    if initial is not None:
        element["initial_option"] = {"text": _text(initial[0][:75]), "value": initial[1]}
    return {"type": "input", "block_id": block_id, "label": _text(label), "element": element}


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
        "label": _text(label),
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
        "title": _text("Update incident"),
        "submit": _text("Save"),
        "close": _text("Cancel"),
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
                {**_button(REVIEW_UPDATE_BUTTON, "Review and update", str(incident.id)), "style": "primary"},
                _button(REOPEN_BUTTON, "Reopen incident", str(incident.id)),
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
                {**_button(CLOSE_REMINDER_BUTTON, "Close incident", str(incident_id)), "style": "primary"}
            ],
        },
    ]


LIST_CALLBACK = "incident_list"
LIST_PAGE_ACTIONS = ("incident_list_previous", "incident_list_next")
LIST_PAGE_SIZE = 15


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


MESSAGE_BLOCKS = 50
SUMMARY_GROUPS = (("active", "Active"), ("stable", "Stable"), ("closed", "Closed in the last 24 hours"))


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
        {"type": "header", "text": _text(f"📋 {project} incidents · {day}"[:150])},
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
            blocks.append({"type": "header", "text": _text(f"Project {card.project}"[:150])})
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
                "text": _text("Previous"),
                "value": str(page - 1),
            }
        )
    if page < pages - 1:
        buttons.append(
            {
                "type": "button",
                "action_id": LIST_PAGE_ACTIONS[1],
                "text": _text("Next"),
                "value": str(page + 1),
            }
        )
    if buttons:
        blocks.append({"type": "actions", "block_id": "incident_list_pages", "elements": buttons})
    return {
        "type": "modal",
        "callback_id": LIST_CALLBACK,
        "title": _text("Current incidents"),
        "close": _text("Close"),
        "blocks": blocks,
        "private_metadata": json.dumps({"page": page, "project": project}),
    }
