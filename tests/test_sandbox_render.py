"""How the sandbox reads what a person types, and shows what the bot sends: pure functions."""

from __future__ import annotations

import pytest

from bot.sandbox.commands import ParseError, Step, parse
from bot.sandbox.render import Names, answer_for, colour_emoji, message_lines, plain, question
from bot.sandbox.setup import parse_duration

NAMES = Names(user={"U1": "alice", "U2": "bob"}.get, channel={"C1": "incidents"}.get)


def test_mrkdwn_reads_plainly() -> None:
    text = "*INC-1* _updated_ by <@U1>: see <#C1> and <https://x.example/a|the runbook> &amp; <!here>"
    assert (
        plain(text, NAMES)
        == "INC-1 updated by @alice: see #incidents and the runbook (https://x.example/a) & @here"
    )
    assert plain("2 * 3 * 4 and snake_case_name", NAMES) == "2 * 3 * 4 and snake_case_name"


def test_a_message_shows_its_blocks_buttons_and_colour() -> None:
    message = {
        "text": "fallback",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*New incident*"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Priority*\nHigh"}]},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Join"}},
                    {"type": "button", "text": {"type": "plain_text", "text": "Subscribe"}},
                ],
            },
        ],
        "attachments": [{"color": "#e53935", "text": "Priority: High"}],
    }
    assert message_lines(message, NAMES) == [
        "New incident",
        "Priority High",
        "[Join]  [Subscribe]",
        "🔴 Priority: High",
    ]


@pytest.mark.parametrize(
    ("colour", "emoji"),
    [
        ("#e53935", "🔴"),
        ("#ff9800", "🟠"),
        ("#8bc34a", "🟢"),
        ("#9e9e9e", "⚪"),
        ("#1e88e5", "🔵"),
        ("danger", "🔴"),
    ],
)
def test_the_default_priority_colours_read_as_emoji(colour: str, emoji: str) -> None:
    assert colour_emoji(colour) == emoji


def test_a_field_is_asked_with_numbered_choices_and_answered_by_number_or_name() -> None:
    options = [
        {"text": {"type": "plain_text", "text": name}, "value": str(n)}
        for n, name in enumerate(["Low", "Medium", "High"], 1)
    ]
    select = {"type": "static_select", "action_id": "p", "options": options}
    block = {
        "type": "input",
        "block_id": "p",
        "label": {"type": "plain_text", "text": "Priority"},
        "element": select,
    }
    assert question(block, "Medium", NAMES) == "Priority — 1 Low  2 Medium  3 High [Medium]"
    assert answer_for(select, "3", {}) == "High"
    assert answer_for(select, "med", {}) == "Medium"
    with pytest.raises(ValueError, match="not one of the choices: 1 Low, 2 Medium, 3 High"):
        answer_for(select, "Urgent", {})
    people = {"type": "multi_users_select", "action_id": "u"}
    assert answer_for(people, "@alice, bob", {"U1": "alice", "U2": "bob"}) == ["U1", "U2"]
    assert answer_for({"type": "plain_text_input"}, "   ", {}) == "   "


def test_lines_read_into_steps() -> None:
    assert parse("# a comment") is None and parse("   ") is None
    assert parse("#incidents is quiet") == Step("text", "#incidents is quiet")
    assert parse("/dispatch-help") == Step("slash", "/dispatch-help")
    assert parse(":react :stopwatch: 3") == Step("react", "stopwatch", 3)
    assert parse(":click Give feedback") == Step("click", "Give feedback")
    assert parse(":click Join 2") == Step("click", "Join", 2)
    assert parse(":thread 3 on it") == Step("thread", "on it", 3)
    with pytest.raises(ParseError, match="unknown command :dance"):
        parse(":dance")
    with pytest.raises(ParseError, match=":thread needs a message number"):
        parse(":thread soon")


def test_durations() -> None:
    assert parse_duration("+2h").total_seconds() == 7200
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration("+1d").days == 1
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("+soon")
