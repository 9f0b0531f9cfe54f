"""The daily summary: each project's current incidents posted to its notification channels once a day.

A frequent job looks at every project; one whose `daily_report_time` has passed today in its
`timezone` claims (project, local date) and posts. A bot that was down at that time posts when it is
back, the same day only: tomorrow's claim is another date, and yesterday's is never looked at again.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.config.filters import matches_stored
from bot.core.local_time import today_at
from bot.incidents import list_views
from bot.incidents.engagement import facts_of
from bot.incidents.listing import current_incidents
from bot.runtime.bot_context import BotContext
from storage import summaries as store
from storage.models import Project
from storage.workspace import enabled_notifications, enabled_projects

logger = logging.getLogger(__name__)


async def send_daily_summaries(ctx: BotContext) -> str:
    """Post today's summary of each project whose time has come, once per project and local date.

    Each matching notification channel gets the active, stable and recently closed incidents its
    filters match, restricted ones never. A channel with nothing to list gets nothing: a daily
    "no incidents" in a notification channel is noise people learn to skip, and the channel's own
    quiet says the same.
    """
    now = ctx.clock()
    async with ctx.sessions() as session:
        projects = [project for project in await enabled_projects(session) if project.send_daily_reports]
    posted = summarised = 0
    for project in projects:
        assert project.id is not None
        moment = today_at(project.daily_report_time, project.timezone, now)
        if not moment.passed(now):
            continue
        async with ctx.sessions() as session, session.begin():
            claim = await store.claim_daily_summary(session, project.id, moment.day, now)
        if claim is None:
            continue
        listed, messages = await _post_summary(ctx, project, moment.day.isoformat())
        async with ctx.sessions() as session, session.begin():
            await store.record_daily_summary(session, claim, listed, messages)
        summarised += 1
        posted += messages
    return f"posted {posted} daily summary message(s) for {summarised} project(s)"


async def _post_summary(ctx: BotContext, project: Project, day: str) -> tuple[int, int]:
    """Post the project's summary to each matching channel; (incidents listed, messages posted)."""
    assert project.id is not None
    cards = await current_incidents(ctx, None, project_id=project.id)
    async with ctx.sessions() as session:
        targets = [t for t in await enabled_notifications(session, project.id) if t.kind == "conversation"]
    listed: set[int] = set()
    messages = 0
    for target in targets:
        matching = [
            card
            for card in cards
            if matches_stored(target.filters, facts_of(card, card.tags), when_absent=True)
        ]
        if not matching:
            continue
        for text, blocks in list_views.daily_summary(project.name, day, matching, project.allow_self_join):
            try:
                await ctx.gateway.post(target.target, text, blocks)
            except SlackApiError as error:  # the operator's to fix; the other channels still get theirs
                logger.warning(
                    "could not post the daily summary to %s: %s", target.target, error.response.get("error")
                )
                break
            messages += 1
        listed.update(card.id for card in matching)
    return len(listed), messages
