"""Reports' pure parts: the modals, the channel message and the result, within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.reports import flows, views
from bot.reports.facts import EXECUTIVE_REPORT, FIELD_MAX, TACTICAL_REPORT, ReportForm, ReportOutcome
from bot.sandbox.slack import validate_message, validate_view
from bot.slack.text import escape

TRICKY = st.text(alphabet="ab &<>*_\n@!|", max_size=400)


def form(values: dict[str, str], last: bool = True) -> ReportForm:
    return ReportForm(
        kind=TACTICAL_REPORT,
        incident_id=7,
        channel_id="C1",
        incident_name="INC-7",
        values=values,
        last_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC) if last else None,
        last_author="U1" if last else None,
    )


def inputs(view: dict) -> dict[str, dict]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


def test_the_tactical_modal_is_prefilled_and_carries_its_incident() -> None:
    view = views.report_modal(
        form({"conditions": "Down", "actions": "x" * 5000, "needs": ""}),
        {"incident_id": 7, "channel_id": "C1"},
    )
    assert validate_view(view) == []
    assert view["callback_id"] == "report_tactical" and view["title"]["text"] == "Tactical report"
    assert json.loads(view["private_metadata"]) == {"incident_id": 7, "channel_id": "C1"}
    elements = inputs(view)
    assert list(elements) == ["report_conditions", "report_actions", "report_needs"]
    assert elements["report_conditions"]["initial_value"] == "Down"
    assert len(elements["report_actions"]["initial_value"]) == FIELD_MAX
    assert "initial_value" not in elements["report_needs"]
    assert all(e["multiline"] and e["max_length"] == FIELD_MAX for e in elements.values())
    assert "2026-03-04 05:06 UTC by <@U1>" in str(view["blocks"][0])


def test_a_first_report_says_so_and_an_incident_name_is_escaped() -> None:
    first = ReportForm(EXECUTIVE_REPORT, 1, "C1", "<INC>", {})
    view = views.report_modal(first, {})
    assert validate_view(view) == []
    context = str(view["blocks"][0])
    assert "first executive report of &lt;INC&gt;" in context and "posted in this channel" in context
    assert view["callback_id"] == "report_executive"


@given(st.text(max_size=3000), st.text(max_size=3000), st.text(alphabet="&<>", max_size=3000))
def test_every_field_is_posted_whole_within_the_limits(conditions: str, actions: str, needs: str) -> None:
    details = {"conditions": conditions, "actions": actions, "needs": needs}
    text, blocks = views.report_message(TACTICAL_REPORT, "INC-1", "U1", details)
    assert validate_message(text, blocks) == []
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    shown = "".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    for label, value in (("Conditions", conditions), ("Actions", actions), ("Needs", needs)):
        assert f"*{label}*\n{escape(value.strip()) or '_(none)_'}" in shown


@given(TRICKY, st.integers(min_value=10, max_value=200))
def test_chunks_keep_everything_and_never_split_an_entity(raw: str, size: int) -> None:
    escaped = escape(raw)
    pieces = views.chunks(escaped, size)
    assert "".join(pieces) == escaped
    assert all(len(piece) <= size for piece in pieces)
    for piece in pieces:  # the only `&` of escaped text start entities: each must end in its piece
        start = piece.rfind("&")
        assert start == -1 or ";" in piece[start:]


def test_the_message_disarms_mentions_and_links() -> None:
    details = {"conditions": "<!channel> <@U2> <https://x.example|bank>", "actions": "a", "needs": ""}
    text, blocks = views.report_message(TACTICAL_REPORT, "INC-1", "U1", details)
    shown = str(blocks)
    assert "&lt;!channel&gt; &lt;@U2&gt; &lt;https://x.example|bank&gt;" in shown
    assert "_(none)_" in shown and blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "📋 Tactical report · INC-1", "emoji": True},
    }
    assert text == "Tactical report for INC-1 from <@U1>"


def outcome(**values: object) -> ReportOutcome:
    base: dict[str, object] = {
        "kind": EXECUTIVE_REPORT,
        "report_id": 1,
        "incident_name": "INC-1",
        "created": True,
        "channel_id": "C1",
        "posted": True,
    }
    base.update(values)
    return ReportOutcome(**base)  # type: ignore[arg-type]


def result(value: ReportOutcome) -> str:
    view = views.result_modal(value)
    assert validate_view(view) == []
    return str(view["blocks"])


def test_the_executive_result_says_only_the_channel_got_it_without_plugins() -> None:
    shown = result(outcome())
    assert "executive report for INC-1 is posted in <#C1>" in shown
    assert "Only the incident channel got it" in shown


def test_the_executive_result_names_the_document_and_the_recipients_when_there_are_some() -> None:
    shown = result(outcome(document_link="https://docs.example/d/1", emailed=["ops@example.com", "<x>"]))
    assert "<https://docs.example/d/1|open it>" in shown and "ops@example.com, &lt;x&gt;" in shown
    assert "Only the incident channel" not in shown


def test_the_result_tells_what_went_wrong_and_what_was_sent_before() -> None:
    failed = result(
        outcome(
            kind=TACTICAL_REPORT, posted=False, problems=["It could not be posted in <#C1> (`is_archived`)."]
        )
    )
    assert "is saved, but not posted" in failed and "⚠️ It could not be posted" in failed
    pinned = result(outcome(kind=TACTICAL_REPORT, pinned=True))
    assert "is posted and pinned in <#C1>" in pinned and "Only the incident channel" not in pinned
    again = result(outcome(created=False))
    assert "was saved already, and posted in <#C1>; nothing was sent again" in again


def test_open_tasks_replace_the_list_carried_over_from_the_last_report() -> None:
    first = flows.with_open_tasks("Rolling back", ["Page the DBA", "  "])
    assert first == "Rolling back\n\nOpen tasks:\n• Page the DBA"
    assert flows.with_open_tasks(first, ["Write the status page"]) == (
        "Rolling back\n\nOpen tasks:\n• Write the status page"
    )
    assert flows.with_open_tasks(first, []) == "Rolling back"
    assert flows.with_open_tasks("Rolling back", []) == "Rolling back"


def test_fields_must_have_words_and_fit() -> None:
    values = {"current_status": " \n", "overview": "ok", "next_steps": "y" * (FIELD_MAX + 1)}
    errors = flows.check_values(EXECUTIVE_REPORT, values)
    assert set(errors) == {"current_status", "next_steps"}
    assert (
        flows.check_values(EXECUTIVE_REPORT, {"current_status": "a", "overview": "b", "next_steps": "c"})
        == {}
    )
