"""The texts of the channel's conversation hints (plain data in, mrkdwn out)."""

from __future__ import annotations

from bot.conversation.facts import AfterHours
from bot.slack.text import escape


def thread_reminder() -> str:
    return (
        "A small request: please answer in the channel rather than in a thread. Replies in threads are "
        "easy to miss for everyone following the incident. (Only you see this, and only once.)"
    )


def after_hours_warning(facts: AfterHours) -> str:
    return (
        f"Answers may take a while: it is outside the working hours of the incident commander, "
        f"<@{facts.commander_id}> (weekdays 9:00-17:00, {escape(facts.timezone)} time). "
        f"The incident's priority is *{escape(facts.priority)}*; if it needs someone sooner, raise the "
        "priority or page the on-call."
    )
