"""Ack latency and event throughput of the real bot, driven through the fake Slack over loopback.

    python bench/ack_latency.py [--count 1000] [--concurrency 50]

The bot runs as `dispatch-bot run` in its own process; the fake and the measuring run in this one.
Slash commands (`/dispatch-help`, which answers in its ack) and events (reactions, acked without a
listener) are sent sequentially and then with `--concurrency` in flight; the latency is from the
envelope leaving the fake to its ack arriving back, as Slack would measure it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from support import percentile, start_bot

from bot.sandbox.slack import FakeSlack


def resident_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def bot_side(log_path: str) -> None:
    """The bot's own view: from receiving an envelope to sending its ack, read from its log lines."""
    times: dict[str, list[float]] = {}
    with open(log_path) as log:
        for line in log:
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("message") == "envelope handled":
                    times.setdefault(record["envelope_type"], []).append(record["ack_ms"] / 1000)
    for kind, values in sorted(times.items()):
        print(
            f"{'inside the bot, ' + kind:<34} n={len(values):<5} p50={percentile(values, 0.5) * 1000:6.2f} ms"
            f"  p99={percentile(values, 0.99) * 1000:6.2f} ms  max={max(values) * 1000:6.2f} ms"
        )


def report(label: str, latencies: list[float], elapsed: float) -> None:
    ms = [value * 1000 for value in latencies]
    print(
        f"{label:<34} n={len(ms):<5} p50={percentile(ms, 0.50):6.2f} ms  p95={percentile(ms, 0.95):6.2f} ms"
        f"  p99={percentile(ms, 0.99):6.2f} ms  max={max(ms):6.2f} ms  mean={statistics.fmean(ms):6.2f} ms"
        f"  {len(ms) / elapsed:7.0f}/s"
    )


async def measure(
    send: Callable[[], Awaitable[float]], count: int, concurrency: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            latencies.append(await send())

    started = time.perf_counter()
    if concurrency == 1:
        for _ in range(count):
            await one()
    else:
        await asyncio.gather(*(one() for _ in range(count)))
    return latencies, time.perf_counter() - started


async def main(count: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as scratch, open(f"{scratch}/bot.log", "w") as log:
        async with FakeSlack(ack_timeout=3.0) as slack:
            bot = await start_bot(slack, scratch, log, LOG_FORMAT="json")
            user = slack.add_user("bench")
            channel = slack.add_channel("bench", members=[user, slack.bot_user_id])
            actor = slack.as_user(user)
            message = await actor.post_message(channel, "something broke")

            async def command() -> float:
                return (await actor.slash_command("/dispatch-help", channel=channel)).latency

            async def event() -> float:
                payload = slack.event_payload(
                    {
                        "type": "reaction_added",
                        "user": user,
                        "reaction": "eyes",
                        "event_ts": message.ts,
                        "item": {"type": "message", "channel": channel, "ts": message.ts},
                    }
                )
                delivery = await slack.deliver("events_api", payload)
                return (await delivery.acked(timeout=5)).latency

            for send in (command, event):  # warm-up: first auth.test, imports, caches
                for _ in range(20):
                    await send()

            print(f"bot process resident memory after warm-up: {resident_mib(bot.pid):.0f} MiB")
            print(
                f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
            )
            for name, send in (("slash command", command), ("event", event)):
                for inflight in (1, concurrency):
                    latencies, elapsed = await measure(send, count, inflight)
                    mode = "sequential" if inflight == 1 else f"{inflight} in flight"
                    report(f"{name} ack, {mode}", latencies, elapsed)
            bot.send_signal(signal.SIGTERM)
            await bot.wait()
        bot_side(log.name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.count, arguments.concurrency))
