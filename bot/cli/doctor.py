"""`dispatch-bot doctor`: the checks an operator runs when the bot will not start or misbehaves."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
import sqlalchemy as sa
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli.notification_checks import check_notification_channels
from bot.cli.plugin_checks import check_plugins
from bot.runtime.app import build_registry
from bot.runtime.bot_context import BotContext
from bot.settings import Settings, mask_url_password
from storage.migrate import current_revisions, head_revisions

TIMEOUT = 10


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def _database_checks(ctx: BotContext) -> list[Check]:
    url = mask_url_password(ctx.settings.database_url)
    try:
        async with asyncio.timeout(TIMEOUT), ctx.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
    except Exception as error:
        return [
            Check("database", False, f"cannot reach {url}: {type(error).__name__}: {error}"),
            Check("migrations", False, "unknown (database unreachable)"),
        ]
    current, heads = await current_revisions(ctx.engine), head_revisions()
    migrations = (
        Check("migrations", True, f"at head ({', '.join(sorted(heads))})")
        if current == heads
        else Check(
            "migrations",
            False,
            f"at {', '.join(sorted(current)) or 'nothing'}, head is {', '.join(sorted(heads))}: "
            "run `dispatch-bot db upgrade`",
        )
    )
    return [Check("database", True, f"reachable ({url})"), migrations]


async def _slack_checks(ctx: BotContext) -> list[Check]:
    missing = ctx.settings.missing_tokens()
    if missing:
        return [Check("slack tokens", False, f"{' and '.join(missing)} not set")]
    checks: list[Check] = []
    try:
        auth = await ctx.slack.auth_test()
        checks.append(Check("bot token", True, f"authenticated as {auth.get('user')} in {auth.get('team')}"))
        granted = {s.strip() for s in (auth.headers.get("x-oauth-scopes") or "").split(",") if s.strip()}
        if granted:
            needed = build_registry(ctx).scopes
            lacking = sorted(needed - granted)
            checks.append(
                Check(
                    "scopes",
                    not lacking,
                    "all granted" if not lacking else f"missing {', '.join(lacking)} (reinstall the app)",
                )
            )
    except SlackApiError as error:
        checks.append(Check("bot token", False, f"Slack rejected it: {error.response.get('error')}"))
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        checks.append(Check("bot token", False, f"cannot reach {ctx.settings.slack_api_url}: {error}"))
    app_token = ctx.settings.slack_app_token.get_secret_value() if ctx.settings.slack_app_token else ""
    try:
        app_client = AsyncWebClient(token=app_token, base_url=ctx.settings.slack_api_url, timeout=TIMEOUT)
        await app_client.apps_connections_open(app_token=app_token)
        checks.append(Check("app token", True, "Socket Mode connections allowed"))
    except SlackApiError as error:
        checks.append(Check("app token", False, f"Slack rejected it: {error.response.get('error')}"))
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        checks.append(Check("app token", False, f"cannot reach Slack: {error}"))
    return checks


async def _plugin_checks(ctx: BotContext, database: list[Check]) -> list[Check]:
    if not all(check.ok for check in database):
        return []  # the plugin choices live in the database
    try:
        found = await check_plugins(ctx, TIMEOUT)
    except Exception as error:
        return [
            Check("plugins", False, f"could not read the plugin choices: {type(error).__name__}: {error}")
        ]
    return [Check(check.name, check.ok, check.detail) for check in found]


async def _notification_checks(ctx: BotContext, database: list[Check], slack: list[Check]) -> list[Check]:
    token_works = any(check.name == "bot token" and check.ok for check in slack)
    if not all(check.ok for check in database) or not token_works:
        return []  # the notifications live in the database; Slack answers whether the bot can post
    try:
        found = await check_notification_channels(ctx)
    except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as error:
        return [Check("notifications", False, f"could not check the notification channels: {error}")]
    return [Check(check.name, check.ok, check.detail) for check in found]


async def run_checks(settings: Settings) -> list[Check]:
    ctx = BotContext.from_settings(settings)
    try:
        database, slack = await asyncio.gather(_database_checks(ctx), _slack_checks(ctx))
        return [
            *database,
            *slack,
            *await _plugin_checks(ctx, database),
            *await _notification_checks(ctx, database, slack),
        ]
    finally:
        await ctx.close()
