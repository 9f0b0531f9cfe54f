"""What reaches a person in the sandbox, each thing shown once (and again when it changes): messages,
ephemerals, DMs, topics, archiving, pins, bookmarks, and the modal on top of their stack."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox import render
from bot.sandbox.commands import StepFailed
from bot.sandbox.slack import Channel, FakeSlack, Message

# Joining a busy channel shows its latest messages, not its whole history.
HISTORY_SHOWN = 20


@dataclass
class Line:
    """One line of what a person sees. kind: you, message, ephemeral, dm, modal, field, notice, error."""

    kind: str
    text: str


@dataclass
class Seen:
    """What has been shown to one person already, so each thing is shown once (and again if it changes)."""

    messages: dict[tuple[str, str], str] = field(default_factory=dict)
    ephemerals: set[str] = field(default_factory=set)
    topics: dict[str, str] = field(default_factory=dict)
    archived: set[str] = field(default_factory=set)
    pins: dict[str, set[str]] = field(default_factory=dict)
    bookmarks: set[str] = field(default_factory=set)
    views: dict[str, str] = field(default_factory=dict)
    top: str | None = None
    """The modal last seen on top of their stack."""
    buttons: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    """(channel id, message ts, block, element) of the buttons shown, oldest first."""


def where(channel: Channel) -> str:
    """A channel as a person names it: `DM`, or `#name`."""
    return "DM" if channel.is_im else f"#{channel.name}"


def _digest(message: Message) -> str:
    content = json.dumps([message.text, message.blocks, message.attachments], sort_keys=True, default=str)
    return hashlib.sha1(content.encode()).hexdigest()


class News:
    """What each person has been shown so far, the numbers their channels' messages go by, and what is
    new to them since."""

    def __init__(self, fake: FakeSlack, names: render.Names) -> None:
        self.fake = fake
        self.ws = fake.workspace
        self.names = names
        self.seen: dict[str, Seen] = {}
        self.numbers: dict[str, dict[str, int]] = {}

    def seen_by(self, user: str) -> Seen:
        return self.seen.setdefault(user, Seen())

    def number_of(self, channel: Channel, ts: str) -> int:
        numbers = self.numbers.setdefault(channel.id, {})
        for message in channel.messages:
            numbers.setdefault(message.ts, len(numbers) + 1)
        return numbers.get(ts, 0)

    def message_at(self, channel: Channel, number: int) -> Message:
        self.number_of(channel, "")
        for ts, n in self.numbers.get(channel.id, {}).items():
            if n == number:
                found = channel.find(ts)
                if found is not None:
                    return found
        raise StepFailed(f"there is no message {number} in {where(channel)}")

    def _visible(self, user: str, channel: Channel, here: str | None) -> bool:
        if channel.is_im:
            return channel.im_user == user
        return user in channel.members or channel.id == here

    def _message_lines(self, user: str, channel: Channel, message: Message, edited: bool) -> list[Line]:
        seen = self.seen_by(user)
        content = message.to_api()
        body = render.message_lines(content, self.names)
        for block, element in render.buttons(message.blocks or []):
            seen.buttons.append((channel.id, message.ts, block, element))
        author = self.names.user(message.user)
        if message.subtype == "ephemeral":
            head = f"{where(channel)} (only you) {author}:"
            kind = "ephemeral"
        else:
            reply = "↳ " if message.thread_ts and message.thread_ts != message.ts else ""
            mark = " ✎" if edited else ""
            head = f"{where(channel)} [{self.number_of(channel, message.ts)}]{mark} {reply}{author}:"
            kind = "dm" if channel.is_im else "message"
        first, *rest = body
        return [Line(kind, f"{head} {first}"), *(Line(kind, render.INDENT + line) for line in rest)]

    def since_last(self, user: str, here: str | None) -> list[Line]:
        """Everything that reached `user` (who is looking at the channel `here`) since last asked."""
        seen = self.seen_by(user)
        dated: list[tuple[str, list[Line]]] = []
        notices: list[Line] = []
        for channel in list(self.ws.channels.values()):
            if not self._visible(user, channel, here):
                continue
            name = where(channel)
            if channel.topic != seen.topics.get(channel.id, ""):
                seen.topics[channel.id] = channel.topic
                notices.append(Line("notice", f"{name} topic: {render.plain(channel.topic, self.names)}"))
            fresh: list[tuple[Message, bool]] = []
            for message in channel.messages:
                key, digest = (channel.id, message.ts), _digest(message)
                before = seen.messages.get(key)
                if before != digest:
                    seen.messages[key] = digest
                    fresh.append((message, before is not None))
            if len(fresh) > HISTORY_SHOWN:
                notices.append(Line("notice", f"{name}: {len(fresh) - HISTORY_SHOWN} earlier message(s)"))
                fresh = fresh[-HISTORY_SHOWN:]
            for message, edited in fresh:
                dated.append((message.ts, self._message_lines(user, channel, message, edited)))
            for to, message in channel.ephemerals:
                if to == user and message.ts not in seen.ephemerals:
                    seen.ephemerals.add(message.ts)
                    dated.append((message.ts, self._message_lines(user, channel, message, False)))
            if channel.is_archived and channel.id not in seen.archived:
                seen.archived.add(channel.id)
                notices.append(Line("notice", f"🗄 {name} is archived: it takes no more messages"))
            pins = set(channel.pins)
            for ts in sorted(pins - seen.pins.get(channel.id, set())):
                notices.append(Line("notice", f"📌 {name}: message {self.number_of(channel, ts)} pinned"))
            seen.pins[channel.id] = pins
            for bookmark in channel.bookmarks:
                if bookmark["id"] not in seen.bookmarks:
                    seen.bookmarks.add(bookmark["id"])
                    notices.append(
                        Line("notice", f"🔖 {name} bookmark: {bookmark['title']} ({bookmark['link']})")
                    )
        dated.sort(key=lambda item: item[0])
        lines = [line for _, group in dated for line in group] + notices
        return lines + self._modal(user)

    def _modal(self, user: str) -> list[Line]:
        """The modal on top of the person's stack, when it is new to them, changed, or back on top
        (a pushed one closed); a modal with nothing to fill is closed off at once (a form is asked
        field by field, see forms.py)."""
        seen = self.seen_by(user)
        view = self.fake.open_view_for(user)
        if view is None:
            seen.top = None
            return []
        fresh = seen.views.get(view["id"]) != view["hash"] or seen.top != view["id"]
        seen.views[view["id"]], seen.top = view["hash"], view["id"]
        lines = [Line("modal", text) for text in render.modal_lines(view, self.names)] if fresh else []
        if fresh and not render.is_form(view):
            lines.append(Line("modal", "└"))
        return lines
