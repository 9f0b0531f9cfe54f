"""What each e-mail says: subjects and template variables built from the incident (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.incidents.facts import IncidentCard

# An e-mail to send: its subject, its template (templates/email/<name>) and the template's variables.
Email = tuple[str, str, dict[str, Any]]

# The recorded resources an e-mail links to, in this order, with how it names them.
RESOURCE_LABELS = (
    ("conference", "Join the conference"),
    ("document", "Incident document"),
    ("storage", "Incident folder"),
    ("ticket", "Ticket"),
)


def channel_link(workspace_url: str | None, channel_id: str | None) -> str | None:
    """A browser link to the channel: the workspace's own address when known, else Slack's redirect."""
    if not channel_id:
        return None
    if workspace_url:
        return f"{workspace_url.rstrip('/')}/archives/{channel_id}"
    return f"https://slack.com/app_redirect?channel={channel_id}"


def incident_context(card: IncidentCard, commander: str, channel: str | None) -> dict[str, Any]:
    """The variables every incident e-mail template gets."""
    return {
        "name": card.name,
        "title": card.title,
        "description": card.description,
        "status": card.status.capitalize(),
        "type": card.type,
        "severity": card.severity,
        "priority": card.priority,
        "commander_fullname": commander,
        "conversation_weblink": channel,
        "document_weblink": card.resources.get("document"),
        "resources": [
            {"label": label, "weblink": card.resources[role]}
            for role, label in RESOURCE_LABELS
            if card.resources.get(role)
        ],
        "restricted": card.visibility == "restricted",
    }


def welcome(card: IncidentCard, roles: Sequence[str], commander: str, channel: str | None) -> Email:
    """The welcome e-mail's subject and variables, for someone joining with `roles`."""
    context = incident_context(card, commander, channel)
    context["role"] = ", ".join(roles) if roles else "Participant"
    return f"Welcome to {card.name}: {card.title}", "welcome", context


def announcement(card: IncidentCard, commander: str, channel: str | None) -> Email:
    """The new-incident announcement to a notification address."""
    return (
        f"New incident {card.name}: {card.title}",
        "incident_notification",
        incident_context(card, commander, channel),
    )


def update(
    card: IncidentCard, changes: Sequence[Any], actor: str, commander: str, channel: str | None
) -> Email:
    """An update's notification (`changes` are lifecycle.Change: field, old, new)."""
    context = incident_context(card, commander, channel)
    context["actor"] = actor
    context["changes"] = [
        {"field": c.field, "old": c.old, "new": c.new, "long": c.field in {"Description", "Resolution"}}
        for c in changes
    ]
    return f"{card.name} updated: {card.title}", "incident_update", context


def report(
    card: IncidentCard,
    kind_name: str,
    fields: Mapping[str, str],
    author: str,
    commander: str,
    channel: str | None,
) -> Email:
    """A tactical or executive report (`fields`: label → text)."""
    context = incident_context(card, commander, channel)
    context["report_name"] = kind_name
    context["author"] = author
    context["fields"] = [{"label": label, "text": text} for label, text in fields.items()]
    return f"{kind_name}: {card.name} {card.title}", "report", context
