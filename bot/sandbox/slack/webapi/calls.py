"""What every Web API method of the fake shares: its arguments (JSON inside form fields decoded, typed
access), paging, the server around it, and the channel, message and Block Kit checks Slack makes."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any, Protocol

from bot.sandbox.slack.blockkit import validate_message, validate_view
from bot.sandbox.slack.state import ApiError, Channel, Message
from bot.sandbox.slack.workspace import Workspace

# Arguments slack_sdk may send as JSON strings inside form fields.
JSON_ARGS = frozenset({"blocks", "attachments", "view", "files", "metadata"})


class Host(Protocol):
    """What the Web API needs from the server around it."""

    def report_violation(self, where: str, errors: list[str]) -> None: ...

    def socket_url(self) -> str: ...

    def upload_url(self, file_id: str) -> str: ...

    def api_event(self, event: dict[str, Any]) -> None: ...


def decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    """Decode the JSON-in-a-form-field arguments; leave undecodable strings for validation to reject."""
    for key in JSON_ARGS & args.keys():
        value = args[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args


def missing(key: str) -> ApiError:
    return ApiError(
        "invalid_arguments", response_metadata={"messages": [f"[ERROR] missing required field: {key}"]}
    )


class Args:
    """Typed access to one call's arguments (form values arrive as strings)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def get(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key)
        return default if value is None or value == "" else value

    def text(self, key: str, default: str = "") -> str:
        value = self.get(key)
        return default if value is None else str(value)

    def require(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise missing(key)
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true", "yes")

    def number(self, key: str, default: int) -> int:
        value = self.get(key)
        if value is None:
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None

    def items(self, key: str) -> list[str]:
        value = self.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]


def paginate(items: list[Any], args: Args, default_limit: int = 100) -> tuple[list[Any], dict[str, str]]:
    limit = min(args.number("limit", 0) or default_limit, 1000)
    offset = 0
    cursor = args.get("cursor")
    if cursor:
        try:
            kind, _, number = base64.b64decode(cursor).decode().partition(":")
            offset = int(number)
            if kind != "offset":
                raise ValueError(kind)
        except ValueError:
            raise ApiError("invalid_cursor") from None
    end = offset + limit
    next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return items[offset:end], {"next_cursor": next_cursor}


class Family:
    """A family of Web API methods (chat.*, views.*…): one method per Slack Web API method, named
    api_<method with dots as underscores>, and the lookups and checks the families share."""

    def __init__(self, workspace: Workspace, host: Host, *, chat_write_public: bool = True) -> None:
        self.ws = workspace
        self.host = host
        self.bot = workspace.bot_user_id
        self.chat_write_public = chat_write_public

    def _channel(self, ref: Any, *, member: bool = False) -> Channel:
        """A channel the bot can see; with member=True the bot must also be in it."""
        channel = self.ws.find_channel(ref)
        if channel.is_private and self.bot not in channel.members:
            raise ApiError("channel_not_found")
        if member and self.bot not in channel.members:
            raise ApiError("not_in_channel")
        return channel

    def _message(self, channel: Channel, ts: Any) -> Message:
        message = channel.find(ts) if isinstance(ts, str) else None
        if message is None:
            raise ApiError("message_not_found")
        return message

    def _msg(self, message: Message) -> dict[str, Any]:
        return message.to_api(self.ws.team_id, self.ws.files)

    def _check_message(self, method: str, args: Args) -> None:
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            self.host.report_violation(method, ["blocks: not valid JSON"])
            raise ApiError("invalid_blocks_format")
        errors = validate_message(args.get("text"), blocks, args.get("attachments"))
        if not errors:
            return
        self.host.report_violation(method, errors)
        if errors[0].startswith("no_text"):
            raise ApiError("no_text")
        if errors[0].startswith("text:"):
            raise ApiError("msg_too_long")
        raise ApiError(
            "invalid_blocks",
            errors=errors,
            response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
        )

    def _check_view(self, method: str, view: Any) -> dict[str, Any]:
        if view is None:
            raise missing("view")
        errors = validate_view(view)
        if errors:
            self.host.report_violation(method, errors)
            raise ApiError(
                "invalid_arguments",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        return view

    def _post_target(self, ref: Any) -> Channel:
        if isinstance(ref, str) and ref.startswith(("U", "W")) and ref in self.ws.users:
            return self.ws.im_with(ref)
        # Unlike the read methods (channel_not_found), posting to a private channel the bot is not
        # in answers not_in_channel, so a bot removed from a channel sees why.
        channel = self.ws.find_channel(ref)
        if channel.is_archived:
            raise ApiError("is_archived")
        if self.bot not in channel.members and (channel.is_private or not self.chat_write_public):
            raise ApiError("not_in_channel")
        return channel

    def _listed(self, args: Args) -> list[Channel]:
        """The channels conversations.list and users.conversations show: of the types asked, and the
        private ones only where the bot is."""
        types = set(args.items("types") or ["public_channel"])
        exclude_archived = args.flag("exclude_archived")
        found = []
        for channel in self.ws.channels.values():
            if channel.is_im:
                kind = "im"
            elif channel.is_mpim:
                kind = "mpim"
            else:
                kind = "private_channel" if channel.is_private else "public_channel"
            if kind not in types or (exclude_archived and channel.is_archived):
                continue
            if channel.is_private and self.bot not in channel.members:
                continue
            found.append(channel)
        return found
