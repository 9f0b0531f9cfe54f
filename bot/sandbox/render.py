"""What a person sees, as plain text: messages, modals and form fields of the embedded workspace.

Pure functions of Slack payloads; names of people and channels come from a `Names` lookup.
"""

from __future__ import annotations

import colorsys
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

INDENT = "    "


@dataclass(frozen=True)
class Names:
    """How ids read: `user("U1")` → "alice", `channel("C1")` → "incidents"."""

    user: Callable[[str], str]
    channel: Callable[[str], str]


_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")


def plain(text: str, names: Names) -> str:
    """mrkdwn as a person reads it: mentions and links by name, emphasis marks dropped."""

    def link(match: re.Match[str]) -> str:
        target, label = match[1], match[2]
        if target.startswith("@"):
            return "@" + (label or names.user(target[1:]))
        if target.startswith("#"):
            return "#" + (label or names.channel(target[1:]))
        if target.startswith("!"):
            special = target[1:].split("^")[0]
            return label or f"@{special}"
        return f"{label} ({target})" if label and label != target else target

    text = _LINK.sub(link, text)
    text = _ITALIC.sub(r"\1", _BOLD.sub(r"\1", text))
    return html.unescape(text)


def _text_of(value: Any, names: Names) -> str:
    if not isinstance(value, dict):
        return ""
    text = str(value.get("text", ""))
    return plain(text, names) if value.get("type") == "mrkdwn" else html.unescape(text)


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found.extend(group.get("options") or [])
    return found


def element_label(element: dict[str, Any], names: Names) -> str:
    """How an interactive element shows: `[Join]`, `[⋯ Edit | Delete]`, `[Choose a person ▾]`."""
    kind = element.get("type")
    if kind in ("button", "workflow_button"):
        return f"[{_text_of(element.get('text'), names)}]"
    if kind == "overflow":
        return "[⋯ " + " | ".join(_text_of(o.get("text"), names) for o in _options(element)) + "]"
    placeholder = _text_of(element.get("placeholder"), names)
    choices = " | ".join(_text_of(o.get("text"), names) for o in _options(element))
    return f"[{placeholder or kind} ▾ {choices}]" if choices else f"[{placeholder or kind} ▾]"


def option_texts(element: dict[str, Any]) -> list[str]:
    return [str((option.get("text") or {}).get("text", "")) for option in _options(element)]


def _rich_text(element: dict[str, Any], names: Names) -> str:
    kind = element.get("type")
    if kind == "text":
        return str(element.get("text", ""))
    if kind == "user":
        return "@" + names.user(str(element.get("user_id", "")))
    if kind == "channel":
        return "#" + names.channel(str(element.get("channel_id", "")))
    if kind == "link":
        return str(element.get("text") or element.get("url", ""))
    if kind == "emoji":
        return f":{element.get('name', '')}:"
    parts = [_rich_text(child, names) for child in element.get("elements") or []]
    if kind == "rich_text_list":
        return "\n".join(f"• {part}" for part in parts)
    return "".join(parts) if kind != "rich_text" else "\n".join(parts)


def block_lines(block: dict[str, Any], names: Names) -> list[str]:
    """One block as lines of text; interactive elements as bracketed labels."""
    kind = block.get("type")
    if kind in ("header", "section"):
        lines = _text_of(block.get("text"), names).splitlines()
        fields = [" ".join(_text_of(f, names).split("\n", 1)).strip() for f in block.get("fields") or []]
        if fields:
            lines.append("  ·  ".join(fields))
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") not in ("image", None):
            if lines:
                lines[-1] += "  " + element_label(accessory, names)
            else:
                lines.append(element_label(accessory, names))
        return lines
    if kind == "context":
        texts = [_text_of(e, names) if e.get("type") != "image" else "" for e in block.get("elements") or []]
        return [" ".join(t for t in texts if t)]
    if kind == "divider":
        return ["────────"]
    if kind == "actions":
        return ["  ".join(element_label(e, names) for e in block.get("elements") or [])]
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    if kind == "rich_text":
        return _rich_text(block, names).splitlines()
    if kind == "input":
        return [_text_of(block.get("label"), names) + ":"]
    if kind in ("file", "video"):
        return [f"[{kind}]"]
    return []


def blocks_lines(blocks: Iterable[dict[str, Any]], names: Names) -> list[str]:
    return [line for block in blocks for line in block_lines(block, names)]


_NAMED_COLOURS = {"good": "#2eb67d", "warning": "#ecb22e", "danger": "#e01e5a"}


def colour_emoji(colour: str) -> str:
    """The coloured circle nearest an attachment's colour: how a priority's colour shows here."""
    value = _NAMED_COLOURS.get(colour, colour).lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", value):
        return "▌"
    red, green, blue = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    hue, lightness, saturation = colorsys.rgb_to_hls(red, green, blue)
    if saturation < 0.2 or lightness < 0.1:
        return "⚫" if lightness < 0.3 else "⚪"
    degrees = hue * 360
    for limit, emoji in ((15, "🔴"), (45, "🟠"), (70, "🟡"), (170, "🟢"), (260, "🔵"), (330, "🟣")):
        if degrees < limit:
            return emoji
    return "🔴"


def message_lines(message: dict[str, Any], names: Names) -> list[str]:
    """A message's content as lines: its blocks (or text), then each attachment marked by its colour."""
    blocks = message.get("blocks") or []
    lines = blocks_lines(blocks, names) if blocks else plain(str(message.get("text", "")), names).splitlines()
    for attachment in message.get("attachments") or []:
        inner = blocks_lines(attachment.get("blocks") or [], names)
        if not inner:
            inner = [
                plain(str(attachment.get(key, "")), names)
                for key in ("pretext", "title", "text")
                if attachment.get(key)
            ]
            inner += [
                f"{field.get('title', '')}: {plain(str(field.get('value', '')), names)}"
                for field in attachment.get("fields") or []
            ]
        mark = colour_emoji(str(attachment.get("color", ""))) if attachment.get("color") else "▌"
        lines += [f"{mark} {line}" for line in inner if line.strip()] or [mark]
    return [line.rstrip() for line in lines if line.strip()] or ["(empty message)"]


CLICKABLE = frozenset({"button", "workflow_button", "overflow", "static_select", "radio_buttons"})


def buttons(blocks: Iterable[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for every button, and every menu of choices, in reading order."""
    found = []
    for block in blocks:
        kind = block.get("type")
        if kind == "actions":
            elements = list(block.get("elements") or [])
        elif kind == "section" and isinstance(block.get("accessory"), dict):
            elements = [block["accessory"]]
        else:
            elements = []
        found += [(block, e) for e in elements if e.get("type") in CLICKABLE]
    return found


# ----- modals -----

TEXT_INPUTS = frozenset(
    {"plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input"}
)
SINGLE_CHOICE = frozenset({"static_select", "radio_buttons", "external_select"})
MULTI_CHOICE = frozenset({"multi_static_select", "checkboxes", "multi_external_select"})
PEOPLE = frozenset({"users_select", "multi_users_select"})
CHANNELS = frozenset(
    {"conversations_select", "channels_select", "multi_conversations_select", "multi_channels_select"}
)
FORMAT_HINTS = {
    "datepicker": "YYYY-MM-DD",
    "timepicker": "HH:MM",
    "datetimepicker": "YYYY-MM-DD HH:MM",
    "number_input": "a number",
    "email_text_input": "an e-mail address",
    "url_text_input": "a URL",
}


def inputs(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The input blocks of a view, the fields a person fills."""
    return [b for b in view.get("blocks") or [] if b.get("type") == "input" and b.get("element")]


def is_form(view: dict[str, Any]) -> bool:
    """A modal with fields to fill and a button to send them: asked field by field."""
    return bool(inputs(view) and view.get("submit"))


def modal_lines(view: dict[str, Any], names: Names) -> list[str]:
    """A modal's title and everything in it but its fields (those are asked one by one)."""
    title = _text_of(view.get("title"), names)
    shown = [b for b in view.get("blocks") or [] if b.get("type") != "input"]
    return [f"┌ {title}", *(f"│ {line}" for line in blocks_lines(shown, names) if line.strip())]


def current_value(element: dict[str, Any], entry: dict[str, Any] | None, names: Names) -> str:
    """What a field holds now (its initial value, or what was chosen), as the person reads it."""
    if not entry:
        return ""
    kind = element.get("type", "")
    values = [v for k, v in entry.items() if k != "type"]
    value = values[0] if values else None
    if value in (None, "", []):
        return ""
    if kind in SINGLE_CHOICE:
        return _text_of(value.get("text"), names) if isinstance(value, dict) else ""
    if kind in MULTI_CHOICE:
        return ", ".join(_text_of(v.get("text"), names) for v in value if isinstance(v, dict))
    if kind in PEOPLE:
        return ", ".join(names.user(v) for v in (value if isinstance(value, list) else [value]))
    if kind in CHANNELS:
        return ", ".join("#" + names.channel(v) for v in (value if isinstance(value, list) else [value]))
    if kind == "rich_text_input" and isinstance(value, dict):
        return _rich_text(value, names)
    return str(value)


def question(block: dict[str, Any], value: str, names: Names) -> str:
    """The line that asks for one field: its label, numbered choices, what Enter keeps."""
    element = block["element"]
    kind = element.get("type", "")
    label = _text_of(block.get("label"), names)
    notes = []
    if block.get("optional"):
        notes.append("optional")
    if kind in MULTI_CHOICE or kind.startswith("multi_"):
        notes.append("several, comma-separated")
    if kind in FORMAT_HINTS:
        notes.append(FORMAT_HINTS[kind])
    if kind in PEOPLE:
        notes.append("a name")
    head = label + (f" ({', '.join(notes)})" if notes else "")
    choices = _options(element)
    if choices and kind in SINGLE_CHOICE | MULTI_CHOICE:
        head += " — " + "  ".join(f"{n} {_text_of(o.get('text'), names)}" for n, o in enumerate(choices, 1))
    if value:
        shown = value if len(value) <= 60 else value[:57] + "…"
        head += f" [{shown}]"
    return head


def answer_for(element: dict[str, Any], answer: str, names_by_id: dict[str, str]) -> Any:
    """The value the workspace's simulated user enters for `answer` typed in a field: option texts for
    numbers, user ids for names; ValueError with what is accepted when it fits no choice."""
    kind = element.get("type", "")
    if kind in TEXT_INPUTS:
        return answer  # as typed: what to make of blanks is the bot's to say
    answer = answer.strip()
    if kind in SINGLE_CHOICE:
        return _choose(element, answer)
    if kind in MULTI_CHOICE:
        return [_choose(element, part) for part in _parts(answer)]
    if kind in PEOPLE:
        found = [_person(part, names_by_id) for part in _parts(answer)]
        return found if kind.startswith("multi_") else found[0]
    if kind in CHANNELS:
        channels = [part if part.startswith("#") else f"#{part}" for part in _parts(answer)]
        return channels if kind.startswith("multi_") else channels[0]
    if kind == "datetimepicker":
        from datetime import UTC, datetime

        try:
            return int(datetime.strptime(answer, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp())
        except ValueError:
            raise ValueError("write the date and time as YYYY-MM-DD HH:MM") from None
    return answer


def _parts(answer: str) -> list[str]:
    parts = [part.strip() for part in answer.split(",") if part.strip()]
    if not parts:
        raise ValueError("choose at least one")
    return parts


def _choose(element: dict[str, Any], answer: str) -> str:
    options = _options(element)
    texts = [str((o.get("text") or {}).get("text", "")) for o in options]
    if answer.isdigit() and 1 <= int(answer) <= len(options):
        return texts[int(answer) - 1]
    folded = answer.casefold()
    exact = [t for t in texts if t.casefold() == folded]
    starting = [t for t in texts if t.casefold().startswith(folded)]
    if exact or len(starting) == 1:
        return (exact or starting)[0]
    listed = ", ".join(f"{n} {t}" for n, t in enumerate(texts, 1))
    raise ValueError(f"{answer!r} is not one of the choices: {listed}")


def _person(answer: str, names_by_id: dict[str, str]) -> str:
    wanted = answer.lstrip("@").casefold()
    for user_id, name in names_by_id.items():
        if wanted in (name.casefold(), user_id.casefold()):
            return user_id
    raise ValueError(f"nobody called {answer!r} here: {', '.join(sorted(names_by_id.values()))}")
