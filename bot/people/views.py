"""Block Kit for the people of an incident: the role, list and update modals and their messages (pure)."""

from __future__ import annotations

import json
from typing import Any

from bot.people.facts import ParticipantLine, ParticipantPage
from bot.slack.text import escape, escape_within

ASSIGN_CALLBACK = "people_assign_role"
LIST_CALLBACK = "people_list"
UPDATE_CALLBACK = "people_update"

# Block ids; the submission handlers read the values back by these.
PERSON, ROLE = "people_person", "people_role"
PERSON_CHOSEN = "people_person_chosen"
PAGES = "people_list_pages"
UPDATE_PERSON, UPDATE_PERSON_ACTION = "people_update_person", "people_update_person_chosen"
# The reason block's id carries the person it belongs to, so choosing another person starts from
# that person's reason instead of Slack keeping what was typed for the previous one.
REASON_PREFIX = "people_reason:"
REASON_MAX = 500

GENERIC_ROLES = ("Participant", "Observer")


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def message_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something: progress, a result or an error."""
    return {
        "type": "modal",
        "title": _text(title[:24]),
        "close": _text("Close"),
        "blocks": [_mrkdwn_section(text)],
    }


def _role_phrase(role: str) -> str:
    return f"a *{escape(role)}*" if role in GENERIC_ROLES else f"the *{escape(role)}*"


# ----- assigning roles -----


def assign_modal(
    metadata: dict[str, Any], roles: tuple[str, ...], person: str | None = None
) -> dict[str, Any]:
    person_element: dict[str, Any] = {"type": "users_select", "action_id": PERSON_CHOSEN}
    if person:
        person_element["initial_user"] = person
    return {
        "type": "modal",
        "callback_id": ASSIGN_CALLBACK,
        "title": _text("Assign a role"),
        "submit": _text("Assign"),
        "close": _text("Cancel"),
        "private_metadata": json.dumps(metadata),
        "blocks": [
            _context(
                "The person is invited to the channel if they are not in it. A commander, scribe or "
                "liaison role passes from whoever holds it now; they stay on as Participant."
            ),
            {
                "type": "input",
                "block_id": PERSON,
                "label": _text("Person"),
                "dispatch_action": True,  # the profile is looked up as soon as someone is chosen
                "element": person_element,
            },
            {
                "type": "input",
                "block_id": ROLE,
                "label": _text("Role"),
                "element": {
                    "type": "static_select",
                    "action_id": ROLE,
                    "options": [{"text": _text(role), "value": role} for role in roles],
                },
            },
        ],
    }


def assigning_modal() -> dict[str, Any]:
    return message_modal("Assign a role", "⏳ Assigning the role…")


def assigned_modal(user: str, role: str, incident_name: str, problems: list[str]) -> dict[str, Any]:
    text = f"✅ <@{user}> is now {_role_phrase(role)} of {escape(incident_name)}."
    if problems:
        text += "\n\n" + "\n".join(f"⚠️ {problem}" for problem in problems)
    return message_modal("Role assigned", text)


def role_announcement(
    role: str, user: str, assigned_by: str, previous: list[str]
) -> tuple[str, list[dict[str, Any]]]:
    """The channel message for a new role holder."""
    detail = f"Assigned by <@{assigned_by}>"
    if previous:
        detail += " · takes over from " + ", ".join(f"<@{holder}>" for holder in previous)
    if role in GENERIC_ROLES:
        headline = f"<@{user}> is now {_role_phrase(role)}"
    else:
        headline = f"👤 *New {escape(role)}* — <@{user}>"
    return f"New {role}: <@{user}>", [_mrkdwn_section(headline), _context(detail)]


def commander_readded(incident_name: str, assign_command: str) -> tuple[str, list[dict[str, Any]]]:
    text = (
        f"You are still the incident commander of {escape(incident_name)}, so you were added back to "
        f"its channel. Hand the role to someone with `{escape(assign_command)}` first, then you can leave."
    )
    return text, [_mrkdwn_section(text)]


def readded_for_open_tasks(incident_name: str, descriptions: list[str]) -> str:
    listed = "\n".join(f"• {escape_within(text, 200)}" for text in descriptions[:10])
    return (
        f"You still have open tasks in {escape(incident_name)}, so you were added back to its channel. "
        f"Resolve them, or ask the commander to give them to someone else, before you leave:\n{listed}"
    )


# ----- listing participants -----


def _line(person: ParticipantLine) -> str:
    roles = ", ".join(person.roles)
    parts = [f"<@{person.user_id}> · *{escape(roles)}*"]
    organisation = ", ".join(part for part in (person.team, person.department) if part)
    details = [escape(text) for text in (person.title, organisation) if text]
    if person.timezone:
        clock = f" ({person.local_time} there now)" if person.local_time else ""
        details.append(f"🕒 {escape(person.timezone)}{clock}")
    if person.deactivated:
        details.append("_account deactivated_")
    if details:
        parts.append(" · ".join(details))
    added = f"Added by <@{person.added_by}>" if person.added_by else "Added automatically"
    if person.added_reason:
        added += f": _{escape(person.added_reason[:300])}_"
    parts.append(added)
    return "\n".join(parts)


def participants_modal(page: ParticipantPage, show_avatars: bool) -> dict[str, Any]:
    """One page of participants (at most PAGE_SIZE, so a page stays far under 100 blocks)."""
    people = "person" if page.total == 1 else "people"
    heading = f"*{escape(page.incident_name)}* · {page.total} {people} with a role"
    if page.pages > 1:
        heading += f" · page {page.page + 1} of {page.pages}"
    blocks: list[dict[str, Any]] = [_mrkdwn_section(heading), {"type": "divider"}]
    for person in page.lines:
        block = _mrkdwn_section(_line(person))
        if show_avatars and person.avatar:
            block["accessory"] = {"type": "image", "image_url": person.avatar, "alt_text": person.name[:2000]}
        blocks.append(block)
    if not page.lines:
        blocks.append(_mrkdwn_section("No one holds a role in this incident."))
    if page.former:
        left = "person has" if page.former == 1 else "people have"
        blocks.append(_context(f"{page.former} {left} left the incident and hold no role."))
    if page.pages > 1:
        buttons = []
        if page.page > 0:
            buttons.append(
                {
                    "type": "button",
                    "action_id": "people_list_previous",
                    "text": _text("◀ Previous"),
                    "value": str(page.page - 1),
                }
            )
        if page.page < page.pages - 1:
            buttons.append(
                {
                    "type": "button",
                    "action_id": "people_list_next",
                    "text": _text("Next ▶"),
                    "value": str(page.page + 1),
                }
            )
        blocks.append({"type": "actions", "block_id": PAGES, "elements": buttons})
    return {
        "type": "modal",
        "callback_id": LIST_CALLBACK,
        "title": _text("Participants"),
        "close": _text("Close"),
        "private_metadata": json.dumps({"incident_id": page.incident_id, "page": page.page}),
        "blocks": blocks,
    }


def loading_modal(title: str) -> dict[str, Any]:
    return message_modal(title, "⏳ Loading…")


# ----- why someone takes part -----


def update_modal(metadata: dict[str, Any], target: str, reason: str, choose_person: bool) -> dict[str, Any]:
    """Edit why `target` takes part; leads get a person picker (choosing rebuilds the modal)."""
    blocks: list[dict[str, Any]] = []
    if choose_person:
        blocks.append(
            {
                "type": "input",
                "block_id": UPDATE_PERSON,
                "label": _text("Participant"),
                "dispatch_action": True,
                "element": {
                    "type": "users_select",
                    "action_id": UPDATE_PERSON_ACTION,
                    "initial_user": target,
                },
            }
        )
    else:
        blocks.append(_context("This is your own entry in the participant list."))
    reason_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "reason",
        "multiline": True,
        "max_length": REASON_MAX,
        "placeholder": _text("e.g. I own the payments API and can roll back its deploys"),
    }
    if reason:
        reason_element["initial_value"] = reason[:REASON_MAX]
    blocks.append(
        {
            "type": "input",
            "block_id": f"{REASON_PREFIX}{target}",
            "label": _text("Why are you here / expertise"),
            "hint": _text("Shown in the participant list, so others know whom to ask about what."),
            "element": reason_element,
        }
    )
    return {
        "type": "modal",
        "callback_id": UPDATE_CALLBACK,
        "title": _text("Update participant"),
        "submit": _text("Save"),
        "close": _text("Cancel"),
        "private_metadata": json.dumps({**metadata, "target": target}),
        "blocks": blocks,
    }


def reason_saved(actor: str, target: str, reason: str, incident_name: str) -> str:
    who = "You take" if actor == target else f"<@{target}> takes"
    return f"Saved. {who} part in {escape(incident_name)} because: _{escape(reason.strip())}_"
