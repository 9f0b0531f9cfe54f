"""Simulated workspace users: what a person does in the Slack client, sent to the app as Slack sends it.

What the payloads look like is `payloads.py`'s; what a message's or modal's elements hold, and what
choosing in one sends, `element_values.py`'s."""

from __future__ import annotations

import copy
from typing import Any

from bot.sandbox.slack.element_values import STATE_KEYS, STATEFUL, ElementValues, text_of
from bot.sandbox.slack.interactions import ActorError, Host, Interaction
from bot.sandbox.slack.payloads import Payloads
from bot.sandbox.slack.socket_mode import Delivery
from bot.sandbox.slack.state import Channel, Message, User


class Actor:
    """One workspace user acting in the Slack client (get one from fake.as_user(user_id))."""

    def __init__(self, fake: Host, user_id: str) -> None:
        self.fake = fake
        self.ws = fake.workspace
        self.user_id = user_id
        self.payloads = Payloads(fake, user_id)
        self.values = ElementValues(fake)

    @property
    def user(self) -> User:
        return self.ws.user(self.user_id)

    def _channel(self, ref: str | None) -> Channel:
        if ref is None:
            return self.ws.im_with(self.user_id)
        return self.fake.channel(ref)

    def _message(self, channel: Channel, ts: str) -> Message:
        message = channel.find(ts)
        if message is None:
            for to, ephemeral in channel.ephemerals:
                if ephemeral.ts == ts and to == self.user_id:
                    return ephemeral
            raise ActorError(f"no message {ts} in {channel.name}")
        return message

    async def _interact(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        timeout: float | None,
        *,
        view_id: str | None = None,
    ) -> Interaction:
        delivery = await self.fake.deliver(envelope_type, payload)
        ack = await delivery.acked(timeout)
        return Interaction(
            delivery=delivery,
            ack=ack.payload,
            latency=ack.latency,
            trigger_id=payload.get("trigger_id"),
            response_url=payload.get("response_url"),
            view_id=view_id,
        )

    # ----- slash commands and shortcuts -----

    async def slash_command(
        self, command_line: str, channel: str | None = None, *, timeout: float | None = None
    ) -> Interaction:
        """Run e.g. "/incident new Disk full" in channel (default: the user's DM with the bot).

        Waits for the ack (timeout None: as long as Slack would keep redelivering). The ack payload,
        if any, becomes the response message the way Slack shows it (ephemeral unless in_channel).
        """
        command, _, text = command_line.strip().partition(" ")
        if not command.startswith("/"):
            raise ActorError(f"a slash command starts with '/', got {command_line!r}")
        target = self._channel(channel)
        payload = self.payloads.slash_command(target, command, text)
        return await self._interact("slash_commands", payload, timeout)

    async def message_shortcut(
        self, channel: str, message_ts: str, callback_id: str, *, timeout: float | None = None
    ) -> Interaction:
        target = self._channel(channel)
        message = self._message(target, message_ts)
        payload = self.payloads.message_shortcut(target, message, callback_id)
        return await self._interact("interactive", payload, timeout)

    async def global_shortcut(self, callback_id: str, *, timeout: float | None = None) -> Interaction:
        return await self._interact("interactive", self.payloads.global_shortcut(callback_id), timeout)

    # ----- messages, reactions, membership (Events API) -----

    async def post_message(self, channel: str | None, text: str, thread_ts: str | None = None) -> Message:
        """Post as this user (channel None: the user's DM with the bot); delivers `message`, plus
        `app_mention` when the text mentions the bot. Returns the stored message."""
        target = self._channel(channel)
        if self.user_id not in target.members:
            raise ActorError(f"{self.user_id} is not a member of {target.name}; join_channel() first")
        if thread_ts is not None and self.ws.thread_root(target, thread_ts) is None:
            raise ActorError(f"no message {thread_ts} in {target.name} to reply to")
        root = self.ws.thread_root(target, thread_ts) if thread_ts else None
        blocks = [
            {
                "type": "rich_text",
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
            }
        ]
        message = self.ws.post(
            target, self.user_id, text=text, blocks=blocks, thread_ts=root.ts if root else None
        )
        event = self.payloads.message_event(target, message, text, root)
        await self.fake.emit_event(event)
        if f"<@{self.ws.bot_user_id}>" in text and not target.is_im:
            mention = {k: v for k, v in event.items() if k != "channel_type"}
            await self.fake.emit_event({**mention, "type": "app_mention"})
        return message

    async def send_dm(self, text: str) -> Message:
        """A message to the bot in the user's DM with it."""
        return await self.post_message(None, text)

    async def add_reaction(self, channel: str, ts: str, name: str) -> Delivery:
        target = self._channel(channel)
        message = self._message(target, ts)
        name = name.strip(":")
        users = message.reactions.setdefault(name, [])
        if self.user_id in users:
            raise ActorError(f"{self.user_id} already reacted with :{name}:")
        users.append(self.user_id)
        event = self.payloads.reaction_event("reaction_added", target, message, name)
        return await self.fake.emit_event(event)

    async def remove_reaction(self, channel: str, ts: str, name: str) -> Delivery:
        target = self._channel(channel)
        message = self._message(target, ts)
        name = name.strip(":")
        users = message.reactions.get(name, [])
        if self.user_id not in users:
            raise ActorError(f"{self.user_id} has no :{name}: reaction on {ts}")
        users.remove(self.user_id)
        event = self.payloads.reaction_event("reaction_removed", target, message, name)
        return await self.fake.emit_event(event)

    async def join_channel(self, channel: str) -> Delivery:
        target = self._channel(channel)
        if target.is_private:
            raise ActorError(f"{target.name} is private: someone has to invite {self.user_id}")
        if target.is_archived:
            raise ActorError(f"{target.name} is archived")
        if self.user_id in target.members:
            raise ActorError(f"{self.user_id} is already in {target.name}")
        target.members.add(self.user_id)
        return await self.fake.emit_event(self.payloads.membership_event("member_joined_channel", target))

    async def leave_channel(self, channel: str) -> Delivery:
        target = self._channel(channel)
        if self.user_id not in target.members:
            raise ActorError(f"{self.user_id} is not in {target.name}")
        target.members.discard(self.user_id)
        return await self.fake.emit_event(self.payloads.membership_event("member_left_channel", target))

    async def open_home(self) -> Delivery:
        """Open the app's Home tab: app_home_opened with the published view, if any."""
        return await self.fake.emit_event(self.payloads.home_opened())

    # ----- block actions -----

    async def _message_action(
        self, channel: str, message_ts: str, wanted: str, choice: Any, timeout: float | None
    ) -> Interaction:
        target = self._channel(channel)
        message = self._message(target, message_ts)
        block, element = self.values.find(message.blocks or [], wanted, f"message {message_ts}")
        action = self.values.action(block, element, choice)
        state = self.values.message_state(message)
        if element["type"] in STATEFUL:
            key = STATE_KEYS[element["type"]][0]
            state[block["block_id"]][element["action_id"]] = {"type": element["type"], key: action[key]}
        payload = self.payloads.message_actions(target, message, state, action)
        return await self._interact("interactive", payload, timeout)

    async def click_button(
        self, channel: str, message_ts: str, action: str, *, timeout: float | None = None
    ) -> Interaction:
        """Click a button in a message (or an ephemeral shown to this user), found by action_id, text
        or value; delivers block_actions and waits for the ack."""
        return await self._message_action(channel, message_ts, action, None, timeout)

    async def select_option(
        self, channel: str, message_ts: str, action: str, choice: Any, *, timeout: float | None = None
    ) -> Interaction:
        """Choose in a select / overflow / radio / datepicker... of a message; element found by action_id
        or placeholder, choice by option text or value (a user/channel id or name for those selects)."""
        return await self._message_action(channel, message_ts, action, choice, timeout)

    # ----- modals -----

    def _view(self, view_id: str | None) -> dict[str, Any]:
        if view_id is None:
            view = self.ws.open_modal(self.user_id)
            if view is None:
                raise ActorError(f"{self.user_id} has no open modal; views opened: {self.ws.view_history}")
            return view
        view = self.ws.views.get(view_id)
        if view is None or self.ws.view_owner.get(view_id) != self.user_id:
            raise ActorError(f"view {view_id} does not belong to {self.user_id}")
        return view

    def view_values(self, view_id: str | None = None) -> dict[str, dict[str, dict[str, Any]]]:
        """What the fields of the open modal (or view_id) hold now, as a submission would carry them."""
        return self.values.view_state(self._view(view_id))

    async def submit_view(
        self,
        values_by_label: dict[str, Any] | None = None,
        *,
        view_id: str | None = None,
        force: bool = False,
        timeout: float | None = None,
    ) -> Interaction:
        """Fill the open modal (or view_id) by input labels and press submit.

        Values: text for text inputs; option text (or value) for selects/radios; a list for multi
        selects and checkboxes; user id/name for users_select; channel id/name for conversations;
        "YYYY-MM-DD" / "HH:MM" (or date/time objects) for pickers. A required input left empty
        raises ActorError, as the Slack client would refuse to submit, unless force=True.
        Returns the Interaction; `.ack` is the ack payload, `.errors` the response_action errors.
        """
        view = self._view(view_id)
        values = self.values.view_state(view)
        inputs = [b for b in view.get("blocks", []) if b.get("type") == "input" and b.get("element")]
        by_label: dict[str, dict[str, Any]] = {}
        for block in inputs:
            by_label.setdefault(text_of(block.get("label")), block)
            by_label.setdefault(block["block_id"], block)
        for label, choice in (values_by_label or {}).items():
            block = by_label.get(label) or next(
                (b for b in inputs if text_of(b.get("label")).casefold() == label.casefold()), None
            )
            if block is None:
                labels = [text_of(b.get("label")) for b in inputs]
                raise ActorError(f"no input labelled {label!r} in view {view['id']}; labels: {labels}")
            element = block["element"]
            if element.get("type") not in STATE_KEYS:
                raise ActorError(f"cannot fill a {element.get('type')} input")
            key = STATE_KEYS[element["type"]][0]
            entry = {"type": element["type"], key: self.values.selection(element, choice)}
            values.setdefault(block["block_id"], {})[element["action_id"]] = entry
        if not force:
            for block in inputs:
                element = block["element"]
                if block.get("optional") or element.get("type") not in STATE_KEYS:
                    continue
                entry = values.get(block["block_id"], {}).get(element["action_id"], {})
                if entry.get(STATE_KEYS[element["type"]][0]) in (None, "", []):
                    raise ActorError(
                        f"required input {text_of(block.get('label'))!r} is empty: Slack would not submit"
                    )
        self.ws.views[view["id"]]["state"] = {"values": copy.deepcopy(values)}
        payload = self.payloads.view_submission(view, values)
        return await self._interact("interactive", payload, timeout, view_id=view["id"])

    async def _view_action(
        self, wanted: str, choice: Any, view_id: str | None, timeout: float | None
    ) -> Interaction:
        view = self._view(view_id)
        block, element = self.values.find(view.get("blocks", []), wanted, f"view {view['id']}")
        action = self.values.action(block, element, choice)
        if element["type"] in STATEFUL:
            key = STATE_KEYS[element["type"]][0]
            drafts = self.ws.view_drafts.setdefault(view["id"], {}).setdefault(block["block_id"], {})
            drafts[element["action_id"]] = {"type": element["type"], key: action[key]}
        payload = self.payloads.view_actions(view, self.values.view_state(view), action)
        return await self._interact("interactive", payload, timeout, view_id=view["id"])

    async def click_in_view(
        self, action: str, *, view_id: str | None = None, timeout: float | None = None
    ) -> Interaction:
        """Click a button in the open modal (or view_id, e.g. a Home tab)."""
        return await self._view_action(action, None, view_id, timeout)

    async def select_in_view(
        self, action: str, choice: Any, *, view_id: str | None = None, timeout: float | None = None
    ) -> Interaction:
        """Choose in a select of the open modal; the choice is kept in the view's state for submit."""
        return await self._view_action(action, choice, view_id, timeout)

    async def close_view(
        self, view_id: str | None = None, *, timeout: float | None = None
    ) -> Interaction | None:
        """Press the modal's close button: view_closed is delivered only if it set notify_on_close."""
        view = self._view(view_id)
        self.ws.close_modal(self.user_id)
        if not view.get("notify_on_close"):
            return None
        payload = self.payloads.view_closed(view, self.values.view_state(view))
        return await self._interact("interactive", payload, timeout, view_id=view["id"])
