"""Feedback at closing: every participant is asked, can answer once, anonymously if they like."""

from __future__ import annotations

from sqlmodel import select

from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Feedback, Incident
from tests.test_incident_update import open_incident, open_update_modal


async def test_participants_are_asked_for_feedback_and_answer_once(slack: FakeSlack, bot: BotProcess) -> None:
    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    channel = await open_incident(slack, bot, ada, "Cache outage")
    await open_update_modal(slack, ada, channel)
    await slack.as_user(ada).submit_view({"Status": "Closed", "Severity": "Low"})

    def request_for(user: str) -> object | None:
        return next((m for m in slack.dms_to(user) if "How did INC-1 go" in m.text), None)

    await slack.wait_for(lambda: request_for(ada) is not None, timeout=5)
    message = request_for(ada)
    await slack.as_user(ada).click_button(message.channel, message.ts, "Give feedback")  # type: ignore[attr-defined]
    await slack.wait_for(
        lambda: (slack.open_view_for(ada) or {}).get("callback_id") == "feedback_submit", timeout=5
    )

    missing = await slack.as_user(ada).submit_view({"What went well, what should change?": "ok"}, force=True)
    assert missing.errors == {"rating": "Choose how satisfied you are."}
    sent = await slack.as_user(ada).submit_view(
        {
            "How satisfied are you with the response?": "Satisfied",
            "What went well, what should change?": "Paging was quick; the runbook was stale.",
            "Anonymity": ["Don't show my name with this feedback"],
        }
    )
    assert "Saving" in str(sent.ack)
    await slack.wait_for(lambda: "your feedback is saved" in str(slack.open_view_for(ada)), timeout=5)

    await slack.as_user(ada).click_button(message.channel, message.ts, "Give feedback")  # type: ignore[attr-defined]
    await slack.wait_for(
        lambda: (slack.open_view_for(ada) or {}).get("callback_id") == "feedback_submit", timeout=5
    )
    again = await slack.as_user(ada).submit_view(
        {"How satisfied are you with the response?": "Very dissatisfied"}
    )
    assert again.response_action == "update"
    await slack.wait_for(lambda: "already sent feedback" in str(slack.open_view_for(ada)), timeout=5)

    async with bot.ctx.sessions() as session:
        [feedback] = (await session.exec(select(Feedback))).all()
    assert (feedback.rating, feedback.anonymous, feedback.user_id) == (4, True, ada)
    assert feedback.text == "Paging was quick; the runbook was stale."
    assert request_for(bob) is None  # bob took no part


async def test_only_participants_give_feedback_and_a_broken_form_gets_an_answer(
    slack: FakeSlack, bot: BotProcess
) -> None:
    import json

    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    channel = await open_incident(slack, bot, ada, "Cache outage")
    await open_update_modal(slack, ada, channel)
    await slack.as_user(ada).submit_view({"Status": "Closed", "Severity": "Low"})
    await slack.wait_for(lambda: any("How did INC-1 go" in m.text for m in slack.dms_to(ada)), timeout=5)
    request = next(m for m in slack.dms_to(ada) if "How did INC-1 go" in m.text)

    # bob took no part: the button (as if the message had been shared with him) answers, and opens nothing.
    await slack.as_user(bob).click_button(request.channel, request.ts, "Give feedback")
    await slack.wait_for(lambda: any(post.user == bob for post in slack.response_url_posts), timeout=5)
    assert "participants" in [p.body for p in slack.response_url_posts if p.user == bob][-1]["text"]
    assert slack.open_view_for(bob) is None

    await slack.as_user(ada).click_button(request.channel, request.ts, "Give feedback")
    await slack.wait_for(lambda: (slack.open_view_for(ada) or {}).get("callback_id") == "feedback_submit")
    view = slack.open_view_for(ada)
    assert view is not None
    slack.workspace.views[view["id"]]["private_metadata"] = "{not json"  # as a broken client would send
    broken = await slack.as_user(ada).submit_view({"How satisfied are you with the response?": "Satisfied"})
    assert "could not be read" in str(broken.ack)

    # A form aimed at an incident ada took no part in is refused, not saved.
    await slack.as_user(ada).click_button(request.channel, request.ts, "Give feedback")
    await slack.wait_for(lambda: (slack.open_view_for(ada) or {}).get("callback_id") == "feedback_submit")
    view = slack.open_view_for(ada)
    assert view is not None
    async with bot.ctx.sessions() as session:
        incident = (await session.exec(select(Incident))).one()
    slack.workspace.views[view["id"]]["private_metadata"] = json.dumps(
        {"incident_id": (incident.id or 0) + 99}
    )
    await slack.as_user(ada).submit_view({"How satisfied are you with the response?": "Satisfied"})
    await slack.wait_for(lambda: "you were not one of them" in str(slack.open_view_for(ada)), timeout=5)
    async with bot.ctx.sessions() as session:
        assert (await session.exec(select(Feedback))).all() == []
