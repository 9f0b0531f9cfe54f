"""What Slack sends the app when one user acts in the client: the pieces every payload repeats (user,
team, channel, response_url), each interactive and slash command payload, and each event."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from bot.sandbox.slack.interactions import Host
from bot.sandbox.slack.state import Channel, Message, User


class Payloads:
    """The payloads and events of one user's actions, as Slack shapes them."""

    def __init__(self, fake: Host, user_id: str) -> None:
        self.fake = fake
        self.ws = fake.workspace
        self.user_id = user_id

    # ----- pieces -----

    @property
    def user(self) -> User:
        return self.ws.user(self.user_id)

    def user_obj(self) -> dict[str, Any]:
        user = self.user
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.ws.team_id}

    def team(self) -> dict[str, Any]:
        return {"id": self.ws.team_id, "domain": self.ws.team_domain}

    def channel_obj(self, channel: Channel) -> dict[str, Any]:
        return {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name}

    @staticmethod
    def channel_type(channel: Channel) -> str:
        if channel.is_im:
            return "im"
        if channel.is_mpim:
            return "mpim"
        return "group" if channel.is_private else "channel"

    def response_url(self, channel: Channel | None, source: str, message_ts: str | None = None) -> str:
        url_id = self.ws.issue_response_url(self.user_id, channel.id if channel else None, source, message_ts)
        return self.fake.response_url(url_id)

    def view(self, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """A view as a payload carries it, with the state of its fields."""
        view = copy.deepcopy(view)
        view["state"] = {"values": values}
        return view

    # ----- slash commands and shortcuts -----

    def slash_command(self, target: Channel, command: str, text: str) -> dict[str, Any]:
        return {
            "token": "fake-verification-token",
            "team_id": self.ws.team_id,
            "team_domain": self.ws.team_domain,
            "channel_id": target.id,
            "channel_name": self.channel_obj(target)["name"],
            "user_id": self.user_id,
            "user_name": self.user.name,
            "command": command,
            "text": text.strip(),
            "api_app_id": self.ws.app_id,
            "is_enterprise_install": "false",
            "response_url": self.response_url(target, "slash_commands"),
            "trigger_id": self.ws.issue_trigger(self.user_id),
        }

    def message_shortcut(self, target: Channel, message: Message, callback_id: str) -> dict[str, Any]:
        return {
            "type": "message_action",
            "token": "fake-verification-token",
            "action_ts": self.ws.ids.ts(),
            "team": self.team(),
            "user": self.user_obj(),
            "channel": self.channel_obj(target),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.ws.issue_trigger(self.user_id),
            "response_url": self.response_url(target, "message_action", message.ts),
            "message_ts": message.ts,
            "message": message.to_api(self.ws.team_id, self.ws.files),
        }

    def global_shortcut(self, callback_id: str) -> dict[str, Any]:
        return {
            "type": "shortcut",
            "token": "fake-verification-token",
            "action_ts": self.ws.ids.ts(),
            "team": self.team(),
            "user": self.user_obj(),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.ws.issue_trigger(self.user_id),
        }

    # ----- block actions and views -----

    def message_actions(
        self, target: Channel, message: Message, state: dict[str, Any], action: dict[str, Any]
    ) -> dict[str, Any]:
        """block_actions of an element in a message (or an ephemeral) in `target`."""
        is_ephemeral = message.subtype == "ephemeral"
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self.user_obj(),
            "api_app_id": self.ws.app_id,
            "token": "fake-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": target.id,
                "is_ephemeral": is_ephemeral,
            },
            "trigger_id": self.ws.issue_trigger(self.user_id),
            "team": self.team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": self.channel_obj(target),
            "state": {"values": state},
            "response_url": self.response_url(target, "block_actions", message.ts),
            "actions": [action],
        }
        if not is_ephemeral:
            payload["message"] = message.to_api(self.ws.team_id, self.ws.files)
        if message.thread_ts:
            payload["container"]["thread_ts"] = message.thread_ts
        return payload

    def view_actions(
        self, view: dict[str, Any], values: dict[str, Any], action: dict[str, Any]
    ) -> dict[str, Any]:
        """block_actions of an element in a modal or a Home tab."""
        return {
            "type": "block_actions",
            "user": self.user_obj(),
            "api_app_id": self.ws.app_id,
            "token": "fake-verification-token",
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": self.ws.issue_trigger(self.user_id),
            "team": self.team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": self.view(view, values),
            "actions": [action],
        }

    def view_submission(self, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "view_submission",
            "team": self.team(),
            "user": self.user_obj(),
            "api_app_id": self.ws.app_id,
            "token": "fake-verification-token",
            "trigger_id": self.ws.issue_trigger(self.user_id),
            "view": self.view(view, values),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def view_closed(self, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "view_closed",
            "team": self.team(),
            "user": self.user_obj(),
            "api_app_id": self.ws.app_id,
            "token": "fake-verification-token",
            "view": self.view(view, values),
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }

    # ----- events -----

    def message_event(
        self, target: Channel, message: Message, text: str, root: Message | None
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "message",
            "channel": target.id,
            "user": self.user_id,
            "text": text,
            "ts": message.ts,
            "event_ts": message.ts,
            "channel_type": self.channel_type(target),
            "team": self.ws.team_id,
            "client_msg_id": str(uuid.uuid4()),
            "blocks": copy.deepcopy(message.blocks),
        }
        if root is not None:
            event["thread_ts"] = root.ts
            event["parent_user_id"] = root.user
        return event

    def reaction_event(self, kind: str, channel: Channel, message: Message, name: str) -> dict[str, Any]:
        return {
            "type": kind,
            "user": self.user_id,
            "reaction": name,
            "item_user": message.user,
            "item": {"type": "message", "channel": channel.id, "ts": message.ts},
        }

    def membership_event(self, kind: str, channel: Channel) -> dict[str, Any]:
        return {
            "type": kind,
            "user": self.user_id,
            "channel": channel.id,
            "channel_type": "G" if channel.is_private else "C",
            "team": self.ws.team_id,
        }

    def home_opened(self) -> dict[str, Any]:
        """app_home_opened, with the published Home view, if any."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": self.user_id,
            "channel": self.ws.im_with(self.user_id).id,
            "tab": "home",
        }
        home = self.fake.home_view(self.user_id)
        if home is not None:
            event["view"] = home
        return event
