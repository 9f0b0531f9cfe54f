"""What the incident's channel is told it may need: the runbooks and documents whose filters now match,
and the project's terms its description uses, each once per incident.

`tell_channel` runs as the opening's `suggestions` step and as the `knowledge.suggest` effect an
update records. Each document and term is claimed for one message (the message's key) before it is
posted: a retried message posts what it claimed, found by its key if it was posted already, and two
updates landing at once never suggest the same document twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config.filters import matches_stored
from bot.incidents.card import incident_card
from bot.incidents.engagement import facts_of
from bot.knowledge import views
from bot.knowledge.facts import Suggestion, Term
from bot.knowledge.matching import terms_in
from bot.runtime import effects
from bot.runtime.bot_context import BotContext
from storage import knowledge as store
from storage.effects import NewEffect
from storage.models import Definition, Effect, Incident

SUGGEST = "knowledge.suggest"


def as_term(row: Definition) -> Term:
    return Term(row.term, row.text, tuple(row.synonyms), row.link)


def suggest_effect(incident_id: int, update: str, now: datetime) -> NewEffect:
    """The effect that tells the channel what an update made match (recorded with the update)."""
    key = f"{SUGGEST}:{incident_id}:{update}"
    return NewEffect(SUGGEST, key, now, {"incident_id": incident_id}, incident_id)


async def _claimed(ctx: BotContext, incident_id: int, kind: str, wanted: set[str], key: str) -> set[str]:
    """What the message `key` holds of `wanted`; what it held before and no longer wants is let go."""
    async with ctx.sessions() as session:
        held = await store.claim(session, incident_id, kind, wanted, key)
        stale = held - wanted
        if stale:
            await store.forget(session, incident_id, kind, stale)
            await session.commit()
    return held & wanted


async def tell_channel(ctx: BotContext, incident_id: int, key: str, maybe_posted: bool) -> dict[str, Any]:
    """Post the documents newly matching and the terms newly used, each in one message."""
    card = await incident_card(ctx, incident_id)
    if not card.channel_id or card.status == "closed":
        return {"suggested": [], "explained": []}
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        documents = await store.runbooks(session, incident.project_id)
        terms = [as_term(row) for row in await store.definitions(session, [incident.project_id])]
    facts = facts_of(card, card.tags)
    matching = {d.name: d for d in documents if matches_stored(d.filters, facts, when_absent=False)}
    used = {term.term: term for term in terms_in(terms, card.description)}
    suggested = await _claimed(ctx, incident_id, store.SUGGESTED, set(matching), key)
    explained = await _claimed(ctx, incident_id, store.EXPLAINED, set(used), key)
    if suggested:
        text, blocks = views.suggestions(
            card.name,
            [
                Suggestion(name, matching[name].description, matching[name].weblink)
                for name in sorted(suggested)
            ],
        )
        await ctx.gateway.post_once(card.channel_id, f"{key}:documents", text, blocks, maybe_posted)
    if explained:
        text, blocks = views.explanations(
            [term for name, term in used.items() if name in explained], f"the description of {card.name}"
        )
        await ctx.gateway.post_once(card.channel_id, f"{key}:terms", text, blocks, maybe_posted)
    return {"suggested": sorted(suggested), "explained": sorted(explained)}


@effects.effect(SUGGEST, "suggest the runbooks and explain the terms an update made relevant")
async def suggest_after_update(ctx: BotContext, row: Effect) -> str:
    told = await tell_channel(ctx, int(row.payload["incident_id"]), row.key, row.attempts > 1)
    return f"{len(told['suggested'])} suggested, {len(told['explained'])} explained"
