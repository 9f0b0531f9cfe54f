"""Web API methods of the fake: argument handling, Slack's error codes and response shapes."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
from collections.abc import Callable
from typing import Any, Protocol

from bot.sandbox.slack.blockkit import normalize_blocks, validate_message, validate_view
from bot.sandbox.slack.state import ApiError, Channel, FileRecord, Message, now
from bot.sandbox.slack.workspace import Workspace, check_channel_name

# Arguments slack_sdk may send as JSON strings inside form fields.
JSON_ARGS = frozenset({"blocks", "attachments", "view", "files", "metadata"})
MAX_TOPIC = 250
MAX_PURPOSE = 250
MAX_VIEW_STACK = 3


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


def _missing(key: str) -> ApiError:
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
            raise _missing(key)
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


def _page(items: list[Any], args: Args, default_limit: int = 100) -> tuple[list[Any], dict[str, str]]:
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


class WebApi:
    """One method per Slack Web API method, named api_<method with dots as underscores>."""

    def __init__(self, workspace: Workspace, host: Host, *, chat_write_public: bool = True) -> None:
        self.ws = workspace
        self.host = host
        self.bot = workspace.bot_user_id
        self.chat_write_public = chat_write_public

    def handler(self, method: str) -> Callable[[Args], dict[str, Any]] | None:
        return getattr(self, "api_" + method.replace(".", "_"), None)

    # ----- helpers -----

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
            raise _missing("view")
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

    # ----- auth / apps / team -----

    def api_auth_test(self, args: Args) -> dict[str, Any]:
        return {
            "url": f"https://{self.ws.team_domain}.slack.com/",
            "team": self.ws.team_name,
            "user": self.ws.bot_name,
            "team_id": self.ws.team_id,
            "user_id": self.bot,
            "bot_id": self.ws.bot_id,
            "is_enterprise_install": False,
        }

    def api_apps_connections_open(self, args: Args) -> dict[str, Any]:
        return {"url": self.host.socket_url()}

    def api_team_info(self, args: Args) -> dict[str, Any]:
        return {
            "team": {
                "id": self.ws.team_id,
                "name": self.ws.team_name,
                "domain": self.ws.team_domain,
                "email_domain": "",
                "icon": {"image_default": True, "image_34": "https://avatars.example/team_34.png"},
            }
        }

    def api_emoji_list(self, args: Args) -> dict[str, Any]:
        return {"emoji": dict(self.ws.emoji), "cache_ts": f"{now()}.000000"}

    # ----- users -----

    def api_users_info(self, args: Args) -> dict[str, Any]:
        return {"user": self.ws.user(args.get("user")).to_api()}

    def api_users_list(self, args: Args) -> dict[str, Any]:
        members, meta = _page([u.to_api() for u in self.ws.users.values()], args, default_limit=1000)
        return {"members": members, "cache_ts": now(), "response_metadata": meta}

    def api_users_lookupByEmail(self, args: Args) -> dict[str, Any]:
        email = args.require("email").lower()
        for user in self.ws.users.values():
            if user.email and user.email.lower() == email and not user.deleted:
                return {"user": user.to_api()}
        raise ApiError("users_not_found")

    def api_users_profile_get(self, args: Args) -> dict[str, Any]:
        return {"profile": self.ws.user(args.get("user", self.bot)).to_api()["profile"]}

    def api_users_conversations(self, args: Args) -> dict[str, Any]:
        user = self.ws.user(args.get("user", self.bot)).id
        found = [c for c in self._listed(args) if user in c.members]
        page, meta = _page([c.to_api(self.bot) for c in found], args)
        return {"channels": page, "response_metadata": meta}

    # ----- conversations -----

    def _listed(self, args: Args) -> list[Channel]:
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

    def api_conversations_create(self, args: Args) -> dict[str, Any]:
        name = args.text("name")
        check_channel_name(name)
        if self.ws.channel_by_name(name) is not None:
            raise ApiError("name_taken")
        cid = self.ws.add_channel(
            name, members=[self.bot], is_private=args.flag("is_private"), creator=self.bot
        )
        return {"channel": self.ws.channels[cid].to_api(self.bot)}

    def api_conversations_info(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        return {"channel": channel.to_api(self.bot, num_members=args.flag("include_num_members"))}

    def api_conversations_list(self, args: Args) -> dict[str, Any]:
        page, meta = _page([c.to_api(self.bot) for c in self._listed(args)], args)
        return {"channels": page, "response_metadata": meta}

    def api_conversations_invite(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        if channel.is_archived:
            raise ApiError("is_archived")
        if self.bot not in channel.members:
            raise ApiError("not_in_channel")
        if channel.is_im:
            raise ApiError("method_not_supported_for_channel_type")
        user_ids = args.items("users")
        if not user_ids:
            raise ApiError("no_user")
        for uid in user_ids:
            if uid == self.bot:
                raise ApiError("cant_invite_self")
            user = self.ws.users.get(uid)
            if user is None:
                raise ApiError(
                    "user_not_found", errors=[{"user": uid, "ok": False, "error": "user_not_found"}]
                )
            if user.deleted:
                raise ApiError("cant_invite", errors=[{"user": uid, "ok": False, "error": "cant_invite"}])
        new = [uid for uid in user_ids if uid not in channel.members]
        if not new:
            raise ApiError(
                "already_in_channel",
                errors=[{"user": uid, "ok": False, "error": "already_in_channel"} for uid in user_ids],
            )
        for uid in new:
            channel.members.add(uid)
            self.host.api_event(self._membership_event("member_joined_channel", channel, uid, self.bot))
        return {"channel": channel.to_api(self.bot)}

    def _membership_event(self, kind: str, channel: Channel, user: str, actor: str | None) -> dict[str, Any]:
        event = {
            "type": kind,
            "user": user,
            "channel": channel.id,
            "channel_type": "G" if channel.is_private else "C",
            "team": self.ws.team_id,
        }
        if actor and kind == "member_joined_channel" and actor != user:
            event["inviter"] = actor
        return event

    def api_conversations_kick(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"), member=True)
        user = args.require("user")
        if user == self.bot:
            raise ApiError("cant_kick_self")
        self.ws.user(user)
        if channel.is_general:
            raise ApiError("cant_kick_from_general")
        if user not in channel.members:
            raise ApiError("not_in_channel")
        channel.members.discard(user)
        self.host.api_event(self._membership_event("member_left_channel", channel, user, self.bot))
        return {}

    def api_conversations_join(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        if channel.is_private or channel.is_im:
            raise ApiError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise ApiError("is_archived")
        if self.bot in channel.members:
            return {
                "channel": channel.to_api(self.bot),
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        channel.members.add(self.bot)
        return {"channel": channel.to_api(self.bot)}

    def api_conversations_leave(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        if channel.is_im:
            raise ApiError("method_not_supported_for_channel_type")
        if channel.is_general:
            raise ApiError("cant_leave_general")
        if self.bot not in channel.members:
            return {"not_in_channel": True}
        channel.members.discard(self.bot)
        return {}

    def api_conversations_members(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        members, meta = _page(sorted(channel.members), args)
        return {"members": members, "response_metadata": meta}

    def _set_text(self, args: Args, attr: str, limit: int) -> dict[str, Any]:
        channel = self._channel(args.require("channel"), member=True)
        if channel.is_archived:
            raise ApiError("is_archived")
        value = args.text(attr)
        if len(value) > limit:
            raise ApiError("too_long")
        setattr(channel, attr, value)
        return {"channel": channel.to_api(self.bot)}

    def api_conversations_setTopic(self, args: Args) -> dict[str, Any]:
        return self._set_text(args, "topic", MAX_TOPIC)

    def api_conversations_setPurpose(self, args: Args) -> dict[str, Any]:
        return self._set_text(args, "purpose", MAX_PURPOSE)

    def api_conversations_archive(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        if channel.is_archived:
            raise ApiError("already_archived")
        if channel.is_general:
            raise ApiError("cant_archive_general")
        if channel.is_im or channel.is_mpim:
            raise ApiError("method_not_supported_for_channel_type")
        if self.bot not in channel.members:
            raise ApiError("not_in_channel")
        channel.is_archived = True
        return {}

    def api_conversations_unarchive(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        if not channel.is_archived:
            raise ApiError("not_archived")
        channel.is_archived = False
        return {}

    def api_conversations_rename(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"), member=True)
        if channel.is_archived:
            raise ApiError("is_archived")
        name = args.text("name")
        check_channel_name(name)
        if name != channel.name:
            if self.ws.channel_by_name(name) is not None:
                raise ApiError("name_taken")
            channel.previous_names.append(channel.name)
            channel.name = name
        return {"channel": channel.to_api(self.bot)}

    def api_conversations_history(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"), member=True)
        latest, oldest = args.get("latest"), args.get("oldest")
        inclusive = args.flag("inclusive")
        found = []
        for message in reversed(channel.messages):
            is_reply = message.thread_ts and message.thread_ts != message.ts
            if is_reply and message.subtype != "thread_broadcast":
                continue
            ts = float(message.ts)
            if latest is not None and (ts > float(latest) or (ts == float(latest) and not inclusive)):
                continue
            if oldest is not None and (ts < float(oldest) or (ts == float(oldest) and not inclusive)):
                continue
            found.append(self._msg(message))
        page, meta = _page(found, args)
        return {
            "messages": page,
            "has_more": bool(meta["next_cursor"]),
            "pin_count": len(channel.pins),
            "response_metadata": meta,
        }

    def api_conversations_replies(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"), member=True)
        root = self.ws.thread_root(channel, args.require("ts"))
        if root is None:
            raise ApiError("thread_not_found")
        thread = [root] + [m for ts in root.replies if (m := channel.find(ts)) is not None]
        page, meta = _page([self._msg(m) for m in thread], args, default_limit=1000)
        return {"messages": page, "has_more": bool(meta["next_cursor"]), "response_metadata": meta}

    def api_conversations_open(self, args: Args) -> dict[str, Any]:
        if args.get("channel"):
            channel = self._channel(args.get("channel"))
        else:
            user_ids = args.items("users")
            if not user_ids:
                raise ApiError("users_list_not_supplied")
            for uid in user_ids:
                self.ws.user(uid)
            channel = self.ws.im_with(user_ids[0]) if len(user_ids) == 1 else self.ws.mpim_with(user_ids)
        if args.flag("return_im"):
            return {"channel": channel.to_api(self.bot)}
        return {"channel": {"id": channel.id}}

    # ----- chat -----

    def api_chat_postMessage(self, args: Args) -> dict[str, Any]:
        channel = self._post_target(args.require("channel"))
        self._check_message("chat.postMessage", args)
        thread_ts = args.get("thread_ts")
        if thread_ts is not None:
            root = self.ws.thread_root(channel, str(thread_ts))
            if root is None:
                raise ApiError("thread_not_found")
            thread_ts = root.ts
        message = self.ws.post(
            channel,
            self.bot,
            text=args.text("text"),
            blocks=args.get("blocks"),
            attachments=args.get("attachments"),
            thread_ts=thread_ts,
            metadata=args.get("metadata"),
            subtype="thread_broadcast" if thread_ts and args.flag("reply_broadcast") else None,
        )
        return {"channel": channel.id, "ts": message.ts, "message": self._msg(message)}

    def api_chat_postEphemeral(self, args: Args) -> dict[str, Any]:
        channel = self._post_target(args.require("channel"))
        user = self.ws.user(args.require("user"))
        if user.id not in channel.members:
            raise ApiError("user_not_in_channel")
        self._check_message("chat.postEphemeral", args)
        message = self.ws.post_ephemeral(
            channel,
            user.id,
            text=args.text("text"),
            blocks=args.get("blocks"),
            thread_ts=args.get("thread_ts"),
        )
        return {"message_ts": message.ts}

    def api_chat_update(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        message = self._message(channel, args.require("ts"))
        if message.user != self.bot:
            raise ApiError("cant_update_message")
        if channel.is_archived:
            raise ApiError("is_archived")
        self._check_message("chat.update", args)
        if args.data.get("text") is not None:
            message.text = args.text("text")
        if "blocks" in args.data:
            blocks = args.get("blocks")
            message.blocks = copy.deepcopy(blocks) if blocks else None
            if message.blocks:
                normalize_blocks(message.blocks, self.ws.rng)
        if "attachments" in args.data:
            message.attachments = copy.deepcopy(args.get("attachments")) or None
        message.edited = {"user": self.bot, "ts": self.ws.ids.ts()}
        return {"channel": channel.id, "ts": message.ts, "text": message.text, "message": self._msg(message)}

    def api_chat_delete(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        message = self._message(channel, args.require("ts"))
        if message.user != self.bot:
            raise ApiError("cant_delete_message")
        channel.messages.remove(message)
        if message.ts in channel.pins:
            channel.pins.remove(message.ts)
        root = self.ws.thread_root(channel, message.thread_ts) if message.thread_ts else None
        if root is not None and message.ts in root.replies:
            root.replies.remove(message.ts)
        return {"channel": channel.id, "ts": message.ts}

    def api_chat_getPermalink(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        message = self._message(channel, args.require("message_ts"))
        return {"channel": channel.id, "permalink": self.ws.permalink(channel, message)}

    # ----- pins, bookmarks, reactions -----

    def api_pins_add(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"), member=True)
        message = self._message(channel, args.require("timestamp"))
        if message.ts in channel.pins:
            raise ApiError("already_pinned")
        channel.pins.append(message.ts)
        return {}

    def api_pins_remove(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"), member=True)
        ts = args.require("timestamp")
        if ts not in channel.pins:
            raise ApiError("no_pin")
        channel.pins.remove(ts)
        return {}

    def api_pins_list(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        items = []
        for ts in reversed(channel.pins):
            message = channel.find(ts)
            if message is not None:
                items.append(
                    {
                        "type": "message",
                        "created": now(),
                        "created_by": self.bot,
                        "channel": channel.id,
                        "message": {**self._msg(message), "pinned_to": [channel.id]},
                    }
                )
        return {"items": items}

    def _bookmark(self, channel: Channel, bookmark_id: Any) -> dict[str, Any]:
        for bookmark in channel.bookmarks:
            if bookmark["id"] == bookmark_id:
                return bookmark
        raise ApiError("not_found")

    def api_bookmarks_add(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel_id"))
        title = args.require("title")
        kind = args.require("type")
        if kind != "link":
            raise ApiError("invalid_bookmark_type")
        link = args.require("link")
        if not str(link).startswith(("http://", "https://")):
            raise ApiError("invalid_link")
        stamp = now()
        bookmark = {
            "id": self.ws.ids.next("Bk", 10),
            "channel_id": channel.id,
            "title": title,
            "link": link,
            "emoji": args.get("emoji"),
            "icon_url": None,
            "type": "link",
            "entity_id": args.get("entity_id"),
            "date_created": stamp,
            "date_updated": 0,
            "rank": chr(ord("a") + len(channel.bookmarks) % 26),
            "last_updated_by_user_id": self.bot,
            "last_updated_by_team_id": self.ws.team_id,
            "shortcut_id": None,
            "app_id": self.ws.app_id,
        }
        channel.bookmarks.append(bookmark)
        return {"bookmark": dict(bookmark)}

    def api_bookmarks_list(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel_id"))
        return {"bookmarks": [dict(b) for b in channel.bookmarks]}

    def api_bookmarks_edit(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel_id"))
        bookmark = self._bookmark(channel, args.require("bookmark_id"))
        for key in ("title", "link", "emoji"):
            if args.get(key) is not None:
                bookmark[key] = args.get(key)
        bookmark["date_updated"] = now()
        return {"bookmark": dict(bookmark)}

    def api_bookmarks_remove(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel_id"))
        channel.bookmarks.remove(self._bookmark(channel, args.require("bookmark_id")))
        return {}

    def api_reactions_add(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        message = self._message(channel, args.require("timestamp"))
        name = str(args.require("name")).strip(":")
        users = message.reactions.setdefault(name, [])
        if self.bot in users:
            raise ApiError("already_reacted")
        users.append(self.bot)
        return {}

    def api_reactions_remove(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        message = self._message(channel, args.require("timestamp"))
        name = str(args.require("name")).strip(":")
        users = message.reactions.get(name, [])
        if self.bot not in users:
            raise ApiError("no_reaction")
        users.remove(self.bot)
        return {}

    def api_reactions_get(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.require("channel"))
        message = self._message(channel, args.require("timestamp"))
        return {"type": "message", "channel": channel.id, "message": self._msg(message)}

    def api_reactions_list(self, args: Args) -> dict[str, Any]:
        user = self.ws.user(args.get("user", self.bot)).id
        items = []
        for channel in self.ws.channels.values():
            for message in channel.messages:
                if any(user in users for users in message.reactions.values()):
                    items.append({"type": "message", "channel": channel.id, "message": self._msg(message)})
        page, meta = _page(items, args)
        return {"items": page, "response_metadata": meta}

    # ----- views -----

    def api_views_open(self, args: Args) -> dict[str, Any]:
        trigger_id = args.require("trigger_id")
        view = self._check_view("views.open", args.get("view"))
        if view["type"] != "modal":
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] views.open needs a modal"]}
            )
        trigger = self.ws.use_trigger(trigger_id)
        stored = self.ws.store_view(trigger.user, view)
        self.ws.modal_stacks[trigger.user] = [stored["id"]]
        return {"view": stored}

    def api_views_push(self, args: Args) -> dict[str, Any]:
        trigger_id = args.require("trigger_id")
        view = self._check_view("views.push", args.get("view"))
        trigger = self.ws.use_trigger(trigger_id)
        stack = self.ws.modal_stacks.setdefault(trigger.user, [])
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        previous = stack[-1] if stack else None
        root = self.ws.views[stack[0]]["id"] if stack else None
        stored = self.ws.store_view(trigger.user, view, root_view_id=root, previous_view_id=previous)
        stack.append(stored["id"])
        return {"view": stored}

    def api_views_update(self, args: Args) -> dict[str, Any]:
        if args.get("view_id") is None and args.get("external_id") is None:
            raise _missing("view_id")
        existing = self.ws.find_view(args.get("view_id"), args.get("external_id"))
        view = self._check_view("views.update", args.get("view"))
        if args.get("hash") is not None and args.get("hash") != existing["hash"]:
            raise ApiError("hash_conflict")
        owner = self.ws.view_owner[existing["id"]]
        return {"view": self.ws.store_view(owner, view, view_id=existing["id"])}

    def api_views_publish(self, args: Args) -> dict[str, Any]:
        user = self.ws.user(args.require("user_id"))
        view = self._check_view("views.publish", args.get("view"))
        if view["type"] != "home":
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] publish needs a home"]}
            )
        existing_id = self.ws.home_views.get(user.id)
        if (
            existing_id
            and args.get("hash") is not None
            and args.get("hash") != self.ws.views[existing_id]["hash"]
        ):
            raise ApiError("hash_conflict")
        stored = self.ws.store_view(user.id, view, view_id=existing_id)
        if existing_id is None:
            self.ws.home_views[user.id] = stored["id"]
        return {"view": stored}

    # ----- files -----

    def _share(self, file_ids: list[str], args: Args) -> None:
        targets = args.items("channels") or ([args.get("channel_id")] if args.get("channel_id") else [])
        for ref in targets:
            channel = self._post_target(ref)
            thread_ts = args.get("thread_ts")
            self.ws.post(
                channel,
                self.bot,
                text=args.text("initial_comment"),
                thread_ts=thread_ts,
                files=file_ids,
                subtype="file_share",
            )
            for fid in file_ids:
                self.ws.files[fid].channels.append(channel.id)

    def api_files_upload(self, args: Args) -> dict[str, Any]:
        content = args.get("content")
        upload = args.get("file")
        if content is None and upload is None:
            raise ApiError("no_file_data")
        data = content.encode() if isinstance(content, str) else bytes(upload or b"")
        record = FileRecord(
            id=self.ws.ids.next("F", 10),
            name=args.text("filename", "file"),
            title=args.text("title", args.text("filename", "file")),
            user=self.bot,
            content=data,
            created=now(),
            completed=True,
        )
        self.ws.files[record.id] = record
        self._share([record.id], args)
        return {"file": record.to_api()}

    def api_files_getUploadURLExternal(self, args: Args) -> dict[str, Any]:
        filename = args.require("filename")
        length = args.number("length", -1)
        if length < 0:
            raise _missing("length")
        record = FileRecord(
            id=self.ws.ids.next("F", 10),
            name=str(filename),
            title=str(filename),
            user=self.bot,
            length=length,
            created=now(),
        )
        self.ws.files[record.id] = record
        return {"upload_url": self.host.upload_url(record.id), "file_id": record.id}

    def api_files_completeUploadExternal(self, args: Args) -> dict[str, Any]:
        entries = args.require("files")
        if not isinstance(entries, list) or not entries:
            raise ApiError("invalid_arguments")
        ids = []
        for entry in entries:
            record = self.ws.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if record is None or record.content is None:
                raise ApiError("file_not_found")
            record.title = entry.get("title") or record.title
            record.completed = True
            ids.append(record.id)
        self._share(ids, args)
        return {"files": [self.ws.files[f].to_api() for f in ids]}

    def api_files_info(self, args: Args) -> dict[str, Any]:
        record = self.ws.files.get(args.require("file"))
        if record is None:
            raise ApiError("file_not_found")
        return {"file": record.to_api()}

    def api_files_delete(self, args: Args) -> dict[str, Any]:
        if self.ws.files.pop(args.require("file"), None) is None:
            raise ApiError("file_not_found")
        return {}
