"""The interactive sandbox: `alice@#general>` at the terminal, with what reaches the person shown as it
arrives, even while they type (prompt_toolkit keeps the line being typed below it; rich colours it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from prompt_toolkit import PromptSession
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout
from rich.console import Console
from rich.text import Text

from bot.sandbox.news import Line
from bot.sandbox.session import Session

STYLES = {
    "you": "dim",
    "message": "",
    "dm": "cyan",
    "ephemeral": "italic bright_black",
    "modal": "magenta",
    "notice": "yellow",
    "error": "bold red",
}
# How often the terminal looks for what arrived on its own (a reminder, a job's message, a slow
# answer): for the person watching, not for correctness.
WATCH_EVERY = 0.25


def printer(console: Console) -> Callable[[Line], None]:
    def show(line: Line) -> None:
        console.print(Text(line.text, style=STYLES.get(line.kind, "")), soft_wrap=True, highlight=False)

    return show


async def interact(session: Session, banner: list[Line], reconfigure_logs: Callable[[], None]) -> int:
    """Read lines until :quit or Ctrl-D; Ctrl-C drops the line being typed."""
    prompt: PromptSession[str] = PromptSession(history=InMemoryHistory())
    busy = asyncio.Event()
    with patch_stdout(raw=True):
        # Logs and the console write through prompt_toolkit's proxies, above the line being typed.
        reconfigure_logs()
        show = printer(Console(highlight=False))
        for line in banner:
            show(line)

        async def watch() -> None:
            while True:
                await asyncio.sleep(WATCH_EVERY)
                if busy.is_set() or session.sandbox.busy():
                    continue
                arrived = session.news()
                for line in arrived:
                    show(line)
                if arrived and prompt.app.is_running:
                    prompt.app.invalidate()  # the prompt may now ask a form's first field

        watcher = asyncio.create_task(watch())
        try:
            while True:
                try:
                    text = await prompt.prompt_async(session.prompt)
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                if text.strip() in (":quit", ":exit"):
                    break
                busy.set()
                try:
                    for line in await session.handle(text):
                        show(line)
                finally:
                    busy.clear()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    return 0
