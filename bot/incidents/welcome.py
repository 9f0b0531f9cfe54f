"""Welcoming people to the response: the ephemeral welcome in the channel and the welcome e-mail,
for someone added later and, as the opening's last step, for everyone the opening invited.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from bot.incidents import channel_views
from bot.incidents.card import email_of, incident_card, user_name
from bot.incidents.facts import IncidentCard
from bot.incidents.opening import Opening
from bot.mail import content
from bot.mail import flows as mail
from bot.runtime.bot_context import BotContext
from plugins.errors import PluginError
from plugins.interfaces import EmailPlugin


async def welcome_person(
    ctx: BotContext, card: IncidentCard, channel_id: str, user_id: str, roles: list[str]
) -> None:
    """Someone added to the response: the ephemeral welcome in the channel and, when the project sends
    e-mail, the welcome e-mail. Slack refusing the ephemeral is raised; the e-mail never raises."""
    plugin = await mail.email_plugin(ctx, card.id)
    posted, *_ = await asyncio.gather(
        ctx.gateway.post_ephemeral(channel_id, user_id, *channel_views.welcome(card, roles)),
        *([_welcome_email(ctx, plugin, card, user_id, roles)] if plugin is not None else []),
        return_exceptions=True,
    )
    if isinstance(posted, BaseException):
        raise posted


async def _welcome_email(
    ctx: BotContext, plugin: EmailPlugin, card: IncidentCard, user_id: str, roles: list[str]
) -> mail.Mailed:
    return await welcome_email(ctx, plugin, card, user_id, roles, await user_name(ctx, card.commander_id))


async def welcome_email(
    ctx: BotContext, plugin: EmailPlugin, card: IncidentCard, user_id: str, roles: list[str], commander: str
) -> mail.Mailed:
    """The welcome e-mail to one person, at their Slack profile's address; once per person and incident."""
    link = content.channel_link(mail.workspace_url(ctx), card.channel_id)
    subject, template, variables = content.welcome(card, roles, commander, link)
    address = await email_of(ctx, user_id)
    return await mail.send_once(
        ctx, plugin, card.id, f"welcome:{user_id}", [address], subject, template, variables
    )


async def email_welcomes(opening: Opening) -> dict[str, Any]:
    """The welcome e-mail to everyone the opening invited, when the project sends e-mail."""
    plugin = cast(EmailPlugin | None, opening.plugins.get("email") if opening.plugins is not None else None)
    if plugin is None:
        return {}
    invited = opening.results.get("people", {}).get("invited")
    if invited is None:  # failed as well: the reconcile job tries both again, invitations first
        raise RuntimeError("the people are not invited yet")
    ctx = opening.ctx
    card = await incident_card(ctx, opening.incident_id)  # with the resources made meanwhile
    commander = await user_name(ctx, card.commander_id)
    mailed = await asyncio.gather(
        *(
            welcome_email(ctx, plugin, card, person.user_id, person.roles, commander)
            for person in card.participants
            if person.user_id in invited
        )
    )
    failed = {address: m.error for m in mailed if m.status == "failed" for address in m.to}
    if failed:
        # The step fails so that the reconcile job tries again; what went out is not sent twice.
        address, error = next(iter(failed.items()))
        others = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
        raise PluginError(f"couldn't send the welcome e-mail to {address}{others}: {error}")
    return {"sent": sorted(address for m in mailed if m.ok for address in m.to)}
