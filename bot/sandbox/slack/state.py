"""In-memory state of the fake Slack workspace: users, channels, messages, views, files."""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ApiError(Exception):
    """A Web API failure: becomes {"ok": false, "error": code, **extra}."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass
class User:
    id: str
    name: str
    real_name: str
    email: str | None
    tz: str
    tz_offset: int
    team_id: str
    is_bot: bool = False
    is_admin: bool = False
    deleted: bool = False
    bot_id: str | None = None
    title: str = ""

    def to_api(self) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "title": self.title,
            "team": self.team_id,
            "image_48": f"https://avatars.example/{self.id}_48.png",
            "image_72": f"https://avatars.example/{self.id}_72.png",
        }
        if self.email:
            profile["email"] = self.email
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": self.tz_offset,
            "profile": profile,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }


@dataclass
class Message:
    ts: str
    channel: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    subtype: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)
    edited: dict[str, str] | None = None
    response_type: str | None = None
    """For messages that came from a response_url: "ephemeral" or "in_channel"."""

    def to_api(self, team_id: str = "", files: dict[str, FileRecord] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if team_id:
            data["team"] = team_id
        if self.subtype:
            data["subtype"] = self.subtype
        if self.bot_id:
            data["bot_id"] = self.bot_id
            data["app_id"] = self.app_id
        if self.blocks is not None:
            data["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments is not None:
            data["attachments"] = copy.deepcopy(self.attachments)
        if self.metadata is not None:
            data["metadata"] = copy.deepcopy(self.metadata)
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.replies:
            data["thread_ts"] = self.ts
            data["reply_count"] = len(self.replies)
            data["latest_reply"] = self.replies[-1]
        if self.edited:
            data["edited"] = dict(self.edited)
        if self.reactions:
            data["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
                if users
            ]
        if self.files and files is not None:
            data["files"] = [files[f].to_api() for f in self.files if f in files]
        return data


@dataclass
class Channel:
    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False
    is_mpim: bool = False
    is_general: bool = False
    im_user: str | None = None
    topic: str = ""
    purpose: str = ""
    members: set[str] = field(default_factory=set)
    messages: list[Message] = field(default_factory=list)
    ephemerals: list[tuple[str, Message]] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    bookmarks: list[dict[str, Any]] = field(default_factory=list)
    previous_names: list[str] = field(default_factory=list)

    def find(self, ts: str) -> Message | None:
        for message in self.messages:
            if message.ts == ts:
                return message
        return None

    def to_api(self, viewer: str, *, num_members: bool = False) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": self.is_general,
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "is_member": viewer in self.members,
            "creator": self.creator,
            "topic": {"value": self.topic, "creator": self.creator if self.topic else "", "last_set": 0},
            "purpose": {
                "value": self.purpose,
                "creator": self.creator if self.purpose else "",
                "last_set": 0,
            },
            "previous_names": list(self.previous_names),
        }
        if num_members:
            data["num_members"] = len(self.members)
        return data


@dataclass
class FileRecord:
    id: str
    name: str
    title: str
    user: str
    content: bytes | None = None
    length: int | None = None
    channels: list[str] = field(default_factory=list)
    created: int = 0
    completed: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": "application/octet-stream",
            "filetype": "binary",
            "user": self.user,
            "size": len(self.content) if self.content is not None else (self.length or 0),
            "is_external": False,
            "is_public": True,
            "url_private": f"https://files.example/{self.id}/{self.name}",
            "permalink": f"https://files.example/{self.id}",
            "channels": list(self.channels),
        }


@dataclass
class Trigger:
    id: str
    user: str
    issued: float
    """time.monotonic() when the fake issued it."""
    used: bool = False


@dataclass
class ResponseUrl:
    url_id: str
    user: str
    channel: str | None
    source: str
    """What issued it: "slash_commands", "block_actions", "message_action", "view_submission"."""
    message_ts: str | None = None
    uses: int = 0


class Ids:
    """Deterministic id and timestamp generators; with a clock (seconds since the epoch), message
    timestamps follow it instead of counting up from a fixed start."""

    def __init__(self, ts_start: int = 1700000000_000100, clock: Callable[[], float] | None = None) -> None:
        self._counters: dict[str, int] = {}
        self._ts = ts_start - 100
        self._clock = clock

    def next(self, prefix: str, width: int = 9) -> str:
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}{n:0{width}X}"

    def ts(self) -> str:
        """A new message ts, strictly greater than every ts issued before."""
        self._ts += 100
        if self._clock is not None:
            self._ts = max(self._ts, int(self._clock() * 1_000_000))
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    def trigger_id(self) -> str:
        n = self._counters.get("trigger", 0) + 1
        self._counters["trigger"] = n
        return f"{1000000000 + n}.{n}.{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())
