"""Simulated workspace users: what a person does in the Slack client, sent to the app as Slack sends it."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from bot.sandbox.slack.blockkit import interactive_types
from bot.sandbox.slack.socket_mode import Delivery
from bot.sandbox.slack.state import Channel, Message, User
from bot.sandbox.slack.workspace import Workspace


class Host(Protocol):
    """What a simulated user needs from the server around the workspace (FakeSlack)."""

    workspace: Workspace

    def channel(self, channel: str) -> Channel: ...

    def response_url(self, url_id: str) -> str: ...

    def home_view(self, user_id: str) -> dict[str, Any] | None: ...

    async def deliver(self, envelope_type: str, payload: dict[str, Any]) -> Delivery: ...

    async def emit_event(self, event: dict[str, Any]) -> Delivery: ...


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


class ActorError(LookupError):
    """A simulated user could not do what the test asked (no such button, label, view...)."""


@dataclass
class Interaction:
    """The outcome of a user action that Slack sends as an interactive or slash_commands envelope."""

    delivery: Delivery
    ack: dict[str, Any] | None
    """The payload the app acked with (None: a bare ack)."""
    latency: float
    trigger_id: str | None = None
    response_url: str | None = None
    view_id: str | None = None

    @property
    def response_action(self) -> str | None:
        return (self.ack or {}).get("response_action")

    @property
    def errors(self) -> dict[str, str] | None:
        """The block_id -> message map of a `response_action: errors` ack."""
        return (self.ack or {}).get("errors") if self.response_action == "errors" else None


def _text(value: Any) -> str:
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


class Actor:
    """One workspace user acting in the Slack client (get one from fake.as_user(user_id))."""

    def __init__(self, fake: Host, user_id: str) -> None:
        self.fake = fake
        self.ws = fake.workspace
        self.user_id = user_id

    # ----- payload pieces -----

    @property
    def user(self) -> User:
        return self.ws.user(self.user_id)

    def _user_obj(self) -> dict[str, Any]:
        user = self.user
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.ws.team_id}

    def _team(self) -> dict[str, Any]:
        return {"id": self.ws.team_id, "domain": self.ws.team_domain}

    def _channel(self, ref: str | None) -> Channel:
        if ref is None:
            return self.ws.im_with(self.user_id)
        return self.fake.channel(ref)

    def _channel_obj(self, channel: Channel) -> dict[str, Any]:
        return {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name}

    @staticmethod
    def _channel_type(channel: Channel) -> str:
        if channel.is_im:
            return "im"
        if channel.is_mpim:
            return "mpim"
        return "group" if channel.is_private else "channel"

    def _response_url(self, channel: Channel | None, source: str, message_ts: str | None = None) -> str:
        url_id = self.ws.issue_response_url(self.user_id, channel.id if channel else None, source, message_ts)
        return self.fake.response_url(url_id)

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
        payload = {
            "token": "fake-verification-token",
            "team_id": self.ws.team_id,
            "team_domain": self.ws.team_domain,
            "channel_id": target.id,
            "channel_name": self._channel_obj(target)["name"],
            "user_id": self.user_id,
            "user_name": self.user.name,
            "command": command,
            "text": text.strip(),
            "api_app_id": self.ws.app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url(target, "slash_commands"),
            "trigger_id": self.ws.issue_trigger(self.user_id),
        }
        return await self._interact("slash_commands", payload, timeout)

    async def message_shortcut(
        self, channel: str, message_ts: str, callback_id: str, *, timeout: float | None = None
    ) -> Interaction:
        target = self._channel(channel)
        message = self._message(target, message_ts)
        payload = {
            "type": "message_action",
            "token": "fake-verification-token",
            "action_ts": self.ws.ids.ts(),
            "team": self._team(),
            "user": self._user_obj(),
            "channel": self._channel_obj(target),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.ws.issue_trigger(self.user_id),
            "response_url": self._response_url(target, "message_action", message.ts),
            "message_ts": message.ts,
            "message": message.to_api(self.ws.team_id, self.ws.files),
        }
        return await self._interact("interactive", payload, timeout)

    async def global_shortcut(self, callback_id: str, *, timeout: float | None = None) -> Interaction:
        payload = {
            "type": "shortcut",
            "token": "fake-verification-token",
            "action_ts": self.ws.ids.ts(),
            "team": self._team(),
            "user": self._user_obj(),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.ws.issue_trigger(self.user_id),
        }
        return await self._interact("interactive", payload, timeout)

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
        event: dict[str, Any] = {
            "type": "message",
            "channel": target.id,
            "user": self.user_id,
            "text": text,
            "ts": message.ts,
            "event_ts": message.ts,
            "channel_type": self._channel_type(target),
            "team": self.ws.team_id,
            "client_msg_id": str(uuid.uuid4()),
            "blocks": copy.deepcopy(message.blocks),
        }
        if root is not None:
            event["thread_ts"] = root.ts
            event["parent_user_id"] = root.user
        await self.fake.emit_event(event)
        if f"<@{self.ws.bot_user_id}>" in text and not target.is_im:
            mention = {k: v for k, v in event.items() if k != "channel_type"}
            await self.fake.emit_event({**mention, "type": "app_mention"})
        return message

    async def send_dm(self, text: str) -> Message:
        """A message to the bot in the user's DM with it."""
        return await self.post_message(None, text)

    def _message(self, channel: Channel, ts: str) -> Message:
        message = channel.find(ts)
        if message is None:
            for to, ephemeral in channel.ephemerals:
                if ephemeral.ts == ts and to == self.user_id:
                    return ephemeral
            raise ActorError(f"no message {ts} in {channel.name}")
        return message

    async def add_reaction(self, channel: str, ts: str, name: str) -> Delivery:
        target = self._channel(channel)
        message = self._message(target, ts)
        name = name.strip(":")
        users = message.reactions.setdefault(name, [])
        if self.user_id in users:
            raise ActorError(f"{self.user_id} already reacted with :{name}:")
        users.append(self.user_id)
        return await self.fake.emit_event(self._reaction_event("reaction_added", target, message, name))

    async def remove_reaction(self, channel: str, ts: str, name: str) -> Delivery:
        target = self._channel(channel)
        message = self._message(target, ts)
        name = name.strip(":")
        users = message.reactions.get(name, [])
        if self.user_id not in users:
            raise ActorError(f"{self.user_id} has no :{name}: reaction on {ts}")
        users.remove(self.user_id)
        return await self.fake.emit_event(self._reaction_event("reaction_removed", target, message, name))

    def _reaction_event(self, kind: str, channel: Channel, message: Message, name: str) -> dict[str, Any]:
        return {
            "type": kind,
            "user": self.user_id,
            "reaction": name,
            "item_user": message.user,
            "item": {"type": "message", "channel": channel.id, "ts": message.ts},
        }

    async def join_channel(self, channel: str) -> Delivery:
        target = self._channel(channel)
        if target.is_private:
            raise ActorError(f"{target.name} is private: someone has to invite {self.user_id}")
        if target.is_archived:
            raise ActorError(f"{target.name} is archived")
        if self.user_id in target.members:
            raise ActorError(f"{self.user_id} is already in {target.name}")
        target.members.add(self.user_id)
        return await self.fake.emit_event(self._membership_event("member_joined_channel", target))

    async def leave_channel(self, channel: str) -> Delivery:
        target = self._channel(channel)
        if self.user_id not in target.members:
            raise ActorError(f"{self.user_id} is not in {target.name}")
        target.members.discard(self.user_id)
        return await self.fake.emit_event(self._membership_event("member_left_channel", target))

    def _membership_event(self, kind: str, channel: Channel) -> dict[str, Any]:
        return {
            "type": kind,
            "user": self.user_id,
            "channel": channel.id,
            "channel_type": "G" if channel.is_private else "C",
            "team": self.ws.team_id,
        }

    async def open_home(self) -> Delivery:
        """Open the app's Home tab: app_home_opened with the published view, if any."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": self.user_id,
            "channel": self.ws.im_with(self.user_id).id,
            "tab": "home",
        }
        home = self.fake.home_view(self.user_id)
        if home is not None:
            event["view"] = home
        return await self.fake.emit_event(event)

    # ----- block actions -----

    def _find(self, blocks: list[dict[str, Any]], wanted: str, where: str) -> tuple[dict, dict]:
        """(block, element) matched by action_id, text, placeholder, input label or button value."""
        available = []
        for block in blocks:
            for element in _elements(block):
                label = (
                    _text(element.get("text"))
                    or _text(element.get("placeholder"))
                    or _text(block.get("label"))
                )
                if wanted in (element.get("action_id"), label) or (
                    element.get("type") == "button" and wanted == element.get("value")
                ):
                    return block, element
                available.append(f"{element['type']} action_id={element.get('action_id')!r} text={label!r}")
        raise ActorError(f"no element {wanted!r} in {where}; available: {available}")

    def _selection(self, element: dict[str, Any], choice: Any) -> Any:
        """The state/action value for choosing `choice` (what the user sees) in element."""
        kind = element["type"]
        key = STATE_KEYS.get(kind, ("value", "", None))[0]
        if key == "selected_option":
            return self._option(element, choice)
        if key == "selected_options":
            choices = choice if isinstance(choice, (list, tuple, set)) else [choice]
            return [self._option(element, c) for c in choices]
        if key == "selected_user":
            return self._user_id(choice)
        if key == "selected_users":
            return [self._user_id(c) for c in choice]
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
    def _option(element: dict[str, Any], choice: Any) -> dict[str, Any]:
        options = _options(element)
        for option in options:
            if choice in (_text(option.get("text")), option.get("value")):
                return copy.deepcopy(option)
        texts = [_text(o.get("text")) for o in options]
        raise ActorError(f"no option {choice!r} in {element.get('action_id')!r}; options: {texts}")

    def _user_id(self, choice: Any) -> str:
        if choice in self.ws.users:
            return str(choice)
        for user in self.ws.users.values():
            if choice in (user.name, user.real_name, user.email):
                return user.id
        raise ActorError(f"no user {choice!r}")

    def _action(self, block: dict[str, Any], element: dict[str, Any], choice: Any = None) -> dict[str, Any]:
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
            action[key] = self._selection(element, choice)
            if "placeholder" in element:
                action["placeholder"] = copy.deepcopy(element["placeholder"])
        return action

    async def _message_action(
        self, channel: str, message_ts: str, wanted: str, choice: Any, timeout: float | None
    ) -> Interaction:
        target = self._channel(channel)
        message = self._message(target, message_ts)
        block, element = self._find(message.blocks or [], wanted, f"message {message_ts}")
        is_ephemeral = message.subtype == "ephemeral"
        action = self._action(block, element, choice)
        state = self._message_state(message)
        if element["type"] in STATEFUL:
            key = STATE_KEYS[element["type"]][0]
            state[block["block_id"]][element["action_id"]] = {"type": element["type"], key: action[key]}
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_obj(),
            "api_app_id": self.ws.app_id,
            "token": "fake-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": target.id,
                "is_ephemeral": is_ephemeral,
            },
            "trigger_id": self.ws.issue_trigger(self.user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": self._channel_obj(target),
            "state": {"values": state},
            "response_url": self._response_url(target, "block_actions", message.ts),
            "actions": [action],
        }
        if not is_ephemeral:
            payload["message"] = message.to_api(self.ws.team_id, self.ws.files)
        if message.thread_ts:
            payload["container"]["thread_ts"] = message.thread_ts
        return await self._interact("interactive", payload, timeout)

    def _message_state(self, message: Message) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for block in message.blocks or []:
            for element in _elements(block):
                if element["type"] in STATEFUL:
                    values.setdefault(block["block_id"], {})[element["action_id"]] = self._initial_entry(
                        element
                    )
        return values

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
        return self._view_state(self._view(view_id))

    def _initial_entry(self, element: dict[str, Any]) -> dict[str, Any]:
        key, initial_key, empty = STATE_KEYS[element["type"]]
        value = copy.deepcopy(element.get(initial_key, empty)) if initial_key else copy.deepcopy(empty)
        if key == "rich_text_value" and isinstance(value, str):
            value = self._selection(element, value)
        return {"type": element["type"], key: value}

    def _view_state(self, view: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
        drafts = self.ws.view_drafts.get(view["id"], {})
        values: dict[str, dict[str, dict[str, Any]]] = {}
        for block in view.get("blocks", []):
            for element in _elements(block):
                if element["type"] not in STATEFUL:
                    continue
                draft = drafts.get(block["block_id"], {}).get(element["action_id"])
                entry = copy.deepcopy(draft) if draft else self._initial_entry(element)
                values.setdefault(block["block_id"], {})[element["action_id"]] = entry
        return values

    def _view_payload(self, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        view = copy.deepcopy(view)
        view["state"] = {"values": values}
        return view

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
        values = self._view_state(view)
        inputs = [b for b in view.get("blocks", []) if b.get("type") == "input" and b.get("element")]
        by_label: dict[str, dict[str, Any]] = {}
        for block in inputs:
            by_label.setdefault(_text(block.get("label")), block)
            by_label.setdefault(block["block_id"], block)
        for label, choice in (values_by_label or {}).items():
            block = by_label.get(label) or next(
                (b for b in inputs if _text(b.get("label")).casefold() == label.casefold()), None
            )
            if block is None:
                labels = [_text(b.get("label")) for b in inputs]
                raise ActorError(f"no input labelled {label!r} in view {view['id']}; labels: {labels}")
            element = block["element"]
            if element.get("type") not in STATE_KEYS:
                raise ActorError(f"cannot fill a {element.get('type')} input")
            key = STATE_KEYS[element["type"]][0]
            entry = {"type": element["type"], key: self._selection(element, choice)}
            values.setdefault(block["block_id"], {})[element["action_id"]] = entry
        if not force:
            for block in inputs:
                element = block["element"]
                if block.get("optional") or element.get("type") not in STATE_KEYS:
                    continue
                entry = values.get(block["block_id"], {}).get(element["action_id"], {})
                if entry.get(STATE_KEYS[element["type"]][0]) in (None, "", []):
                    raise ActorError(
                        f"required input {_text(block.get('label'))!r} is empty: Slack would not submit"
                    )
        self.ws.views[view["id"]]["state"] = {"values": copy.deepcopy(values)}
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user_obj(),
            "api_app_id": self.ws.app_id,
            "token": "fake-verification-token",
            "trigger_id": self.ws.issue_trigger(self.user_id),
            "view": self._view_payload(view, values),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self._interact("interactive", payload, timeout, view_id=view["id"])

    async def _view_action(
        self, wanted: str, choice: Any, view_id: str | None, timeout: float | None
    ) -> Interaction:
        view = self._view(view_id)
        block, element = self._find(view.get("blocks", []), wanted, f"view {view['id']}")
        action = self._action(block, element, choice)
        if element["type"] in STATEFUL:
            key = STATE_KEYS[element["type"]][0]
            drafts = self.ws.view_drafts.setdefault(view["id"], {}).setdefault(block["block_id"], {})
            drafts[element["action_id"]] = {"type": element["type"], key: action[key]}
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_obj(),
            "api_app_id": self.ws.app_id,
            "token": "fake-verification-token",
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": self.ws.issue_trigger(self.user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": self._view_payload(view, self._view_state(view)),
            "actions": [action],
        }
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
        payload = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user_obj(),
            "api_app_id": self.ws.app_id,
            "token": "fake-verification-token",
            "view": self._view_payload(view, self._view_state(view)),
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self._interact("interactive", payload, timeout, view_id=view["id"])
