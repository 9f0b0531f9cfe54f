"""`dispatch-bot run` and `dispatch-bot doctor` as real processes against the fake workspace."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from bot.sandbox.slack import FakeSlack
from storage.migrate import downgrade

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(slack: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "DATABASE_"))}
    env.update(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_APP_TOKEN=slack.app_token,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=database_url,
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


async def cli(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_serves_commands_and_exits_cleanly_on_sigterm(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = environment(slack, database_url, HEALTH_PORT=str(port), LOG_FORMAT="json")
    process = await cli("run", env=env, cwd=tmp_path)
    try:
        await slack.wait_connected(timeout=30)
        user = slack.add_user("alice")
        interaction = await slack.as_user(user).slash_command("/dispatch-help")
        assert "/dispatch-help" in str(interaction.ack)
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/readyz") as response,
        ):
            assert response.status == 200, await response.text()
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    records = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    handled = [
        r for r in records if r["message"] == "envelope handled" and r.get("command") == "/dispatch-help"
    ]
    assert len(handled) == 1
    assert handled[0]["outcome"] == "ok" and handled[0]["ack_ms"] >= 0 and handled[0]["total_ms"] >= 0
    assert any(r["message"] == "shutting down" for r in records)
    assert slack.connected == 0


async def test_run_with_a_database_behind_exits_2_with_the_command_to_run(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(downgrade, database_url, "base")
    process = await cli("run", env=environment(slack, database_url), cwd=tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert "dispatch-bot db upgrade" in stderr.decode()
    assert slack.calls == []


async def test_doctor_ticks_every_check_on_a_healthy_set_up(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    process = await cli("doctor", env=environment(slack, database_url), cwd=tmp_path)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    output = stdout.decode()
    assert process.returncode == 0, output + stderr.decode()
    for check in ("database", "migrations", "bot token", "app token"):
        assert f"✓ {check}:" in output


async def test_doctor_names_what_is_wrong(slack: FakeSlack, database_url: str, tmp_path: Path) -> None:
    await asyncio.to_thread(downgrade, database_url, "base")
    env = environment(slack, database_url, SLACK_BOT_TOKEN="xoxb-revoked")
    process = await cli("doctor", env=env, cwd=tmp_path)
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    output = stdout.decode()
    assert process.returncode == 1
    assert "✗ migrations:" in output and "dispatch-bot db upgrade" in output
    assert "✗ bot token: Slack rejected it: invalid_auth" in output
    assert "✓ app token:" in output


async def test_doctor_names_the_scopes_the_installation_lacks(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    slack.bot_scopes = ["commands", "chat:write"]
    process = await cli("doctor", env=environment(slack, database_url), cwd=tmp_path)
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    output = stdout.decode()
    assert process.returncode == 1
    scopes_line = next(line for line in output.splitlines() if line.startswith("✗ scopes:"))
    assert "channels:manage" in scopes_line and "reinstall the app" in scopes_line
    assert "chat:write," not in scopes_line  # granted ones are not listed as missing
