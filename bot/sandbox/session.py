"""A person at the sandbox's keyboard: each line they type done in the workspace as Slack would send it
to the bot, and what then reaches them (messages, ephemerals, DMs, topics, pins, bookmarks, modals)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox import render
from bot.sandbox.commands import HELP, ParseError, Step, parse
from bot.sandbox.runner import Sandbox
from bot.sandbox.setup import parse_duration
from bot.sandbox.slack import AckTimeoutError, Actor, ActorError, Channel, Interaction, Message

# Joining a busy channel shows its latest messages, not its whole history.
HISTORY_SHOWN = 20
KEEP = object()
"""The answer that keeps a field as it is (Enter)."""


class StepFailed(Exception):
    """A line could not be done, or the bot did not answer it; the message says which and why."""


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


@dataclass
class Form:
    """A modal being filled in, field by field."""

    view_id: str
    answers: dict[str, Any] = field(default_factory=dict)
    """block_id → the answer given (KEEP for Enter)."""
    typed: dict[str, str] = field(default_factory=dict)
    """block_id → the answer as it was typed."""


def _digest(message: Message) -> str:
    content = json.dumps([message.text, message.blocks, message.attachments], sort_keys=True, default=str)
    return hashlib.sha1(content.encode()).hexdigest()


class Session:
    """Who is at the keyboard and where, and what each person has seen so far."""

    def __init__(self, sandbox: Sandbox, *, timeout: float = 10.0, strict: bool = False) -> None:
        self.sandbox = sandbox
        self.fake = sandbox.fake
        self.ws = sandbox.fake.workspace
        self.timeout = timeout
        # Script mode: an error in a form, a refused step or no answer fails the step.
        self.strict = strict
        self.me = sandbox.people["alice"]
        general = self.fake.channel("general").id
        self.places: dict[str, str] = {user: general for user in sandbox.people.values()}
        self.seen: dict[str, Seen] = {}
        self.numbers: dict[str, dict[str, int]] = {}
        self.forms: dict[str, Form] = {}
        self.drafts: dict[str, Form] = {}
        self.names = render.Names(user=self._user_name, channel=self._channel_name)

    # ----- who and where -----

    def _user_name(self, user_id: str) -> str:
        user = self.ws.users.get(user_id)
        return user.name if user else user_id

    def _channel_name(self, channel_id: str) -> str:
        channel = self.ws.channels.get(channel_id)
        if channel is None:
            return channel_id
        return "dm" if channel.is_im else channel.name

    @property
    def here(self) -> Channel:
        return self.ws.channels[self.places[self.me]]

    @property
    def actor(self) -> Actor:
        return self.fake.as_user(self.me)

    @property
    def form(self) -> Form | None:
        return self.forms.get(self.me)

    def people(self) -> dict[str, str]:
        """Name by user id of everyone in the workspace but the bot."""
        return {uid: user.name for uid, user in self.ws.users.items() if not user.is_bot}

    def where(self, channel: Channel) -> str:
        return "DM" if channel.is_im else f"#{channel.name}"

    def prompt(self) -> str:
        """`alice@#general> `, or the field being asked while a form is open."""
        question = self.question()
        if question is not None:
            return f"│ {question} ▸ "
        place = "dm" if self.here.is_im else f"#{self.here.name}"
        return f"{self._user_name(self.me)}@{place}> "

    def echo(self, line: str) -> Line:
        """The typed line as the transcript shows it."""
        if self.form is not None and self._open_view() is not None:
            question = self.question()
            if question is not None and not line.startswith(":") and not self._field_assignment(line):
                return Line("you", f"│ {question} ▸ {line}")
            return Line("you", f"│ {line}")
        return Line("you", f"{self.prompt()}{line}")

    # ----- what reaches a person -----

    def _seen(self, user: str) -> Seen:
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
        raise StepFailed(f"there is no message {number} in {self.where(channel)}")

    def _visible(self, user: str, channel: Channel) -> bool:
        if channel.is_im:
            return channel.im_user == user
        return user in channel.members or channel.id == self.places.get(user)

    def _message_lines(self, user: str, channel: Channel, message: Message, edited: bool) -> list[Line]:
        seen = self._seen(user)
        content = message.to_api()
        body = render.message_lines(content, self.names)
        for block, element in render.buttons(message.blocks or []):
            seen.buttons.append((channel.id, message.ts, block, element))
        author = self._user_name(message.user)
        if message.subtype == "ephemeral":
            head = f"{self.where(channel)} (only you) {author}:"
            kind = "ephemeral"
        else:
            reply = "↳ " if message.thread_ts and message.thread_ts != message.ts else ""
            mark = " ✎" if edited else ""
            head = f"{self.where(channel)} [{self.number_of(channel, message.ts)}]{mark} {reply}{author}:"
            kind = "dm" if channel.is_im else "message"
        first, *rest = body
        return [Line(kind, f"{head} {first}"), *(Line(kind, render.INDENT + line) for line in rest)]

    def news(self, user: str | None = None) -> list[Line]:
        """Everything that reached `user` (default: whoever is at the keyboard) since last asked."""
        user = user or self.me
        seen = self._seen(user)
        dated: list[tuple[str, list[Line]]] = []
        notices: list[Line] = []
        for channel in list(self.ws.channels.values()):
            if not self._visible(user, channel):
                continue
            where = self.where(channel)
            if channel.topic != seen.topics.get(channel.id, ""):
                seen.topics[channel.id] = channel.topic
                notices.append(Line("notice", f"{where} topic: {render.plain(channel.topic, self.names)}"))
            fresh: list[tuple[Message, bool]] = []
            for message in channel.messages:
                key, digest = (channel.id, message.ts), _digest(message)
                before = seen.messages.get(key)
                if before != digest:
                    seen.messages[key] = digest
                    fresh.append((message, before is not None))
            if len(fresh) > HISTORY_SHOWN:
                notices.append(Line("notice", f"{where}: {len(fresh) - HISTORY_SHOWN} earlier message(s)"))
                fresh = fresh[-HISTORY_SHOWN:]
            for message, edited in fresh:
                dated.append((message.ts, self._message_lines(user, channel, message, edited)))
            for to, message in channel.ephemerals:
                if to == user and message.ts not in seen.ephemerals:
                    seen.ephemerals.add(message.ts)
                    dated.append((message.ts, self._message_lines(user, channel, message, False)))
            if channel.is_archived and channel.id not in seen.archived:
                seen.archived.add(channel.id)
                notices.append(Line("notice", f"🗄 {where} is archived: it takes no more messages"))
            pins = set(channel.pins)
            for ts in sorted(pins - seen.pins.get(channel.id, set())):
                notices.append(Line("notice", f"📌 {where}: message {self.number_of(channel, ts)} pinned"))
            seen.pins[channel.id] = pins
            for bookmark in channel.bookmarks:
                if bookmark["id"] not in seen.bookmarks:
                    seen.bookmarks.add(bookmark["id"])
                    notices.append(
                        Line("notice", f"🔖 {where} bookmark: {bookmark['title']} ({bookmark['link']})")
                    )
        dated.sort(key=lambda item: item[0])
        lines = [line for _, group in dated for line in group] + notices
        return lines + self._modal_news(user)

    def _modal_news(self, user: str) -> list[Line]:
        """The modal on top of the person's stack, when it is new to them, changed, or back on top
        (a pushed one closed); a modal with fields becomes the form being filled."""
        seen = self._seen(user)
        view = self.fake.open_view_for(user)
        if view is None:
            seen.top = None
            self.forms.pop(user, None)
            return []
        fresh = seen.views.get(view["id"]) != view["hash"] or seen.top != view["id"]
        seen.views[view["id"]], seen.top = view["hash"], view["id"]
        lines = [Line("modal", text) for text in render.modal_lines(view, self.names)] if fresh else []
        if render.inputs(view) and view.get("submit"):
            # Answers are kept per view: back on top, a modal is asked where it was left.
            form = self.drafts.setdefault(view["id"], Form(view["id"]))
            present = {block["block_id"] for block in render.inputs(view)}
            form.answers = {k: v for k, v in form.answers.items() if k in present}
            self.forms[user] = form
        else:
            self.forms.pop(user, None)
            if fresh:
                lines.append(Line("modal", "└"))
        return lines

    # ----- forms -----

    def _open_view(self) -> dict[str, Any] | None:
        form = self.form
        if form is None:
            return None
        view = self.fake.open_view_for(self.me)
        if view is None or view["id"] != form.view_id:
            self.forms.pop(self.me, None)
            return None
        return view

    def _pending(self) -> dict[str, Any] | None:
        view = self._open_view()
        form = self.form
        if view is None or form is None:
            return None
        return next((b for b in render.inputs(view) if b["block_id"] not in form.answers), None)

    def _state(self, view: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """block_id → the entry each field holds now (initial value, or what was chosen)."""
        values = self.actor.view_values(view["id"])
        return {block_id: next(iter(by_action.values()), {}) for block_id, by_action in values.items()}

    def _shown_value(self, view: dict[str, Any], block: dict[str, Any]) -> str:
        form = self.form
        if form is not None and form.answers.get(block["block_id"], KEEP) is not KEEP:
            return form.typed.get(block["block_id"], "")
        entry = self._state(view).get(block["block_id"])
        return render.current_value(block["element"], entry, self.names)

    def question(self) -> str | None:
        block = self._pending()
        view = self._open_view()
        if block is None or view is None:
            return None
        return render.question(block, self._shown_value(view, block), self.names)

    def _field_assignment(self, line: str) -> tuple[dict[str, Any], str] | None:
        view = self._open_view()
        label, sep, value = line.partition(":")
        if view is None or not sep:
            return None
        for block in render.inputs(view):
            if str(block.get("label", {}).get("text", "")).casefold() == label.strip().casefold():
                return block, value.strip()
        return None

    async def _answer(self, block: dict[str, Any], text: str) -> list[Line]:
        form = self.form
        assert form is not None
        if not text:
            form.answers[block["block_id"]] = KEEP
            return []
        try:
            value = render.answer_for(block["element"], text, self.people())
        except ValueError as error:
            return self._refused(f"{block['label']['text']}: {error}")
        form.answers[block["block_id"]] = value
        form.typed[block["block_id"]] = text
        if block.get("dispatch_action"):
            # The bot rebuilds the form from this choice (another project's types, a person's profile).
            await self._act(
                self.actor.select_in_view(block["element"]["action_id"], value, view_id=form.view_id)
            )
            return await self._after(expect_answer=False)
        return []

    async def _form_line(self, line: str) -> list[Line]:
        if line.strip().startswith(":"):
            step = self._parse(line)
            if step.kind == "submit":
                return await self.submit()
            if step.kind in ("cancel", "close"):
                form = self.form
                self.forms.pop(self.me, None)
                if form is not None:
                    await self._act(self.actor.close_view(form.view_id))
                return [Line("modal", "└ (cancelled)"), *await self._after(expect_answer=False)]
            if step.kind == "click":
                form = self.form
                assert form is not None
                await self._act(self.actor.click_in_view(step.text, view_id=form.view_id))
                return await self._after(expect_answer=False)
            if step.kind == "help":
                return [Line("notice", HELP)]
            return self._refused("finish the form first: answer it, then :submit (or :cancel)")
        assignment = self._field_assignment(line)
        if assignment is not None:
            block, value = assignment
            return await self._answer(block, value)
        pending = self._pending()
        if pending is None:
            return self._refused("every field is filled: :submit sends the form, :cancel drops it")
        lines = await self._answer(pending, line)
        if not lines and self.form is not None and self._pending() is None:
            return await self.submit()
        return lines

    async def submit(self) -> list[Line]:
        view = self._open_view()
        form = self.form
        if view is None or form is None:
            return self._refused("no form is open")
        state = self._state(view)
        values = {k: v for k, v in form.answers.items() if v is not KEEP}
        for block in render.inputs(view):
            block_id = block["block_id"]
            if block.get("optional"):
                continue
            given = values.get(block_id)
            empty = (
                given in ("", [])
                if block_id in values
                else not render.current_value(block["element"], state.get(block_id), self.names)
            )
            if empty:
                # As the Slack client does: a required field left empty is not sent at all.
                form.answers.pop(block_id, None)
                return self._refused(f"{block['label']['text']}: this field is required")
        interaction = await self._act(self.actor.submit_view(values, view_id=form.view_id))
        errors = interaction.errors if interaction else None
        if errors:
            labels = {b["block_id"]: b["label"]["text"] for b in render.inputs(view)}
            for block_id in errors:
                form.answers.pop(block_id, None)
            lines = [Line("error", f"✗ {labels.get(k, k)}: {message}") for k, message in errors.items()]
            if self.strict:
                raise StepFailed("the form was refused: " + "; ".join(line.text[2:] for line in lines))
            return lines
        if self.fake.open_view_for(self.me) is None or (interaction and interaction.response_action is None):
            self.forms.pop(self.me, None)
        return await self._after(expect_answer=True)

    # ----- doing things -----

    def _refused(self, message: str) -> list[Line]:
        if self.strict:
            raise StepFailed(message)
        return [Line("error", f"✗ {message}")]

    def _parse(self, line: str) -> Step:
        try:
            step = parse(line)
        except ParseError as error:
            raise StepFailed(str(error)) from None
        return step or Step("text", "")

    async def _act(self, action: Any) -> Interaction | None:
        before = len(self.fake.violations)
        try:
            result = await action
        except (ActorError, ValueError) as error:
            raise StepFailed(str(error)) from None
        except AckTimeoutError:
            raise StepFailed(f"the bot did not acknowledge within {self.timeout:g} s") from None
        if len(self.fake.violations) > before:
            problems = "; ".join(self.fake.violations[before:])
            raise StepFailed(f"the bot sent something Slack would refuse: {problems}")
        return result if isinstance(result, Interaction) else None

    async def _after(self, *, expect_answer: bool) -> list[Line]:
        try:
            await self.sandbox.settle(self.timeout)
        except TimeoutError as error:
            raise StepFailed(str(error)) from None
        lines = self.news()
        if expect_answer and not lines and self.strict:
            raise StepFailed("nothing answered: the bot finished without showing you anything")
        return lines

    async def handle(self, line: str) -> list[Line]:
        """Do what the line says and return what the person then sees. In strict mode a step that
        cannot be done raises StepFailed; otherwise it comes back as an error line."""
        try:
            if self.form is not None and self._open_view() is not None:
                # Not stripped: blanks typed into a text field are the bot's to judge.
                return await self._form_line(line.rstrip("\r\n"))
            step = parse(line)
            if step is None:
                return []
            return await self._step(step)
        except ParseError as error:
            return self._refused(str(error))
        except StepFailed as failure:
            if self.strict:
                raise
            return [Line("error", f"✗ {failure}")]

    async def _step(self, step: Step) -> list[Line]:
        actor, here = self.actor, self.here
        timeout = self.timeout
        if step.kind == "slash":
            await self._act(actor.slash_command(step.text, channel=here.id, timeout=timeout))
            return await self._after(expect_answer=True)
        if step.kind == "text":
            if self.me not in here.members:
                raise StepFailed(f"you are not in {self.where(here)}: :join it first")
            await self._act(actor.post_message(here.id, step.text))
            return await self._after(expect_answer=False)
        if step.kind == "thread":
            parent = self.message_at(here, step.number or 0)
            await self._act(actor.post_message(here.id, step.text, thread_ts=parent.ts))
            return await self._after(expect_answer=False)
        if step.kind == "react":
            target = (
                self.message_at(here, step.number) if step.number is not None else self._last_written(here)
            )
            await self._act(actor.add_reaction(here.id, target.ts, step.text))
            return [
                Line("notice", f"{self.where(here)} [{self.number_of(here, target.ts)}] +:{step.text}:"),
                *await self._after(expect_answer=False),
            ]
        if step.kind == "click":
            return await self._click(step)
        if step.kind == "as":
            return self._become(step.text)
        if step.kind == "goto":
            return self._goto(step.text)
        if step.kind in ("join", "leave"):
            channel = self._channel(step.text) if step.text else here
            if step.kind == "join":
                await self._act(actor.join_channel(channel.id))
                self.places[self.me] = channel.id
                done = f"you joined {self.where(channel)}"
            else:
                await self._act(actor.leave_channel(channel.id))
                done = f"you left {self.where(channel)}"
            return [Line("notice", done), *await self._after(expect_answer=False)]
        if step.kind == "jobs":
            return self._jobs()
        if step.kind == "run":
            return await self._run_job(step.text)
        if step.kind == "time":
            return await self._time(step.text)
        if step.kind == "people":
            return self._people()
        if step.kind == "help":
            return [Line("notice", HELP)]
        if step.kind in ("cancel", "close") and self.fake.open_view_for(self.me) is not None:
            await self._act(self.actor.close_view())
            return [Line("modal", "└ (closed)"), *await self._after(expect_answer=False)]
        if step.kind in ("submit", "cancel", "close"):
            return self._refused("no modal is open")
        return []

    def _last_written(self, channel: Channel) -> Message:
        for message in reversed(channel.messages):
            if message.user != self.ws.bot_user_id:
                return message
        raise StepFailed(f"nobody has written in {self.where(channel)} yet")

    def _channel(self, ref: str) -> Channel:
        if ref.lower() in ("dm", "@dispatch-bot"):
            return self.ws.im_with(self.me)
        channel = self.fake.channel_by_name(ref)
        if channel is None:
            names = ", ".join(
                f"#{c.name}" for c in self.ws.channels.values() if not c.is_im and not c.is_mpim
            )
            raise StepFailed(f"no channel {ref}; there are {names}")
        return channel

    def _goto(self, ref: str) -> list[Line]:
        channel = self._channel(ref)
        if channel.is_private and self.me not in channel.members:
            raise StepFailed(f"#{channel.name} is private and you are not in it")
        self.places[self.me] = channel.id
        lines = self.news()
        if not channel.is_im and self.me not in channel.members:
            lines.append(Line("notice", f"you are not in #{channel.name}: :join to write in it"))
        return lines

    def _become(self, name: str) -> list[Line]:
        wanted = name.lstrip("@").casefold()
        found = next((uid for uid, n in self.people().items() if n.casefold() == wanted), None)
        if found is None:
            raise StepFailed(f"nobody called {name} here: {', '.join(sorted(self.people().values()))}")
        self.me = found
        self.places.setdefault(found, self.fake.channel("general").id)
        user = self.ws.users[found]
        local = self.sandbox.clock.now().astimezone(ZoneInfo(user.tz))
        intro = Line(
            "notice",
            f"— you are {user.name} ({user.real_name}, {local:%a %H:%M} in {user.tz}), "
            f"in {self.where(self.here)}",
        )
        return [intro, *self.news()]

    async def _click(self, step: Step) -> list[Line]:
        seen = self._seen(self.me)
        wanted = step.text.casefold()
        candidates = list(reversed(seen.buttons))
        if step.number is not None:
            ts = self.message_at(self.here, step.number).ts
            candidates = [c for c in candidates if c[0] == self.here.id and c[1] == ts]
        for channel_id, ts, _block, element in candidates:
            if element["type"] not in ("button", "workflow_button"):
                # A menu: clicking one of its choices chooses it.
                chosen = next((o for o in render.option_texts(element) if o.casefold() == wanted), None)
                if chosen is not None:
                    await self._act(self.actor.select_option(channel_id, ts, element["action_id"], chosen))
                    return await self._after(expect_answer=True)
                continue
            label = str((element.get("text") or {}).get("text", ""))
            if label.casefold() == wanted:
                await self._act(
                    self.actor.click_button(channel_id, ts, element["action_id"], timeout=self.timeout)
                )
                return await self._after(expect_answer=True)
        shown = sorted(
            {str((e.get("text") or {}).get("text", "")) for *_, e in seen.buttons if e.get("text")}
            | {option for *_, e in seen.buttons for option in render.option_texts(e)}
        )
        raise StepFailed(
            f"no button {step.text!r} was shown to you; buttons shown: {', '.join(shown) or 'none'}"
        )

    def _jobs(self) -> list[Line]:
        scheduler = self.sandbox.bot.scheduler
        if scheduler is None:
            return self._refused("the scheduler is not running")
        return [
            Line("notice", f"{job.name:<18} {job.every!s:<12} {job.description}") for job in scheduler.jobs
        ]

    async def _run_job(self, name: str) -> list[Line]:
        scheduler = self.sandbox.bot.scheduler
        if scheduler is None or name not in scheduler.by_name:
            known = ", ".join(scheduler.by_name) if scheduler else ""
            raise StepFailed(f"no job {name!r}; the jobs are {known}")
        result = await scheduler.run_now(name)
        return [
            Line("notice" if result.ok else "error", f"{name}: {result.describe()}"),
            *await self._after(expect_answer=False),
        ]

    async def _time(self, text: str) -> list[Line]:
        clock = self.sandbox.clock
        lines: list[Line] = []
        if text:
            try:
                clock.advance(parse_duration(text))
            except ValueError as error:
                raise StepFailed(str(error)) from None
            scheduler = self.sandbox.bot.scheduler
            for job in scheduler.jobs if scheduler else []:
                assert scheduler is not None
                result = await scheduler.fire(job.name)
                if result is not None and not result.ok:
                    lines.append(Line("error", f"{job.name}: {result.describe()}"))
        user = self.ws.users[self.me]
        now = clock.now()
        local = now.astimezone(ZoneInfo(user.tz))
        hours, seconds = divmod(int(clock.offset.total_seconds()), 3600)
        ahead = f", {hours}h{seconds // 60:02d} ahead of the wall clock" if clock.offset else ""
        lines.insert(
            0, Line("notice", f"⏱ it is {local:%a %d %b %H:%M} for {user.name} ({now:%H:%M} UTC{ahead})")
        )
        return lines + await self._after(expect_answer=False)

    def _people(self) -> list[Line]:
        now = self.sandbox.clock.now()
        lines = []
        for uid, name in self.people().items():
            user = self.ws.users[uid]
            local = now.astimezone(ZoneInfo(user.tz))
            you = "  (you)" if uid == self.me else ""
            lines.append(
                Line(
                    "notice",
                    f"{name:<8} {user.real_name:<14} {user.tz:<20} {local:%a %H:%M}  {user.title}{you}",
                )
            )
        return lines
