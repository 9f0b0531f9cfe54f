"""A modal filled in field by field at the sandbox's keyboard: the question each field asks, the answers
typed (or `Label: value`), and the form sent as the Slack client would send it."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.sandbox import render
from bot.sandbox.commands import HELP, ParseError, Step, StepFailed, parse
from bot.sandbox.news import Line
from bot.sandbox.slack import Actor, FakeSlack, Interaction

KEEP = object()
"""The answer that keeps a field as it is (Enter)."""


class Host(Protocol):
    """What filling a form needs from the session around it."""

    fake: FakeSlack
    names: render.Names
    strict: bool
    me: str

    @property
    def actor(self) -> Actor: ...

    def people(self) -> dict[str, str]: ...

    def refused(self, message: str) -> list[Line]: ...

    async def act(self, action: Awaitable[Any]) -> Interaction | None: ...

    async def after(self, *, expect_answer: bool) -> list[Line]: ...


@dataclass
class Form:
    """A modal being filled in, field by field."""

    view_id: str
    answers: dict[str, Any] = field(default_factory=dict)
    """block_id → the answer given (KEEP for Enter)."""
    typed: dict[str, str] = field(default_factory=dict)
    """block_id → the answer as it was typed."""


def _parse(line: str) -> Step:
    try:
        step = parse(line)
    except ParseError as error:
        raise StepFailed(str(error)) from None
    return step or Step("text", "")


class Forms:
    """The form each person is filling in, and the answers given in every form so far."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.filling: dict[str, Form] = {}
        """user → the form on top of their modal stack."""
        self.drafts: dict[str, Form] = {}
        """view id → its answers, kept while a pushed modal is on top of it."""

    def follow(self, user: str) -> None:
        """After news reached `user`: the modal on top of their stack, if it has fields to fill, is the
        form they fill; answers are kept per view, so back on top a modal is asked where it was left."""
        view = self.host.fake.open_view_for(user)
        if view is None or not render.is_form(view):
            self.filling.pop(user, None)
            return
        form = self.drafts.setdefault(view["id"], Form(view["id"]))
        present = {block["block_id"] for block in render.inputs(view)}
        form.answers = {k: v for k, v in form.answers.items() if k in present}
        self.filling[user] = form

    @property
    def form(self) -> Form | None:
        """The form whoever is at the keyboard is filling in."""
        return self.filling.get(self.host.me)

    def open_view(self) -> dict[str, Any] | None:
        """The modal of the form being filled, while it is still on top of the stack."""
        form = self.form
        if form is None:
            return None
        view = self.host.fake.open_view_for(self.host.me)
        if view is None or view["id"] != form.view_id:
            self.filling.pop(self.host.me, None)
            return None
        return view

    def _pending(self) -> dict[str, Any] | None:
        view = self.open_view()
        form = self.form
        if view is None or form is None:
            return None
        return next((b for b in render.inputs(view) if b["block_id"] not in form.answers), None)

    def _state(self, view: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """block_id → the entry each field holds now (initial value, or what was chosen)."""
        values = self.host.actor.view_values(view["id"])
        return {block_id: next(iter(by_action.values()), {}) for block_id, by_action in values.items()}

    def _shown_value(self, view: dict[str, Any], block: dict[str, Any]) -> str:
        form = self.form
        if form is not None and form.answers.get(block["block_id"], KEEP) is not KEEP:
            return form.typed.get(block["block_id"], "")
        entry = self._state(view).get(block["block_id"])
        return render.current_value(block["element"], entry, self.host.names)

    def question(self) -> str | None:
        """What the next field to fill asks, with what it holds now."""
        block = self._pending()
        view = self.open_view()
        if block is None or view is None:
            return None
        return render.question(block, self._shown_value(view, block), self.host.names)

    def field_assignment(self, line: str) -> tuple[dict[str, Any], str] | None:
        """The field and value of a `Label: value` line, if the label is one of the form's."""
        view = self.open_view()
        label, sep, value = line.partition(":")
        if view is None or not sep:
            return None
        for block in render.inputs(view):
            if str(block.get("label", {}).get("text", "")).casefold() == label.strip().casefold():
                return block, value.strip()
        return None

    async def _answer(self, block: dict[str, Any], text: str) -> list[Line]:
        host = self.host
        form = self.form
        assert form is not None
        if not text:
            form.answers[block["block_id"]] = KEEP
            return []
        try:
            value = render.answer_for(block["element"], text, host.people())
        except ValueError as error:
            return host.refused(f"{block['label']['text']}: {error}")
        form.answers[block["block_id"]] = value
        form.typed[block["block_id"]] = text
        if block.get("dispatch_action"):
            # The bot rebuilds the form from this choice (another project's types, a person's profile).
            await host.act(
                host.actor.select_in_view(block["element"]["action_id"], value, view_id=form.view_id)
            )
            return await host.after(expect_answer=False)
        return []

    async def line(self, line: str) -> list[Line]:
        """A line typed while the form is open: an answer, `Label: value`, or :submit, :cancel…"""
        host = self.host
        if line.strip().startswith(":"):
            step = _parse(line)
            if step.kind == "submit":
                return await self.submit()
            if step.kind in ("cancel", "close"):
                form = self.form
                self.filling.pop(host.me, None)
                if form is not None:
                    await host.act(host.actor.close_view(form.view_id))
                return [Line("modal", "└ (cancelled)"), *await host.after(expect_answer=False)]
            if step.kind == "click":
                form = self.form
                assert form is not None
                await host.act(host.actor.click_in_view(step.text, view_id=form.view_id))
                return await host.after(expect_answer=False)
            if step.kind == "help":
                return [Line("notice", HELP)]
            return host.refused("finish the form first: answer it, then :submit (or :cancel)")
        assignment = self.field_assignment(line)
        if assignment is not None:
            block, value = assignment
            return await self._answer(block, value)
        pending = self._pending()
        if pending is None:
            return host.refused("every field is filled: :submit sends the form, :cancel drops it")
        lines = await self._answer(pending, line)
        if not lines and self.form is not None and self._pending() is None:
            return await self.submit()
        return lines

    async def submit(self) -> list[Line]:
        """Send the form as the Slack client would: not at all while a required field is empty."""
        host = self.host
        view = self.open_view()
        form = self.form
        if view is None or form is None:
            return host.refused("no form is open")
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
                else not render.current_value(block["element"], state.get(block_id), host.names)
            )
            if empty:
                # As the Slack client does: a required field left empty is not sent at all.
                form.answers.pop(block_id, None)
                return host.refused(f"{block['label']['text']}: this field is required")
        interaction = await host.act(host.actor.submit_view(values, view_id=form.view_id))
        errors = interaction.errors if interaction else None
        if errors:
            labels = {b["block_id"]: b["label"]["text"] for b in render.inputs(view)}
            for block_id in errors:
                form.answers.pop(block_id, None)
            lines = [Line("error", f"✗ {labels.get(k, k)}: {message}") for k, message in errors.items()]
            if host.strict:
                raise StepFailed("the form was refused: " + "; ".join(line.text[2:] for line in lines))
            return lines
        if host.fake.open_view_for(host.me) is None or (interaction and interaction.response_action is None):
            self.filling.pop(host.me, None)
        return await host.after(expect_answer=True)
