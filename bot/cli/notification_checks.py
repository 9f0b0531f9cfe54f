"""Whether the bot can post in each notification channel of every enabled project: the channel
exists, is not archived, and the bot is a member. Used by `dispatch-bot doctor`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.runtime.bot_context import BotContext
from storage.workspace import enabled_notifications, enabled_projects


@dataclass(frozen=True)
class NotificationCheck:
    project: str
    target: str
    ok: bool
    detail: str

    @property
    def name(self) -> str:
        return f"notification #{self.target} ({self.project})"


async def check_notification_channels(ctx: BotContext) -> list[NotificationCheck]:
    """One check per notification channel of every enabled project, in project order."""
    async with ctx.sessions() as session:
        targets = [
            (project.name, notification.target)
            for project in await enabled_projects(session)
            if project.id is not None
            for notification in await enabled_notifications(session, project.id)
            if notification.kind == "conversation"
        ]
    if not targets:
        return []
    auth = await ctx.slack.auth_test()
    bot = f"@{auth.get('user') or 'the bot'}"
    ids: dict[str, str] | None = None
    checks = []
    for project, target in targets:
        if _is_channel_id(target):
            channel_id: str | None = target
        else:
            ids = ids if ids is not None else await _channel_ids(ctx)
            channel_id = ids.get(target)
        checks.append(await _check(ctx, project, target, channel_id, bot))
    return checks


def _is_channel_id(target: str) -> bool:
    return target[:1] in ("C", "G") and target.isupper()


async def _channel_ids(ctx: BotContext) -> dict[str, str]:
    """The channels the bot can see, by name (archived ones too: they get their own problem line)."""
    found: dict[str, str] = {}
    cursor = None
    while True:
        response = await ctx.slack.conversations_list(
            types="public_channel,private_channel", exclude_archived=False, limit=1000, cursor=cursor
        )
        for channel in response.get("channels") or []:
            found[str(channel.get("name"))] = str(channel["id"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return found


async def _check(
    ctx: BotContext, project: str, target: str, channel_id: str | None, bot: str
) -> NotificationCheck:
    not_found = NotificationCheck(
        project,
        target,
        False,
        f"no channel #{target} the bot can see: fix the notification's target in the project's "
        f"configuration, or invite {bot} to it if it is private",
    )
    if channel_id is None:
        return not_found
    try:
        channel: dict[str, Any] = (await ctx.slack.conversations_info(channel=channel_id))["channel"]
    except SlackApiError as error:
        if error.response.get("error") == "channel_not_found":
            return not_found
        return NotificationCheck(project, target, False, f"Slack refused: {error.response.get('error')}")
    name = f"#{channel.get('name') or target}"
    if channel.get("is_archived"):
        return NotificationCheck(
            project, target, False, f"{name} is archived: unarchive it or point the notification elsewhere"
        )
    if not channel.get("is_member"):
        return NotificationCheck(project, target, False, f"the bot is not a member: invite {bot} to {name}")
    return NotificationCheck(project, target, True, f"the bot is a member of {name} and can post")
