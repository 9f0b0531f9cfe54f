"""Slack's rate limits: the fake enforcing its tiers, and the bot pacing itself and waiting out every 429,
whichever flow makes the call. Through the real slack_sdk client over HTTP; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack import ApiCall, FakeSlack, Limit
from bot.slack.client import build_web_client
from tests.conftest import running_bot
from tests.test_fake_slack import api_error
from tests.test_incident_report import incident_rows, report, wait_until_opened
from tests.test_timeline import modal

# Tests run Slack's minute twenty times as fast, on both sides of the wire; Retry-After stays whole seconds.
FAST = 20


def texts_of(call: ApiCall) -> str:
    return str((call.args.get("view") or {}).get("blocks"))


# ----- the fake -----


async def test_the_fake_enforces_slacks_tiers_only_when_asked() -> None:
    now = [0.0]
    async with FakeSlack(rate_limit_clock=lambda: now[0]) as slack:
        web = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        general = slack.add_channel("general", members=[slack.bot_user_id])
        for index in range(8):  # off by default
            await web.conversations_create(name=f"free-{index}")

        slack.enforce_rate_limits()
        for index in range(5):  # Tier 2: a burst of five, then one every 3 s (20 a minute)
            await web.conversations_create(name=f"burst-{index}")
        refused = await api_error(web.conversations_create(name="one-too-many"))
        assert refused["error"] == "ratelimited"
        [call] = [c for c in slack.calls_to("conversations.create") if c.status == 429]
        assert (call.retry_after, call.arrived, call.answered) == (3, 0.0, 0.0)
        assert slack.channel_by_name("one-too-many") is None  # a refused call does nothing
        now[0] = 3.0
        await web.conversations_create(name="one-too-many")

        # chat.postMessage: a short burst per channel, about one a second after it; other channels go on.
        other = slack.add_channel("other", members=[slack.bot_user_id])
        for index in range(4):
            await web.chat_postMessage(channel=general, text=f"post {index}")
        assert (await api_error(web.chat_postMessage(channel=general, text="fifth")))[
            "error"
        ] == "ratelimited"
        await web.chat_postMessage(channel=other, text="elsewhere")
        now[0] = 4.0
        await web.chat_postMessage(channel=general, text="fifth")
        assert [m.text for m in slack.messages(general)][-1] == "fifth"

        # Reads are generous (Tier 4: a burst of twenty) and the limits can be set per method.
        for _ in range(20):
            await web.users_info(user=slack.bot_user_id)
        slack.enforce_rate_limits({"users.info": Limit(per_minute=1, burst=1)}, scale=2)
        await web.users_info(user=slack.bot_user_id)
        assert (await api_error(web.users_info(user=slack.bot_user_id)))["error"] == "ratelimited"
        assert slack.calls[-1].retry_after == 30  # one a minute, twice as fast
        assert slack.held_back(slack.calls[-1]) == []


# ----- the bot's client -----


async def test_after_a_429_on_a_channel_every_caller_waits_for_it_and_other_channels_go_on(
    slack: FakeSlack,
) -> None:
    web = build_web_client(slack.bot_token, slack.api_url, pace_scale=0)  # the 429 alone makes it wait
    a = slack.add_channel("a", members=[slack.bot_user_id])
    b = slack.add_channel("b", members=[slack.bot_user_id])
    slack.faults.rate_limit("chat.postMessage", retry_after=1, channel=a)

    first = asyncio.ensure_future(web.chat_postMessage(channel=a, text="first to A"))
    refused = await slack.wait_for_call("chat.postMessage", lambda call: call.status == 429)
    # Other callers, after the 429: one to A, one to B.
    second = asyncio.ensure_future(web.chat_postMessage(channel=a, text="second to A"))
    await web.chat_postMessage(channel=b, text="to B")
    await asyncio.gather(first, second)

    assert slack.held_back(refused) == [] and slack.early_retries() == []
    posts = [
        (call.args["channel"], call.args["text"]) for call in slack.calls_to("chat.postMessage") if call.ok
    ]
    assert posts[0] == (b, "to B")  # B did not wait for A's Retry-After
    assert sorted(posts[1:]) == [(a, "first to A"), (a, "second to A")]
    assert sorted(m.text for m in slack.messages(a)) == ["first to A", "second to A"]


# ----- the bot -----


async def add_timeline_event(slack: FakeSlack, user: str, channel: str, description: str) -> None:
    actor = slack.as_user(user)
    await actor.slash_command(
        f"/dispatch-add-timeline-event desc {description} DATE 2026-01-02 time 10:30", channel=channel
    )
    await slack.wait_for(lambda: modal(slack, user, "timeline_add_event"))
    await actor.submit_view()


def confirmations(slack: FakeSlack, channel: str) -> list[str]:
    return [m.text for m in slack.messages(channel) if "added to the timeline" in m.text]


async def test_a_429_in_one_incident_channel_holds_its_posts_from_every_flow_not_the_others(
    slack: FakeSlack, database_url: str
) -> None:
    alice, bob = slack.add_user("alice"), slack.add_user("bob")
    async with running_bot(slack, database_url) as bot:
        await report(slack, alice, "Checkout is down")
        await report(slack, bob, "Search is slow")
        await wait_until_opened(slack, bot, count=2)
        a = slack.channel_by_name("inc-1-checkout-is-down")
        b = slack.channel_by_name("inc-2-search-is-slow")
        assert a is not None and b is not None

        slack.faults.rate_limit("chat.postMessage", retry_after=2, channel=a.id)
        since = len(slack.calls)
        await add_timeline_event(slack, alice, a.id, "Rolled back")
        refused = await slack.wait_for_call("chat.postMessage", lambda c: c.status == 429, since=since)
        # While A is held: another flow posts to A, and one posts to B.
        await add_timeline_event(slack, alice, a.id, "Cache flushed")
        await add_timeline_event(slack, bob, b.id, "Index rebuilt")
        await slack.wait_for(lambda: len(confirmations(slack, a.id)) == 2, timeout=10)

    assert slack.held_back(refused) == [] and slack.early_retries() == []
    posted = [
        call.args["channel"] for call in slack.calls[since:] if call.method == "chat.postMessage" and call.ok
    ]
    assert posted == [b.id, a.id, a.id]  # B went on while A waited out its Retry-After
    assert len(confirmations(slack, b.id)) == 1
    assert sorted("Rolled back" in text for text in confirmations(slack, a.id)) == [False, True]


async def test_a_burst_of_declarations_beyond_slacks_channel_limit_opens_every_incident(
    slack: FakeSlack, database_url: str
) -> None:
    users = [slack.add_user(f"user{index}") for index in range(9)]
    slack.enforce_rate_limits(scale=FAST)
    async with running_bot(slack, database_url, slack_pace_scale=FAST) as bot:
        # The first channel is refused once, Retry-After 3 s; eight more are declared meanwhile, beyond
        # Slack's burst of five channels.
        slack.faults.rate_limit("conversations.create", retry_after=3)
        first = await report(slack, users[0], "Outage 0")
        refused = await slack.wait_for_call("conversations.create", lambda c: c.status == 429)
        burst = await asyncio.gather(
            *(report(slack, user, f"Outage {index}") for index, user in enumerate(users) if index)
        )
        await wait_until_opened(slack, bot, count=len(users), timeout=60)
        incidents = await incident_rows(bot)

    # Nothing lost, nothing twice: every incident has its own channel with its reporter and one summary.
    assert [incident.number for incident in incidents] == list(range(1, len(users) + 1))
    created = [call for call in slack.calls_to("conversations.create") if call.ok]
    assert len(created) == len(users)
    for incident in incidents:
        channel = slack.channel(f"inc-{incident.number}-{incident.title.lower().replace(' ', '-')}")
        assert incident.reporter_user_id in slack.members(channel.id)
        assert len(slack.pins(channel.id)) == 1
    # No channel asked for before the Retry-After had passed, and no 429 retried early.
    assert slack.held_back(refused) == []
    assert slack.early_retries() == []

    # Each reporter told at once that the incident exists and its channel is being opened, then told
    # again once it is ready; those told while channels were held were given their place in the queue.
    assert refused.answered is not None
    held = (refused.answered, refused.answered + 3)
    queued = 0
    for interaction in [first, *burst]:
        view_id = interaction.delivery.payload["view"]["id"]
        updates = [
            c
            for c in slack.calls_to("views.update")
            if c.ok
            and c.args.get("view_id") == view_id
            and "Incident reported" in str(c.args["view"]["title"])
        ]
        assert len(updates) == 2, [texts_of(c) for c in updates]
        told, ready = texts_of(updates[0]), texts_of(updates[1])
        assert "exists" in told and "The channel is being opened" in told
        if held[0] < updates[0].arrived < held[1]:
            assert "in the queue" in told
            queued += 1
        assert "is open: join the response in <#" in ready
    assert queued > 1  # the burst came in while the first channel's Retry-After ran
