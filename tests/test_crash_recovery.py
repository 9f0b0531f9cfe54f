"""`kill -9` in the middle of the work: the restarted bot finishes it at once (a dead process's claims are
recognised by its silent heartbeat, not waited out), and nothing is done twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.sandbox.slack import FakeSlack
from tests.test_incident_report import report
from tests.test_incident_update import open_update_modal
from tests.test_process import cli, environment, free_port

# Far shorter than the two-minute lease an opening's steps are claimed for, far longer than a
# heartbeat's silence: a restart that waited for the lease would fail here.
PATIENCE = 20


async def run_bot(slack: FakeSlack, database_url: str, tmp_path: Path) -> asyncio.subprocess.Process:
    env = environment(slack, database_url, HEALTH_PORT=str(free_port()))
    process = await cli("run", env=env, cwd=tmp_path)
    await slack.wait_connected(timeout=30)
    return process


async def kill(process: asyncio.subprocess.Process) -> None:
    process.kill()  # SIGKILL: no shutdown, no chance to say anything
    await process.wait()
    await asyncio.sleep(0.1)


async def test_an_opening_cut_short_by_kill_9_is_finished_by_the_restarted_bot(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    ada = slack.add_user("ada")
    first = await run_bot(slack, database_url, tmp_path)
    second = None
    try:
        slack.faults.latency("conversations.invite", 60)  # the reporter never gets in before the kill
        await report(slack, ada, "Checkout is down")
        await slack.wait_for(lambda: slack.calls_to("conversations.invite"), timeout=15)
        await kill(first)
        slack.faults.clear()

        second = await run_bot(slack, database_url, tmp_path)
        channel = slack.channel_by_name("inc-1-checkout-is-down")
        assert channel is not None
        await slack.wait_for(lambda: ada in slack.channel(channel.id).members, timeout=PATIENCE)
        await slack.wait_for(lambda: slack.channel(channel.id).pins, timeout=PATIENCE)
        assert len([call for call in slack.calls_to("conversations.create") if call.ok]) == 1
        summaries = [m for m in slack.messages(channel.id) if m.ts in slack.channel(channel.id).pins]
        assert len(summaries) == 1
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                await kill(process)


async def test_a_close_cut_short_by_kill_9_is_finished_by_the_restarted_bot(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    ada = slack.add_user("ada")
    first = await run_bot(slack, database_url, tmp_path)
    second = None
    try:
        await report(slack, ada, "Checkout is down")
        await slack.wait_for(lambda: slack.channel_by_name("inc-1-checkout-is-down") is not None, timeout=15)
        channel = slack.channel_by_name("inc-1-checkout-is-down")
        assert channel is not None
        await slack.wait_for(lambda: ada in slack.channel(channel.id).members, timeout=15)
        slack.faults.latency("conversations.archive", 60)  # closed and saved, but never archived
        await open_update_modal(slack, ada, channel.id)
        await slack.as_user(ada).submit_view({"Status": "Closed", "Severity": "Low"})
        await slack.wait_for(lambda: slack.calls_to("conversations.archive"), timeout=15)
        await kill(first)
        slack.faults.clear()

        second = await run_bot(slack, database_url, tmp_path)
        await slack.wait_for(lambda: slack.channel(channel.id).is_archived, timeout=PATIENCE)
        await slack.wait_for(
            lambda: any("How did INC-1 go" in m.text for m in slack.dms_to(ada)), timeout=PATIENCE
        )
        closing = [m for m in slack.messages(channel.id) if "Active → Closed" in str(m.blocks)]
        assert len(closing) == 1  # posted before the kill, not again after it
        assert len([m for m in slack.dms_to(ada) if "How did INC-1 go" in m.text]) == 1
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                await kill(process)
