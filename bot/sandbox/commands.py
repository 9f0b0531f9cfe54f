"""The lines a person types in the sandbox (and a script holds), read into steps.

A comment is a line starting with `# `; `#incidents is quiet` is a message."""

from __future__ import annotations

from dataclasses import dataclass

HELP = """\
What you can type (a script holds the same lines; # starts a comment):
  /dispatch-…                 a slash command, as typed in Slack, in the current channel
  any other text              a message in the current channel
  :as bob                     be someone else (alice, bob, carol, dave)
  :goto #channel | :goto dm   look at a channel, or your direct messages with the bot
  :join [#channel]            join the current (or that) channel; :leave [#channel] leaves it
  :react stopwatch [N]        react to message N of the channel (default: the last one someone wrote)
  :thread N text              answer message N in its thread
  :click Label [N]            click a button you were shown (the latest with that label, or on message N)
  :jobs, :run JOB             the scheduler's jobs; run one now
  :time [+2h]                 the sandbox's time; move it forward (due jobs run at the new time)
  :people                     who is here, with their time zones
  :help                       this
In a form: answer each field (a number picks a choice, Enter keeps what is in [brackets]),
  or `Label: value` for any field, then :submit (or :cancel). Errors are shown and asked again.
  :close closes a modal with nothing to fill (back to the one under it, if any)."""


class ParseError(ValueError):
    """A line that is no step; the message says what was expected."""


class StepFailed(Exception):
    """A line could not be done, or the bot did not answer it; the message says which and why."""


@dataclass(frozen=True)
class Step:
    """One thing a person does: `kind` is the command (without its colon), "slash" or "text"."""

    kind: str
    text: str = ""
    number: int | None = None


COMMANDS = frozenset(
    {
        "as",
        "goto",
        "join",
        "leave",
        "react",
        "thread",
        "click",
        "jobs",
        "run",
        "time",
        "people",
        "help",
        "submit",
        "cancel",
        "close",
        "quit",
    }
)
NEEDS_TEXT = frozenset({"as", "goto", "react", "click", "run"})


def _trailing_number(rest: str) -> tuple[str, int | None]:
    head, _, last = rest.rpartition(" ")
    if head.strip() and last.isdigit():
        return head.strip(), int(last)
    return rest, None


def is_blank(line: str) -> bool:
    """A blank line or a comment: nothing to do."""
    line = line.strip()
    return not line or line == "#" or line.startswith("# ")


def parse(line: str) -> Step | None:
    """The step a line asks for; None for a blank line or a comment."""
    line = line.strip()
    if is_blank(line):
        return None
    if line.startswith("/"):
        return Step("slash", line)
    if not line.startswith(":") or line.startswith("::") or line[1:2] in ("", " "):
        return Step("text", line)
    word, _, rest = line[1:].partition(" ")
    word, rest = word.lower(), rest.strip()
    if word == "exit":
        word = "quit"
    if word not in COMMANDS:
        raise ParseError(f"unknown command :{word} (:help lists them)")
    if word in NEEDS_TEXT and not rest:
        raise ParseError(f":{word} needs {'a name' if word in ('as', 'run') else 'something to act on'}")
    if word in ("react", "click"):
        rest, number = _trailing_number(rest)
        return Step(word, rest.strip(":") if word == "react" else rest, number)
    if word == "thread":
        number_text, _, text = rest.partition(" ")
        if not number_text.isdigit() or not text.strip():
            raise ParseError(":thread needs a message number and the text, e.g. :thread 3 on it")
        return Step("thread", text.strip(), int(number_text))
    return Step(word, rest)
