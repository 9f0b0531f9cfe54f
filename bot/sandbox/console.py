"""`dispatch-bot sandbox`: start the embedded workspace and the bot, then replay a script, or take lines
as a person types them (at a terminal, or through a pipe)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.sandbox.commands import StepFailed, is_blank
from bot.sandbox.news import Line
from bot.sandbox.runner import Sandbox
from bot.sandbox.session import Session
from bot.sandbox.setup import PEOPLE, Prepared
from bot.settings import mask_url_password

Output = Callable[[Line], None]


@dataclass(frozen=True)
class Options:
    prepared: Prepared
    database_url: str | None = None
    script: Path | None = None
    timeout: float = 10.0


def banner(sandbox: Sandbox, options: Options) -> list[Line]:
    people = ", ".join(f"{p.name} ({p.tz})" for p in PEOPLE)
    targets = {
        target.target
        for project in options.prepared.config.projects
        for target in project.notifications
        if target.kind == "conversation"
    }
    channels = ", ".join(
        f"#{name}" + (" (notification target)" if name in targets else "")
        for name in ["general", *options.prepared.channels]
    )
    database = (
        mask_url_password(options.database_url)
        if options.database_url
        else "a temporary SQLite file, removed when the sandbox stops"
    )
    health = sandbox.bot.health.port
    lines = [
        f"Sandbox: the bot against an embedded Slack workspace on {sandbox.fake.base_url} "
        "(nothing leaves this machine)",
        f"  people: {people}",
        f"  channels: {channels}",
        f"  database: {database}",
        f"  health: http://127.0.0.1:{health}/healthz",
        *(f"  note: {note}" for note in options.prepared.notes),
    ]
    if options.script is None:
        lines.append("Type :help for what you can do here, /dispatch-help for the bot's commands.")
    return [Line("notice", line) for line in lines]


async def replay(session: Session, lines: Iterable[str], source: str, out: Output) -> int:
    """Run each line as a step, printing it and what follows; 1 at the first step that fails."""
    for number, line in enumerate(lines, 1):
        text = line.rstrip("\n")
        if is_blank(text):
            continue
        out(session.echo(text.strip()))
        try:
            shown = await session.handle(text)
        except StepFailed as failure:
            out(Line("error", f"{source}:{number}: {failure}"))
            return 1
        for item in shown:
            out(item)
    return 0


async def read_lines(session: Session, out: Output) -> int:
    """Lines from a pipe, each done as typed; a failing one is shown and the next one is read."""
    while True:
        # Read off the loop, so that the bot and its scheduler go on while nothing is typed.
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line or line.strip() in (":quit", ":exit"):
            return 0
        for item in await session.handle(line):
            out(item)


async def run(
    options: Options, out: Output, *, interactive: Callable[[Session, list[Line]], Any] | None = None
) -> int:
    """Start, then replay the script, or hand the session to `interactive` (a terminal), or do the lines
    of standard input; stop; the exit code."""
    async with Sandbox(options.prepared, options.database_url) as sandbox:
        session = Session(sandbox, timeout=options.timeout, strict=options.script is not None)
        if options.script is None and interactive is not None:
            return int(await interactive(session, banner(sandbox, options)))
        for line in banner(sandbox, options):
            out(line)
        if options.script is not None:
            text = options.script.read_text(encoding="utf-8")
            return await replay(session, text.splitlines(), str(options.script), out)
        return await read_lines(session, out)
