"""Block Kit for what an incident says in Slack: the channel's topic, pinned summary, announcements
and welcomes, the commander's DMs, and the announcement to notification targets (pure).
"""

from __future__ import annotations

from typing import Any

from bot.core.views import button, plain_text
from bot.incidents.facts import IncidentCard, PersonCard
from bot.slack.text import escape, escape_within

UPDATE_BUTTON = "incident_update_open"
# Buttons of the pinned summary; the capability that owns each action registers its listener.
ADD_EVENT_BUTTON = "incident_summary_add_event"
ASSIGN_ROLE_BUTTON = "incident_summary_assign_role"
TACTICAL_REPORT_BUTTON = "incident_summary_tactical_report"
STABLE_BUTTON, CLOSE_BUTTON = "incident_summary_stable", "incident_summary_close"
JOIN_BUTTON, SUBSCRIBE_BUTTON = "incident_join", "incident_subscribe"
STATUS_EMOJI = {"active": "🔥", "stable": "🛡️", "closed": "✅"}


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
        {"type": "header", "text": plain_text(f"{incident.name}: {incident.title}"[:150])},
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
                    button(UPDATE_BUTTON, "Update incident", str(incident.id)),
                    button(ADD_EVENT_BUTTON, "Add timeline event", str(incident.id)),
                    button(ASSIGN_ROLE_BUTTON, "Assign role", str(incident.id)),
                    button(TACTICAL_REPORT_BUTTON, "Tactical report", str(incident.id)),
                    *(
                        [button(STABLE_BUTTON, "Mark stable", "stable")]
                        if incident.status == "active"
                        else []
                    ),
                    button(CLOSE_BUTTON, "Close incident", "closed"),
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
            "text": plain_text("Subscribe"),
            "value": str(incident.id),
        }
    ]
    if allow_join:
        buttons.insert(
            0,
            {
                "type": "button",
                "action_id": JOIN_BUTTON,
                "text": plain_text("Join"),
                "value": str(incident.id),
                "style": "primary",
            },
        )
    return {"type": "actions", "block_id": f"incident_self_service_{incident.id}", "elements": buttons}


def notification(incident: IncidentCard, allow_join: bool) -> tuple[str, list[dict[str, Any]]]:
    """The announcement sent to notification targets."""
    text, _ = summary_message(incident)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain_text(f"🚨 New incident {incident.name}"[:150])},
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
