"""What the benchmarks share: the bot started as its own `dispatch-bot run` process, percentiles."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.sandbox.slack import FakeSlack  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def start_bot(
    slack: FakeSlack, scratch: str, stderr: Any = None, **env: str
) -> asyncio.subprocess.Process:
    """`dispatch-bot run --migrate` in its own process, as in production: it shares no loop with the fake.

    With BENCH_PROFILE=path in the environment, the bot runs under cProfile and writes its profile there.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    environment.update(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_APP_TOKEN=slack.app_token,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{scratch}/bench.db",
        HEALTH_PORT="0",
        PYTHONPATH=str(REPO),
        # The fake enforces no rate limit here, so the bot does not pace itself either (a 429 injected
        # by a benchmark is still waited out); pass SLACK_PACE_SCALE to measure with pacing.
        SLACK_PACE_SCALE="0",
    )
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *(["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []),
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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
