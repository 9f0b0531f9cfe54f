"""The `dispatch-bot` command line: run the bot, manage the database and config, print the manifest."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from typing import Any

import click
import yaml
from alembic import command as alembic_command
from pydantic import ValidationError
from pydantic_settings import SettingsError

from bot.cli.config import config_group
from bot.cli.plugins import plugins_group
from bot.cli.sandbox import sandbox
from bot.cli.scheduler import scheduler_group
from bot.settings import Settings
from storage.db import create_engine
from storage.migrate import alembic_config, downgrade, schema_drift, upgrade

EXIT_STARTUP = 2


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"]).upper()
            click.echo(f"Invalid setting {field}: {problem['msg']}", err=True)
        sys.exit(EXIT_STARTUP)
    except SettingsError as error:  # e.g. SLACK_COMMANDS that is not JSON
        click.echo(f"Invalid setting: {error}", err=True)
        sys.exit(EXIT_STARTUP)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """dispatch-bot: incident response in Slack."""
    ctx.obj = load_settings()


@main.command()
@click.option("--migrate", is_flag=True, help="Upgrade the database to the latest migration first.")
@click.pass_obj
def run(settings: Settings, migrate: bool) -> None:
    """Run the bot: Socket Mode, scheduler and health server, until SIGTERM or Ctrl-C."""
    from bot.runtime.logs import configure_logging
    from bot.runtime.process import StartupError, run_until_signalled

    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(run_until_signalled(settings, migrate))
    except StartupError as error:
        click.echo(f"dispatch-bot cannot start: {error}", err=True)
        sys.exit(EXIT_STARTUP)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.pass_obj
def manifest(settings: Settings, fmt: str) -> None:
    """Print the Slack app manifest (paste it into "Create an app → From a manifest")."""
    from bot.cli.manifest import build_manifest
    from bot.runtime.app import build_registry
    from bot.runtime.bot_context import BotContext

    ctx = BotContext.from_settings(settings)
    document = build_manifest(build_registry(ctx))
    if fmt == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)


@main.command("settings")
@click.pass_obj
def show_settings(settings: Settings) -> None:
    """Print the effective settings, secrets masked."""
    for name, value in settings.masked().items():
        click.echo(f"{name}={value}")


@main.command()
@click.pass_obj
def doctor(settings: Settings) -> None:
    """Check the database, the migrations and the Slack tokens; exit 1 if anything is wrong."""
    from bot.cli.doctor import run_checks

    results = asyncio.run(run_checks(settings))
    for check in results:
        click.echo(f"{'✓' if check.ok else '✗'} {check.name}: {check.detail}")
    if not all(check.ok for check in results):
        sys.exit(1)


@main.group()
def db() -> None:
    """Database migrations (alembic)."""


def _alembic(settings: Settings) -> Any:
    return alembic_config(settings.database_url, stdout=_ClickStream())


class _ClickStream(io.StringIO):
    """Alembic prints through this so its output goes wherever click's does (tests capture it)."""

    def write(self, text: str) -> int:
        click.echo(text, nl=False)
        return len(text)


def _database_error(error: Exception) -> None:
    click.echo(f"Database error: {type(error).__name__}: {error}", err=True)
    sys.exit(1)


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_obj
def db_upgrade(settings: Settings, revision: str) -> None:
    """Upgrade to REVISION (default: head)."""
    try:
        upgrade(settings.database_url, revision)
    except Exception as error:
        _database_error(error)
    click.echo(f"Database at {revision}.")


@db.command("downgrade")
@click.argument("revision")
@click.pass_obj
def db_downgrade(settings: Settings, revision: str) -> None:
    """Downgrade to REVISION (`base` removes every table)."""
    try:
        downgrade(settings.database_url, revision)
    except Exception as error:
        _database_error(error)
    click.echo(f"Database at {revision}.")


@db.command("current")
@click.pass_obj
def db_current(settings: Settings) -> None:
    """Show the revision the database is at."""
    try:
        alembic_command.current(_alembic(settings), verbose=False)
    except Exception as error:
        _database_error(error)


@db.command("history")
@click.pass_obj
def db_history(settings: Settings) -> None:
    """List the migrations."""
    alembic_command.history(_alembic(settings))


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--autogenerate", is_flag=True, help="Compare the models with the database (at head).")
@click.pass_obj
def db_revision(settings: Settings, message: str, autogenerate: bool) -> None:
    """Create a new migration file in migrations/versions."""
    try:
        alembic_command.revision(_alembic(settings), message=message, autogenerate=autogenerate)
    except Exception as error:
        _database_error(error)


@db.command("check")
@click.pass_obj
def db_check(settings: Settings) -> None:
    """Fail if the models and the migrations disagree (run on a database at head)."""

    async def differences() -> list[str] | None:
        from storage.migrate import is_at_head

        engine = create_engine(settings.database_url)
        try:
            if not await is_at_head(engine):
                return None
            return await schema_drift(engine)
        finally:
            await engine.dispose()

    try:
        drift = asyncio.run(differences())
    except Exception as error:
        _database_error(error)
    if drift is None:
        click.echo("The database is not at head: run `dispatch-bot db upgrade` first.", err=True)
        sys.exit(1)
    if drift:
        click.echo("The models and the migrations differ; generate a revision:", err=True)
        for line in drift:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    click.echo("No drift: the models match the migrations.")


main.add_command(config_group)
main.add_command(scheduler_group)
main.add_command(plugins_group)
main.add_command(sandbox)
