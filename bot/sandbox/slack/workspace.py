"""The fake workspace: state plus the mutations shared by the Web API and simulated users."""

from __future__ import annotations

import copy
import random
import re
import string
import time
from collections.abc import Callable
from typing import Any

from bot.sandbox.slack.blockkit import normalize_blocks
from bot.sandbox.slack.state import (
    ApiError,
    Channel,
    FileRecord,
    Ids,
    Message,
    ResponseUrl,
    Trigger,
    User,
    now,
)

CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")
MAX_CHANNEL_NAME = 80
TZ_OFFSETS = {"UTC": 0, "Europe/London": 0, "Europe/Paris": 3600, "America/New_York": -18000}


def check_channel_name(name: str) -> None:
    """Slack's channel-name rules, raising the error code Slack answers with."""
    if not name:
        raise ApiError("invalid_name_required")
    if len(name) > MAX_CHANNEL_NAME:
        raise ApiError("invalid_name_maxlength")
    if not CHANNEL_NAME.fullmatch(name):
        raise ApiError("invalid_name_specials")
    if set(name) <= {"-", "_"}:
        raise ApiError("invalid_name_punctuation")


class Workspace:
    """Users, channels, messages, views, files and the ids issued for interactions."""

    def __init__(
        self,
        *,
        team_id: str,
        team_name: str,
        team_domain: str,
        bot_user_id: str,
        bot_id: str,
        bot_name: str,
        app_id: str,
        trigger_ttl: float,
        seed: int,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.trigger_ttl = trigger_ttl
        self.ids = Ids(clock=clock)
        self.rng = random.Random(seed)
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, FileRecord] = {}
        self.emoji: dict[str, str] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.view_owner: dict[str, str] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.view_history: dict[str, list[str]] = {}
        self.home_views: dict[str, str] = {}
        self.view_drafts: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.users[bot_user_id] = User(
            id=bot_user_id,
            name=bot_name,
            real_name=bot_name,
            email=None,
            tz="UTC",
            tz_offset=0,
            team_id=team_id,
            is_bot=True,
            bot_id=bot_id,
        )

    # ----- users and channels -----

    def add_user(
        self,
        name: str,
        *,
        email: str | None = None,
        real_name: str | None = None,
        tz: str = "UTC",
        tz_offset: int | None = None,
        is_bot: bool = False,
        is_admin: bool = False,
        deleted: bool = False,
        title: str = "",
        user_id: str | None = None,
    ) -> str:
        uid = user_id or self.ids.next("U")
        if uid in self.users:
            raise ValueError(f"user id {uid} already exists")
        self.users[uid] = User(
            id=uid,
            name=name,
            real_name=real_name or name.replace(".", " ").title(),
            email=email,
            tz=tz,
            tz_offset=TZ_OFFSETS.get(tz, 0) if tz_offset is None else tz_offset,
            team_id=self.team_id,
            is_bot=is_bot,
            is_admin=is_admin,
            deleted=deleted,
            title=title,
        )
        return uid

    def add_channel(
        self,
        name: str,
        *,
        members: list[str] | tuple[str, ...] | set[str] = (),
        is_private: bool = False,
        is_archived: bool = False,
        is_general: bool = False,
        topic: str = "",
        purpose: str = "",
        creator: str | None = None,
        channel_id: str | None = None,
    ) -> str:
        try:
            check_channel_name(name)
        except ApiError as error:
            raise ValueError(f"bad channel name {name!r}: {error.code}") from None
        if self.channel_by_name(name) is not None:
            raise ValueError(f"channel name {name!r} is taken")
        for member in members:
            if member not in self.users:
                raise ValueError(f"unknown member {member!r}; add_user() first")
        cid = channel_id or self.ids.next("C")
        self.channels[cid] = Channel(
            id=cid,
            name=name,
            created=now(),
            creator=creator or next(iter(members), self.bot_user_id),
            is_private=is_private,
            is_archived=is_archived,
            is_general=is_general,
            topic=topic,
            purpose=purpose,
            members=set(members),
        )
        return cid

    def user(self, user_id: Any) -> User:
        user = self.users.get(user_id) if isinstance(user_id, str) else None
        if user is None:
            raise ApiError("user_not_found")
        return user

    def channel_by_name(self, name: str) -> Channel | None:
        name = name.lstrip("#")
        for channel in self.channels.values():
            if not channel.is_im and channel.name == name:
                return channel
        return None

    def find_channel(self, ref: Any) -> Channel:
        """A channel by id, "#name" or name; ApiError channel_not_found otherwise."""
        if isinstance(ref, str) and ref:
            if ref in self.channels:
                return self.channels[ref]
            channel = self.channel_by_name(ref)
            if channel is not None:
                return channel
        raise ApiError("channel_not_found")

    def im_with(self, user_id: str) -> Channel:
        """The bot's DM channel with user_id, created on first use."""
        for channel in self.channels.values():
            if channel.is_im and channel.im_user == user_id:
                return channel
        cid = self.ids.next("D")
        channel = Channel(
            id=cid,
            name=cid,
            created=now(),
            creator=self.bot_user_id,
            is_private=True,
            is_im=True,
            im_user=user_id,
            members={self.bot_user_id, user_id},
        )
        self.channels[cid] = channel
        return channel

    def mpim_with(self, user_ids: list[str]) -> Channel:
        members = {*user_ids, self.bot_user_id}
        for channel in self.channels.values():
            if channel.is_mpim and channel.members == members:
                return channel
        cid = self.ids.next("G")
        names = "--".join(sorted(self.users[u].name for u in members))
        channel = Channel(
            id=cid,
            name=f"mpdm-{names}-1",
            created=now(),
            creator=self.bot_user_id,
            is_private=True,
            is_mpim=True,
            members=members,
        )
        self.channels[cid] = channel
        return channel

    # ----- messages -----

    def post(
        self,
        channel: Channel,
        user: str,
        *,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
        subtype: str | None = None,
        files: list[str] | None = None,
        response_type: str | None = None,
    ) -> Message:
        is_bot = user == self.bot_user_id
        message = Message(
            ts=self.ids.ts(),
            channel=channel.id,
            user=user,
            text=text,
            blocks=normalize_blocks(copy.deepcopy(blocks), self.rng) if blocks else None,
            attachments=copy.deepcopy(attachments) if attachments else None,
            thread_ts=thread_ts,
            bot_id=self.bot_id if is_bot else None,
            app_id=self.app_id if is_bot else None,
            subtype=subtype,
            metadata=copy.deepcopy(metadata) if metadata else None,
            files=list(files or []),
            response_type=response_type,
        )
        if thread_ts:
            parent = channel.find(thread_ts)
            if parent is not None:
                parent.replies.append(message.ts)
        channel.messages.append(message)
        return message

    def post_ephemeral(
        self,
        channel: Channel,
        to_user: str,
        *,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        response_type: str | None = None,
    ) -> Message:
        message = Message(
            ts=self.ids.ts(),
            channel=channel.id,
            user=self.bot_user_id,
            text=text,
            blocks=normalize_blocks(copy.deepcopy(blocks), self.rng) if blocks else None,
            thread_ts=thread_ts,
            bot_id=self.bot_id,
            app_id=self.app_id,
            subtype="ephemeral",
            response_type=response_type,
        )
        channel.ephemerals.append((to_user, message))
        return message

    def thread_root(self, channel: Channel, ts: str) -> Message | None:
        message = channel.find(ts)
        if message is not None and message.thread_ts and message.thread_ts != message.ts:
            return channel.find(message.thread_ts)
        return message

    def permalink(self, channel: Channel, message: Message) -> str:
        link = f"https://{self.team_domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
        if message.thread_ts and message.thread_ts != message.ts:
            link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
        return link

    # ----- interaction ids -----

    def issue_trigger(self, user_id: str) -> str:
        trigger = Trigger(id=self.ids.trigger_id(), user=user_id, issued=time.monotonic())
        self.triggers[trigger.id] = trigger
        return trigger.id

    def use_trigger(self, trigger_id: Any) -> Trigger:
        """Exchange a trigger_id for a view: must be known, fresh and unused."""
        trigger = self.triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if time.monotonic() - trigger.issued > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        trigger.used = True
        return trigger

    def issue_response_url(
        self, user_id: str, channel_id: str | None, source: str, message_ts: str | None = None
    ) -> str:
        url_id = "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(24))
        self.response_urls[url_id] = ResponseUrl(url_id, user_id, channel_id, source, message_ts)
        return url_id

    # ----- views -----

    def _view_hash(self) -> str:
        return f"{int(time.time())}.{''.join(self.rng.choice(string.ascii_letters) for _ in range(8))}"

    def store_view(
        self,
        user_id: str,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        """Create or replace a view the way Slack stores it, and return its API shape."""
        new_id = view_id or self.ids.next("V", 10)
        old = self.views.get(new_id, {})
        blocks = normalize_blocks(copy.deepcopy(view.get("blocks") or []), self.rng)
        stored: dict[str, Any] = {
            "id": new_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._view_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_view_id or old.get("root_view_id") or new_id,
            "previous_view_id": previous_view_id if view_id is None else old.get("previous_view_id"),
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if view["type"] == "modal":
            stored["title"] = copy.deepcopy(view.get("title"))
            stored["close"] = copy.deepcopy(view.get("close"))
            stored["submit"] = copy.deepcopy(view.get("submit"))
            stored["submit_disabled"] = bool(view.get("submit_disabled", False))
        self.views[new_id] = stored
        self.view_owner[new_id] = user_id
        if view_id is None:
            self.view_history.setdefault(user_id, []).append(new_id)
        return copy.deepcopy(stored)

    def find_view(self, view_id: Any = None, external_id: Any = None) -> dict[str, Any]:
        if isinstance(view_id, str) and view_id in self.views:
            return self.views[view_id]
        if isinstance(external_id, str) and external_id:
            for view in self.views.values():
                if view.get("external_id") == external_id:
                    return view
        raise ApiError("not_found")

    def open_modal(self, user_id: str) -> dict[str, Any] | None:
        stack = self.modal_stacks.get(user_id) or []
        return self.views[stack[-1]] if stack else None

    def close_modal(self, user_id: str, *, clear: bool = False) -> list[str]:
        """Close the top modal (or the whole stack when clear): returns the closed view ids."""
        stack = self.modal_stacks.get(user_id) or []
        if not stack:
            return []
        closed = list(stack) if clear else [stack[-1]]
        del stack[len(stack) - len(closed) :]
        return closed
