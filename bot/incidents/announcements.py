"""Announcing an incident to the notification targets whose filters match it: the notification
channels and e-mail addresses; the opening's `notifications` step, and the updates announced later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlmodel import col, update

from bot.config.filters import matches_stored
from bot.incidents import channel_views, engagement
from bot.incidents.card import user_name
from bot.incidents.facts import IncidentCard
from bot.incidents.opening import OPEN_FLOW, Opening, step_row
from bot.mail import content
from bot.mail import flows as mail
from bot.runtime.bot_context import BotContext
from storage import incidents as store
from storage.models import FlowStep, Incident, Notification, Project
from storage.workspace import enabled_notifications

logger = logging.getLogger(__name__)


async def _matching_targets(
    ctx: BotContext, incident_id: int, card: IncidentCard
) -> tuple[Project | None, list[Notification]]:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        project = await session.get(Project, incident.project_id)
        targets = await enabled_notifications(session, incident.project_id)
    facts = engagement.facts_of(card, list(incident.tags))
    return project, [target for target in targets if matches_stored(target.filters, facts, when_absent=True)]


async def notification_addresses(ctx: BotContext, card: IncidentCard) -> list[str]:
    """The notification e-mail addresses whose filters match the incident; none for a restricted one."""
    if card.visibility == "restricted":
        return []
    _project, matching = await _matching_targets(ctx, card.id, card)
    return [target.target for target in matching if target.kind == "email"]


@dataclass(frozen=True)
class Announced:
    sent: list[str]
    failed: dict[str, str]
    # The notification channels among `failed`, with Slack's error code.
    unreachable: dict[str, str] = field(default_factory=dict)


# What an e-mail announcement says, given the commander's name and the channel's link:
# (subject, template, variables).
MailBuilder = Callable[[str, str | None], content.Email]


async def announce_to_targets(
    ctx: BotContext,
    incident_id: int,
    card: IncidentCard,
    message: Callable[[bool], tuple[str, list[dict[str, Any]]]],
    mail_of: MailBuilder | None = None,
    mail_key: str = "announce",
    maybe_posted: bool = False,
) -> Announced:
    """Post `message(allow_join)` to every notification channel whose filters match the incident, and
    e-mail `mail_of(...)` to every matching notification address (once per `mail_key` and address).

    Each message is marked with `mail_key` and its channel; with `maybe_posted` (a retry after an
    attempt that may have posted some), a channel that has it already is not posted to again.

    Never for a restricted incident. A target the bot cannot reach is logged and reported back,
    not retried: it is the operator's to fix.
    """
    if card.visibility == "restricted":
        return Announced([], {})
    project, matching = await _matching_targets(ctx, incident_id, card)
    text, blocks = message(bool(project and project.allow_self_join))
    result = Announced([], {})

    async def announce(target: str) -> None:
        try:
            await ctx.gateway.post_once(
                target, f"{mail_key}:{incident_id}:{target}", text, blocks, maybe_posted
            )
            result.sent.append(target)
        except SlackApiError as error:
            result.failed[target] = result.unreachable[target] = str(error.response.get("error"))
            logger.warning("could not notify %s about %s: %s", target, card.name, result.failed[target])

    channels = [target.target for target in matching if target.kind == "conversation"]
    addresses = [target.target for target in matching if target.kind == "email"] if mail_of else []
    await asyncio.gather(
        *(announce(target) for target in channels),
        *([_email_targets(ctx, card, addresses, mail_of, mail_key, result)] if mail_of and addresses else []),
    )
    return result


async def _email_targets(
    ctx: BotContext,
    card: IncidentCard,
    addresses: list[str],
    mail_of: MailBuilder,
    key: str,
    result: Announced,
) -> None:
    plugin = await mail.email_plugin(ctx, card.id)
    if plugin is None:
        result.failed.update(dict.fromkeys(addresses, "no e-mail plugin is configured"))
        return
    commander = await user_name(ctx, card.commander_id)
    email = mail_of(commander, content.channel_link(mail.workspace_url(ctx), card.channel_id))
    reached, failed = await mail.send_each(ctx, plugin, card.id, key, addresses, email)
    result.sent.extend(reached)
    result.failed.update(failed)


async def notify_targets(opening: Opening) -> dict[str, Any]:
    """Announce the new incident in the notification channels that match it."""
    ctx, card = opening.ctx, opening.card

    def announcement(commander: str, channel: str | None) -> content.Email:
        return content.announcement(card, commander, channel)

    announced = await announce_to_targets(
        ctx,
        opening.incident_id,
        card,
        lambda allow_join: channel_views.notification(card, allow_join),
        announcement,
        maybe_posted=opening.resuming,
    )
    sent, failed = announced.sent, announced.failed
    if sent or failed:
        async with ctx.sessions() as session, session.begin():
            await store.add_timeline_event(
                session,
                opening.incident_id,
                "notifications_sent",
                f"Announced in {', '.join(sent) or 'no channel'}"
                + (f"; could not post in {', '.join(failed)}" if failed else ""),
                occurred_at=ctx.clock(),
                details={"sent": sent, "failed": failed},
            )
    told = await _tell_unreachable(opening, announced.unreachable)
    return {"sent": sent, "failed": failed, "told": told}


async def _tell_unreachable(opening: Opening, unreachable: dict[str, str]) -> list[str]:
    """DM the commander about each notification channel the announcement could not reach, once per
    incident and channel: who was told is kept in the step's result, so a rerun tells no one twice.
    Returns every channel told so far."""
    ctx, card = opening.ctx, opening.card
    earlier = await step_row(ctx, opening.incident_id, "notifications")
    told = list((earlier.result or {}).get("told", [])) if earlier is not None else []
    bot_user = str(ctx.identity.get("user_id") or "") if ctx.identity is not None else ""
    bot = f"<@{bot_user}>" if bot_user else "the bot"
    for target, error in unreachable.items():
        if target in told:
            continue
        try:
            await ctx.gateway.direct_message(
                card.commander_id, channel_views.unreachable_notification(card, target, error, bot)
            )
        except SlackApiError as failure:
            logger.warning("could not tell the commander about %s: %s", target, failure.response.get("error"))
            continue
        told.append(target)
        async with ctx.sessions() as session, session.begin():
            await (await session.connection()).execute(
                update(FlowStep)
                .where(col(FlowStep.incident_id) == opening.incident_id, col(FlowStep.flow) == OPEN_FLOW)
                .where(col(FlowStep.step) == "notifications")
                .values(result={**((earlier.result or {}) if earlier is not None else {}), "told": told})
            )
    return told
