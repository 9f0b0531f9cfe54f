"""What the benchmarks share: the bot started as its own `dispatch-bot run` process, percentiles."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.slack import FakeSlack  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def start_bot(
    slack: FakeSlack, scratch: str, stderr: Any = None, **env: str
) -> asyncio.subprocess.Process:
    """`dispatch-bot run --migrate` in its own process, as in production: it shares no loop with the fake."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    environment.update(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_APP_TOKEN=slack.app_token,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{scratch}/bench.db",
        HEALTH_PORT="0",
        PYTHONPATH=str(REPO),
    )
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--migrate",
        env=environment,
        cwd=scratch,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr if stderr is not None else asyncio.subprocess.DEVNULL,
    )
    await slack.wait_connected(timeout=60)
    return process
