"""The timeline's pure parts: the command's words, Slack markup, and Block Kit that stays within limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.slack import validate_view
from bot.timeline import flows, views
from bot.timeline.facts import AddEventForm, EventLine, ManualEntry, TimelinePage
from bot.timeline.text import Prefill, message_to_plain, parse_command, safe_mrkdwn

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.!?'0123456789", min_size=0, max_size=60)


def test_the_command_words_are_read_in_any_order_and_case() -> None:
    assert parse_command("DESC Rolled back DATE 2026-01-02 TIME 10:30") == Prefill(
        "Rolled back", date(2026, 1, 2), time(10, 30)
    )
    assert parse_command("time 7:05 date 2026-1-2 desc DB failover") == Prefill(
        "DB failover", date(2026, 1, 2), time(7, 5)
    )
    assert parse_command("restarted at the time of the alert") == Prefill(
        "restarted at the time of the alert"
    )
    assert parse_command("DESC x DATE 2026-02-30 TIME 25:00") == Prefill("x")
    assert parse_command("") == Prefill("")


@given(WORDS, st.dates(), st.times())
def test_any_description_date_and_time_come_back_as_given(text: str, day: date, moment: time) -> None:
    moment = moment.replace(second=0, microsecond=0)
    line = f"DATE {day.isoformat()} DESC {text} TIME {moment.strftime('%H:%M')}"
    parsed = parse_command(line)
    assert parsed.date == day and parsed.time == moment
    assert parsed.description == " ".join(text.split())


def test_slack_markup_becomes_readable_text_with_links_kept() -> None:
    text = (
        "<@U1> and <@U2|old> see <#C9|ops>, <!here> &amp; <https://a.example/x?y=1&amp;z=2|the graph> "
        "<https://b.example> <mailto:a@b.example|a@b.example> <!subteam^S1|@sre> &lt;3"
    )
    assert message_to_plain(text, {"U1": "Ann", "U2": "Ben"}) == (
        "@Ann and @Ben see #ops, @here & the graph (https://a.example/x?y=1&z=2) "
        "https://b.example a@b.example @sre <3"
    )


@given(st.text(max_size=4000), st.integers(min_value=10, max_value=3000))
def test_safe_mrkdwn_never_lets_markup_through_and_stays_in_its_budget(text: str, limit: int) -> None:
    rendered = safe_mrkdwn(text, limit)
    assert len(rendered) <= limit
    assert "<!" not in rendered and "<http" not in rendered
    assert not [part for part in rendered.split("&")[1:] if not part.startswith(("amp;", "lt;", "gt;"))]


def _event(index: int, text: str) -> EventLine:
    return EventLine(
        id=index,
        occurred_at=datetime(2026, 1, 2, tzinfo=UTC) + timedelta(minutes=index),
        kind="slack_message" if index % 2 else "manual",
        description=text,
        actor="U1",
        author="U2",
        permalink="https://test.slack.com/archives/C1/p1?thread_ts=1.2&cid=C1",
        key_event=index == 0,
    )


def test_a_page_of_the_longest_events_is_a_valid_modal() -> None:
    worst = "&<>" * 1000 + "<@U12345>" * 50
    page = TimelinePage(
        1, "INC-123456789012345", "t" * 3000, "C1", [_event(i, worst) for i in range(20)], 1, 3, 60
    )
    view = views.timeline_modal(page, {"incident_id": 1, "channel_id": "C1", "page": 1})
    assert validate_view(view) == []
    assert len(view["blocks"]) < 100
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b["type"] == "section")


def test_the_add_event_modal_is_valid_and_checks_its_input() -> None:
    form = AddEventForm(1, "INC-1", "C1", "x" * 5000, date(2026, 1, 2), time(10, 30), "Europe/Paris")
    assert validate_view(views.add_event_modal(form, {"incident_id": 1})) == []
    now = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    entry = ManualEntry("V1", 1, "C1", "U1", "Rolled back", date(2026, 1, 2), time(10, 4), "Europe/Paris")
    assert flows.occurred_at(entry) == datetime(2026, 1, 2, 9, 4, tzinfo=UTC)
    assert flows.check_entry(entry, now) == {}, "four minutes ahead is a clock difference, not a mistake"
    later = ManualEntry("V1", 1, "C1", "U1", " ", date(2026, 1, 2), time(10, 6), "Europe/Paris")
    assert set(flows.check_entry(later, now)) == {"description", "time"}
