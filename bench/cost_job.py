"""One pass of the incident-costs job over many open incidents: time and SQL statements per pass.

    python bench/cost_job.py [--incidents 200 1000] [--messages 40] [--database-url URL]

Each incident has a commander, a scribe and two participants who all wrote `--messages` messages in
all; half the incidents use an activity cost model. The statement count should not move with the
number of incidents; the time grows with the rows the pass reads.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config.defaults import seed_defaults_if_empty
from bot.costs.flows import compute_costs
from bot.runtime.bot_context import BotContext
from bot.settings import Settings
from storage.migrate import upgrade
from storage.models import (
    CostModel,
    Incident,
    IncidentType,
    Participant,
    ParticipantActivity,
    ParticipantRole,
    Project,
)

ROLES = ("Incident Commander", "Scribe", "Participant", "Participant")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def seed(ctx: BotContext, incidents: int, messages: int, first: int) -> None:
    async with ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        assert project.id is not None
        if first == 1:
            session.add(
                CostModel(
                    project_id=project.id,
                    name="activity",
                    activities=[{"kind": "slack_channel_activity", "response_time_seconds": 300}],
                )
            )
            drill = (await session.exec(select(IncidentType).where(IncidentType.name == "Simulation"))).one()
            drill.cost_model = "activity"
            session.add(drill)
        types = {t.name: t.id for t in (await session.exec(select(IncidentType))).all()}
        for number in range(first, first + incidents):
            kind = "Simulation" if number % 2 else "General"
            incident = Incident(
                project_id=project.id,
                number=number,
                name=f"INC-{number}",
                title="Bench",
                reporter_user_id="U0",
                incident_type_id=types[kind],
            )
            session.add(incident)
            await session.flush()
            assert incident.id is not None
            for index, role in enumerate(ROLES):
                person = Participant(incident_id=incident.id, user_id=f"U{index}")
                session.add(person)
                await session.flush()
                assert person.id is not None
                session.add(ParticipantRole(participant_id=person.id, role=role, assumed_at=START))
            session.add_all(
                ParticipantActivity(
                    incident_id=incident.id,
                    user_id=f"U{m % len(ROLES)}",
                    ts=f"{number}.{m:06d}",
                    posted_at=START + timedelta(minutes=m),
                )
                for m in range(messages)
            )
        await session.commit()


async def run(database_url: str, sizes: list[int], messages: int) -> None:
    ctx = BotContext.from_settings(Settings(database_url=database_url, _env_file=None))  # type: ignore[call-arg]
    await seed_defaults_if_empty(ctx.sessions)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(ctx.engine.sync_engine, "before_cursor_execute", count)
    seeded, hour = 0, 1
    print(f"{'incidents':>10} {'pass ms':>9} {'statements':>11} {'computed':>9}")
    try:
        for size in sizes:
            await seed(ctx, size - seeded, messages, seeded + 1)
            seeded = size
            hour += 1
            ctx.clock = lambda h=hour: START + timedelta(hours=h)
            statements.clear()
            started = time.perf_counter()
            computed = await compute_costs(ctx)
            elapsed = (time.perf_counter() - started) * 1000
            print(f"{size:>10} {elapsed:>9.1f} {len(statements):>11} {len(computed):>9}")
    finally:
        await ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite+aiosqlite:///{scratch}/bench.db"
        upgrade(url)  # alembic runs its own loop, so before ours
        asyncio.run(run(url, sorted(args.incidents), args.messages))


if __name__ == "__main__":
    main()
