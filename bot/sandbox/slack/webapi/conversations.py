"""Web API methods conversations.*: channels, DMs and group DMs made, joined, left, renamed, archived,
and read."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack.state import ApiError, Channel
from bot.sandbox.slack.webapi.calls import Args, Family, paginate
from bot.sandbox.slack.workspace import check_channel_name

MAX_TOPIC = 250
MAX_PURPOSE = 250


class Conversations(Family):
    """conversations.*"""

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
        page, meta = paginate([c.to_api(self.bot) for c in self._listed(args)], args)
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
        members, meta = paginate(sorted(channel.members), args)
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
        page, meta = paginate(found, args)
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
        page, meta = paginate([self._msg(m) for m in thread], args, default_limit=1000)
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
