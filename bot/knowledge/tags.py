"""Tags found in an incident's text: discoverable tags whose name its title or description uses are
added, in the transaction that saves the incident or its update, with a timeline event saying why.

A tag someone removed by hand is remembered and never found again; adding it back by hand forgets
that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.knowledge import views
from bot.knowledge.facts import FoundTag
from bot.knowledge.matching import mentions
from storage import incidents as incident_store
from storage import knowledge as store
from storage.models import Incident, Tag, TagType


def found_in(
    candidates: Sequence[tuple[TagType, Tag]],
    title: str,
    description: str,
    has: Iterable[str],
    refused: Iterable[str] = (),
) -> list[FoundTag]:
    """The candidate tags the text uses that the incident does not have and nobody removed.

    An exclusive tag type takes one tag: none is found for it when the incident has one of its tags
    already, or when the text uses several of them (which one is meant is not the bot's to guess).
    """
    held = {name.casefold() for name in has}
    refused_names = {name.casefold() for name in refused}
    by_type: dict[str, list[FoundTag]] = {}
    exclusive: dict[str, bool] = {}
    taken_types: set[str] = set()
    for tag_type, tag in candidates:
        if tag.name.casefold() in held:
            taken_types.add(tag_type.name)
            continue
        if tag.name.casefold() in refused_names:
            continue
        texts = (("title", title), ("description", description))
        where = tuple(field for field, text in texts if mentions(text, tag.name))
        exclusive[tag_type.name] = tag_type.exclusive
        if where:
            by_type.setdefault(tag_type.name, []).append(FoundTag(tag_type.name, tag.name, where))
    found: list[FoundTag] = []
    for type_name, tags in by_type.items():
        if exclusive[type_name] and (type_name in taken_types or len(tags) > 1):
            continue
        found.extend(tags)
    return found


async def discover(
    session: Any, incident: Incident, now: datetime, actor: str | None = None
) -> list[FoundTag]:
    """Add to `incident` (in the caller's transaction) the tags its text uses, with their event."""
    assert incident.id is not None
    candidates = await store.discoverable_tags(session, incident.project_id)
    if not candidates:
        return []
    refused = await store.remembered(session, incident.id, store.REMOVED_TAG)
    found = found_in(candidates, incident.title, incident.description, incident.tags, refused)
    if not found:
        return []
    incident.tags = sorted({*incident.tags, *(tag.name for tag in found)})
    session.add(incident)
    await incident_store.add_timeline_event(
        session,
        incident.id,
        "tags_found",
        views.found_tags_event(found),
        actor=actor,
        occurred_at=now,
        details={"tags": {tag.name: list(tag.found_in) for tag in found}},
    )
    return found


async def note_hand_changes(
    session: Any, incident_id: int, before: Iterable[str], after: Iterable[str]
) -> None:
    """Remember the tags a person removed (so they are not found again), forget those added back."""
    old, new = set(before), set(after)
    await store.remember(session, incident_id, store.REMOVED_TAG, sorted(old - new))
    await store.forget(session, incident_id, store.REMOVED_TAG, sorted(new - old))
