"""Who a Slack user is (name, title, time zone, whether the account still works), cached briefly.

users.info is Tier 4 and every list of participants asks for many people at once, so answers are
kept for a few minutes per process; a deactivated or unknown user is an answer, not an error.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.gateway import error_code

TTL_SECONDS = 300.0
MAX_ENTRIES = 2000
LOOKUP_CONCURRENCY = 8


@dataclass(frozen=True)
class Profile:
    user_id: str
    name: str = ""
    real_name: str = ""
    title: str = ""
    email: str | None = None
    timezone: str | None = None
    avatar: str | None = None
    is_bot: bool = False
    deleted: bool = False
    known: bool = True
    """False when Slack does not know the id (user_not_found); then nothing else is meaningful."""

    @property
    def display(self) -> str:
        return self.name or self.real_name or self.user_id

    @property
    def usable(self) -> bool:
        """Can take part in an incident: exists, is active, and is a person."""
        return self.known and not self.deleted and not self.is_bot


def profile_from_api(user: dict[str, object]) -> Profile:
    profile = user.get("profile")
    fields = profile if isinstance(profile, dict) else {}
    return Profile(
        user_id=str(user.get("id", "")),
        name=str(fields.get("display_name") or user.get("real_name") or user.get("name") or ""),
        real_name=str(fields.get("real_name") or user.get("real_name") or ""),
        title=str(fields.get("title") or ""),
        email=str(fields["email"]) if fields.get("email") else None,
        timezone=str(user["tz"]) if user.get("tz") else None,
        avatar=str(fields.get("image_48")) if fields.get("image_48") else None,
        is_bot=bool(user.get("is_bot")),
        deleted=bool(user.get("deleted")),
    )


class Profiles:
    """users.info with a small per-process cache; `fresh=True` skips it."""

    def __init__(self, client: AsyncWebClient, ttl: float = TTL_SECONDS) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: OrderedDict[str, tuple[float, Profile]] = OrderedDict()

    async def get(self, user_id: str, *, fresh: bool = False, max_age: float | None = None) -> Profile:
        """The profile, from the cache when younger than `max_age` (default: the cache's ttl)."""
        cached = self._cache.get(user_id)
        age_limit = 0.0 if fresh else self.ttl if max_age is None else max_age
        if cached is not None and time.monotonic() - cached[0] < age_limit:
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id)
            found = profile_from_api(dict(response.get("user") or {}))
        except SlackApiError as error:
            if error_code(error) not in {"user_not_found", "user_not_visible", "account_inactive"}:
                raise
            found = Profile(user_id=user_id, known=False)
        self._cache[user_id] = (time.monotonic(), found)
        self._cache.move_to_end(user_id)
        while len(self._cache) > MAX_ENTRIES:
            self._cache.popitem(last=False)
        return found

    async def get_many(self, user_ids: list[str]) -> dict[str, Profile]:
        """Profiles of several people; one failing lookup gives a bare profile instead of failing all."""
        limit = asyncio.Semaphore(LOOKUP_CONCURRENCY)

        async def one(user_id: str) -> Profile:
            async with limit:
                try:
                    return await self.get(user_id)
                except SlackApiError:
                    return Profile(user_id=user_id)

        unique = list(dict.fromkeys(user_ids))
        return dict(zip(unique, await asyncio.gather(*(one(user) for user in unique)), strict=True))
