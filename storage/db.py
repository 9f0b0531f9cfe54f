"""The async engine and session factory, one code path for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]

# How long a statement waits for a lock another transaction holds before it fails (a busy incident
# gets "try again" rather than a form that never answers).
LOCK_TIMEOUT_SECONDS = 30.0
# PostgreSQL ends a transaction left open and idle this long, releasing its locks: a task cancelled
# in the middle of one can leave its connection so. None of ours waits on anything but the database.
IDLE_IN_TRANSACTION_SECONDS = 120


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str, *, foreign_keys: bool = True, lock_timeout: float = LOCK_TIMEOUT_SECONDS, **kwargs: Any
) -> AsyncEngine:
    """An engine for `url`; a writer waits up to `lock_timeout` seconds for another's lock, then fails.

    On SQLite foreign keys are enforced. Migrations pass `foreign_keys=False`: SQLite's batch mode
    rebuilds a table by copying and dropping it, and with foreign keys on, that drop would cascade
    to every child row.
    """
    if is_sqlite(url):
        kwargs.setdefault("connect_args", {"timeout": lock_timeout})
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect if foreign_keys else _sqlite_wal)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault(
        "connect_args",
        {
            "server_settings": {
                "lock_timeout": f"{round(lock_timeout * 1000)}ms",
                "idle_in_transaction_session_timeout": f"{IDLE_IN_TRANSACTION_SECONDS}s",
            }
        },
    )
    return create_async_engine(url, **kwargs)


def is_lock_timeout(error: BaseException) -> bool:
    """Whether `error` is a statement giving up on a lock (PostgreSQL 55P03, SQLite's busy database)."""
    original = getattr(error, "orig", None)
    if original is None:
        return False
    if getattr(original, "sqlstate", None) == "55P03":  # lock_not_available
        return True
    return "database is locked" in str(original)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    _sqlite_wal(dbapi_connection, _record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
