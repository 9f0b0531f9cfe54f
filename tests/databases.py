"""Finds or starts the PostgreSQL used by tests and hands out fresh, migrated databases on both engines."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from storage.migrate import upgrade

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@dataclass
class PostgresServer:
    """An admin URL on a server where tests may create and drop databases."""

    admin_url: str
    cluster_dir: Path | None = None

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def _dsn(self) -> str:
        return make_url(self.admin_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def _execute(self, sql: str) -> None:
        connection = await asyncpg.connect(self._dsn())
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def create_database(self, name: str, template: str | None = None) -> str:
        clause = f" TEMPLATE {template}" if template else ""
        asyncio.run(self._execute(f'CREATE DATABASE "{name}"{clause}'))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        asyncio.run(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def stop(self) -> None:
        if self.cluster_dir is not None:
            subprocess.run(
                ["pg_ctl", "-D", str(self.cluster_dir / "data"), "-m", "immediate", "stop"],
                capture_output=True,
                check=False,
            )
            shutil.rmtree(self.cluster_dir, ignore_errors=True)


def _answers(url: str) -> bool:
    async def probe() -> None:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except Exception:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_throwaway_cluster() -> PostgresServer | None:
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        return None
    root = Path(tempfile.mkdtemp(prefix="dispatch-bot-pg-"))
    port = _free_port()
    user_args = ["-U", "postgres"]
    try:
        subprocess.run(
            ["initdb", "-D", str(root / "data"), "-A", "trust", *user_args], capture_output=True, check=True
        )
        subprocess.run(
            [
                "pg_ctl",
                "-D",
                str(root / "data"),
                "-l",
                str(root / "log"),
                "-w",
                "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
                "start",
            ],
            capture_output=True,
            check=True,
        )
    except (subprocess.CalledProcessError, OSError):
        shutil.rmtree(root, ignore_errors=True)
        return None
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _answers(url):
        time.sleep(0.2)
    return PostgresServer(url, cluster_dir=root)


def find_postgres() -> PostgresServer | None:
    """TEST_DATABASE_URL, else the local server on 127.0.0.1:5432, else a throwaway cluster."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return PostgresServer(explicit) if _answers(explicit) else None
    if _answers(LOCAL_POSTGRES):
        return PostgresServer(LOCAL_POSTGRES)
    return _start_throwaway_cluster()


class MigratedTemplate:
    """One PostgreSQL database migrated to head per test session, cloned for each test."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.name = f"dispatch_bot_template_{uuid.uuid4().hex[:8]}"
        url = server.create_database(self.name)
        upgrade(url)

    def clone(self) -> tuple[str, str]:
        name = f"dispatch_bot_test_{uuid.uuid4().hex[:12]}"
        return name, self.server.create_database(name, template=self.name)

    def close(self) -> None:
        self.server.drop_database(self.name)
