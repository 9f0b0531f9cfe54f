"""`dispatch-bot sandbox`: start the embedded workspace and the bot, then replay a script or take lines
as a person types them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.sandbox.runner import Sandbox
from bot.sandbox.session import Line, Session, StepFailed
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
        if not text.strip() or text.strip() == "#" or text.strip().startswith("# "):
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
    for line in sys.stdin:
        if line.strip() in (":quit", ":exit"):
            break
        for item in await session.handle(line):
            out(item)
    return 0


async def run(options: Options, out: Output) -> int:
    """Start, do the script (or the lines of standard input), stop; the exit code."""
    async with Sandbox(options.prepared, options.database_url) as sandbox:
        for line in banner(sandbox, options):
            out(line)
        session = Session(sandbox, timeout=options.timeout, strict=options.script is not None)
        if options.script is not None:
            text = options.script.read_text(encoding="utf-8")
            return await replay(session, text.splitlines(), str(options.script), out)
        return await read_lines(session, out)
