"""Pure text handling for the timeline: the command's DESC/DATE/TIME words and Slack's message markup."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time

from bot.slack.text import escape

# DATE and TIME count as keywords only when a value of the right shape follows, so a description
# such as "restarted at the time of the alert" is left alone.
_DATE = re.compile(r"\bDATE\s+(\d{4}-\d{1,2}-\d{1,2})\b", re.IGNORECASE)
_TIME = re.compile(r"\bTIME\s+(\d{1,2}:\d{2})\b", re.IGNORECASE)
_DESC = re.compile(r"^\s*DESC\b:?", re.IGNORECASE)

# Slack's angle-bracket markup in message text: <@U…>, <#C…|name>, <!here>, <https://…|label>…
_MARKUP = re.compile(r"<([^<>]*)>")
USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
# The only markup the timeline lets through when it renders stored descriptions as mrkdwn.
_SAFE_MENTION = re.compile(r"<@[UW][A-Z0-9]+>")


@dataclass(frozen=True)
class Prefill:
    """What `/dispatch-add-timeline-event DESC … DATE … TIME …` asked for; None where it said nothing."""

    description: str
    date: date | None = None
    time: time | None = None


def parse_command(text: str) -> Prefill:
    """Read DESC, DATE yyyy-mm-dd and TIME hh:mm in any order and case; text without DESC is the description.

    A date or time that does not exist (2026-02-30, 25:00) is ignored rather than refused: the
    modal opens with the current date or time and the person can correct it there.
    """
    found_date: date | None = None
    found_time: time | None = None
    date_match = _DATE.search(text)
    if date_match:
        year, month, day = (int(part) for part in date_match.group(1).split("-"))
        try:
            found_date = date(year, month, day)
        except ValueError:
            found_date = None
        text = text[: date_match.start()] + " " + text[date_match.end() :]
    time_match = _TIME.search(text)
    if time_match:
        hour, minute = (int(part) for part in time_match.group(1).split(":"))
        found_time = time(hour, minute) if hour < 24 and minute < 60 else None
        text = text[: time_match.start()] + " " + text[time_match.end() :]
    description = " ".join(_DESC.sub("", text).split())
    return Prefill(description, found_date, found_time)


def user_ids_in(text: str) -> list[str]:
    """The users a Slack message mentions, in order of first mention."""
    return list(dict.fromkeys(USER_MENTION.findall(text)))


def message_to_plain(text: str, names: Mapping[str, str]) -> str:
    """Slack message markup as text a reader understands: mentions become @names, links stay links.

    `<https://x|label>` becomes "label (https://x)", so the address survives in the timeline and in
    the Markdown export; `&amp;`, `&lt;` and `&gt;` become the characters they stand for.
    """

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user = target[1:]
            name = names.get(user) or label or user
            return "@" + name.lstrip("@")
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            command = target[1:].split("^", 1)[0]
            if label:
                return label
            return "@" + command if command in {"here", "channel", "everyone"} else command
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        if label and label != target:
            return f"{label} ({target})"
        return target

    return html.unescape(_MARKUP.sub(replace, text))


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def safe_mrkdwn(text: str, limit: int) -> str:
    """Stored text as mrkdwn: escaped, except plain user mentions, and at most `limit` characters.

    Descriptions written by other capabilities mention people as `<@U…>`; everything else in them,
    user text included, must not become a broadcast, a forged link or a mention with a label.
    """
    units: list[str] = []
    position = 0
    for match in _SAFE_MENTION.finditer(text):
        units.extend(escape(char) for char in text[position : match.start()])
        units.append(match.group(0))
        position = match.end()
    units.extend(escape(char) for char in text[position:])
    if sum(len(unit) for unit in units) <= limit:
        return "".join(units)
    # Cut between whole units, so never inside an `&amp;` entity or a mention, leaving room for "…".
    kept: list[str] = []
    used = 0
    for unit in units:
        if used + len(unit) > limit - 1:
            break
        kept.append(unit)
        used += len(unit)
    return "".join(kept) + "…"


def is_safe_link(url: object) -> bool:
    """A web address that can go into `<url|label>` without breaking out of it."""
    return isinstance(url, str) and url.startswith(("https://", "http://")) and not set(url) & set("<>| \n")
