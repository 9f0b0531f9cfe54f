"""The incident's cost carried to its Jira issue when it changes, through the real bot and the fake Jira."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.costs.flows import cost_job
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from tests.fakes.jira import FakeJira
from tests.test_costs import activity_count, hold_clock
from tests.test_engagement import channel_of_first_incident
from tests.test_incident_report import report
from tests.test_incident_update import open_update_modal
from tests.test_people import eventually
from tests.test_tickets import ALL, bot, choose_plugins, jira, settled
from tests.test_tickets import eventually as jira_eventually

__all__ = ["bot", "jira"]  # the fixtures: the bot with Jira credentials, and the fake Jira

COST_FIELD = "customfield_10050"


async def test_a_changed_cost_reaches_the_jira_issue_and_an_unchanged_one_does_not(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    hold_clock(bot, t0)
    dan = slack.add_user("dan")
    await choose_plugins(
        bot, {"ticket": {"plugin": "jira", "options": {"project_key": "OPS", "cost_field": COST_FIELD}}}
    )
    await report(slack, dan, "Login failures")
    await settled(bot, ALL)
    channel = channel_of_first_incident(slack)
    await slack.as_user(dan).post_message(channel, "Looking at the auth service")
    await eventually(lambda: activity_count(bot, 1))
    issue = jira.issues[0]

    # An hour of command (x1) and of having reported (x0.5) at $25 an hour.
    hold_clock(bot, t0 + timedelta(hours=1))
    assert await cost_job(bot.ctx) == "computed the cost of 1 incident(s), 1 pushed to tickets"
    assert issue.custom[COST_FIELD] == 37.5

    # Stable at 2 h: 3 h of roles and 1.5 h of review at $25, pushed at once.
    hold_clock(bot, t0 + timedelta(hours=2))
    await open_update_modal(slack, dan, channel)
    await slack.as_user(dan).submit_view({"Status": "Stable", "Severity": "Low"})
    await jira_eventually(lambda: issue.custom.get(COST_FIELD) == 112.5)
    puts = len(jira.requests_to("PUT", f"/issue/{issue.key}"))

    hold_clock(bot, t0 + timedelta(hours=3))
    assert await cost_job(bot.ctx) == "computed the cost of 0 incident(s), 0 pushed to tickets"
    assert len(jira.requests_to("PUT", f"/issue/{issue.key}")) == puts
