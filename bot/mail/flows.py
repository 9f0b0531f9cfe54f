"""Sending one incident e-mail: claimed in the database first, rendered, sent, recorded.

A failure is recorded and returned, never raised: no e-mail may stop the flow that sends it. A send
that outlives the plugin timeout is reported as failed to the flow, but stays claimed until it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.exc import IntegrityError

from bot.core.errors import failure_text
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
            claimed = await store.claim_email(
                session, incident_id, key, recipients, subject, ctx.clock(), str(ctx.process["instance"])
            )
    except IntegrityError:  # a concurrent delivery of the same e-mail won the claim
        claimed = False
    if not claimed:
        return Mailed(recipients, "already")
    try:
        html, text = render_email(template, context)
    except Exception as failure:
        return await _finished(ctx, incident_id, key, recipients, failure_text(failure))
    sending = asyncio.ensure_future(plugin.send(list(recipients), subject, html, text))
    timeout = ctx.settings.plugin_timeout_seconds
    await asyncio.wait({sending}, timeout=timeout)
    if not sending.done():
        # The send goes on in its worker thread and may still reach the mail server: it is not
        # started again until it ends, and its end (not the clock) says whether it went.
        ctx.tasks.spawn(_record_when_sent(ctx, incident_id, key, recipients, sending), name=f"email:{key}")
        return Mailed(recipients, "failed", f"no answer within {timeout:g} seconds; still sending")
    refused = sending.exception()
    return await _finished(ctx, incident_id, key, recipients, failure_text(refused) if refused else None)


async def _record_when_sent(
    ctx: BotContext, incident_id: int, key: str, recipients: tuple[str, ...], sending: asyncio.Future[None]
) -> None:
    try:
        await sending
        error = None
    except Exception as failure:
        error = failure_text(failure)
    await _finished(ctx, incident_id, key, recipients, error)


async def _finished(
    ctx: BotContext, incident_id: int, key: str, recipients: tuple[str, ...], error: str | None
) -> Mailed:
    if error:
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
