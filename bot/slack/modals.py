"""Reading what a person entered in a submitted modal, whatever the input element, and its context."""

from __future__ import annotations

import json
from typing import Any

# Where each element keeps its value in `view.state.values`.
_SINGLE = {
    "plain_text_input": "value",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
}
_OPTION = {"static_select", "external_select", "radio_buttons"}
_OPTIONS = {"multi_static_select", "multi_external_select", "checkboxes"}
_MANY = {"multi_users_select": "selected_users", "multi_conversations_select": "selected_conversations"}


def input_value(view: dict[str, Any], block_id: str) -> Any:
    """The value of the input in `block_id`: text, date, time or id; an option's value; a tuple for
    multi-selects and checkboxes. None when the block is missing or nothing was chosen."""
    actions = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    for element in actions.values():
        kind = element.get("type")
        if kind in _SINGLE:
            return element.get(_SINGLE[kind])
        if kind in _OPTION:
            option = element.get("selected_option")
            return option.get("value") if option else None
        if kind in _MANY:
            return tuple(element.get(_MANY[kind]) or ())
        if kind in _OPTIONS:
            return tuple(option["value"] for option in element.get("selected_options") or [])
    return None


def private_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The context a modal carries, or {} when it is missing or unreadable (it comes from the client)."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def int_or_none(value: Any) -> int | None:
    """A submitted value (a select's, a button's) as a number; None when it is empty or not a number."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
