"""Sending one incident e-mail: claimed in the database first, rendered, sent with a timeout, recorded.

A failure is recorded and returned, never raised: no e-mail may stop the flow that sends it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy.exc import IntegrityError

from bot.core.errors import failure_text, plugin_call
from bot.runtime.bot_context import BotContext
from plugins.interfaces import EmailPlugin
from storage import emails as store
from storage.models import Incident, Project
from templates import render_email

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mailed:
    """What came of one e-mail: "sent", "already" (sent before), "failed" (with `error`), or "skipped"
    (no address to send it to)."""

    to: tuple[str, ...]
    status: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status in {"sent", "already"}


async def email_plugin(ctx: BotContext, incident_id: int) -> EmailPlugin | None:
    """The `email` plugin of the incident's project; None when it has none (or it could not be built)."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        project = await session.get(Project, incident.project_id) if incident is not None else None
    if project is None or "email" not in (project.plugins or {}):
        return None
    return cast(EmailPlugin | None, ctx.plugins_for(project).get("email"))


def workspace_url(ctx: BotContext) -> str | None:
    """The workspace's web address, from the bot's auth.test answer."""
    if ctx.identity is None:
        return None
    return str(ctx.identity.get("url") or "") or None


async def send_once(
    ctx: BotContext,
    plugin: EmailPlugin,
    incident_id: int,
    key: str,
    to: Sequence[str],
    subject: str,
    template: str,
    context: Mapping[str, Any],
) -> Mailed:
    """Send `templates/email/<template>` to `to` unless the incident's e-mail `key` went out already."""
    recipients = tuple(sorted({address.strip() for address in to if address and address.strip()}))
    if not recipients:
        return Mailed(recipients, "skipped", "no e-mail address")
    try:
        async with ctx.sessions() as session:
            # A send may outlast its timeout in its worker thread: the lease leaves it well past that.
            lease = max(store.SENDING_LEASE, timedelta(seconds=4 * ctx.settings.plugin_timeout_seconds))
            claimed = await store.claim_email(
                session, incident_id, key, recipients, subject, ctx.clock(), lease
            )
    except IntegrityError:  # a concurrent delivery of the same e-mail won the claim
        claimed = False
    if not claimed:
        return Mailed(recipients, "already")
    error: str | None = None
    try:
        html, text = render_email(template, context)
        await plugin_call(ctx, plugin.send(list(recipients), subject, html, text))
    except Exception as failure:
        error = failure_text(failure)
        logger.warning("e-mail %s of incident %s failed: %s", key, incident_id, error)
    async with ctx.sessions() as session:
        await store.finish_email(session, incident_id, key, ctx.clock(), error)
    return Mailed(recipients, "failed" if error else "sent", error or "")


async def send_each(
    ctx: BotContext,
    plugin: EmailPlugin,
    incident_id: int,
    key: str,
    addresses: Sequence[str],
    email: tuple[str, str, Mapping[str, Any]],
) -> tuple[list[str], dict[str, str]]:
    """`email` (subject, template, variables) to each address on its own, each once under
    `<key>:<address>`; returns the addresses it reached (now or before) and those it could not, why."""
    subject, template, variables = email
    mailed = await asyncio.gather(
        *(
            send_once(ctx, plugin, incident_id, f"{key}:{address}", [address], subject, template, variables)
            for address in addresses
        )
    )
    reached = [address for address, result in zip(addresses, mailed, strict=True) if result.ok]
    failed = {
        address: result.error for address, result in zip(addresses, mailed, strict=True) if not result.ok
    }
    return reached, failed
