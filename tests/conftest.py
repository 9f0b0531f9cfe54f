"""Test fixtures: fresh databases on SQLite and PostgreSQL for every storage and scenario test."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from bot.settings import Settings
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade
from tests.databases import MigratedTemplate, PostgresServer, find_postgres

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = find_postgres()
    if server is None:
        message = (
            "PostgreSQL is not reachable (set TEST_DATABASE_URL, start the local server, "
            "or install initdb/pg_ctl)"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> Iterator[MigratedTemplate]:
    template = MigratedTemplate(postgres_server)
    yield template
    template.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL to a database with no tables at all, on the backend under test."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"dispatch_bot_empty_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    yield url
    server.drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL to a fresh database migrated to head, on the backend under test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "bot.db"
        path.write_bytes(template.read_bytes())
        yield f"sqlite+aiosqlite:///{path}"
        return
    pg_template: MigratedTemplate = request.getfixturevalue("postgres_template")
    name, url = pg_template.clone()
    yield url
    pg_template.server.drop_database(name)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    return session_factory(engine)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack workspace; any Block Kit or payload violation the bot caused fails the test."""
    async with FakeSlack(ack_timeout=3.0) as fake:
        yield fake
        assert fake.violations == [], fake.violations
        assert fake.unknown_methods == [], fake.unknown_methods


def bot_settings(slack: FakeSlack, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": slack.bot_token,
        "slack_app_token": slack.app_token,
        "slack_api_url": slack.api_url,
        "database_url": database_url,
        "health_port": 0,
        "shutdown_grace_seconds": 5,
        # Jobs run when a test runs them: the wall clock never acts in the middle of a scenario.
        "scheduled_jobs": False,
        # The fake enforces no rate limit unless a test asks it to; the bot then paces to match.
        "slack_pace_scale": 0,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def running_bot(slack: FakeSlack, database_url: str, **overrides: Any) -> AsyncIterator[BotProcess]:
    """The real bot with these settings, started as `dispatch-bot run` starts it and connected to the
    fake workspace; stopped when the block ends."""
    process = BotProcess(bot_settings(slack, database_url, **overrides))
    await process.start()
    try:
        await slack.wait_connected()
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def bot(slack: FakeSlack, database_url: str) -> AsyncIterator[BotProcess]:
    """The real bot, started as `dispatch-bot run` starts it, connected to the fake workspace."""
    async with running_bot(slack, database_url) as process:
        yield process
