"""Tickets at report time and after updates, through the real bot, the fake Slack and the fake Jira, on
SQLite and PostgreSQL: the issue, its Resource row and bookmark; a refusal said once and retried; a
Jira that does not answer; updates carried to Jira; the built-in ticket; no plugins, no ticket step. And
the plugin alone against the fake: 5xx answers, timeouts and short rate limits tried again, a bounded
number of times."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.cli.doctor import run_checks
from bot.incidents.opening import OPEN_STEPS
from bot.incidents.opening_runner import resume_unfinished
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from plugins.errors import PluginError, PluginRateLimited
from plugins.jira.tickets import JiraTickets
from storage.models import FlowStep, Project, Resource
from tests.conftest import running_bot
from tests.fakes.jira import FakeJira
from tests.test_engagement import channel_of_first_incident
from tests.test_incident_report import report
from tests.test_incident_update import open_update_modal
from tests.test_people import assign
from tests.test_runtime import get

JIRA = {"ticket": {"plugin": "jira", "options": {"project_key": "OPS"}}}
BUILTIN = {"ticket": {"plugin": "builtin-ticket"}}


@pytest.fixture
async def jira() -> AsyncIterator[FakeJira]:
    async with FakeJira() as fake:
        yield fake


@pytest.fixture
async def bot(slack: FakeSlack, database_url: str, jira: FakeJira) -> AsyncIterator[BotProcess]:
    """The real bot with Jira credentials pointing at the fake, and a short plugin timeout."""
    async with running_bot(slack, database_url, plugin_timeout_seconds=1.0, **jira_settings(jira)) as process:
        yield process


def jira_settings(jira: FakeJira) -> dict[str, str]:
    """The bot's Jira credentials, pointing at the fake."""
    return {"jira_api_url": jira.url, "jira_username": jira.username, "jira_api_token": jira.api_token}


async def choose_plugins(bot: BotProcess, plugins: dict[str, Any]) -> None:
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        project.plugins = plugins
        session.add(project)
        await session.commit()


async def steps(bot: BotProcess) -> dict[str, FlowStep]:
    async with bot.ctx.sessions() as session:
        return {row.step: row for row in (await session.exec(select(FlowStep))).all()}


async def settled(bot: BotProcess, expected: int, timeout: float = 10) -> dict[str, FlowStep]:
    """Wait until the `expected` steps have each finished or failed (none left running)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await steps(bot)
        if len(found) == expected and all(row.status in {"done", "failed"} for row in found.values()):
            return found
        assert asyncio.get_running_loop().time() < deadline, {k: v.status for k, v in found.items()}
        await asyncio.sleep(0.05)


async def tickets(bot: BotProcess) -> list[Resource]:
    async with bot.ctx.sessions() as session:
        return list((await session.exec(select(Resource).where(Resource.kind == "ticket"))).all())


def texts(slack: FakeSlack, channel: str) -> list[str]:
    return [message.text for message in slack.messages(channel)]


async def eventually(condition: Any, timeout: float = 5) -> None:
    """Poll a condition on the fake Jira's state (which does not wake the fake Slack's waiters)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.05)


ALL = len(OPEN_STEPS) + 1


async def test_an_incident_gets_its_jira_issue_recorded_and_bookmarked(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    ada = slack.add_user("ada", email="ada@example.com")
    account = jira.add_user("ada@example.com")
    await choose_plugins(bot, JIRA)
    await report(slack, ada, "Checkout errors")
    done = await settled(bot, ALL)
    assert {row.status for row in done.values()} == {"done"}

    [issue] = jira.issues
    assert issue.key == "OPS-1" and issue.summary == "INC-1: Checkout errors"
    assert issue.labels == ["dispatch-inc-1"] and issue.assignee == account
    [ticket] = await tickets(bot)
    assert ticket.external_id == "OPS-1" and ticket.weblink == f"{jira.url}/browse/OPS-1"
    channel = channel_of_first_incident(slack)
    assert [(b["title"], b["link"]) for b in slack.bookmarks(channel)] == [
        ("Ticket OPS-1", f"{jira.url}/browse/OPS-1")
    ]
    assert not any("Couldn't" in text for text in texts(slack, channel))


async def test_a_refusing_jira_is_said_once_and_the_retry_makes_one_issue(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    ben = slack.add_user("ben")
    await choose_plugins(bot, JIRA)
    jira.fail("POST", "/issue", 403, times=2)
    await report(slack, ben, "Queue backlog")
    found = await settled(bot, ALL)
    assert found["ticket"].status == "failed"
    assert [step for step, row in found.items() if row.status != "done"] == ["ticket"]
    channel = channel_of_first_incident(slack)
    assert "Couldn't create the Jira ticket: Jira answered 403 Forbidden — will retry in 1 minute." in texts(
        slack, channel
    )

    # Before the backoff nothing is retried; after it, the second refusal is not said again.
    assert await resume_unfinished(bot.ctx) == 0
    start = bot.ctx.clock()
    bot.ctx.clock = lambda: start + timedelta(minutes=2)
    assert await resume_unfinished(bot.ctx) == 1
    assert (await steps(bot))["ticket"].status == "failed"
    bot.ctx.clock = lambda: start + timedelta(minutes=10)
    assert await resume_unfinished(bot.ctx) == 1
    assert (await steps(bot))["ticket"].status == "done"

    assert [issue.key for issue in jira.issues] == ["OPS-1"]
    assert len(await tickets(bot)) == 1
    assert len(slack.bookmarks(channel)) == 1
    said = texts(slack, channel)
    assert sum("Couldn't create the Jira ticket" in text for text in said) == 1
    assert sum("The Jira ticket is ready now" in text and "OPS-1" in text for text in said) == 1
    # A later reconcile finds nothing to do.
    bot.ctx.clock = lambda: start + timedelta(hours=3)
    assert await resume_unfinished(bot.ctx) == 0


async def test_a_jira_that_does_not_answer_leaves_the_rest_of_the_opening_alone(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    cat = slack.add_user("cat")
    await choose_plugins(bot, JIRA)
    jira.slow("POST", "/search/jql", 3)
    await report(slack, cat, "Slow search")
    found = await settled(bot, ALL)
    assert found["ticket"].status == "failed" and "no answer within 1 seconds" in (
        found["ticket"].last_error or ""
    )
    assert all(row.status == "done" for step, row in found.items() if step != "ticket")
    channel = channel_of_first_incident(slack)
    assert slack.pins(channel)  # the summary landed regardless
    assert any(
        "Couldn't create the Jira ticket: no answer within 1 seconds" in t for t in texts(slack, channel)
    )
    assert await tickets(bot) == []


async def test_title_and_status_changes_reach_the_jira_issue(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    dan = slack.add_user("dan")
    await choose_plugins(bot, JIRA)
    await report(slack, dan, "Login failures")
    await settled(bot, ALL)
    channel = channel_of_first_incident(slack)
    await open_update_modal(slack, dan, channel)
    await slack.as_user(dan).submit_view(
        {"Title": "Login failures in EU", "Status": "Stable", "Severity": "High"}
    )
    issue = jira.issues[0]
    await eventually(lambda: issue.status == "In Progress" and "EU" in issue.summary)
    assert issue.summary == "INC-1: Login failures in EU"
    assert len(jira.requests_to("PUT", "/issue/OPS-1")) == 1


async def test_a_failed_ticket_update_is_told_to_the_commander_and_stops_nothing(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    eve = slack.add_user("eve")
    await choose_plugins(bot, JIRA)
    await report(slack, eve, "Disk full")
    await settled(bot, ALL)
    channel = channel_of_first_incident(slack)
    jira.fail("PUT", "/issue/", 500, times=3)  # every attempt
    await open_update_modal(slack, eve, channel)
    await slack.as_user(eve).submit_view({"Title": "Disk full on db-3"})
    await slack.wait_for(
        lambda: any("Couldn't update the Jira ticket" in m.text for m in slack.dms_to(eve)), timeout=5
    )
    assert any("INC-1 updated" in text for text in texts(slack, channel))
    assert jira.issues[0].summary == "INC-1: Disk full"


async def test_the_built_in_ticket_is_the_incident_itself(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    fay = slack.add_user("fay")
    await choose_plugins(bot, BUILTIN)
    await report(slack, fay, "Cache stampede")
    found = await settled(bot, ALL)
    assert found["ticket"].status == "done"
    [ticket] = await tickets(bot)
    assert ticket.external_id == "INC-1" and ticket.weblink is None
    assert slack.bookmarks(channel_of_first_incident(slack)) == []  # nothing to link to
    assert jira.requests == []


async def test_without_plugins_the_opening_has_no_ticket_step(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    gus = slack.add_user("gus")
    await report(slack, gus, "Nothing extra")
    found = await settled(bot, len(OPEN_STEPS))
    assert "ticket" not in found and await tickets(bot) == []
    assert jira.requests == []


async def test_readyz_names_a_dead_plugin_and_stays_ready(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    await choose_plugins(bot, JIRA)
    jira.api_token = "revoked"  # the bot's token no longer works
    status, body = await get(bot, "/readyz")
    assert status == 200, body
    answer = json.loads(body)
    assert answer["status"] == "ready"
    [(name, state)] = answer["plugins"].items()
    assert name.startswith("plugin jira (ticket, ")
    assert "401" in state and "JIRA_API_TOKEN" in state


async def test_doctor_has_a_line_per_plugin(slack: FakeSlack, bot: BotProcess, jira: FakeJira) -> None:
    await choose_plugins(bot, JIRA)
    checks = {check.name: check for check in await run_checks(bot.settings)}
    [jira_check] = [check for name, check in checks.items() if name.startswith("plugin jira")]
    assert jira_check.ok and "live check ok (as Dispatch)" in jira_check.detail
    jira.api_token = "revoked"
    checks = {check.name: check for check in await run_checks(bot.settings)}
    [jira_check] = [check for name, check in checks.items() if name.startswith("plugin jira")]
    assert not jira_check.ok and "401" in jira_check.detail


async def test_a_new_commander_is_assigned_the_jira_issue(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    hal = slack.add_user("hal")
    ivy = slack.add_user("ivy", email="ivy@example.com")
    account = jira.add_user("ivy@example.com")
    await choose_plugins(bot, JIRA)
    await report(slack, hal, "Broker down")
    await settled(bot, ALL)
    channel = channel_of_first_incident(slack)
    await assign(slack, hal, channel, ivy, "Incident Commander")
    await eventually(lambda: jira.issues[0].assignee == account)


async def test_a_jira_answering_503_once_gets_the_issue_made_at_the_first_try(
    slack: FakeSlack, bot: BotProcess, jira: FakeJira
) -> None:
    jay = slack.add_user("jay")
    await choose_plugins(bot, JIRA)
    jira.fail("POST", "/issue", 503)
    await report(slack, jay, "Flaky gateway")
    found = await settled(bot, ALL)
    assert found["ticket"].status == "done"
    assert [issue.key for issue in jira.issues] == ["OPS-1"]
    assert [r.status for r in jira.requests_to("POST", "/issue")] == [503, 201]
    assert len(await tickets(bot)) == 1
    assert not any("Couldn't" in text for text in texts(slack, channel_of_first_incident(slack)))


def plugin_for(jira: FakeJira, timeout: float = 15.0) -> JiraTickets:
    return JiraTickets(jira.url, jira.username, jira.api_token, "OPS", timeout=timeout, first_delay=0.01)


async def create(plugin: JiraTickets) -> str:
    made = await plugin.create("INC-9", "Checkout errors", "Default", "High", "", "")
    return made.id


async def test_jira_5xx_answers_are_tried_again(jira: FakeJira) -> None:
    jira.fail("POST", "/search/jql", 503, times=2)
    assert await create(plugin_for(jira)) == "OPS-1"
    assert [r.status for r in jira.requests_to("POST", "/search/jql")] == [503, 503, 200]
    assert len(jira.issues) == 1


async def test_a_creation_jira_made_but_answered_502_is_found_not_made_again(jira: FakeJira) -> None:
    jira.fail("POST", "/issue", 502, applied=True)
    assert await create(plugin_for(jira)) == "OPS-1"
    assert [issue.key for issue in jira.issues] == ["OPS-1"]
    assert len(jira.requests_to("POST", "/issue")) == 1  # the retry searched and found it
    assert len(jira.requests_to("POST", "/search/jql")) == 2


async def test_a_jira_always_failing_is_reported_after_three_attempts(jira: FakeJira) -> None:
    jira.fail("POST", "/search/jql", 500, times=100)
    with pytest.raises(PluginError, match="Jira answered 500 Internal Server Error"):
        await asyncio.wait_for(create(plugin_for(jira)), 5)
    assert len(jira.requests_to("POST", "/search/jql")) == 3
    assert jira.issues == []


async def test_a_jira_search_timing_out_once_is_tried_again(jira: FakeJira) -> None:
    jira.slow("POST", "/search/jql", 1.0, times=1)
    assert await create(plugin_for(jira, timeout=1.5)) == "OPS-1"  # 0.5 s an attempt
    assert len(jira.requests_to("POST", "/search/jql")) == 2
    assert len(jira.issues) == 1


async def test_a_jira_never_answering_is_reported_within_the_timeout(jira: FakeJira) -> None:
    jira.slow("PUT", "/issue/", 1.0)
    start = asyncio.get_running_loop().time()
    with pytest.raises(PluginError, match="did not answer PUT /issue/OPS-1 in time"):
        await plugin_for(jira, timeout=0.6).update("OPS-1", {"title": "New"})
    assert asyncio.get_running_loop().time() - start < 2
    assert len(jira.requests_to("PUT", "/issue/OPS-1")) == 3


async def test_a_short_jira_rate_limit_is_waited_out_and_a_long_one_reported(jira: FakeJira) -> None:
    jira.fail("POST", "/search/jql", 429, retry_after=0.1)
    assert await create(plugin_for(jira)) == "OPS-1"
    assert len(jira.requests_to("POST", "/search/jql")) == 2

    jira.fail("POST", "/search/jql", 429, retry_after=60)
    with pytest.raises(PluginRateLimited) as raised:
        await create(plugin_for(jira))
    assert raised.value.retry_after == 60
    assert len(jira.requests_to("POST", "/search/jql")) == 3
