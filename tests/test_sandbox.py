"""`dispatch-bot sandbox`: the real bot against the embedded workspace, used as a newcomer would."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from bot.sandbox.console import replay
from bot.sandbox.runner import Sandbox
from bot.sandbox.session import Session
from bot.sandbox.setup import PEOPLE, prepare_config
from storage.db import create_engine, session_factory
from storage.models import Incident
from tests.conftest import IN_CI

REPO = Path(__file__).resolve().parent.parent


def clean_environment() -> dict[str, str]:
    """The environment of someone who has never set the bot up: no token, no database, no config."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DATABASE_", "DISPATCH_", "HEALTH_"))
    }
    env["PYTHONPATH"] = str(REPO)
    return env


async def sandbox_cli(*args: str, stdin: str = "", cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        *args,
        env=clean_environment(),
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_the_sandbox_needs_no_token_and_answers_lines_as_typed(tmp_path: Path) -> None:
    code, out, err = await sandbox_cli(stdin=":people\n/dispatch-help\n:goto #nowhere\n:quit\n", cwd=tmp_path)
    assert code == 0, out + err
    assert "SLACK_BOT_TOKEN" not in out + err
    assert "#general, #incidents (notification target)" in out
    for person in PEOPLE:
        assert person.name in out and person.tz in out
    # /dispatch-help is answered by the bot itself, as an ephemeral in #general.
    assert "#general (only you) dispatch-bot:" in out and "/dispatch-report-incident" in out
    # A line that cannot be done says why, and the sandbox carries on to the next one.
    assert "✗ no channel #nowhere; there are #general, #incidents" in err
    assert "health: http://127.0.0.1:" in out
    assert list(tmp_path.iterdir()) == [], "the sandbox left files behind"


async def test_a_sandbox_is_the_bot_as_run_starts_it(tmp_path: Path) -> None:
    async with Sandbox(prepare_config(None)) as sandbox:
        bot = sandbox.bot
        assert bot.scheduler is not None and bot.scheduler._scheduler.running
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{bot.health.port}/readyz") as ready,
        ):
            assert ready.status == 200
        offsets = {sandbox.fake.user(uid).tz_offset for uid in sandbox.people.values()}
        assert len(offsets) == len(PEOPLE), "everyone is in a time zone of their own"

        session = Session(sandbox, strict=True)
        await session.handle("/dispatch-report-incident Checkout is down")
        shown = await session.handle("Description: Checkout returns 500.")
        assert shown == []
        shown = await session.handle(":submit")
        texts = "\n".join(line.text for line in shown)
        # The default sandbox config makes #incidents a notification target.
        assert "#incidents [1] dispatch-bot: 🚨 New incident INC-1" in texts
        assert "#inc-1-checkout-is-down topic: IC: alice | Active" in texts


async def test_a_config_is_validated_first_with_the_line_of_each_error(tmp_path: Path) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text("projects:\n  - name: Payments\n    prefix: pay ments\n")
    code, out, err = await sandbox_cli("--config", str(config), cwd=tmp_path)
    assert code == 1
    assert f"{config}:3: projects[0].prefix:" in err
    assert "Sandbox:" not in out


async def test_an_operators_config_is_tried_with_its_channels_and_without_its_vendors(tmp_path: Path) -> None:
    config = tmp_path / "payments.yaml"
    config.write_text(
        """\
projects:
  - name: Payments
    prefix: PAY
    default: true
    plugins:
      oncall: {plugin: pagerduty}
      ticket: {plugin: builtin-ticket}
    notifications:
      - name: payments-team
        target: "#payments-oncall"
"""
    )
    database = tmp_path / "kept.db"
    lines = "/dispatch-report-incident Card payments fail\nDescription: Every card is declined.\n:submit\n"
    code, out, err = await sandbox_cli(
        "--config", str(config), "--database-url", f"sqlite:///{database}", stdin=lines, cwd=tmp_path
    )
    assert code == 0, out + err
    assert "the oncall plugin 'pagerduty' is off in the sandbox" in out
    assert "#general, #incidents, #payments-oncall (notification target)" in out
    assert "#payments-oncall [1] dispatch-bot: 🚨 New incident PAY-1" in out

    # --database-url keeps the state where it was told, after the sandbox is gone.
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with session_factory(engine)() as session:
            incidents = (await session.exec(select(Incident))).all()
    finally:
        await engine.dispose()
    assert [(i.name, i.title) for i in incidents] == [("PAY-1", "Card payments fail")]


async def test_the_shipped_script_shows_a_first_incident_from_report_to_feedback(tmp_path: Path) -> None:
    script = REPO / "examples" / "sandbox" / "first-incident.txt"
    code, out, err = await sandbox_cli("--script", str(script), cwd=tmp_path)
    assert code == 0, out + err
    seen = [
        # alice reports; the channel opens with its summary, topic and pin, announced in #incidents.
        "alice@#general> /dispatch-report-incident Checkout is down",
        "#inc-1-checkout-is-down [1] dispatch-bot: INC-1: Checkout is down",
        "#incidents [1] dispatch-bot: 🚨 New incident INC-1",
        "#inc-1-checkout-is-down topic: IC: alice | Active",
        "📌 #inc-1-checkout-is-down: message 1 pinned",
        "│ INC-1 is open: join the response in #inc-1-checkout-is-down.",
        # bob and carol join from the announcement's button and write in the channel.
        "bob@#incidents> :click Join",
        "#incidents (only you) dispatch-bot: You are in: #inc-1-checkout-is-down.",
        "#inc-1-checkout-is-down [4] bob: The 14:00 deploy changed the payment client config",
        "#inc-1-checkout-is-down [5] carol: Support is telling customers we are on it.",
        "#incidents (only you) dispatch-bot: You will get a direct message for every update of INC-1.",
        # A :stopwatch: on bob's message, then stable.
        "#inc-1-checkout-is-down [4] +:stopwatch:",
        "• 🛡️ Status: Active → Stable",
        "#inc-1-checkout-is-down topic: IC: alice | Stable",
        "#inc-1-checkout-is-down [7] dispatch-bot: 📋 Tactical report · INC-1",
        # The timeline has the moment bob's message marked.
        "💬  @bob: The 14:00 deploy changed the payment client config; rolling it back.",
        # Closed: archived, and everyone who took part is asked for feedback by DM.
        "• ✅ Status: Stable → Closed",
        "🗄 #inc-1-checkout-is-down is archived",
        "dispatch-bot: INC-1 is closed. Thanks for your part in Checkout is down.",
        "│ Thank you: your feedback is saved.",
    ]
    position = 0
    for expected in seen:
        found = out.find(expected, position)
        assert found >= 0, f"not in the transcript after position {position}: {expected!r}\n{out}"
        position = found
    assert out.count("│ Thank you: your feedback is saved.") == 2  # alice's and bob's
    assert "DM [" in out and "[Give feedback]" in out

    # The README's excerpt is this transcript, lines left out where it says "…".
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    excerpt = readme.split("```text\n", 1)[1].split("```", 1)[0]
    position = 0
    for line in excerpt.splitlines():
        if line != "…":
            found = out.find(line + "\n", position)
            assert found >= 0, f"the README shows a line the transcript does not have: {line!r}"
            position = found


async def test_a_script_stops_at_the_first_step_that_fails_with_its_line(tmp_path: Path) -> None:
    script = tmp_path / "stable-too-soon.txt"
    script.write_text(
        "# the severity must be known before the incident is stable\n"
        "/dispatch-report-incident Search is slow\n"
        "Description: Every search takes ten seconds.\n"
        ":submit\n"
        ":goto #inc-1-search-is-slow\n"
        "/dispatch-update-incident\n"
        "Status: Stable\n"
        ":submit\n"
        ":click Never shown\n"
    )
    code, out, err = await sandbox_cli("--script", str(script), cwd=tmp_path)
    assert code == 1
    assert f"{script}:8: the form was refused: Severity:" in err, err
    assert ":click Never shown" not in out


async def test_unknown_buttons_and_unanswered_commands_fail_their_step(tmp_path: Path) -> None:
    async with Sandbox(prepare_config(None)) as sandbox:
        lines: list[str] = []
        session = Session(sandbox, strict=True)
        script = ["/dispatch-help", ":click Join"]
        assert await replay(session, script, "s.txt", lambda line: lines.append(line.text)) == 1
        assert lines[-1].startswith("s.txt:2: no button 'Join' was shown to you")

        lines.clear()
        unknown = ["", "/not-a-command"]
        assert await replay(session, unknown, "t.txt", lambda line: lines.append(line.text)) == 1
        assert lines[-1] == "t.txt:2: nothing answered: the bot finished without showing you anything"


class Terminal:
    """A terminal under tmux (a server of its own), typed into and read as a person would."""

    def __init__(self, tmux: str, socket: str) -> None:
        self.tmux, self.socket = tmux, socket

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [self.tmux, "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def type(self, text: str) -> None:
        if text:
            self.run("send-keys", "-t", "sandbox", "-l", text)
        self.run("send-keys", "-t", "sandbox", "Enter")

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-J", "-t", "sandbox", "-S", "-500")

    async def shows(self, text: str, after: str = "", timeout: float = 60) -> str:
        """Until `text` is on the screen (after the last `after`, when given); the screen then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            screen = self.screen()
            if text in screen[screen.rfind(after) if after else 0 :]:
                return screen
            if loop.time() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen:\n{screen}")
            await asyncio.sleep(0.1)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    tmux = shutil.which("tmux")
    if tmux is None:
        if IN_CI:
            pytest.fail("tmux is missing (.ci/run installs it)")
        pytest.skip("tmux is not installed")
    term = Terminal(tmux, f"dispatch-sandbox-{uuid.uuid4().hex[:8]}")
    env = clean_environment()
    command = shlex.join(
        ["env", "-i", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "bot", "sandbox"]
    )
    term.run(
        "new-session",
        "-d",
        "-s",
        "sandbox",
        "-x",
        "200",
        "-y",
        "50",
        "-c",
        str(tmp_path),
        f"{command}; echo sandbox exited with $?; sleep 600",
    )
    try:
        yield term
    finally:
        term.run("kill-server")


async def test_the_interactive_prompt_as_a_person_uses_it(terminal: Terminal) -> None:
    await terminal.shows("alice@#general>")
    terminal.type("/dispatch-report-incident Checkout is down")
    await terminal.shows("│ Title [Checkout is down] ▸")

    # Blanks for a title: the bot refuses it, the sandbox shows why and asks again.
    terminal.type("   ")
    await terminal.shows("│ Description ▸")
    terminal.type(":submit")
    await terminal.shows("✗ Description: this field is required")
    terminal.type("EU customers get 500 at checkout")
    await terminal.shows(
        "│ Type — 1 General  2 Security Incident  3 Service Outage  4 Simulation [General] ▸"
    )
    terminal.type("3")
    await terminal.shows("│ Severity — 1 Undetermined")
    terminal.type(":submit")
    await terminal.shows("✗ Title: Give the incident a title.")
    await terminal.shows("│ Title [Checkout is down] ▸", after="✗ Title")
    terminal.type("Checkout is down")
    await terminal.shows("│ Severity", after="│ Title [Checkout is down] ▸ Checkout is down")
    terminal.type(":submit")

    screen = await terminal.shows("│ INC-1 is open: join the response in #inc-1-checkout-is-down.")
    assert "#inc-1-checkout-is-down [1] dispatch-bot: INC-1: Checkout is down" in screen
    assert "Type Service Outage" in screen
    assert "#incidents [1] dispatch-bot: 🚨 New incident INC-1" in screen
    assert "    [Join]  [Subscribe]" in screen

    terminal.type(":as bob")
    await terminal.shows("bob@#general>")
    terminal.type(":click Join")
    await terminal.shows("#incidents (only you) dispatch-bot: You are in: #inc-1-checkout-is-down.")
    terminal.type(":goto #inc-1-checkout-is-down")
    terminal.type("Rolling back the 14:00 deploy.")
    await terminal.shows("#inc-1-checkout-is-down [3] bob: Rolling back the 14:00 deploy.")
    terminal.type(":quit")
    await terminal.shows("sandbox exited with 0")


# Run in the sandbox's own process: an audit hook sees every socket the process (any library, any
# thread) connects, binds or resolves a name for, and notes each address in the file it is given.
WATCHED_CLI = """
import ipaddress, socket, sys

log = open(sys.argv.pop(1), "a", buffering=1)

def address(value):
    if isinstance(value, tuple) and value and isinstance(value[0], str):
        return value[0]
    return None

def watch(event, args):
    if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
        host = address(args[1] if event != "socket.sendmsg" else args[-1])
    elif event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
    else:
        return
    if host is not None:
        log.write(f"{event} {host}\\n")

sys.addaudithook(watch)
sys.argv[0] = "dispatch-bot"
from bot.cli.main import main
main()
"""


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


async def test_a_sandbox_never_opens_a_socket_beyond_loopback(tmp_path: Path) -> None:
    log = tmp_path / "sockets.log"
    script = REPO / "examples" / "sandbox" / "first-incident.txt"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WATCHED_CLI,
        str(log),
        "sandbox",
        "--script",
        str(script),
        env=clean_environment(),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stdout.decode() + stderr.decode()
    seen = [line.split(" ", 1) for line in log.read_text().splitlines()]
    events = {event for event, _ in seen}
    # The hook saw the workspace and health servers bind and the bot connect to the workspace...
    assert {"socket.bind", "socket.connect"} <= events, seen
    # ...and nothing else: no address, and no name resolved, beyond this machine.
    assert [(event, host) for event, host in seen if not is_loopback(host)] == []


async def test_moving_the_clock_brings_the_reminders_due_then() -> None:
    async with Sandbox(prepare_config(None)) as sandbox:
        session = Session(sandbox, strict=True)
        for line in ("/dispatch-report-incident Checkout is down", "Description: EU only.", ":submit"):
            await session.handle(line)

        shown = "\n".join(line.text for line in await session.handle(":time +7h"))
        assert "7h00 ahead of the wall clock" in shown
        # Medium asks for a tactical report every 6 hours.
        assert "dispatch-bot: ⏰ INC-1 has had no tactical report for 6 hours" in shown
        assert "[Remind me later ▾ In 30 minutes | In 1 hour | In 2 hours]" in shown

        shown = "\n".join(line.text for line in await session.handle(":click In 1 hour"))
        assert "OK: I will remind you about the tactical report of INC-1 at" in shown, shown


async def test_a_modal_pushed_over_a_form_closes_back_to_it_with_its_answers() -> None:
    async with Sandbox(prepare_config(None)) as sandbox:
        session = Session(sandbox, strict=True)
        for line in ("/dispatch-report-incident Checkout is down", "Description: EU only.", ":submit"):
            await session.handle(line)
        await session.handle(":goto #inc-1-checkout-is-down")
        await session.handle("/dispatch-update-incident")
        await session.handle("Title: Checkout is down in the EU")
        shown = [line.text for line in await session.handle(":click Add cost")]
        assert shown[0] == "┌ Add cost" and shown[-1] == "└"
        shown = [line.text for line in await session.handle(":close")]
        assert "┌ Update incident" in shown
        assert session.prompt() == "│ Description (optional) [EU only.] ▸ "  # the title is answered
        shown = [line.text for line in await session.handle(":submit")]
        assert "    • Title: Checkout is down → Checkout is down in the EU" in shown
