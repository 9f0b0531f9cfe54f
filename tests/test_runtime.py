"""The running bot against a fake Slack workspace: connection, acks, health, metrics, start-up refusals."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import select

from bot.cli.manifest import build_manifest
from bot.runtime.app import CAPABILITIES
from bot.runtime.bot_context import BotContext
from bot.runtime.process import BotProcess, StartupError
from bot.sandbox.slack import FakeSlack
from bot.slack.listeners import CommandSpec, Registry
from storage.migrate import downgrade
from storage.models import IncidentPriority, Project
from tests.conftest import bot_settings


async def get(bot: BotProcess, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{bot.health.port}{path}") as response,
    ):
        return response.status, await response.text()


async def test_the_bot_connects_and_reports_ready(slack: FakeSlack, bot: BotProcess) -> None:
    assert slack.connected == 1
    assert [call.method for call in slack.calls[:2]] == ["auth.test", "apps.connections.open"]
    assert await get(bot, "/healthz") == (200, '{"status": "alive"}')
    status, body = await get(bot, "/readyz")
    assert status == 200, body
    assert '"socket": "ok"' in body and '"database": "ok"' in body and '"migrations": "ok"' in body


async def test_help_lists_the_commands_in_an_ephemeral_ack(slack: FakeSlack, bot: BotProcess) -> None:
    user = slack.add_user("alice")
    channel = slack.add_channel("general", members=[user])
    interaction = await slack.as_user(user).slash_command("/dispatch-help", channel=channel)
    assert interaction.ack is not None
    assert interaction.ack["response_type"] == "ephemeral"
    shown = str(interaction.ack["blocks"])
    assert "/dispatch-help" in shown and "List the commands" in shown
    assert len(interaction.delivery.attempts) == 1  # acked in time: no redelivery
    assert len(slack.calls_to("auth.test")) == 1  # requests reuse the start-up identity


async def test_an_event_no_listener_takes_is_acked_and_logged(
    slack: FakeSlack, bot: BotProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dispatch_bot.envelopes")
    user = slack.add_user("bob")
    channel = slack.add_channel("general", members=[user, slack.bot_user_id])
    message = await slack.as_user(user).post_message(channel, "hello")
    delivery = await slack.deliver(
        "events_api",
        slack.event_payload(
            {
                "type": "pin_added",
                "user": user,
                "item": {"type": "message", "channel": channel, "ts": message.ts},
                "event_ts": message.ts,
            }
        ),
    )
    await delivery.acked(timeout=2)
    assert len(delivery.attempts) == 1
    lines = [record for record in caplog.records if getattr(record, "event", None) == "pin_added"]
    assert lines and lines[-1].outcome == "unhandled"
    assert isinstance(lines[-1].ack_ms, float)


async def test_a_subscribed_event_is_acked_quietly(
    slack: FakeSlack, bot: BotProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    user = slack.add_user("bea")
    channel = slack.add_channel("general", members=[user, slack.bot_user_id])
    message = await slack.as_user(user).post_message(channel, "hello")
    await slack.as_user(user).add_reaction(channel, message.ts, "stopwatch")
    await slack.wait_for(
        lambda: any(getattr(r, "event", None) == "reaction_added" for r in caplog.records), timeout=3
    )
    handled = [r for r in caplog.records if getattr(r, "event", None) in {"reaction_added", "message"}]
    assert {r.outcome for r in handled} == {"ok"}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_every_manifest_command_is_answered_and_only_those(slack: FakeSlack, bot: BotProcess) -> None:
    manifest = build_manifest(bot.registry)
    listed = {entry["command"] for entry in manifest["features"]["slash_commands"]}
    assert listed == {command.name for command in bot.registry.commands}
    assert {"reaction_added", "member_joined_channel", "message.channels"} <= set(
        manifest["settings"]["event_subscriptions"]["bot_events"]
    )
    user = slack.add_user("carol")
    channel = slack.add_channel("ops", members=[user])
    for command in sorted(listed | {"/not-ours"}):
        await slack.as_user(user).slash_command(command, channel=channel)
    metrics = (await get(bot, "/metrics"))[1]
    handled = f'dispatch_bot_envelopes_handled_total{{outcome="ok",type="slash_commands"}} {len(listed)}.0'
    assert handled in metrics
    assert 'dispatch_bot_envelopes_handled_total{outcome="unhandled",type="slash_commands"} 1.0' in metrics
    assert "dispatch_bot_ack_latency_seconds_bucket" in metrics


async def test_renamed_commands_are_registered_and_listed_under_their_new_name(
    slack: FakeSlack, database_url: str
) -> None:
    settings = bot_settings(slack, database_url, slack_commands={"help": "/incident-help"})
    bot = BotProcess(settings)
    await bot.start()
    try:
        user = slack.add_user("dan")
        listed = [entry["command"] for entry in build_manifest(bot.registry)["features"]["slash_commands"]]
        assert "/incident-help" in listed and "/dispatch-help" not in listed
        interaction = await slack.as_user(user).slash_command("/incident-help")
        assert "/incident-help" in str(interaction.ack)
    finally:
        await bot.stop()


async def test_readyz_says_which_check_fails_when_the_socket_is_gone(
    slack: FakeSlack, bot: BotProcess
) -> None:
    assert bot.runner is not None
    await bot.runner.close()
    status, body = await get(bot, "/readyz")
    assert status == 503
    assert '"socket": "not connected to Slack"' in body
    assert '"database": "ok"' in body


async def test_the_bot_reconnects_when_slack_asks_it_to(slack: FakeSlack, bot: BotProcess) -> None:
    opened = len(slack.calls_to("apps.connections.open"))
    await slack.disconnect("refresh_requested")
    await slack.wait_for(lambda: len(slack.calls_to("apps.connections.open")) > opened, timeout=5)
    await slack.wait_connected(timeout=5)
    user = slack.add_user("erin")
    interaction = await slack.as_user(user).slash_command("/dispatch-help")
    assert interaction.ack is not None


async def test_shutdown_lets_background_work_finish(slack: FakeSlack, database_url: str) -> None:
    finished: list[str] = []
    slow = CommandSpec(key="slow", default_name="/slow", description="Acks, then works for a while.")

    def slow_capability(registry: Registry, ctx: BotContext) -> None:
        @registry.command(slow)
        async def run_slow(ack: Any, body: dict[str, Any]) -> None:
            await ack()

            async def work() -> None:
                await asyncio.sleep(0.3)
                await ctx.slack.chat_postMessage(channel=body["channel_id"], text="done")
                finished.append(body["user_id"])

            ctx.tasks.spawn(work(), name="slow-work")

    bot = BotProcess(bot_settings(slack, database_url), capabilities=[*CAPABILITIES, slow_capability])
    await bot.start()
    user = slack.add_user("fay")
    channel = slack.add_channel("ops", members=[user, slack.bot_user_id])
    interaction = await slack.as_user(user).slash_command("/slow", channel=channel)
    assert interaction.latency < 0.3  # acked before the work, not after it
    await bot.stop()
    assert finished == [user]
    assert [message.text for message in slack.messages(channel)][-1] == "done"
    assert slack.connected == 0


async def test_slack_rate_limits_and_server_errors_are_retried(slack: FakeSlack, bot: BotProcess) -> None:
    channel = slack.add_channel("ops", members=[slack.bot_user_id])
    slack.faults.rate_limit("chat.postMessage", times=1, retry_after=1)
    slack.faults.server_error("chat.postMessage", times=1, status=503)
    await bot.ctx.slack.chat_postMessage(channel=channel, text="still delivered")
    assert [message.text for message in slack.messages(channel)] == ["still delivered"]
    assert len(slack.calls_to("chat.postMessage")) == 3


async def test_a_token_slack_rejects_stops_the_start(slack: FakeSlack, database_url: str) -> None:
    bot = BotProcess(bot_settings(slack, database_url, slack_bot_token="xoxb-wrong"))
    with pytest.raises(StartupError, match=r"Slack rejected SLACK_BOT_TOKEN \(invalid_auth\)"):
        await bot.start()
    assert slack.calls_to("apps.connections.open") == []


async def test_an_app_token_slack_rejects_stops_the_start(slack: FakeSlack, database_url: str) -> None:
    bot = BotProcess(bot_settings(slack, database_url, slack_app_token="xapp-wrong"))
    with pytest.raises(StartupError, match="SLACK_APP_TOKEN"):
        await bot.start()
    assert slack.connected == 0


async def test_a_database_behind_on_migrations_is_refused_unless_migrate(
    slack: FakeSlack, database_url: str
) -> None:
    await asyncio.to_thread(downgrade, database_url, "base")
    with pytest.raises(StartupError, match="dispatch-bot db upgrade"):
        await BotProcess(bot_settings(slack, database_url)).start()
    assert slack.calls == []  # refused before talking to Slack

    bot = BotProcess(bot_settings(slack, database_url), migrate=True)
    await bot.start()
    try:
        assert (await get(bot, "/readyz"))[0] == 200
    finally:
        await bot.stop()


async def test_an_unreachable_database_is_named(slack: FakeSlack) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    with pytest.raises(StartupError, match="Cannot reach the database at postgresql"):
        await BotProcess(bot_settings(slack, url)).start()


def test_missing_tokens_are_refused_before_any_network_call(database_url: str) -> None:
    from bot.settings import Settings

    with pytest.raises(StartupError, match="Missing SLACK_APP_TOKEN"):
        BotProcess(Settings(slack_bot_token="xoxb-1", database_url=database_url, _env_file=None))


async def project_names(bot: BotProcess) -> list[str]:
    async with bot.ctx.sessions() as session:
        return sorted((await session.exec(select(Project.name))).all())


async def test_an_empty_database_gets_the_built_in_defaults(slack: FakeSlack, bot: BotProcess) -> None:
    assert await project_names(bot) == ["default"]
    async with bot.ctx.sessions() as session:
        priorities = (
            await session.exec(select(IncidentPriority).order_by(IncidentPriority.view_order))
        ).all()
    assert [(p.name, p.tactical_report_reminder_hours) for p in priorities] == [
        ("Low", 12),
        ("Medium", 6),
        ("High", 2),
    ]


async def test_an_empty_database_gets_the_configured_file(slack: FakeSlack, database_url: str) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "config.yaml"
    bot = BotProcess(bot_settings(slack, database_url, dispatch_config=example))
    await bot.start()
    try:
        assert await project_names(bot) == ["default", "security"]
    finally:
        await bot.stop()


async def test_an_invalid_config_file_stops_the_start_with_its_errors(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    broken = tmp_path / "config.yaml"
    broken.write_text("projects:\n  - name: default\n    prefix: INC\n    colour: blue\n")
    with pytest.raises(StartupError, match=r"config.yaml:4: projects\[0\].colour"):
        await BotProcess(bot_settings(slack, database_url, dispatch_config=broken)).start()


async def test_an_envelope_being_handled_at_shutdown_still_gets_its_ack(
    slack: FakeSlack, database_url: str
) -> None:
    slow = CommandSpec(key="slow_ack", default_name="/slow-ack", description="Thinks before it acks.")

    def slow_capability(registry: Registry, ctx: BotContext) -> None:
        @registry.command(slow)
        async def think_then_ack(ack: Any) -> None:
            await asyncio.sleep(0.5)
            await ack(text="done thinking")

    bot = BotProcess(bot_settings(slack, database_url), capabilities=[*CAPABILITIES, slow_capability])
    await bot.start()
    user = slack.add_user("gus")
    command = asyncio.create_task(slack.as_user(user).slash_command("/slow-ack"))
    await slack.wait_for(lambda: len(slack.envelopes) == 1, timeout=5)
    await bot.stop()
    interaction = await command
    assert interaction.ack == {"text": "done thinking"}
    assert len(interaction.delivery.attempts) == 1


async def test_plugins_are_built_at_start_up_not_on_the_first_request(
    slack: FakeSlack, bot: BotProcess, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with bot.ctx.sessions() as session, session.begin():
        project = (await session.exec(select(Project))).one()
        project.plugins = {"oncall": {"plugin": "pagerduty"}, "ticket": {"plugin": "builtin-ticket"}}
        session.add(project)
    restarted = BotProcess(bot_settings(slack, database_url))
    with caplog.at_level(logging.WARNING, logger="plugins.registry"):
        await restarted.start()
    try:
        # Before any request: the missing credential is in the start-up log, the ticket plugin is ready.
        assert any("no oncall plugin: PAGERDUTY_API_KEY is not set" in r.getMessage() for r in caplog.records)
        built = restarted.ctx.plugins_for(project)
        assert built.ticket is not None and "oncall" in built.problems
    finally:
        await restarted.stop()
