"""Block Kit validation: slack_sdk's own models plus the documented limits they leave unchecked."""

from __future__ import annotations

import inspect
import random
import string
from collections.abc import Iterator
from functools import cache
from typing import Any

from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block, DividerBlock, InteractiveElement
from slack_sdk.models.views import View

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
SURFACES = frozenset(MAX_BLOCKS)

# Option limits from the Block Kit reference (slack_sdk declares some of them but does not enforce them).
MAX_OPTIONS = {
    "static_select": 100,
    "multi_static_select": 100,
    "radio_buttons": 10,
    "checkboxes": 10,
    "overflow": 5,
}
MAX_OPTION_GROUPS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELD_TEXT = 2000
MAX_MODAL_TITLE = 24
MAX_MESSAGE_TEXT = 40000

# Keys of dicts that carry no "type": which keys Slack accepts, by the key they sit under.
_UNTYPED_KEYS = {
    "options": {"text", "value", "description", "url"},
    "initial_options": {"text", "value", "description", "url"},
    "initial_option": {"text", "value", "description", "url"},
    "option_groups": {"label", "options"},
    "confirm": {"title", "text", "confirm", "deny", "style"},
    "dispatch_action_config": {"trigger_actions_on"},
    "filter": {"include", "exclude_external_shared_channels", "exclude_bot_users"},
    "slack_file": {"id", "url"},
}

# (element type or "*", key) pairs whose text object must be plain_text.
_PLAIN_TEXT_ONLY = {
    ("header", "text"),
    ("input", "label"),
    ("input", "hint"),
    ("button", "text"),
    ("*", "placeholder"),
}
_PLAIN_TEXT_OPTION_PARENTS = {
    "static_select",
    "multi_static_select",
    "overflow",
    "external_select",
    "multi_external_select",
}

# Keys a client may send in a view; the rest of what views.* return (id, state, hash...) is read-only.
VIEW_REQUEST_KEYS = {
    "modal": {
        "type",
        "title",
        "blocks",
        "close",
        "submit",
        "private_metadata",
        "callback_id",
        "clear_on_close",
        "notify_on_close",
        "external_id",
        "submit_disabled",
    },
    "home": {"type", "blocks", "private_metadata", "callback_id", "external_id"},
}


def _subclasses(cls: type) -> Iterator[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _declared_type(cls: type) -> str | None:
    value = cls.__dict__.get("type")
    return value if isinstance(value, str) else None


@cache
def _known_keys(cls: type) -> frozenset[str]:
    """Every key slack_sdk accepts for cls: constructor parameters plus its `attributes`."""
    keys = {"type"}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for name, param in inspect.signature(init).parameters.items():
            if param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD) and name != "self":
                keys.add(name)
    attributes = getattr(cls, "attributes", None)
    if isinstance(attributes, property):
        try:
            attributes = attributes.fget(cls.__new__(cls))  # type: ignore[misc, call-overload]
        except Exception:
            attributes = None
    if isinstance(attributes, (set, frozenset)):
        keys |= set(attributes)
    keys.discard("subtype")  # slack_sdk's legacy alias, unknown to Slack
    return frozenset(keys)


@cache
def _registries() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]], frozenset[str]]:
    """(block type -> keys, any nested type -> keys, interactive element types)."""
    blocks: dict[str, frozenset[str]] = {}
    for cls in _subclasses(Block):
        t = _declared_type(cls)
        if t:
            blocks[t] = blocks.get(t, frozenset()) | _known_keys(cls)
    nested: dict[str, frozenset[str]] = dict(blocks)
    for cls in _subclasses(JsonObject):
        t = _declared_type(cls)
        if t and not cls.__module__.endswith(".chunk"):
            nested[t] = nested.get(t, frozenset()) | _known_keys(cls)
    interactive = frozenset(t for cls in _subclasses(InteractiveElement) if (t := _declared_type(cls)))
    return blocks, nested, interactive


def interactive_types() -> frozenset[str]:
    """Element types that carry an action_id and send block_actions."""
    return _registries()[2]


def _is_text_object(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in ("plain_text", "mrkdwn")


def _text_of(value: Any) -> str:
    return value.get("text", "") if isinstance(value, dict) else ""


class _Walker:
    """Walks one block's raw JSON and collects what slack_sdk's models do not catch."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        self.action_ids: list[str] = []

    def block(self, block: dict[str, Any], path: str) -> None:
        self.action_ids = []
        block_keys, _, _ = _registries()
        self._typed(block, path, block_keys[block["type"]])
        seen: set[str] = set()
        for action_id in self.action_ids:
            if action_id in seen:
                self.errors.append(f"{path}: duplicate action_id {action_id!r} in one block")
            seen.add(action_id)

    def _typed(self, obj: dict[str, Any], path: str, known: frozenset[str]) -> None:
        kind = obj["type"]
        for key in sorted(set(obj) - known):
            self.errors.append(f"{path}: unknown key {key!r} for type {kind!r}")
        if kind in ("plain_text", "mrkdwn"):
            text = obj.get("text")
            if not isinstance(text, str) or not text:
                self.errors.append(f"{path}: text object must have a non-empty 'text'")
            return
        if isinstance(obj.get("action_id"), str) and kind in interactive_types():
            self.action_ids.append(obj["action_id"])
        for key, value in obj.items():
            plain_only = (kind, key) in _PLAIN_TEXT_ONLY or ("*", key) in _PLAIN_TEXT_ONLY
            if plain_only and _is_text_object(value) and value.get("type") != "plain_text":
                self.errors.append(f"{path}.{key}: must be a plain_text text object")
        self._type_limits(obj, path)
        for key, value in obj.items():
            if key != "type":
                self._value(value, f"{path}.{key}", key)

    def _type_limits(self, obj: dict[str, Any], path: str) -> None:
        kind = obj["type"]
        options = obj.get("options")
        if kind in MAX_OPTIONS:
            limit = MAX_OPTIONS[kind]
            if isinstance(options, list) and len(options) > limit:
                self.errors.append(f"{path}.options: {len(options)} options, at most {limit} allowed")
            groups = obj.get("option_groups")
            if isinstance(groups, list) and len(groups) > MAX_OPTION_GROUPS:
                self.errors.append(f"{path}.option_groups: at most {MAX_OPTION_GROUPS} groups allowed")
            if not options and not groups:
                self.errors.append(f"{path}: {kind} needs a non-empty 'options'")
            if kind in _PLAIN_TEXT_OPTION_PARENTS:
                for i, option in enumerate(options or []):
                    text = option.get("text") if isinstance(option, dict) else None
                    if isinstance(text, dict) and text.get("type") == "mrkdwn":
                        self.errors.append(f"{path}.options[{i}].text: must be plain_text in {kind}")
        if kind == "section":
            if len(_text_of(obj.get("text"))) > MAX_SECTION_TEXT:
                self.errors.append(f"{path}.text: longer than {MAX_SECTION_TEXT} characters")
            for i, item in enumerate(obj.get("fields") or []):
                if len(_text_of(item)) > MAX_SECTION_FIELD_TEXT:
                    self.errors.append(f"{path}.fields[{i}]: longer than {MAX_SECTION_FIELD_TEXT} characters")

    def _value(self, value: Any, path: str, key: str) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                self._value(item, f"{path}[{i}]", key)
        elif isinstance(value, dict):
            if isinstance(value.get("type"), str):
                _, nested, _ = _registries()
                known = nested.get(value["type"])
                if known is None:
                    self.errors.append(f"{path}: unknown type {value['type']!r}")
                    return
                self._typed(value, path, known)
            else:
                allowed = _UNTYPED_KEYS.get(key)
                if allowed is not None:
                    for extra in sorted(set(value) - allowed):
                        self.errors.append(f"{path}: unknown key {extra!r}")
                for sub_key, sub_value in value.items():
                    self._value(sub_value, f"{path}.{sub_key}", sub_key)


def validate_blocks(blocks: Any, surface: str = "message") -> list[str]:
    """Problems Slack would reject in a blocks array for surface ("message", "modal" or "home")."""
    if surface not in SURFACES:
        raise ValueError(f"surface must be one of {sorted(SURFACES)}, not {surface!r}")
    if not isinstance(blocks, list):
        return [f"blocks must be a JSON array, got {type(blocks).__name__}"]
    errors: list[str] = []
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        errors.append(f"blocks: {len(blocks)} blocks, at most {limit} allowed in a {surface}")
    block_keys, _, _ = _registries()
    seen_block_ids: set[str] = set()
    walker = _Walker(errors)
    for i, block in enumerate(blocks):
        path = f"blocks[{i}]"
        if not isinstance(block, dict):
            errors.append(f"{path}: must be an object")
            continue
        kind = block.get("type")
        if kind not in block_keys:
            errors.append(f"{path}: unknown block type {kind!r}")
            continue
        try:
            parsed = Block.parse(block)
            if parsed is None:
                raise ValueError("slack_sdk could not parse it")
            parsed.to_dict()
        except Exception as error:
            errors.append(f"{path} ({kind}): {type(error).__name__}: {error}")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_block_ids:
                errors.append(f"{path}: duplicate block_id {block_id!r}")
            seen_block_ids.add(block_id)
        walker.block(block, path)
    return errors


def validate_view(view: Any) -> list[str]:
    """Problems Slack would reject in a view given to views.open/update/push/publish."""
    if not isinstance(view, dict):
        return [f"view must be a JSON object, got {type(view).__name__}"]
    kind = view.get("type")
    if kind not in VIEW_REQUEST_KEYS:
        return [f"view.type must be 'modal' or 'home', got {kind!r}"]
    errors: list[str] = []
    for key in sorted(set(view) - VIEW_REQUEST_KEYS[kind]):
        errors.append(f"view: unknown key {key!r} for a {kind} view")
    # title/submit/close and blocks are checked below with better messages (View stops at the first
    # failure); a placeholder block keeps View's own "1 to 100 blocks" rule quiet.
    checked_here = {"title", "submit", "close", "blocks"}
    fields = {k: v for k, v in view.items() if k in VIEW_REQUEST_KEYS[kind] - checked_here}
    try:
        View(**fields, blocks=[DividerBlock()]).to_dict()
    except Exception as error:
        errors.append(f"view: {type(error).__name__}: {error}")
    blocks = view.get("blocks")
    if blocks is None:
        errors.append("view: 'blocks' is required")
    elif blocks == []:
        errors.append("view: 'blocks' must not be empty")
    else:
        errors.extend(f"view.{e}" for e in validate_blocks(blocks, kind))
    if kind == "modal":
        for key in ("title", "submit", "close"):
            value = view.get(key)
            if value is None:
                continue
            if not _is_text_object(value) or value["type"] != "plain_text":
                errors.append(f"view.{key}: must be a plain_text text object")
            elif not value.get("text"):
                errors.append(f"view.{key}: text must not be empty")
            elif len(value["text"]) > MAX_MODAL_TITLE:
                errors.append(f"view.{key}: longer than {MAX_MODAL_TITLE} characters")
        if view.get("title") is None:
            errors.append("view: a modal needs a 'title'")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            errors.append("view: a modal with input blocks needs a 'submit' button")
    return errors


def validate_message(text: Any, blocks: Any, attachments: Any = None) -> list[str]:
    """Message-level checks (no_text, text length) plus validate_blocks when blocks are present."""
    errors: list[str] = []
    if not text and not blocks and not attachments:
        errors.append("no_text: a message needs text, blocks or attachments")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        errors.append(f"text: longer than {MAX_MESSAGE_TEXT} characters")
    if blocks is not None and blocks != []:
        errors.extend(validate_blocks(blocks, "message"))
    return errors


def normalize_blocks(blocks: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """Fill in block_id and action_id where the app left them out, as Slack does when storing blocks."""
    alphabet = string.ascii_letters + string.digits

    def make_id(length: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(length))

    def fill_actions(element: Any) -> None:
        if isinstance(element, dict) and element.get("type") in interactive_types():
            element.setdefault("action_id", make_id(4))

    for block in blocks:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", make_id(5))
        if block.get("type") in ("actions", "context_actions"):
            for element in block.get("elements") or []:
                fill_actions(element)
        fill_actions(block.get("accessory"))
        fill_actions(block.get("element"))
    return blocks
