"""Web API methods reactions.*: the bot's emoji reactions to messages."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack.state import ApiError
from bot.sandbox.slack.webapi.calls import Args, Family, paginate


class Reactions(Family):
    """reactions.*"""

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
        page, meta = paginate(items, args)
        return {"items": page, "response_metadata": meta}
