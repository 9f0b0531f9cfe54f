"""A person at the sandbox's keyboard: each line they type done in the workspace as Slack would send it
to the bot, and what then reaches them (messages, ephemerals, DMs, topics, pins, bookmarks, modals).

The session keeps who is at the keyboard and where each person is; what they were shown is `news.py`'s,
a form filled field by field `forms.py`'s, and every other step (a message, :goto, :click…) `steps.py`'s."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from bot.sandbox import render
from bot.sandbox.commands import ParseError, StepFailed, parse
from bot.sandbox.forms import Forms
from bot.sandbox.news import Line, News
from bot.sandbox.runner import Sandbox
from bot.sandbox.slack import AckTimeoutError, Actor, ActorError, Channel, Interaction
from bot.sandbox.steps import Steps


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
        self.names = render.Names(user=self._user_name, channel=self._channel_name)
        self.shown = News(self.fake, self.names)
        self.forms = Forms(self)
        self.steps = Steps(self)

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

    def people(self) -> dict[str, str]:
        """Name by user id of everyone in the workspace but the bot."""
        return {uid: user.name for uid, user in self.ws.users.items() if not user.is_bot}

    def prompt(self) -> str:
        """`alice@#general> `, or the field being asked while a form is open."""
        question = self.forms.question()
        if question is not None:
            return f"│ {question} ▸ "
        place = "dm" if self.here.is_im else f"#{self.here.name}"
        return f"{self._user_name(self.me)}@{place}> "

    def echo(self, line: str) -> Line:
        """The typed line as the transcript shows it."""
        if self.forms.form is not None and self.forms.open_view() is not None:
            question = self.forms.question()
            if question is not None and not line.startswith(":") and not self.forms.field_assignment(line):
                return Line("you", f"│ {question} ▸ {line}")
            return Line("you", f"│ {line}")
        return Line("you", f"{self.prompt()}{line}")

    # ----- what reaches a person -----

    def news(self, user: str | None = None) -> list[Line]:
        """Everything that reached `user` (default: whoever is at the keyboard) since last asked."""
        user = user or self.me
        lines = self.shown.since_last(user, self.places.get(user))
        self.forms.follow(user)
        return lines

    # ----- doing things -----

    def refused(self, message: str) -> list[Line]:
        if self.strict:
            raise StepFailed(message)
        return [Line("error", f"✗ {message}")]

    async def act(self, action: Awaitable[Any]) -> Interaction | None:
        """Do one thing in the workspace; what Slack or the bot refused fails the step."""
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

    async def after(self, *, expect_answer: bool) -> list[Line]:
        """Wait for the bot to finish what it was given, then what reached the person."""
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
            if self.forms.form is not None and self.forms.open_view() is not None:
                # Not stripped: blanks typed into a text field are the bot's to judge.
                return await self.forms.line(line.rstrip("\r\n"))
            step = parse(line)
            if step is None:
                return []
            return await self.steps.do(step)
        except ParseError as error:
            return self.refused(str(error))
        except StepFailed as failure:
            if self.strict:
                raise
            return [Line("error", f"✗ {failure}")]
