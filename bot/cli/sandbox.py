"""`dispatch-bot sandbox`: try the bot with no Slack workspace, against an embedded one."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.sandbox.news import Line
    from bot.sandbox.session import Session

EXIT_STARTUP = 2


def _echo(line: object) -> None:
    click.echo(getattr(line, "text", line), err=getattr(line, "kind", "") == "error")


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A workspace config file to try (validated first); default: the built-in one.",
)
@click.option("--database-url", help="Keep the state in this database instead of a temporary SQLite file.")
@click.option(
    "--script",
    "script_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay these lines and print the transcript; exit 1 at the first step that fails.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.5),
    default=10.0,
    show_default=True,
    help="Seconds a step may take before it counts as unanswered.",
)
@click.pass_obj
def sandbox(
    settings: Settings,
    config_file: Path | None,
    database_url: str | None,
    script_file: Path | None,
    timeout: float,
) -> None:
    """Try the bot with no Slack workspace: the real bot against an embedded one, in this terminal.

    alice, bob, carol and dave (in four time zones), #general and #incidents are there; no token is
    needed and nothing leaves this machine.
    """
    from bot.config.loader import load_config
    from bot.runtime.logs import configure_logging
    from bot.runtime.process import StartupError
    from bot.sandbox.console import Options, run
    from bot.sandbox.setup import prepare_config

    config = None
    if config_file is not None:
        loaded = load_config(config_file)
        if not loaded.ok:
            for problem in loaded.rendered_errors():
                click.echo(problem, err=True)
            sys.exit(1)
        config = loaded.config
    if database_url is not None:
        try:
            database_url = Settings(database_url=database_url, _env_file=None).database_url
        except ValidationError as error:
            click.echo(f"Invalid --database-url: {error.errors()[0]['msg']}", err=True)
            sys.exit(EXIT_STARTUP)

    def logs() -> None:
        configure_logging("WARNING", settings.log_format)

    logs()
    options = Options(prepare_config(config), database_url, script_file, timeout)
    interactive: Callable[[Session, list[Line]], Awaitable[int]] | None = None
    if script_file is None and sys.stdin.isatty() and sys.stdout.isatty():
        from bot.sandbox.prompt import interact

        interactive = functools.partial(interact, reconfigure_logs=logs)

    try:
        code = asyncio.run(run(options, _echo, interactive=interactive))
    except StartupError as error:
        click.echo(f"dispatch-bot sandbox cannot start: {error}", err=True)
        sys.exit(EXIT_STARTUP)
    sys.exit(code)
