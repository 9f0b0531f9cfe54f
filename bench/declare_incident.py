"""Declaring an incident end to end, with every Slack Web API call taking `--latency` seconds.

    python bench/declare_incident.py [--latency 0.05] [--runs 20] [--concurrent 50]

From the moment the reporter's submission is acked, it measures when the reporter is in the new
channel ("channel ready") and when the incident is complete (channel, topic, pinned summary,
announcement, welcome, the announcement in a notification channel, the commander's DM). Times are
also given in round trips of `--latency`, next to what the same calls would take one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from support import cpu_seconds, percentile, start_bot

from bot.sandbox.slack import FakeSlack

POLL = 0.002


@dataclass
class Timing:
    channel_ready: float
    complete: float
    calls: int


@dataclass
class Pending:
    user: str
    slug: str
    started: float
    calls_before: int
    channel: str | None = None
    channel_ready: float | None = None
    done: asyncio.Future[Timing] | None = None


class Watcher:
    """One poller for every declaration in flight, so measuring stays cheap with many at once."""

    def __init__(self, slack: FakeSlack, announcements: str) -> None:
        self.slack = slack
        self.announcements = announcements
        self.pending: list[Pending] = []

    def watch(self, item: Pending) -> asyncio.Future[Timing]:
        item.done = asyncio.get_running_loop().create_future()
        self.pending.append(item)
        return item.done

    async def run(self) -> None:
        while True:
            await asyncio.sleep(POLL)
            if not self.pending:
                continue
            now = time.perf_counter()
            by_slug = {
                channel.name.split("-", 2)[-1]: channel.id
                for channel in self.slack.workspace.channels.values()
            }
            announced = " ".join(message.text for message in self.slack.messages(self.announcements))
            for item in list(self.pending):
                item.channel = item.channel or by_slug.get(item.slug)
                if item.channel is None:
                    continue
                if item.channel_ready is None and item.user in self.slack.members(item.channel):
                    item.channel_ready = now - item.started
                if item.channel_ready is not None and self._complete(item, announced):
                    self.pending.remove(item)
                    assert item.done is not None
                    calls = len(self.slack.calls) - item.calls_before
                    item.done.set_result(Timing(item.channel_ready, now - item.started, calls))

    def _complete(self, item: Pending, announced: str) -> bool:
        slack, channel = self.slack, item.channel
        assert channel is not None
        return bool(
            slack.channel(channel).topic
            and slack.pins(channel)
            and any("participant" in message.text for message in slack.messages(channel))
            and slack.ephemerals(channel, item.user)
            and item.slug.replace("-", " ") in announced
            and any("commander" in message.text for message in slack.dms_to(item.user))
        )


async def declare(slack: FakeSlack, watcher: Watcher, user: str, title: str) -> Timing:
    actor = slack.as_user(user)
    await actor.slash_command(f"/dispatch-report-incident {title}")
    while (slack.open_view_for(user) or {}).get("callback_id") != "incident_report":
        await asyncio.sleep(POLL)
    calls_before = len(slack.calls)
    interaction = await actor.submit_view({"Description": "Benchmark incident"})
    started = time.perf_counter() - interaction.latency  # when the submission left the fake
    slug = title.lower().replace(" ", "-")
    return await asyncio.wait_for(watcher.watch(Pending(user, slug, started, calls_before)), 120)


CONFIG = """\
projects:
  - name: default
    prefix: INC
    default: true
    priorities:
      - {name: Low, view_order: 1, tactical_report_reminder_hours: 12}
      - {name: High, view_order: 2, tactical_report_reminder_hours: 2, default: true}
    notifications:
      - {name: all, target: "#incidents"}
"""


def report(label: str, values: list[float], rtt: float) -> None:
    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
    print(
        f"{label:<34} p50 {p50 * 1000:6.0f} ms ({p50 / rtt:4.1f} round trips)"
        f"  p95 {p95 * 1000:6.0f} ms ({p95 / rtt:4.1f} round trips)  max {max(values) * 1000:6.0f} ms"
    )


async def main(latency: float, runs: int, concurrent: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        async with FakeSlack(ack_timeout=3.0) as slack:
            announcements = slack.add_channel("incidents", members=[slack.bot_user_id])
            config = Path(scratch) / "config.yaml"
            config.write_text(CONFIG)
            database = {"DATABASE_URL": database_url} if database_url else {}
            bot = await start_bot(
                slack, scratch, DISPATCH_CONFIG=str(config), LOG_LEVEL="WARNING", **database
            )
            watcher = Watcher(slack, announcements)
            watching = asyncio.create_task(watcher.run())
            slack.faults.latency("*", latency)
            print(
                f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
            )
            engine = "PostgreSQL" if database_url and database_url.startswith("postgres") else "SQLite"
            print(f"every Web API call answers after {latency * 1000:.0f} ms; {engine}")
            sequential: list[Timing] = []
            for run in range(runs):
                user = slack.add_user(f"seq{run}")
                sequential.append(await declare(slack, watcher, user, f"seq outage {run}"))
            report("channel ready, one at a time", [t.channel_ready for t in sequential], latency)
            report("incident complete, one at a time", [t.complete for t in sequential], latency)
            calls = sequential[0].calls
            print(
                f"Web API calls per incident after the submission: {calls}; "
                f"one after another they would take {calls * latency * 1000:.0f} ms"
            )

            users = [slack.add_user(f"par{index}") for index in range(concurrent)]
            bot_cpu, fake_cpu = cpu_seconds(bot.pid), time.process_time()
            started = time.perf_counter()
            timings = await asyncio.gather(
                *(declare(slack, watcher, user, f"par outage {index}") for index, user in enumerate(users))
            )
            elapsed = time.perf_counter() - started
            report(f"channel ready, {concurrent} at once", [t.channel_ready for t in timings], latency)
            report(f"incident complete, {concurrent} at once", [t.complete for t in timings], latency)
            print(
                f"{concurrent} incidents declared and complete in {elapsed:.2f} s; CPU used meanwhile: "
                f"bot {cpu_seconds(bot.pid) - bot_cpu:.2f} s, fake Slack and measuring "
                f"{time.process_time() - fake_cpu:.2f} s"
            )
            watching.cancel()
            slack.faults.clear()
            bot.send_signal(signal.SIGTERM)
            await bot.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.latency, arguments.runs, arguments.concurrent, arguments.database_url))
