"""Feedback at closing: every participant is asked, can answer once, anonymously if they like."""

from __future__ import annotations

from sqlmodel import select

from bot.runtime import BotProcess
from storage.models import Feedback
from tests.fakes.slack import FakeSlack
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
    assert "your feedback is saved" in str(sent.ack)

    await slack.as_user(ada).click_button(message.channel, message.ts, "Give feedback")  # type: ignore[attr-defined]
    await slack.wait_for(
        lambda: (slack.open_view_for(ada) or {}).get("callback_id") == "feedback_submit", timeout=5
    )
    again = await slack.as_user(ada).submit_view(
        {"How satisfied are you with the response?": "Very dissatisfied"}
    )
    assert "already sent feedback" in str(again.ack)

    async with bot.ctx.sessions() as session:
        [feedback] = (await session.exec(select(Feedback))).all()
    assert (feedback.rating, feedback.anonymous, feedback.user_id) == (4, True, ada)
    assert feedback.text == "Paging was quick; the runbook was stale."
    assert request_for(bob) is None  # bob took no part
