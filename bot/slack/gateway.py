"""Slack Web API calls the flows make, with Slack's known answers turned into outcomes, not crashes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import EFFECT_EVENT, blind_retries_off

logger = logging.getLogger(__name__)

# How long a modal may take to build before a placeholder is opened: trigger ids expire after 3 s.
OPEN_PATIENCE = 0.5
_BUILD_FAILED = {
    "type": "section",
    "text": {"type": "mrkdwn", "text": "Sorry, this form could not be prepared. Close it and try again."},
}
INVITE_CHUNK = 30  # Slack accepts up to 1000 per call; small chunks keep one bad id from failing many
MAX_CHANNEL_NAME = 80
# How far back a retry looks for the message an earlier attempt may have posted.
RECENT_MESSAGES = 100


def error_code(error: SlackApiError) -> str:
    return str(error.response.get("error", "unknown_error"))


class SlackGateway:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def create_channel(self, name: str, private: bool) -> tuple[str, str]:
        """Create `name`, or `name-2`, `name-3`… when taken; returns (channel id, final name)."""
        for attempt in range(1, 50):
            candidate = name if attempt == 1 else with_suffix(name, attempt)
            try:
                response = await self.client.conversations_create(name=candidate, is_private=private)
            except SlackApiError as error:
                if error_code(error) == "name_taken":
                    continue
                raise
            channel = response["channel"]
            return str(channel["id"]), str(channel["name"])
        raise RuntimeError(f"no free channel name near {name!r}")

    async def channel_named(self, name: str, created_by: str) -> str | None:
        """The id of a live channel called `name` that `created_by` made, if there is one."""
        cursor = None
        while True:
            response = await self.client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
            )
            for channel in response.get("channels") or []:
                if channel.get("name") == name and channel.get("creator") == created_by:
                    return str(channel["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    async def invite(self, channel: str, users: Iterable[str]) -> list[str]:
        """Invite users, in chunks; people already there are fine. Returns the ids Slack refused."""
        wanted = list(dict.fromkeys(users))
        refused: list[str] = []
        for start in range(0, len(wanted), INVITE_CHUNK):
            chunk = wanted[start : start + INVITE_CHUNK]
            try:
                await self.client.conversations_invite(channel=channel, users=",".join(chunk), force=True)
            except SlackApiError as error:
                code = error_code(error)
                if code == "already_in_channel":
                    continue
                if len(chunk) > 1:
                    # Find the one id that spoiled the chunk instead of losing everyone in it.
                    for user in chunk:
                        refused.extend(await self.invite(channel, [user]))
                    continue
                logger.warning("could not invite %s to %s: %s", chunk[0], channel, code)
                refused.extend(chunk)
        return refused

    async def members(self, channel: str) -> list[str]:
        """Everyone in the channel (every page of conversations.members)."""
        found: list[str] = []
        cursor = None
        while True:
            response = await self.client.conversations_members(channel=channel, limit=1000, cursor=cursor)
            found.extend(str(user) for user in response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def set_topic(self, channel: str, topic: str) -> None:
        await self.client.conversations_setTopic(channel=channel, topic=topic[:250])

    async def set_purpose(self, channel: str, purpose: str) -> None:
        await self.client.conversations_setPurpose(channel=channel, purpose=purpose[:250])

    async def post(
        self, channel: str, text: str, blocks: Sequence[dict[str, Any]] | None = None, **extra: Any
    ) -> str:
        response = await self.client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False, **extra
        )
        return str(response["ts"])

    async def post_once(
        self,
        channel: str,
        key: str,
        text: str,
        blocks: Sequence[dict[str, Any]] | None = None,
        maybe_posted: bool = False,
    ) -> str:
        """Post a message marked with `key`; with `maybe_posted` (an earlier attempt may have posted
        it), the channel's recent messages are searched for it first. The message's ts.

        The mark is the message's metadata (type EFFECT_EVENT, payload the key), which Slack returns
        in the history; the client does not retry it blindly (see `blind_retries_off`)."""
        if maybe_posted:
            found = await self.posted_with_key(channel, key)
            if found is not None:
                return found
        metadata = {"event_type": EFFECT_EVENT, "event_payload": {"key": key}}
        with blind_retries_off():
            return await self.post(channel, text, blocks, metadata=metadata)

    async def posted_with_key(self, channel: str, key: str) -> str | None:
        """The ts of a recent message of this bot's marked with `key`, if there is one."""
        history = await self.client.conversations_history(
            channel=channel, limit=RECENT_MESSAGES, include_all_metadata=True
        )
        messages: list[dict[str, Any]] = history.get("messages") or []
        for message in messages:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == EFFECT_EVENT
                and metadata.get("event_payload", {}).get("key") == key
            ):
                return str(message["ts"])
        return None

    async def update_message(
        self, channel: str, ts: str, text: str, blocks: Sequence[dict[str, Any]] | None = None
    ) -> None:
        await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    async def post_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: Sequence[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> bool:
        """Show a message to one person (in a thread, with `thread_ts`); False when they are not there."""
        try:
            await self.client.chat_postEphemeral(
                channel=channel, user=user, text=text, blocks=blocks, thread_ts=thread_ts
            )
        except SlackApiError as error:
            if error_code(error) in {"user_not_in_channel", "channel_not_found", "is_archived"}:
                return False
            raise
        return True

    async def direct_message(
        self,
        user: str,
        text: str,
        blocks: Sequence[dict[str, Any]] | None = None,
        key: str | None = None,
        maybe_posted: bool = False,
    ) -> str | None:
        """DM `user`; with `key`, the message is marked and looked for first (see `post_once`).
        None when the person cannot be messaged (gone, deactivated, a bot)."""
        try:
            opened = await self.client.conversations_open(users=user)
            channel = str(opened["channel"]["id"])
            if key is None:
                return await self.post(channel, text, blocks)
            return await self.post_once(channel, key, text, blocks, maybe_posted)
        except SlackApiError as error:
            if error_code(error) in {"user_not_found", "user_disabled", "cannot_dm_bot"}:
                logger.info("could not message %s: %s", user, error_code(error))
                return None
            raise

    async def pin(self, channel: str, ts: str) -> None:
        try:
            await self.client.pins_add(channel=channel, timestamp=ts)
        except SlackApiError as error:
            if error_code(error) != "already_pinned":
                raise

    async def bookmark(self, channel: str, title: str, link: str) -> None:
        await self.client.bookmarks_add(channel_id=channel, title=title, type="link", link=link)

    async def bookmark_links(self, channel: str) -> set[str]:
        """The links bookmarked in the channel (to find one an interrupted run added)."""
        response = await self.client.bookmarks_list(channel_id=channel)
        return {str(b.get("link")) for b in response.get("bookmarks") or [] if b.get("link")}

    async def permalink(self, channel: str, ts: str) -> str:
        response = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
        return str(response["permalink"])

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        response = await self.client.views_open(trigger_id=trigger_id, view=view)
        return str(response["view"]["id"])

    async def push_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        """Open `view` on top of the modal the trigger came from (Slack keeps up to three)."""
        response = await self.client.views_push(trigger_id=trigger_id, view=view)
        return str(response["view"]["id"])

    async def open_view_soon(
        self,
        trigger_id: str,
        build: Awaitable[dict[str, Any]],
        placeholder: dict[str, Any],
        patience: float = OPEN_PATIENCE,
    ) -> str:
        """Open the modal `build` makes; when it is slow, open `placeholder` while the trigger is
        fresh and replace it once the modal is ready, so slow lookups never cost the person their form."""
        building = asyncio.ensure_future(build)
        done, _ = await asyncio.wait({building}, timeout=patience)
        if done:
            return await self.open_view(trigger_id, building.result())
        view_id = await self.open_view(trigger_id, placeholder)
        try:
            view = await building
        except Exception:
            # The placeholder must not stay "Loading…" for ever; the error is logged where it is handled.
            await self.update_view(view_id, {**placeholder, "blocks": [_BUILD_FAILED]})
            raise
        await self.update_view(view_id, view)
        return view_id

    async def update_view(self, view_id: str, view: dict[str, Any], view_hash: str | None = None) -> bool:
        """Replace a modal; False when the person already closed it, or, with `view_hash` (the hash of
        the modal as the update was decided on), when the modal has changed since."""
        try:
            await self.client.views_update(view_id=view_id, view=view, hash=view_hash)
        except SlackApiError as error:
            if error_code(error) in {"not_found", "hash_conflict"}:
                return False
            raise
        return True

    async def show_result(self, view_id: str, user: str, view: dict[str, Any]) -> None:
        """Turn the person's waiting modal ("Saving…") into `view`; when the modal is gone (they
        closed it) or Slack refuses the update, DM them its words: the outcome always reaches them."""
        try:
            if await self.update_view(view_id, view):
                return
        except SlackApiError as error:
            logger.warning("could not show a result in its modal: %s", error_code(error))
        sections = [block for block in view.get("blocks", []) if block.get("type") == "section"]
        text = "\n\n".join(str(block.get("text", {}).get("text", "")) for block in sections)
        await self.direct_message(user, text or str(view.get("title", {}).get("text", "")))


def with_suffix(name: str, number: int) -> str:
    suffix = f"-{number}"
    return name[: MAX_CHANNEL_NAME - len(suffix)].rstrip("-") + suffix
