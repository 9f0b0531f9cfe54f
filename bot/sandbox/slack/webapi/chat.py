"""Web API methods chat.*: messages and ephemerals posted, updated, deleted, linked to."""

from __future__ import annotations

import copy
from typing import Any

from bot.sandbox.slack.blockkit import normalize_blocks
from bot.sandbox.slack.state import ApiError
from bot.sandbox.slack.webapi.calls import Args, Family


class Chat(Family):
    """chat.*"""

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
