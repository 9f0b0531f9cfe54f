"""Web API methods bookmarks.*: the links at the top of a channel."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack.state import ApiError, Channel, now
from bot.sandbox.slack.webapi.calls import Args, Family


class Bookmarks(Family):
    """bookmarks.*"""

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
