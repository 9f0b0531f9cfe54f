"""Alembic driven from code: the `dispatch-bot db …` commands and the start-up migration check."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations
import storage.models as models

MIGRATIONS_DIR = Path(migrations.__file__).parent


class SchemaDrift(Exception):
    """The models and the migrations disagree; a new revision is needed."""


def alembic_config(database_url: str, stdout: TextIO | None = None) -> Config:
    config = Config(stdout=stdout) if stdout is not None else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    ruff = shutil.which("ruff")
    if ruff:  # a generated revision comes out formatted and without unused imports
        config.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
        for name, options in (("ruff_fix", "check --fix --quiet"), ("ruff_format", "format --quiet")):
            config.set_section_option("post_write_hooks", f"{name}.type", "exec")
            config.set_section_option("post_write_hooks", f"{name}.executable", ruff)
            config.set_section_option(
                "post_write_hooks", f"{name}.options", f"{options} REVISION_SCRIPT_FILENAME"
            )
    return config


@functools.cache
def head_revisions() -> frozenset[str]:
    """The latest revisions; read once, since the migration files cannot change under a running process."""
    return frozenset(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: set(MigrationContext.configure(sync).get_current_heads())
        )


async def is_at_head(engine: AsyncEngine) -> bool:
    return await current_revisions(engine) == head_revisions()


async def schema_drift(engine: AsyncEngine) -> list[str]:
    """Differences between the models and the database (which should be at head), one line each."""

    def compare(sync: sa.Connection) -> list[str]:
        context = MigrationContext.configure(sync, opts={"compare_type": True, "render_as_batch": True})
        return [repr(diff) for diff in compare_metadata(context, models.metadata)]

    async with engine.connect() as connection:
        return await connection.run_sync(compare)
