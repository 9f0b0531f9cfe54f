"""Declaring an incident with every plugin on, each vendor answering after its own latency.

    python bench/declare_with_plugins.py [--runs 5] [--slack 0.05] [--google 0.2] [--jira 0.3]
                                         [--pagerduty 0.15]

The bot runs as `dispatch-bot run` in its own process against the fake Slack, Google, Jira and
PagerDuty (all in this process). The project has a Drive folder, the incident document, the
participant groups, a Meet conference, a Jira ticket and a PagerDuty commander who is paged. Each
incident is complete when every resource is bookmarked, the groups exist and the page is sent.

It prints three figures: the time to a complete incident with everything on; the longest single
chain, measured as the slowest of the same incident with one resource at a time (each with the
PagerDuty commander, whose lookup every opening starts with, and the document with the folder it
is copied into); and the sum of every vendor call the
incident made, each at its latency, which is what making them one after another would take.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support import start_bot

from bot.sandbox.slack import FakeSlack
from tests.fakes.google import FakeGoogle
from tests.fakes.jira import FakeJira
from tests.fakes.pagerduty import FakePagerDuty

POLL = 0.005
# Plugin role → (the config line choosing it, the bookmark it leaves, or None when it leaves none).
ROLES: dict[str, tuple[str, str | None]] = {
    "storage": ("{plugin: google-drive, options: {shared_drive_id: drive-incidents}}", "Folder"),
    "document": ("{plugin: google-docs}", "Document"),
    "participant_group": ("{plugin: google-groups}", None),
    "conference": ("{plugin: google-calendar}", "Conference"),
    "ticket": ("{plugin: jira, options: {project_key: OPS}}", "Ticket"),
    "oncall": ("{plugin: pagerduty, options: {sleep_seconds: 0.001}}", None),
}
# What a role's resource cannot be made without (the document is copied into the folder).
NEEDS = {"document": ("storage",)}
CONFIG = """\
projects:
  - name: default
    prefix: INC
    default: true
    plugins:
{plugins}
    priorities:
      - {{name: High, view_order: 2, page_commander: true, default: true}}
    incident_types:
      - {{name: Outage, default: true, incident_template: Incident document template}}
    documents:
      - {{name: Incident document template, kind: incident_template, external_id: {template}}}
    services:
      - {{name: SRE primary, external_id: {service}}}
    role_policies:
      - {{name: SRE commander, role: Incident Commander, service: SRE primary}}
"""


def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class Vendors:
    """The fake vendors, with their latencies, and what they were asked."""

    def __init__(
        self, slack: FakeSlack, google: FakeGoogle, jira: FakeJira, pagerduty: FakePagerDuty
    ) -> None:
        self.slack, self.google, self.jira, self.pagerduty = slack, google, jira, pagerduty

    def calls(self) -> dict[str, int]:
        return {
            "slack": len(self.slack.calls),
            "google": len([c for c in self.google.calls if c.path != "/token"]),
            "jira": len(self.jira.requests),
            "pagerduty": len(self.pagerduty.requests),
        }


def complete(vendors: Vendors, channel: str, roles: list[str], name: str) -> bool:
    """Every resource the roles make is there: bookmarked, or (groups, page) found at the vendor."""
    titles = [bookmark["title"] for bookmark in vendors.slack.bookmarks(channel)]
    for role in roles:
        bookmark = ROLES[role][1]
        if bookmark is not None and not any(title.startswith(bookmark) for title in titles):
            return False
    if "participant_group" in roles and not any(
        g.get("name") == name for g in vendors.google.groups.values()
    ):
        return False
    return not ("oncall" in roles and not any(i.title.startswith(name) for i in vendors.pagerduty.incidents))


async def declare(vendors: Vendors, user: str, title: str, roles: list[str], number: int) -> float:
    slack = vendors.slack
    actor = slack.as_user(user)
    await actor.slash_command(f"/dispatch-report-incident {title}")
    while (slack.open_view_for(user) or {}).get("callback_id") != "incident_report":
        await asyncio.sleep(POLL)
    interaction = await actor.submit_view({"Description": "Benchmark incident"})
    started = time.perf_counter() - interaction.latency
    slug = title.lower().replace(" ", "-")
    deadline = started + 120
    while time.perf_counter() < deadline:
        channel = slack.channel_by_name(f"inc-{number}-{slug}")
        if channel is not None and complete(vendors, channel.id, roles, f"INC-{number}"):
            return time.perf_counter() - started
        await asyncio.sleep(POLL)
    raise TimeoutError(f"INC-{number} was not complete within 120 s")


async def measure(
    roles: list[str], runs: int, latency: dict[str, float], key: str
) -> tuple[list[float], dict[str, int]]:
    """Declare `runs` incidents with these plugin roles on, in a fresh bot; their times, and the
    vendor calls the last one made."""
    with tempfile.TemporaryDirectory() as scratch:
        async with (
            FakeSlack(ack_timeout=3.0) as slack,
            FakeGoogle() as google,
            FakeJira() as jira,
            FakePagerDuty() as pagerduty,
        ):
            google.drives["drive-incidents"] = {"id": "drive-incidents", "name": "Incidents"}
            template = google.add_document(
                "Incident template", "{{name}}: {{title}} — commander {{commander_fullname}}"
            )
            dana = slack.add_user("dana", email="dana@example.com")
            service = pagerduty.add_service(
                "SRE primary", on_call=[pagerduty.add_user("Dana", "dana@example.com")]
            )
            jira.add_user("dana@example.com")
            plugins = "\n".join(f"      {role}: {ROLES[role][0]}" for role in roles)
            config = Path(scratch) / "config.yaml"
            config.write_text(
                CONFIG.format(plugins=plugins or "      {}", template=template, service=service)
            )
            environment = {
                "DISPATCH_CONFIG": str(config),
                "LOG_LEVEL": "WARNING",
                "GOOGLE_DOMAIN": "example.com",
                "GOOGLE_SERVICE_ACCOUNT_CLIENT_EMAIL": "bot@bench.iam.gserviceaccount.com",
                "GOOGLE_SERVICE_ACCOUNT_DELEGATED_ACCOUNT": "dispatch@example.com",
                "GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY": key,
                "GOOGLE_API_URL": google.url,
                "GOOGLE_TOKEN_URI": google.token_uri,
                "JIRA_API_URL": jira.url,
                "JIRA_USERNAME": jira.username,
                "JIRA_API_TOKEN": jira.api_token,
                "PAGERDUTY_API_KEY": pagerduty.api_key,
                "PAGERDUTY_API_FROM_EMAIL": "dispatch@example.com",
                "PAGERDUTY_API_URL": pagerduty.url,
                "PLUGIN_TIMEOUT_SECONDS": "30",
            }
            bot = await start_bot(slack, scratch, **environment)
            vendors = Vendors(slack, google, jira, pagerduty)
            slack.faults.latency("*", latency["slack"])
            google.latency = latency["google"]
            jira.slow("*", "", latency["jira"])
            pagerduty.slow("*", "", latency["pagerduty"])
            times, calls = [], {}
            try:
                for run in range(runs):
                    user = slack.add_user(f"reporter{run}", email=f"reporter{run}@example.com")
                    before = vendors.calls()
                    times.append(await declare(vendors, user, f"outage {run}", roles, run + 1))
                    await asyncio.sleep(0.5)  # let the last steps' stragglers be counted with this one
                    calls = {vendor: count - before[vendor] for vendor, count in vendors.calls().items()}
            finally:
                slack.faults.clear()
                bot.send_signal(signal.SIGTERM)
                await bot.wait()
            assert dana  # the on-call commander
            return times, calls


async def main(runs: int, latency: dict[str, float]) -> None:
    key = private_key()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; SQLite"
    )
    print(
        "latencies: " + ", ".join(f"{vendor} {seconds * 1000:.0f} ms" for vendor, seconds in latency.items())
    )
    alone: dict[str, float] = {}
    for role in ROLES:
        roles = ["oncall", *NEEDS.get(role, ()), role] if role != "oncall" else ["oncall"]
        times, _ = await measure(roles, runs, latency, key)
        alone[role] = statistics.median(times)
        print(f"  {' + '.join(roles):<28} {alone[role] * 1000:6.0f} ms (median of {runs})")
    times, calls = await measure(list(ROLES), runs, latency, key)
    together = statistics.median(times)
    longest_role = max(alone, key=lambda role: alone[role])
    longest = alone[longest_role]
    sequential = sum(count * latency[vendor] for vendor, count in calls.items())
    print("vendor calls per incident: " + ", ".join(f"{vendor} {count}" for vendor, count in calls.items()))
    worst = max(times) * 1000
    print(f"everything on:          {together * 1000:6.0f} ms (median of {runs}; max {worst:.0f} ms)")
    print(f"longest single chain:   {longest * 1000:6.0f} ms ({longest_role})")
    print(f"every call in sequence: {sequential * 1000:6.0f} ms")
    print(f"everything on / longest chain = {together / longest:.2f} (target ≤ 1.3)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--slack", type=float, default=0.05)
    parser.add_argument("--google", type=float, default=0.2)
    parser.add_argument("--jira", type=float, default=0.3)
    parser.add_argument("--pagerduty", type=float, default=0.15)
    arguments = parser.parse_args()
    latencies: dict[str, Any] = {
        "slack": arguments.slack,
        "google": arguments.google,
        "jira": arguments.jira,
        "pagerduty": arguments.pagerduty,
    }
    asyncio.run(main(arguments.runs, latencies))
