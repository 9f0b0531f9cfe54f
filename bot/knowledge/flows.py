"""Explaining terms on request: `/dispatch-define TERM` and the *Explain terms* message shortcut.

In an incident channel the incident's project's definitions come first; the other projects' count
too (a term is a term wherever it was defined), after them.
"""

from __future__ import annotations

from bot.knowledge.facts import Definition, Term
from bot.knowledge.matching import closest, lookup, terms_in
from bot.knowledge.suggestions import as_term
from bot.runtime.bot_context import BotContext
from storage import incidents as incident_store
from storage import knowledge as store


async def known_terms(ctx: BotContext, channel_id: str | None) -> list[Term]:
    """Every defined term, those of the channel's incident's project first."""
    async with ctx.sessions() as session:
        incident = await incident_store.incident_by_channel(session, channel_id) if channel_id else None
        rows = await store.definitions(session)
    first = [row for row in rows if incident is not None and row.project_id == incident.project_id]
    rest = [row for row in rows if row not in first]
    return [as_term(row) for row in [*first, *rest]]


async def define(ctx: BotContext, channel_id: str | None, asked: str) -> Definition:
    """The definition of `asked`, or the closest terms when there is none."""
    terms = await known_terms(ctx, channel_id)
    found = lookup(terms, asked)
    if found is not None:
        return Definition(asked, found)
    return Definition(asked, None, tuple(closest(terms, asked)))


async def explain(ctx: BotContext, channel_id: str | None, text: str) -> list[Term]:
    """The defined terms `text` uses, each once."""
    return terms_in(await known_terms(ctx, channel_id), text)
