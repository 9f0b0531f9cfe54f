"""Incident costs: recording who spoke when, computing the response cost, and costs added by hand."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.costs.arithmetic import (
    ENGAGEMENT_MULTIPLIER,
    RoleSpan,
    activity_cost,
    classic_cost,
    hourly_rate,
    to_cents,
)
from bot.incidents.resources import update_ticket
from bot.runtime.bot_context import BotContext
from storage import costs as store
from storage import incidents as incident_store
from storage.models import CostModel, Incident, IncidentCostType, ParticipantRole

# A cost model's activity kind for thread replies; top-level messages are "slack_channel_activity".
THREAD = "slack_thread_activity"


@dataclass(frozen=True)
class Computed:
    """One incident's response cost as a pass left it, and as it was before (to push only changes)."""

    incident_id: int
    before_cents: int
    cents: int


@dataclass
class _Inputs:
    """What one pass loaded for all the incidents it computes, a few queries in all."""

    spans: dict[int, list[tuple[str, ParticipantRole]]] = field(default_factory=dict)
    speakers: set[tuple[int, str]] = field(default_factory=set)
    messages: dict[int, list[store.Activity]] = field(default_factory=dict)
    multipliers: Mapping[str, float] = field(default_factory=lambda: dict(ENGAGEMENT_MULTIPLIER))


def model_definition(row: CostModel | None) -> dict[str, Any] | None:
    """The definition the computation uses, None for the classic model; kept in the cost state."""
    if row is None:
        return None
    activities = [
        {"kind": a["kind"], "response_time_seconds": int(a["response_time_seconds"])}
        for a in row.activities
        if a.get("enabled", True)
    ]
    return {"name": row.name, "activities": activities}


def _classic_until(incident: Incident, now: datetime) -> datetime:
    # A stable incident's response is over: role time counts up to the moment it became stable.
    if incident.status == "active":
        return now
    return incident.stable_at or incident.closed_at or now


def _participants_at(spans: list[tuple[str, ParticipantRole]], moment: datetime) -> int:
    return len({user for user, role in spans if role.assumed_at <= moment})


def _segment_cents(
    candidate: store.Candidate,
    model: dict[str, Any] | None,
    since: datetime | None,
    now: datetime,
    inputs: _Inputs,
) -> int:
    """The cost, in cents, of one stretch of an incident computed with one model (since → now)."""
    incident, project = candidate.incident, candidate.project
    incident_id = incident.id or 0
    rate = hourly_rate(project.annual_employee_cost, project.business_year_hours)
    if model is None:
        spans = inputs.spans.get(incident_id, [])
        role_spans = [
            RoleSpan(role.role, role.assumed_at, role.renounced_at, (incident_id, user) in inputs.speakers)
            for user, role in spans
        ]
        stable_at = incident.stable_at
        review = (
            _participants_at(spans, stable_at)
            if incident.status != "active" and stable_at is not None and (since is None or since <= stable_at)
            else None
        )
        amount = classic_cost(
            role_spans,
            rate=rate,
            since=since,
            until=_classic_until(incident, now),
            review_participants=review,
            multipliers=inputs.multipliers,
        )
    else:
        messages = [m for m in inputs.messages.get(incident_id, []) if since is None or m.posted_at >= since]
        amount = 0.0
        for tracked in model["activities"]:
            in_thread = tracked["kind"] == THREAD
            opened = [(m.user_id, m.posted_at.timestamp()) for m in messages if m.in_thread == in_thread]
            amount += activity_cost(opened, response_seconds=tracked["response_time_seconds"], rate=rate)
    return int(to_cents(amount) * 100)


def _is_due(candidate: store.Candidate, model: dict[str, Any] | None) -> bool:
    """Whether anything the cost depends on moved since the last computation."""
    state = candidate.state
    if state is None or state.status != candidate.incident.status or state.model != model:
        return True
    if candidate.last_activity_id > state.last_activity_id:
        return True
    # Role time keeps counting while an incident is active under the classic model.
    return model is None and candidate.incident.status == "active"


async def compute_costs(ctx: BotContext, incident_ids: Sequence[int] | None = None) -> list[Computed]:
    """Compute the response cost of every open incident (or of those named) with anything new.

    The statements do not grow with the number of incidents: candidates, models, roles and
    activity are loaded for all of them at once and the results written in one statement each.
    A change of cost model (new type, edited model) settles the cost so far with the old one.
    """
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        candidates = await store.cost_candidates(session, incident_ids)
        models = await store.cost_models(session, {c.project.id or 0 for c in candidates})

        def current_model(candidate: store.Candidate) -> dict[str, Any] | None:
            name = candidate.type_cost_model
            if name is None:
                return None
            return model_definition(models.get((candidate.project.id or 0, name.strip().casefold())))

        due = [(c, current_model(c)) for c in candidates if _is_due(c, current_model(c))]
        if not due:
            return []
        ids = [c.incident.id or 0 for c, _ in due]
        # Each incident's models this pass: its current one, and the one it leaves if that changed.
        models_of = {
            c.incident.id or 0: [m, *([c.state.model] if c.state is not None else [])] for c, m in due
        }
        classic = [i for i, used in models_of.items() if any(m is None for m in used)]
        by_activity = [i for i, used in models_of.items() if any(m is not None for m in used)]
        inputs = _Inputs(multipliers={**ENGAGEMENT_MULTIPLIER, **await store.role_multipliers(session)})
        if classic:
            for incident_id, user, role in await store.role_spans(session, classic):
                inputs.spans.setdefault(incident_id, []).append((user, role))
            inputs.speakers = await store.speakers(session, classic)
        if by_activity:
            for row in await store.activities(session, by_activity):
                inputs.messages.setdefault(row.incident_id, []).append(row)
        type_ids = await store.response_cost_types(session, {c.project.id or 0 for c, _ in due})
        before = await store.amounts(session, ids, type_ids.values())
        costs: list[dict[str, Any]] = []
        states: list[dict[str, Any]] = []
        results: list[Computed] = []
        for candidate, model in due:
            incident_id = candidate.incident.id or 0
            state = candidate.state
            settled = state.settled_cents if state is not None else 0
            settled_until = state.settled_until if state is not None else None
            if state is not None and state.model != model:
                settled += _segment_cents(candidate, state.model, settled_until, now, inputs)
                settled_until = now
            cents = settled + _segment_cents(candidate, model, settled_until, now, inputs)
            costs.append(
                {
                    "incident_id": incident_id,
                    "cost_type_id": type_ids[candidate.project.id or 0],
                    "amount_cents": cents,
                }
            )
            states.append(
                {
                    "incident_id": incident_id,
                    "model": model,
                    "settled_cents": settled,
                    "settled_until": settled_until,
                    "last_activity_id": candidate.last_activity_id,
                    "status": candidate.incident.status,
                    "computed_at": now,
                }
            )
            results.append(Computed(incident_id, before.get(incident_id, 0), cents))
        await store.save_computed(session, costs, states, now)
    return results


def dollars(cents: int) -> str:
    """Cents as the ticket and people read them: 1667 → "16.67"."""
    return f"{cents // 100}.{cents % 100:02d}"


async def push_changed(ctx: BotContext, computed: Sequence[Computed]) -> int:
    """Carry the changed incidents' total cost (every cost type) to their tickets; how many were pushed."""
    changed = [c.incident_id for c in computed if c.cents != c.before_cents]
    if not changed:
        return 0
    async with ctx.sessions() as session:
        ticketed = await store.with_ticket(session, changed)
        totals = await store.totals_cents(session, [i for i in changed if i in ticketed])
    for incident_id, total in totals.items():
        await _push_total(ctx, incident_id, total)
    return len(totals)


async def recompute(ctx: BotContext, incident_ids: Sequence[int]) -> list[Computed]:
    """Compute the named incidents' cost now (a type change, becoming stable) and push it if it moved."""
    computed = await compute_costs(ctx, incident_ids)
    await push_changed(ctx, computed)
    return computed


async def cost_job(ctx: BotContext) -> str:
    """The scheduled pass over open incidents: compute what moved, push changed costs to tickets."""
    computed = await compute_costs(ctx)
    pushed = await push_changed(ctx, computed)
    return f"computed the cost of {len(computed)} incident(s), {pushed} pushed to tickets"


# ----- costs added by hand -----

AMOUNT_PATTERN = re.compile(r"^\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$")
# No incident costs a billion dollars; a typo with extra zeros should not pass.
MAX_MANUAL_CENTS = 100_000_000_000


def parse_amount(text: str | None) -> int | str:
    """Dollars typed by a person → cents, or the sentence saying what is wrong."""
    cleaned = (text or "").strip()
    match = AMOUNT_PATTERN.match(cleaned)
    if not match:
        return "Write an amount in dollars with at most two decimals, e.g. 1250 or 89.90."
    cents = int(match[1].replace(",", "")) * 100 + int((match[2] or "0").ljust(2, "0"))
    if cents <= 0:
        return "The amount must be more than zero."
    if cents > MAX_MANUAL_CENTS:
        return f"That is more than {dollars(MAX_MANUAL_CENTS)}; check the number of zeros."
    return cents


@dataclass(frozen=True)
class AddCostForm:
    incident_id: int
    incident_name: str
    total_cents: int
    cost_types: list[tuple[int, str]]


async def add_cost_form(ctx: BotContext, incident_id: int) -> AddCostForm:
    """What the "Add cost" modal offers: the project's cost types people may add to, and the total."""
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        types = await store.manual_cost_types(session, incident.project_id)
        total = (await store.totals_cents(session, [incident_id])).get(incident_id, 0)
    return AddCostForm(incident_id, incident.name, total, [(t.id or 0, t.name) for t in types])


@dataclass(frozen=True)
class ManualCost:
    incident_id: int
    user_id: str
    cost_type_id: int
    cents: int
    # The submitted view's id: a redelivered submission adds nothing a second time.
    request_key: str


@dataclass(frozen=True)
class AddedCost:
    type_name: str
    cents: int
    total_cents: int
    incident_name: str
    added: bool


async def check_cost_type(ctx: BotContext, incident_id: int, cost_type_id: int | None) -> str | None:
    """Why the chosen cost type cannot be added to, or None."""
    form = await add_cost_form(ctx, incident_id)
    if cost_type_id is None or cost_type_id not in {type_id for type_id, _ in form.cost_types}:
        return "Choose one of the project's cost types."
    return None


async def add_manual_cost(ctx: BotContext, cost: ManualCost) -> AddedCost:
    """Add the amount to the incident's cost of that type, with a timeline event; once per request."""
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        incident = await incident_store.lock_incident(session, cost.incident_id)
        cost_type = await session.get(IncidentCostType, cost.cost_type_id)
        assert incident is not None and cost_type is not None
        total_before = (await store.totals_cents(session, [cost.incident_id])).get(cost.incident_id, 0)
        event = await incident_store.add_timeline_event(
            session,
            cost.incident_id,
            "cost_added",
            f"<@{cost.user_id}> added {dollars(cost.cents)} USD of {cost_type.name} "
            f"(total {dollars(total_before + cost.cents)} USD)",
            actor=cost.user_id,
            occurred_at=now,
            details={"cost_type": cost_type.name, "cents": cost.cents},
            dedupe_key=f"cost:{cost.request_key}",
        )
        if event is not None:
            await store.add_cost(session, cost.incident_id, cost.cost_type_id, cost.cents)
        total = (await store.totals_cents(session, [cost.incident_id])).get(cost.incident_id, 0)
        name = incident.name
    if event is not None:
        await _push_total(ctx, cost.incident_id, total)
    return AddedCost(cost_type.name, cost.cents, total, name, event is not None)


async def _push_total(ctx: BotContext, incident_id: int, total_cents: int) -> None:
    await update_ticket(ctx, incident_id, {"cost": dollars(total_cents)})
