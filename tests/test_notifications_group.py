"""/dispatch-notifications-group through the real bot, the fake Slack and the fake Google, on SQLite
and PostgreSQL: the members shown, addresses checked inline, the difference applied and said."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.groups.flows import parse_addresses
from bot.groups.views import members_modal
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import TimelineEvent
from tests.fakes.google import FakeGoogle
from tests.test_engagement import channel_of_first_incident
from tests.test_google import private_key  # noqa: F401  (the key fixture)
from tests.test_incident_documents import STEPS, opened
from tests.test_incident_report import report
from tests.test_incident_resources import bot, google  # noqa: F401  (the fixtures)
from tests.test_people import assign, open_modal
from tests.test_tickets import settled

GROUP = "inc-1-notifications@example.com"
LABEL = "Members (comma-separated e-mail addresses)"


async def open_members_modal(slack: FakeSlack, user: str, channel: str) -> dict[str, Any]:
    await slack.as_user(user).slash_command("/dispatch-notifications-group", channel=channel)
    found = await slack.wait_for(
        lambda: (view := open_modal(slack, user, "groups_notifications")) and view, timeout=10
    )
    return dict(found)


def members_shown(view: dict[str, Any]) -> str:
    [block] = [b for b in view["blocks"] if b.get("block_id") == "groups_notifications_members"]
    return str(block["element"].get("initial_value", ""))


def said_to(slack: FakeSlack, channel: str, user: str, words: str) -> list[str]:
    return [m.text for m in slack.ephemerals(channel, user) if words in m.text]


async def test_the_commander_sets_the_members_and_the_difference_is_applied(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    ada = slack.add_user("ada", email="ada@example.com")
    channel = await opened(slack, bot, google, ada, "Checkout errors", templates=False)
    google.groups[GROUP]["members"]["old@example.com"] = "MEMBER"  # added in Google by someone

    view = await open_members_modal(slack, ada, channel)
    assert members_shown(view) == "old@example.com"

    submitted = await slack.as_user(ada).submit_view({LABEL: "execs@example.com, old@example.com\nbad@@x"})
    assert submitted.errors == {
        "groups_notifications_members": "bad@@x is not an e-mail address; separate addresses with commas."
    }
    assert list(google.groups[GROUP]["members"]) == ["old@example.com"]

    await slack.as_user(ada).submit_view({LABEL: "Execs@example.com, ops@example.com"})
    [said] = await slack.wait_for(lambda: said_to(slack, channel, ada, "updated"), timeout=10)
    assert said == (
        f"Notifications group {GROUP} updated: added execs@example.com, ops@example.com; "
        "removed old@example.com."
    )
    assert sorted(google.groups[GROUP]["members"]) == ["execs@example.com", "ops@example.com"]
    async with bot.ctx.sessions() as session:
        [event] = (
            await session.exec(
                select(TimelineEvent).where(TimelineEvent.kind == "notifications_group_updated")
            )
        ).all()
    assert event.actor == ada and event.details["removed"] == ["old@example.com"]

    view = await open_members_modal(slack, ada, channel)
    assert members_shown(view) == "execs@example.com, ops@example.com"
    await slack.as_user(ada).submit_view({LABEL: "execs@example.com, ops@example.com"})
    await slack.wait_for(lambda: said_to(slack, channel, ada, "already had exactly those"), timeout=10)


async def test_only_the_leads_may_and_only_where_groups_are_configured(
    slack: FakeSlack, bot: BotProcess, google: FakeGoogle
) -> None:
    ben = slack.add_user("ben", email="ben@example.com")
    cat = slack.add_user("cat", email="cat@example.com")
    await report(slack, ben, "No plugins here")
    await settled(bot, STEPS - 3)
    channel = channel_of_first_incident(slack)
    await slack.as_user(ben).slash_command("/dispatch-notifications-group", channel=channel)
    await slack.wait_for(lambda: said_to(slack, channel, ben, "not configured"), timeout=10)
    assert open_modal(slack, ben, "groups_notifications") is None

    await assign(slack, ben, channel, cat, "Participant")
    await slack.wait_for(lambda: cat in slack.members(channel))
    await slack.as_user(cat).slash_command("/dispatch-notifications-group", channel=channel)
    await slack.wait_for(lambda: said_to(slack, channel, cat, "Only the incident commander"), timeout=10)
    assert google.groups == {}


def test_addresses_are_split_on_commas_and_lines_and_bad_ones_named() -> None:
    assert parse_addresses("") == ([], [])
    assert parse_addresses(" A@example.com,b@example.com;\n a@example.com ") == (
        ["a@example.com", "b@example.com"],
        [],
    )
    assert parse_addresses("a@example.com, nobody, c@x..com, d@example.") == (
        ["a@example.com"],
        ["nobody", "c@x..com", "d@example."],
    )


def test_a_list_too_long_to_edit_is_not_offered_cut() -> None:
    few = members_modal({"incident_id": 1}, GROUP, ["a@example.com", "b@example.com"])
    assert members_shown(few) == "a@example.com, b@example.com" and few["submit"]
    many = members_modal({"incident_id": 1}, GROUP, [f"person{n}@example.com" for n in range(200)])
    assert "submit" not in many and "200 members, too many to edit here" in str(many["blocks"])
