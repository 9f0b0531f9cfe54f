"""What responders learn, as they see it in Slack: the runbooks that match suggested in the channel
(each once, even when a post is retried), the tags found in the incident's text on the timeline, and
terms explained on request and once per incident."""

from __future__ import annotations

from sqlmodel import select

from bot.config.filters import Filter, to_column
from bot.runtime.process import BotProcess
from bot.sandbox.slack import FakeSlack
from storage.models import Definition, Document, Project, Tag, TagType
from tests.test_incident_report import report, wait_until_opened
from tests.test_incident_update import open_incident, open_update_modal, the_incident
from tests.test_people import timeline
from tests.test_update_effects import effect_rows, later


async def configure(bot: BotProcess) -> None:
    """Runbooks, a reference document, discoverable tags and definitions for the only project."""
    async with bot.ctx.sessions() as session:
        project = (await session.exec(select(Project))).one()
        assert project.id is not None
        component = TagType(project_id=project.id, name="Component")
        region = TagType(project_id=project.id, name="Region", exclusive=True)
        session.add_all([component, region])
        await session.flush()
        assert component.id is not None and region.id is not None
        session.add_all(
            [
                Document(
                    project_id=project.id,
                    name="Checkout runbook",
                    description="Restart the checkout pods, then check the payment gateway.",
                    weblink="https://wiki.example.com/checkout",
                    filters=to_column(Filter(words=["checkout"])),
                ),
                Document(
                    project_id=project.id,
                    name="Database runbook",
                    description="Failing over the primary.",
                    weblink="https://wiki.example.com/db",
                    filters=to_column(Filter(words=["database"])),
                ),
                Document(
                    project_id=project.id,
                    name="Payments guide",
                    weblink="https://wiki.example.com/payments",
                    filters=to_column(Filter(tags=["Payments API"])),
                ),
                Document(project_id=project.id, name="No filter", weblink="https://wiki.example.com/x"),
                Tag(project_id=project.id, tag_type_id=component.id, name="Payments API"),
                Tag(project_id=project.id, tag_type_id=component.id, name="Search"),
                Tag(project_id=project.id, tag_type_id=component.id, name="Cache", discoverable=False),
                Tag(project_id=project.id, tag_type_id=region.id, name="EU"),
                Tag(project_id=project.id, tag_type_id=region.id, name="US"),
                Definition(
                    project_id=project.id,
                    term="SLO",
                    synonyms=["service level objective"],
                    text="The share of requests we promise to serve well.",
                    link="https://wiki.example.com/slo",
                ),
                Definition(project_id=project.id, term="Error budget", text="What the SLO lets us fail."),
                Definition(project_id=project.id, term="RTO", text="How long we may take to recover."),
            ]
        )
        await session.commit()


def suggestion_messages(slack: FakeSlack, channel: str) -> list[str]:
    return [str(m.blocks) for m in slack.messages(channel) if m.text.startswith(":books:")]


def explanation_messages(slack: FakeSlack, channel: str) -> list[str]:
    return [str(m.blocks) for m in slack.messages(channel) if m.text.startswith(":bulb:")]


async def open_with(slack: FakeSlack, bot: BotProcess, user: str, title: str, description: str) -> str:
    await report(slack, user, title, Description=description)
    await wait_until_opened(slack, bot)
    return str(next(c.response["channel"]["id"] for c in slack.calls_to("conversations.create") if c.ok))


async def update(slack: FakeSlack, user: str, channel: str, **fields: object) -> None:
    await open_update_modal(slack, user, channel)
    await slack.as_user(user).submit_view(dict(fields))
    await slack.wait_for(lambda: "Saved" in str(slack.open_view_for(user) or {}), timeout=5)


async def test_matching_runbooks_are_suggested_at_creation_and_when_an_update_makes_them_match(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    await configure(bot)
    channel = await open_incident(slack, bot, ada, "Checkout is down")

    [first] = suggestion_messages(slack, channel)
    assert "Checkout runbook" in first and "https://wiki.example.com/checkout" in first
    assert "Restart the checkout pods" in first
    assert "Database runbook" not in first and "No filter" not in first

    await update(slack, ada, channel, Description="The checkout database is out of connections.")
    await slack.wait_for(lambda: len(suggestion_messages(slack, channel)) == 2, timeout=5)
    second = suggestion_messages(slack, channel)[1]
    assert "Database runbook" in second and "Checkout runbook" not in second  # each document once

    await update(slack, ada, channel, Title="Checkout is down for everyone")
    await slack.wait_for(lambda: bot.ctx.tasks.pending == 0, timeout=5)
    assert len(suggestion_messages(slack, channel)) == 2


async def test_a_document_that_no_longer_matches_when_its_retry_comes_is_not_suggested(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    await configure(bot)
    channel = await open_with(slack, bot, ada, "Login is slow", "Logins time out.")
    assert suggestion_messages(slack, channel) == []
    slack.faults.fail("chat.postMessage", error="internal_error", times=5)
    await update(slack, ada, channel, Description="The database is slow.")
    await slack.wait_for(lambda: bot.ctx.tasks.pending == 0, timeout=5)
    slack.faults.clear()
    # Before the suggestion's retry, the database is taken out of the description again.
    await update(slack, ada, channel, Description="Logins time out because of DNS.")
    await slack.wait_for(lambda: bot.ctx.tasks.pending == 0, timeout=5)
    await later(bot, 20)
    assert all("Database runbook" not in shown for shown in suggestion_messages(slack, channel))
    assert {row.status for row in await effect_rows(bot, "knowledge.suggest")} == {"done"}


async def test_a_suggestion_whose_answer_was_lost_is_posted_once(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    await configure(bot)
    channel = await open_with(slack, bot, ada, "Login is slow", "Logins time out.")
    # Slack posts what the update says, but its answers never come back.
    slack.faults.lose_answer("chat.postMessage", times=5)
    await update(slack, ada, channel, Description="The database is slow.")
    await slack.wait_for(lambda: bot.ctx.tasks.pending == 0, timeout=5)
    [suggest] = await effect_rows(bot, "knowledge.suggest")
    assert suggest.status == "pending"
    assert len(suggestion_messages(slack, channel)) == 1  # it was posted, the bot cannot know

    slack.faults.clear()
    await later(bot, 20)  # the retry finds the message by its key instead of posting it again
    [suggest] = await effect_rows(bot, "knowledge.suggest")
    assert suggest.status == "done"
    [shown] = suggestion_messages(slack, channel)
    assert "Database runbook" in shown


async def test_tags_found_in_the_text_are_added_with_why_and_one_removed_by_hand_stays_removed(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    await configure(bot)
    channel = await open_with(
        slack, bot, ada, "Payments-API errors", "Customers in the EU and US; the cache is cold."
    )

    # Region is exclusive and the text names two regions: neither is guessed. Cache is not discoverable.
    assert (await the_incident(bot)).tags == ["Payments API"]
    [event] = await timeline(bot, "tags_found")
    assert "Payments API" in event.description and "title" in event.description
    # The tag found brings its guide with it.
    assert any("Payments guide" in shown for shown in suggestion_messages(slack, channel))

    await update(slack, ada, channel, Tags=[], Description="The search and payments API are both failing.")
    await slack.wait_for(lambda: bot.ctx.tasks.pending == 0, timeout=5)
    assert (await the_incident(bot)).tags == ["Search"]  # Payments API was removed by hand: not again
    found = await timeline(bot, "tags_found")
    assert len(found) == 2 and "Search" in found[1].description and "description" in found[1].description


async def test_define_answers_only_the_person_who_asked(slack: FakeSlack, bot: BotProcess) -> None:
    ada = slack.add_user("ada")
    await configure(bot)
    general = slack.add_channel("general", members=[ada])

    await slack.as_user(ada).slash_command("/dispatch-define service-level objective", channel=general)
    await slack.wait_for(lambda: any(p.user == ada for p in slack.response_url_posts), timeout=5)
    answer = slack.response_url_posts[-1].body
    assert answer["response_type"] == "ephemeral"
    assert "SLO" in str(answer["blocks"]) and "promise to serve well" in str(answer["blocks"])
    assert "https://wiki.example.com/slo" in str(answer["blocks"])

    await slack.as_user(ada).slash_command("/dispatch-define SOL", channel=general)
    await slack.wait_for(lambda: len(slack.response_url_posts) == 2, timeout=5)
    missing = slack.response_url_posts[-1].body["text"]
    assert "no definition of “SOL”" in missing and "closest: *SLO*" in missing


async def test_explain_terms_explains_the_terms_a_message_uses_in_one_ephemeral(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada, bob = slack.add_user("ada"), slack.add_user("bob")
    await configure(bot)
    general = slack.add_channel("general", members=[ada, bob])
    message = await slack.as_user(bob).post_message(general, "We burnt the error budget; the SLO is at risk.")

    await slack.as_user(ada).message_shortcut(general, message.ts, "explain_terms")
    await slack.wait_for(lambda: slack.ephemerals(general, ada), timeout=5)
    [answer] = slack.ephemerals(general, ada)
    assert "Error budget" in str(answer.blocks) and "SLO" in str(answer.blocks)
    assert "RTO" not in str(answer.blocks)
    assert not slack.ephemerals(general, bob)

    plain = await slack.as_user(bob).post_message(general, "Lunch?")
    await slack.as_user(ada).message_shortcut(general, plain.ts, "explain_terms")
    await slack.wait_for(lambda: len(slack.ephemerals(general, ada)) == 2, timeout=5)
    assert "no defined term" in slack.ephemerals(general, ada)[-1].text


async def test_the_terms_of_the_description_are_explained_once_per_incident(
    slack: FakeSlack, bot: BotProcess
) -> None:
    ada = slack.add_user("ada")
    await configure(bot)
    channel = await open_with(slack, bot, ada, "Latency", "The SLO for search is breached.")
    [first] = explanation_messages(slack, channel)
    assert "SLO" in first and "promise to serve well" in first

    await update(slack, ada, channel, Description="The SLO is breached; the RTO is one hour.")
    await slack.wait_for(lambda: len(explanation_messages(slack, channel)) == 2, timeout=5)
    second = explanation_messages(slack, channel)[1]
    assert "RTO" in second and "SLO" not in second
