"""What the interactive elements of a message or a modal hold (state.values) and what choosing in one
sends (the action): found by what a person sees, a choice given as they would name it."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from bot.sandbox.slack.blockkit import interactive_types
from bot.sandbox.slack.interactions import ActorError, Host
from bot.sandbox.slack.state import Message

# element type -> (key in state.values / block_actions, key of its initial value, empty value)
STATE_KEYS: dict[str, tuple[str, str, Any]] = {
    "plain_text_input": ("value", "initial_value", None),
    "email_text_input": ("value", "initial_value", None),
    "url_text_input": ("value", "initial_value", None),
    "number_input": ("value", "initial_value", None),
    "rich_text_input": ("rich_text_value", "initial_value", None),
    "static_select": ("selected_option", "initial_option", None),
    "external_select": ("selected_option", "initial_option", None),
    "radio_buttons": ("selected_option", "initial_option", None),
    "overflow": ("selected_option", "", None),
    "multi_static_select": ("selected_options", "initial_options", []),
    "multi_external_select": ("selected_options", "initial_options", []),
    "checkboxes": ("selected_options", "initial_options", []),
    "users_select": ("selected_user", "initial_user", None),
    "multi_users_select": ("selected_users", "initial_users", []),
    "conversations_select": ("selected_conversation", "initial_conversation", None),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", []),
    "channels_select": ("selected_channel", "initial_channel", None),
    "multi_channels_select": ("selected_channels", "initial_channels", []),
    "datepicker": ("selected_date", "initial_date", None),
    "timepicker": ("selected_time", "initial_time", None),
    "datetimepicker": ("selected_date_time", "initial_date_time", None),
    "file_input": ("files", "", []),
}
# Elements with a value that lives in view state (buttons and overflow menus only fire actions).
STATEFUL = frozenset(STATE_KEYS) - {"overflow"}


def text_of(value: Any) -> str:
    return value.get("text", "") if isinstance(value, dict) else ""


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found.extend(group.get("options") or [])
    return found


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    """The interactive elements a block holds."""
    kind = block.get("type")
    if kind in ("actions", "context_actions"):
        candidates = list(block.get("elements") or [])
    elif kind == "section":
        candidates = [block["accessory"]] if block.get("accessory") else []
    elif kind == "input":
        candidates = [block["element"]] if block.get("element") else []
    else:
        candidates = []
    return [e for e in candidates if isinstance(e, dict) and e.get("type") in interactive_types()]


class ElementValues:
    """The values of one user's messages and modals: their state, and the value of a choice."""

    def __init__(self, fake: Host) -> None:
        self.fake = fake
        self.ws = fake.workspace

    def find(self, blocks: list[dict[str, Any]], wanted: str, where: str) -> tuple[dict, dict]:
        """(block, element) matched by action_id, text, placeholder, input label or button value."""
        available = []
        for block in blocks:
            for element in _elements(block):
                label = (
                    text_of(element.get("text"))
                    or text_of(element.get("placeholder"))
                    or text_of(block.get("label"))
                )
                if wanted in (element.get("action_id"), label) or (
                    element.get("type") == "button" and wanted == element.get("value")
                ):
                    return block, element
                available.append(f"{element['type']} action_id={element.get('action_id')!r} text={label!r}")
        raise ActorError(f"no element {wanted!r} in {where}; available: {available}")

    def selection(self, element: dict[str, Any], choice: Any) -> Any:
        """The state/action value for choosing `choice` (what the user sees) in element."""
        kind = element["type"]
        key = STATE_KEYS.get(kind, ("value", "", None))[0]
        if key == "selected_option":
            return self.option(element, choice)
        if key == "selected_options":
            choices = choice if isinstance(choice, (list, tuple, set)) else [choice]
            return [self.option(element, c) for c in choices]
        if key == "selected_user":
            return self.user_id(choice)
        if key == "selected_users":
            return [self.user_id(c) for c in choice]
        if key in ("selected_conversation", "selected_channel"):
            return self.fake.channel(choice).id
        if key in ("selected_conversations", "selected_channels"):
            return [self.fake.channel(c).id for c in choice]
        if key == "selected_date":
            return choice.isoformat() if isinstance(choice, dt.date) else str(choice)
        if key == "selected_time":
            return choice.strftime("%H:%M") if isinstance(choice, dt.time) else str(choice)
        if key == "selected_date_time":
            return int(choice.timestamp()) if isinstance(choice, dt.datetime) else int(choice)
        if key == "rich_text_value":
            section = {"type": "rich_text_section", "elements": [{"type": "text", "text": str(choice)}]}
            return {"type": "rich_text", "elements": [section]}
        if key == "files":
            return list(choice)
        return None if choice is None else str(choice)

    @staticmethod
    def option(element: dict[str, Any], choice: Any) -> dict[str, Any]:
        options = _options(element)
        for option in options:
            if choice in (text_of(option.get("text")), option.get("value")):
                return copy.deepcopy(option)
        texts = [text_of(o.get("text")) for o in options]
        raise ActorError(f"no option {choice!r} in {element.get('action_id')!r}; options: {texts}")

    def user_id(self, choice: Any) -> str:
        if choice in self.ws.users:
            return str(choice)
        for user in self.ws.users.values():
            if choice in (user.name, user.real_name, user.email):
                return user.id
        raise ActorError(f"no user {choice!r}")

    def action(self, block: dict[str, Any], element: dict[str, Any], choice: Any = None) -> dict[str, Any]:
        """The entry of `actions` for clicking or choosing `choice` in element."""
        action: dict[str, Any] = {
            "type": element["type"],
            "block_id": block.get("block_id"),
            "action_id": element.get("action_id"),
            "action_ts": self.ws.ids.ts(),
        }
        if element["type"] == "button":
            action["text"] = copy.deepcopy(element.get("text"))
            for key in ("value", "style"):
                if key in element:
                    action[key] = element[key]
        elif element["type"] == "workflow_button":
            action["text"] = copy.deepcopy(element.get("text"))
        else:
            if choice is None:
                raise ActorError(f"{element['type']} {element.get('action_id')!r} needs a choice")
            key = STATE_KEYS.get(element["type"], ("value", "", None))[0]
            action[key] = self.selection(element, choice)
            if "placeholder" in element:
                action["placeholder"] = copy.deepcopy(element["placeholder"])
        return action

    def message_state(self, message: Message) -> dict[str, Any]:
        """A message's state.values: each stateful element at its initial value."""
        values: dict[str, Any] = {}
        for block in message.blocks or []:
            for element in _elements(block):
                if element["type"] in STATEFUL:
                    values.setdefault(block["block_id"], {})[element["action_id"]] = self.initial_entry(
                        element
                    )
        return values

    def initial_entry(self, element: dict[str, Any]) -> dict[str, Any]:
        """The state entry of an element nobody has touched."""
        key, initial_key, empty = STATE_KEYS[element["type"]]
        value = copy.deepcopy(element.get(initial_key, empty)) if initial_key else copy.deepcopy(empty)
        if key == "rich_text_value" and isinstance(value, str):
            value = self.selection(element, value)
        return {"type": element["type"], key: value}

    def view_state(self, view: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
        """A view's state.values: what was chosen in it so far, the initial values elsewhere."""
        drafts = self.ws.view_drafts.get(view["id"], {})
        values: dict[str, dict[str, dict[str, Any]]] = {}
        for block in view.get("blocks", []):
            for element in _elements(block):
                if element["type"] not in STATEFUL:
                    continue
                draft = drafts.get(block["block_id"], {}).get(element["action_id"])
                entry = copy.deepcopy(draft) if draft else self.initial_entry(element)
                values.setdefault(block["block_id"], {})[element["action_id"]] = entry
        return values
