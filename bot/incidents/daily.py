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
from bot.runtime import effects
from bot.runtime.bot_context import BotContext
from bot.slack.gateway import error_code
from storage import summaries as store
from storage.effects import NewEffect
from storage.models import DailySummary, Effect, Project
from storage.workspace import enabled_notifications, enabled_projects

logger = logging.getLogger(__name__)

POST = "daily.summary"
# Answers that say the bot cannot post in a channel at all: not worth a retry.
UNREACHABLE = {"channel_not_found", "not_in_channel", "is_archived", "restricted_action", "access_denied"}


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
        day = moment.day.isoformat()
        async with ctx.sessions() as session, session.begin():
            claim = await store.claim_daily_summary(session, project.id, moment.day, now)
            if claim is None:
                continue
            # The claim and the posting are one: the summary is an effect, posted at least once.
            post = NewEffect(POST, f"{POST}:{project.id}:{day}", now, {"project_id": project.id, "day": day})
            keys = await effects.record(session, ctx, [post])
        await effects.run_stages(ctx, keys)
        async with ctx.sessions() as session:
            summary = await session.get(DailySummary, claim)
        summarised += 1
        posted += summary.messages if summary is not None else 0
    return f"posted {posted} daily summary message(s) for {summarised} project(s)"


@effects.effect(POST, "post the daily incident summary")
async def post_summary(ctx: BotContext, row: Effect) -> str:
    """Post the project's summary to each matching channel, each message once."""
    project_id, day = int(row.payload["project_id"]), str(row.payload["day"])
    async with ctx.sessions() as session:
        project = await session.get(Project, project_id)
    if project is None:
        return "no such project"
    listed, messages = await _post_summary(ctx, project, day, row)
    async with ctx.sessions() as session, session.begin():
        await store.record_summary_of(session, project_id, day, listed, messages)
    return f"{messages} message(s), {listed} incident(s)"


async def _post_summary(ctx: BotContext, project: Project, day: str, row: Effect) -> tuple[int, int]:
    """Post the project's summary to each matching channel; (incidents listed, messages posted)."""
    assert project.id is not None
    cards = await current_incidents(ctx, None, project_id=project.id)
    async with ctx.sessions() as session:
        targets = [t for t in await enabled_notifications(session, project.id) if t.kind == "conversation"]
    matching = {
        target.target: [
            card
            for card in cards
            if matches_stored(target.filters, facts_of(card, card.tags), when_absent=True)
        ]
        for target in targets
    }
    listed: set[int] = set()
    messages = 0

    async def post_to(channel: str, maybe_sent: bool) -> None:
        nonlocal messages
        summary = list_views.daily_summary(project.name, day, matching[channel], project.allow_self_join)
        for part, (text, blocks) in enumerate(summary):
            try:
                await ctx.gateway.post_once(channel, f"{row.key}:{channel}:{part}", text, blocks, maybe_sent)
            except SlackApiError as error:
                if error_code(error) not in UNREACHABLE:
                    raise  # Slack failing: tried again later, posting only what is missing
                # The operator's to fix; the other channels still get theirs.
                logger.warning("could not post the daily summary to %s: %s", channel, error_code(error))
                return
            messages += 1
        listed.update(card.id for card in matching[channel])

    # Each channel on its own: one failing does not keep the summary from the others.
    await effects.each_once(
        row, [channel for channel, cards in matching.items() if cards], post_to, "channels"
    )
    return len(listed), messages
