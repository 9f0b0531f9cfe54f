"""Asking for feedback at closing, and saving it (one per participant and incident)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.runtime.bot_context import BotContext
from storage import incidents as store
from storage.models import Feedback, Incident


async def feedback_target(ctx: BotContext, incident_id: int, user_id: str) -> str | None:
    """The incident's name when `user_id` took part in it (so may give feedback), else None."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None or user_id not in await store.participant_user_ids(session, incident_id):
            return None
    return incident.name


async def save_feedback(
    ctx: BotContext, incident_id: int, user_id: str, rating: int, text: str, anonymous: bool
) -> str:
    """Store the feedback: "saved", "already" when this person had given theirs, "refused" when
    they took no part in the incident (the form's context is only as honest as its sender)."""
    if await feedback_target(ctx, incident_id, user_id) is None:
        return "refused"
    try:
        async with ctx.sessions() as session, session.begin():
            session.add(
                Feedback(
                    incident_id=incident_id,
                    user_id=user_id,
                    rating=rating,
                    text=text.strip(),
                    anonymous=anonymous,
                    created_at=ctx.clock(),
                )
            )
    except IntegrityError:
        return "already"
    return "saved"
