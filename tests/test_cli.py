"""The ops CLI as an operator uses it: settings, start-up refusals, `db` commands on both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bot.cli.main import main
from storage.db import create_engine


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No `.env` or SLACK_* from the developer's shell may leak into what the CLI sees."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL", "DATABASE_URL", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_settings_are_printed_with_secrets_masked() -> None:
    code, output = invoke(
        "settings",
        env={
            "SLACK_BOT_TOKEN": "xoxb-very-secret",
            "SLACK_APP_TOKEN": "xapp-very-secret",
            "DATABASE_URL": "postgresql+asyncpg://bot:hunter2@db.internal/dispatch",
        },
    )
    assert code == 0
    assert "very-secret" not in output and "hunter2" not in output
    assert "SLACK_BOT_TOKEN=********" in output
    assert "DATABASE_URL=postgresql+asyncpg://bot:***@db.internal/dispatch" in output


def test_run_without_tokens_says_which_are_missing_and_exits_2() -> None:
    code, output = invoke("run")
    assert code == 2
    assert "Missing SLACK_BOT_TOKEN and SLACK_APP_TOKEN" in output


def test_an_invalid_setting_is_named_and_exits_2() -> None:
    code, output = invoke("settings", env={"LOG_FORMAT": "xml"})
    assert code == 2
    assert "Invalid setting LOG_FORMAT" in output


def test_db_commands_walk_the_migrations(empty_database_url: str) -> None:
    env = {"DATABASE_URL": empty_database_url}
    code, output = invoke("db", "check", env=env)
    assert code == 1 and "not at head" in output

    assert invoke("db", "upgrade", env=env)[0] == 0
    code, output = invoke("db", "current", env=env)
    assert code == 0 and "(head)" in output
    code, output = invoke("db", "check", env=env)
    assert code == 0 and "No drift" in output

    code, output = invoke("db", "history", env=env)
    assert code == 0 and "initial schema" in output

    assert invoke("db", "downgrade", "base", env=env)[0] == 0
    code, output = invoke("db", "current", env=env)
    assert code == 0 and "(head)" not in output


def test_db_check_fails_when_the_database_differs_from_the_models(database_url: str) -> None:
    async def add_rogue_table() -> None:
        engine = create_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(sa.text("CREATE TABLE rogue (id INTEGER PRIMARY KEY)"))
        await engine.dispose()

    asyncio.run(add_rogue_table())
    code, output = invoke("db", "check", env={"DATABASE_URL": database_url})
    assert code == 1
    assert "rogue" in output


def test_db_upgrade_reports_an_unreachable_database() -> None:
    code, output = invoke("db", "upgrade", env={"DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/x"})
    assert code == 1
    assert "Database error" in output


def test_pasted_database_urls_get_the_async_driver_and_query_passwords_are_hidden() -> None:
    code, output = invoke("settings", env={"DATABASE_URL": "postgres://bot@db/dispatch?password=hunter2"})
    assert code == 0
    assert "DATABASE_URL=postgresql+asyncpg://bot@db/dispatch?password=%2A%2A%2A" in output
    assert "hunter2" not in output
    code, output = invoke("settings", env={"DATABASE_URL": "mysql://bot@db/dispatch"})
    assert code == 2 and "Invalid setting DATABASE_URL" in output


def test_a_malformed_json_setting_is_one_line_not_a_traceback() -> None:
    code, output = invoke("settings", env={"SLACK_COMMANDS": "{not json"})
    assert code == 2
    assert "Invalid setting" in output and "Traceback" not in output
