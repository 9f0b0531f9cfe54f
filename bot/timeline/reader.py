"""What the timeline reads from Slack: one message (thread replies too), its reactions, people's names."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.gateway import error_code

logger = logging.getLogger(__name__)

# Errors that mean "this message cannot be read", not "Slack is broken": logged and skipped.
UNREADABLE = frozenset(
    {"channel_not_found", "not_in_channel", "thread_not_found", "message_not_found", "is_archived"}
)
MAX_THREAD_PAGES = 10


async def fetch_message(client: AsyncWebClient, channel: str, ts: str) -> dict[str, Any] | None:
    """The message `ts` of `channel`, whether it is in the channel or a reply in a thread; None if gone."""
    try:
        history = await client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
        for message in history.get("messages") or []:
            if message.get("ts") == ts:
                return dict(message)
        # A thread reply is not part of the channel's history; its thread has it.
        cursor: str | None = None
        for _ in range(MAX_THREAD_PAGES):
            thread = await client.conversations_replies(
                channel=channel, ts=ts, oldest=ts, inclusive=True, limit=200, cursor=cursor
            )
            for message in thread.get("messages") or []:
                if message.get("ts") == ts:
                    return dict(message)
            cursor = (thread.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
    except SlackApiError as error:
        if error_code(error) in UNREADABLE:
            logger.info("cannot read message %s in %s: %s", ts, channel, error_code(error))
            return None
        raise
    return None


def reaction_count(message: dict[str, Any], emoji: str) -> int:
    """How many people reacted to `message` with `emoji` (any skin tone)."""
    total = 0
    for reaction in message.get("reactions") or []:
        name = str(reaction.get("name", ""))
        if name == emoji or name.startswith(emoji + "::"):
            total += int(reaction.get("count") or len(reaction.get("users") or []))
    return total


async def current_reaction_count(client: AsyncWebClient, channel: str, ts: str, emoji: str) -> int | None:
    """The reactions with `emoji` the message has now: 0 when the message is gone, None when unknown."""
    try:
        response = await client.reactions_get(channel=channel, timestamp=ts, full=True)
    except SlackApiError as error:
        code = error_code(error)
        if code == "message_not_found":
            return 0
        logger.warning("could not read the reactions of %s in %s: %s", ts, channel, code)
        return None
    return reaction_count(dict(response.get("message") or {}), emoji)


class Names:
    """People's display names by user id, each looked up at most once per flow run."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._users: dict[str, dict[str, Any]] = {}

    async def _user(self, user_id: str) -> dict[str, Any]:
        if user_id not in self._users:
            try:
                response = await self.client.users_info(user=user_id)
                self._users[user_id] = dict(response.get("user") or {})
            except SlackApiError as error:
                # Deactivated, unknown or foreign users keep their id rather than failing the flow.
                logger.info("no name for %s: %s", user_id, error_code(error))
                self._users[user_id] = {}
        return self._users[user_id]

    async def of(self, user_id: str) -> str:
        user = await self._user(user_id)
        profile = user.get("profile") or {}
        return str(profile.get("display_name") or user.get("real_name") or user.get("name") or user_id)

    async def many(self, user_ids: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(user_id for user_id in user_ids if user_id))
        found = await asyncio.gather(*(self.of(user_id) for user_id in wanted))
        return dict(zip(wanted, found, strict=True))

    async def timezone(self, user_id: str) -> str:
        """The person's Slack time zone as an IANA name; UTC when unknown."""
        name = str((await self._user(user_id)).get("tz") or "UTC")
        return name if valid_timezone(name) else "UTC"


def valid_timezone(name: str | None) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
