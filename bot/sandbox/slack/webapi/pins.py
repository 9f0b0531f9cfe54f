"""Web API methods pins.*: messages pinned to a channel."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack.state import ApiError, now
from bot.sandbox.slack.webapi.calls import Args, Family


class Pins(Family):
    """pins.*"""

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
