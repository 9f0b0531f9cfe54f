"""What tasks do: create one (its people brought in, a message in the channel), change its status,
list them, and remind assignees of overdue ones."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.direct_messages import dm
from bot.incidents.context import COMMANDER
from bot.people import queries as people
from bot.people.flows import in_transaction
from bot.runtime import effects
from bot.runtime.bot_context import BotContext
from bot.tasks import views
from bot.tasks.facts import TaskCard, TaskDraft
from storage import incidents as store
from storage import tasks as task_store
from storage.models import Incident, Task
from storage.tasks import TaskRow

logger = logging.getLogger(__name__)

DESCRIPTION_MAX = 2000
DEFAULT_DUE = timedelta(days=1)
REMIND_EVERY = timedelta(days=1)
PARTICIPANT, OBSERVER = "Participant", "Observer"
STATUSES = ("open", "resolved")


def card_of(row: TaskRow) -> TaskCard:
    task = row.task
    return TaskCard(
        id=row.id,
        incident_id=task.incident_id,
        incident_name=row.incident_name,
        description=task.description,
        status=task.status,
        creator_id=task.creator_user_id,
        owner_id=task.owner_user_id,
        assignees=row.assignees,
        resolve_by=task.resolve_by,
        resolved_by=task.resolved_by,
        weblink=task.weblink,
    )


def default_due(now: datetime) -> datetime:
    return now + DEFAULT_DUE


def due_at(day: str | None) -> datetime | None:
    """The end of the chosen day (UTC), or None when none was chosen or it cannot be read."""
    if not day:
        return None
    try:
        return datetime.combine(datetime.fromisoformat(day).date(), time(23, 59), tzinfo=UTC)
    except ValueError:
        return None


def check_draft(draft: TaskDraft, now: datetime) -> dict[str, str]:
    """Problems by field name (`description`, `due`); empty when the task can be created."""
    errors: dict[str, str] = {}
    text = draft.description.strip()
    if not text:
        errors["description"] = "Say what needs doing."
    elif len(text) > DESCRIPTION_MAX:
        errors["description"] = f"Keep it under {DESCRIPTION_MAX} characters ({len(text)} now)."
    if draft.resolve_by is not None and draft.resolve_by < now:
        errors["due"] = "The due date has passed; choose today or a later day."
    return errors


async def may_work_on(ctx: BotContext, incident_id: int, user_id: str, leads_only: bool) -> bool:
    """Whether `user_id` may create or change the incident's tasks: its participants (or only its leads)."""
    async with ctx.sessions() as session:
        roles = await store.roles_of_user(session, incident_id, user_id)
    if leads_only:
        return bool({COMMANDER, "Scribe"} & set(roles))
    return bool(roles)


@dataclass(frozen=True)
class Created:
    card: TaskCard
    newcomers: list[str]
    """People the task made participants (assignees who had no part in the incident yet)."""


async def _bring_in(session: AsyncSession, incident_id: int, user_id: str, by: str, now: datetime) -> bool:
    """Make `user_id` a participant who works on the incident; True when they had no part in it before."""
    participant, _ = await store.add_participant(
        session, incident_id, user_id, [], added_by=by, reason="Assigned a task", now=now
    )
    assert participant.id is not None
    roles = await store.active_roles_of(session, participant.id)
    if roles and roles != [OBSERVER]:
        return False
    if roles:
        await people.renounce_roles(session, participant.id, [OBSERVER], now)
    await people.assume_role(session, participant.id, PARTICIPANT, now)
    return not roles


async def create_task(ctx: BotContext, draft: TaskDraft, *, weblink: str | None = None) -> Created:
    """Save the task once per submission, with its people; then post it in the channel.

    `weblink` is where the task is kept too (a document comment), shown with it."""
    now = ctx.clock()

    async def save(session: AsyncSession) -> tuple[int, list[str], bool]:
        existing = await task_store.task_by_request(session, draft.request_key)
        if existing is not None and existing.id is not None:
            return existing.id, [], False
        owner = await store.holder_of(session, draft.incident_id, COMMANDER) or draft.creator_id
        assignees = list(dict.fromkeys(draft.assignees or (draft.creator_id,)))
        task = await task_store.add_task(
            session,
            Task(
                incident_id=draft.incident_id,
                description=draft.description.strip(),
                creator_user_id=draft.creator_id,
                owner_user_id=owner,
                resolve_by=draft.resolve_by or default_due(now),
                request_key=draft.request_key,
                weblink=weblink,
                created_at=now,
                updated_at=now,
            ),
            assignees,
        )
        newcomers = [
            user
            for user in dict.fromkeys([draft.creator_id, *assignees])
            if await _bring_in(session, draft.incident_id, user, draft.creator_id, now)
        ]
        await store.add_timeline_event(
            session,
            draft.incident_id,
            "task_created",
            f"<@{draft.creator_id}> created a task for "
            + ", ".join(f"<@{user}>" for user in assignees)
            + f": {task.description}",
            actor=draft.creator_id,
            occurred_at=now,
            details={"task_id": task.id, "assignees": assignees},
        )
        assert task.id is not None
        return task.id, newcomers, True

    task_id, newcomers, created = await in_transaction(ctx, save)
    card = await task_card(ctx, task_id)
    if created:
        await _announce(ctx, draft.channel_id, card, newcomers)
    return Created(card, newcomers)


async def _announce(ctx: BotContext, channel_id: str, card: TaskCard, newcomers: list[str]) -> None:
    if newcomers:
        await ctx.gateway.invite(channel_id, newcomers)
    text, blocks = views.task_message(card)
    ts = await ctx.gateway.post(channel_id, text, blocks)
    async with ctx.sessions() as session, session.begin():
        task = await session.get(Task, card.id)
        if task is not None:
            task.message_ts = ts
            session.add(task)
    await asyncio.gather(
        *(
            ctx.gateway.post_ephemeral(channel_id, user, views.added_for_a_task(card))
            for user in newcomers
            if user in card.assignees and user != card.creator_id
        )
    )


async def task_card(ctx: BotContext, task_id: int) -> TaskCard:
    async with ctx.sessions() as session:
        row = await task_store.task_row(session, task_id)
    assert row is not None
    return card_of(row)


async def change_status(
    ctx: BotContext,
    task_id: int,
    status: str,
    user_id: str,
    leads_only: bool,
    *,
    clicked: tuple[str, str] | None = None,
) -> tuple[TaskCard | None, str]:
    """Resolve or re-open the task; the card as it now stands (None if gone) and a word on the outcome:
    "changed", "unchanged" (it was there already) or "refused" (not one of the incident's people).

    `clicked` is the message (channel, ts) whose button was clicked, if it was one."""
    async with ctx.sessions() as session:
        task = await session.get(Task, task_id)
    if task is None or status not in STATUSES:
        return None, "refused"
    if not await may_work_on(ctx, task.incident_id, user_id, leads_only):
        return await task_card(ctx, task_id), "refused"
    if clicked is not None and not task.message_ts:
        # The button can be clicked before the message's ts is saved (right after it is posted).
        task.message_ts = await _keep_clicked_message(ctx, task, *clicked)
    verb = "resolved" if status == "resolved" else "re-opened"
    changed = await set_status(
        ctx, task, status, user_id, f"<@{user_id}> {verb} the task: {task.description}"
    )
    return await task_card(ctx, task_id), "changed" if changed else "unchanged"


async def _keep_clicked_message(ctx: BotContext, task: Task, channel_id: str, ts: str) -> str | None:
    """Save `ts` as the task's message if none is saved yet and it is in the incident's channel;
    the task's message ts as it now stands (None when the click was elsewhere)."""
    assert task.id is not None
    async with ctx.sessions() as session, session.begin():
        channel = (await store.resources(session, task.incident_id)).get("conversation")
        if channel is None or channel.external_id != channel_id:
            return None  # the reminder DM, say
        return await task_store.keep_message_ts(session, task.id, ts)


async def set_status(ctx: BotContext, task: Task, status: str, actor: str | None, event: str) -> bool:
    """Move the task to `status`, put `event` on the timeline and redraw its message; False when it
    was there already. Whoever calls has checked that `actor` may."""
    assert task.id is not None
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        changed = await task_store.set_status(session, task.id, status, actor, now)
        if changed:
            await store.add_timeline_event(
                session,
                task.incident_id,
                f"task_{'resolved' if status == 'resolved' else 'reopened'}",
                event,
                actor=actor,
                occurred_at=now,
                details={"task_id": task.id},
            )
    if changed:
        await _refresh_message(ctx, await task_card(ctx, task.id), task.message_ts)
    return changed


async def _refresh_message(ctx: BotContext, card: TaskCard, message_ts: str | None) -> None:
    if not message_ts:
        return
    async with ctx.sessions() as session:
        channel = (await store.resources(session, card.incident_id)).get("conversation")
    if channel is None:
        return
    text, blocks = views.task_message(card)
    try:
        await ctx.gateway.update_message(channel.external_id, message_ts, text, blocks)
    except Exception:  # an archived channel, say: the task itself has changed all the same
        logger.info("could not edit the message of task %s", card.id, exc_info=True)


async def incident_tasks(ctx: BotContext, incident_id: int) -> list[TaskCard]:
    async with ctx.sessions() as session:
        return [card_of(row) for row in await task_store.incident_tasks(session, incident_id)]


async def my_tasks(ctx: BotContext, user_id: str) -> list[TaskCard]:
    async with ctx.sessions() as session:
        return [card_of(row) for row in await task_store.tasks_of_person(session, user_id)]


async def incident_name(ctx: BotContext, incident_id: int) -> str:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
    return incident.name if incident is not None else "this incident"


async def open_tasks_of(ctx: BotContext, incident_id: int, user_id: str) -> list[str]:
    """Descriptions of the open tasks `user_id` is assigned in the incident."""
    async with ctx.sessions() as session:
        return [task.description for task in await task_store.open_tasks_of(session, incident_id, user_id)]


async def remind_overdue(ctx: BotContext) -> str:
    """DM each assignee of an overdue open task of an active incident, at most once a day per task."""
    now = ctx.clock()
    async with ctx.sessions() as session:
        due = await task_store.overdue_tasks(session, now, REMIND_EVERY)
    async with ctx.sessions() as session, session.begin():
        claimed = await task_store.claim_reminders(session, [row.id for row in due], now, REMIND_EVERY)
        sends = []
        for row in due:
            if row.id not in claimed:
                continue  # another run (another process) reminded about it meanwhile
            card = card_of(row)
            text, blocks = views.overdue_reminder(card, row.incident_title)
            key = f"task-reminder:{row.id}:{now.isoformat()}"
            sends.append(dm(ctx, key, card.assignees, text, blocks, card.incident_id))
        # The claim and the send are one: each claimed reminder is an effect, sent at least once.
        keys = await effects.record(session, ctx, sends)
    await effects.run_stages(ctx, keys)
    return f"reminded about {len(keys)} overdue task(s)"
