"""`dispatch-bot config validate|plan|apply|export`: the command-line face of configuration as code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.apply import Plan, apply, export, plan
from bot.config.loader import LoadResult, load_config
from bot.config.schema import WorkspaceConfig
from bot.settings import Settings, mask_url_password
from plugins.registry import Catalog
from storage.db import create_engine, is_sqlite, session_factory
from storage.migrate import is_at_head

T = TypeVar("T")

DATABASE_TIMEOUT = 15.0
EXPORT_HEADER = """\
# Exported by `dispatch-bot config export`. Apply it with `dispatch-bot config apply FILE`.
# Plugin credentials are not part of it: they come from the environment (PAGERDUTY_API_KEY...).
"""


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.find_object(Settings)
    return obj if obj is not None else Settings()


def _config_file(ctx: click.Context, file: Path | None) -> Path:
    if file is not None:
        return file
    configured = _settings(ctx).dispatch_config
    if configured is None:
        raise click.UsageError("Give the config FILE, or set DISPATCH_CONFIG to its path.")
    return configured


def _load_or_exit(ctx: click.Context, file: Path) -> tuple[LoadResult, WorkspaceConfig]:
    result = load_config(file)
    if result.config is None or result.errors:
        for line in result.rendered_errors():
            click.echo(line, err=True)
        count = len(result.errors)
        click.echo(f"✗ {result.source} has {count} error{'s' if count != 1 else ''}.", err=True)
        ctx.exit(1)
    assert result.config is not None  # ctx.exit raised otherwise; this narrows the type
    return result, result.config


def _with_database(ctx: click.Context, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one session on a migrated database, turning setup problems into one-line errors."""
    url = _settings(ctx).database_url
    shown = mask_url_password(url)
    if is_sqlite(url):
        database = make_url(url).database
        # Connecting would silently create an empty file where the user expected their database.
        if database and database != ":memory:" and not Path(database).exists():
            raise click.ClickException(
                f"There is no database at {shown}. Run `dispatch-bot db upgrade` to create it."
            )

    async def main() -> T:
        engine = create_engine(url)
        try:
            try:
                async with asyncio.timeout(DATABASE_TIMEOUT):
                    at_head = await is_at_head(engine)
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                raise click.ClickException(
                    f"Cannot reach the database at {shown}: {type(error).__name__}: {error}".splitlines()[0]
                ) from None
            if not at_head:
                raise click.ClickException(
                    f"The database at {shown} is not at the latest migration. Run `dispatch-bot db upgrade`."
                )
            async with session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def plugin_warnings(config: WorkspaceConfig, catalog: Catalog | None = None) -> list[str]:
    """Plugin choices this installation cannot serve: not installed, or not serving that role.

    Warnings, not errors: the file may be written for a machine with more plugins installed."""
    catalog = catalog or Catalog.discover()
    warnings = []
    for index, project in enumerate(config.projects):
        for role, choice in project.plugins.items():
            where = f"projects[{index}].plugins.{role}"
            spec = catalog.get(choice.plugin)
            if spec is None:
                serving = sorted(name for name, s in catalog.specs.items() if role in s.roles)
                hint = f" (installed for {role}: {', '.join(serving)})" if serving else ""
                warnings.append(f"{where}: plugin {choice.plugin!r} is not installed here{hint}")
            elif role not in spec.roles:
                warnings.append(
                    f"{where}: plugin {choice.plugin!r} serves {', '.join(spec.roles)}, not {role}"
                )
    return warnings


def _warn_about_plugins(config: WorkspaceConfig) -> None:
    for warning in plugin_warnings(config):
        click.echo(f"⚠ {warning}", err=True)


def _echo_plan(changes: Plan, done: str) -> None:
    if not changes:
        click.echo("Nothing to change.")
        return
    for line in changes.lines():
        click.echo(line)
    click.echo(done)


@click.group("config")
def config_group() -> None:
    """Validate, plan, apply and export the workspace configuration file."""


@config_group.command("validate")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.pass_context
def validate_command(ctx: click.Context, file: Path | None) -> None:
    """Check FILE and list every error with its line; no database needed."""
    result, config = _load_or_exit(ctx, _config_file(ctx, file))
    _warn_about_plugins(config)
    click.echo(f"✓ {result.source} is valid: {config.summary()}.")


@config_group.command("plan")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.pass_context
def plan_command(ctx: click.Context, file: Path | None) -> None:
    """Show what `config apply FILE` would change in the database."""
    result, config = _load_or_exit(ctx, _config_file(ctx, file))
    _warn_about_plugins(config)

    async def work(session: AsyncSession) -> Plan:
        return await plan(session, config)

    changes = _with_database(ctx, work)
    hint = f"Run `dispatch-bot config apply {result.source}` to make these changes."
    _echo_plan(changes, f"Plan: {changes.summary()}. {hint}")


@config_group.command("apply")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.pass_context
def apply_command(ctx: click.Context, file: Path | None) -> None:
    """Make the database match FILE; items no longer in FILE are disabled, never deleted."""
    _result, config = _load_or_exit(ctx, _config_file(ctx, file))
    _warn_about_plugins(config)

    async def work(session: AsyncSession) -> Plan:
        changes = await apply(session, config)
        await session.commit()
        return changes

    changes = _with_database(ctx, work)
    _echo_plan(changes, f"Applied: {changes.summary(applied=True)}.")


@config_group.command("export")
@click.pass_context
def export_command(ctx: click.Context) -> None:
    """Print the configuration in the database as a config file (YAML)."""
    data = _with_database(ctx, export)
    if not data["projects"]:
        click.echo("The database has no projects yet; run `dispatch-bot config apply FILE`.", err=True)
    click.echo(EXPORT_HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)
