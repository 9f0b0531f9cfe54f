"""Tests of the fake Slack workspace, driven through the real slack_sdk and slack_bolt clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.sandbox.slack import ActorError, FakeSlack, validate_blocks, validate_view

Listener = Callable[[AsyncBaseSocketModeClient, SocketModeRequest], Awaitable[None]]


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


INCIDENT_MODAL = {
    "type": "modal",
    "callback_id": "new_incident",
    "title": plain("New incident"),
    "submit": plain("Declare"),
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": plain("Title"),
            "element": {"type": "plain_text_input", "action_id": "value"},
        },
        {
            "type": "input",
            "block_id": "priority",
            "label": plain("Priority"),
            "element": {
                "type": "static_select",
                "action_id": "value",
                "options": [option("High", "p1"), option("Low", "p3")],
            },
        },
        {
            "type": "input",
            "block_id": "lead",
            "optional": True,
            "label": plain("Lead"),
            "element": {"type": "users_select", "action_id": "value"},
        },
        {
            "type": "input",
            "block_id": "areas",
            "optional": True,
            "label": plain("Areas"),
            "element": {
                "type": "checkboxes",
                "action_id": "value",
                "options": [option("API", "api"), option("Web", "web")],
            },
        },
        {
            "type": "input",
            "block_id": "when",
            "optional": True,
            "label": plain("Started"),
            "element": {"type": "datepicker", "action_id": "value"},
        },
    ],
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(ack_timeout=0.3) as server:
        yield server


@pytest.fixture
def web(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


async def api_error(call: Awaitable[Any]) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as caught:
        await call
    return dict(caught.value.response.data)


@asynccontextmanager
async def socket_client(fake: FakeSlack, listener: Listener | None = None) -> AsyncIterator[SocketModeClient]:
    client = SocketModeClient(
        app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.api_url), ping_interval=0.2
    )
    if listener is not None:
        client.socket_mode_request_listeners.append(listener)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


async def ack(
    client: AsyncBaseSocketModeClient, request: SocketModeRequest, payload: dict | None = None
) -> None:
    await client.send_socket_mode_response(
        SocketModeResponse(envelope_id=request.envelope_id, payload=payload)
    )


# ----- Web API: auth and call recording -----


async def test_auth_test_and_token_errors(fake: FakeSlack, web: AsyncWebClient) -> None:
    me = await web.auth_test()
    assert (me["ok"], me["user_id"], me["bot_id"], me["team_id"]) == (
        True,
        "UBOT",
        "BBOT",
        fake.workspace.team_id,
    )
    assert me["url"] == "https://test-team.slack.com/" and me["team"] == "Test Team" and me["user"]

    assert (await api_error(AsyncWebClient(base_url=fake.api_url).auth_test()))["error"] == "not_authed"
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url)
    assert (await api_error(wrong.auth_test()))["error"] == "invalid_auth"
    app_token_client = AsyncWebClient(token=fake.app_token, base_url=fake.api_url)
    assert (await api_error(app_token_client.auth_test()))["error"] == "not_allowed_token_type"
    assert (await api_error(web.apps_connections_open(app_token="xapp-nope")))["error"] == "invalid_auth"
    opened = await web.apps_connections_open(app_token=fake.app_token)
    assert opened["url"].startswith(f"ws://127.0.0.1:{fake.port}/link/?ticket=")


async def test_calls_are_recorded_and_unknown_methods_rejected(fake: FakeSlack, web: AsyncWebClient) -> None:
    channel = fake.add_channel("general", members=[fake.bot_user_id])
    await web.chat_postMessage(channel=channel, text="hello")
    [call] = fake.calls_to("chat.postMessage")
    assert call.args == {"channel": channel, "text": "hello"} and call.ok and call.token == "xoxb-test"

    assert (await api_error(web.api_call("chat.postMesage")))["error"] == "unknown_method"
    assert fake.unknown_methods == ["chat.postMesage"]


async def test_form_json_strings_and_get_query_args(fake: FakeSlack, web: AsyncWebClient) -> None:
    channel = fake.add_channel("ops", members=[fake.bot_user_id])
    blocks = [section("from a form field")]
    sent = await web.api_call(
        "chat.postMessage", data={"channel": channel, "text": "t", "blocks": json.dumps(blocks)}
    )
    assert sent["message"]["blocks"][0]["text"]["text"] == "from a form field"
    alice = fake.add_user("alice")
    got = await web.api_call("users.info", http_verb="GET", params={"user": alice})
    assert got["user"]["id"] == alice and got["user"]["name"] == "alice"


# ----- Web API: users, team -----


async def test_users_and_team_methods(fake: FakeSlack, web: AsyncWebClient) -> None:
    alice = fake.add_user("alice", email="alice@example.com", tz="Europe/Paris")
    info = (await web.users_info(user=alice))["user"]
    assert (info["tz"], info["tz_offset"], info["is_bot"], info["deleted"]) == (
        "Europe/Paris",
        3600,
        False,
        False,
    )
    assert (await web.users_lookupByEmail(email="ALICE@example.com"))["user"]["id"] == alice
    assert (await api_error(web.users_lookupByEmail(email="nobody@example.com")))[
        "error"
    ] == "users_not_found"
    assert (await api_error(web.users_info(user="U404")))["error"] == "user_not_found"
    assert (await web.users_profile_get(user=alice))["profile"]["email"] == "alice@example.com"
    members = (await web.users_list())["members"]
    assert {m["id"] for m in members} == {alice, "UBOT"}
    assert (await web.team_info())["team"]["domain"] == "test-team"
    assert (await web.emoji_list())["emoji"] == {}


# ----- Web API: conversations -----


async def test_conversations_create_validates_names(fake: FakeSlack, web: AsyncWebClient) -> None:
    created = (await web.conversations_create(name="inc-42_db", is_private=True))["channel"]
    assert created["id"].startswith("C") and created["is_private"] and created["creator"] == "UBOT"
    assert fake.members(created["id"]) == {"UBOT"}
    assert fake.channel_by_name("inc-42_db").id == created["id"]
    assert (await api_error(web.conversations_create(name="inc-42_db")))["error"] == "name_taken"
    assert (await api_error(web.conversations_create(name="Inc 42")))["error"] == "invalid_name_specials"
    assert (await api_error(web.conversations_create(name="x" * 81)))["error"] == "invalid_name_maxlength"
    assert (await web.conversations_create(name="x" * 80))["ok"]


async def test_conversation_membership(fake: FakeSlack, web: AsyncWebClient) -> None:
    alice, bob = fake.add_user("alice"), fake.add_user("bob")
    channel = (await web.conversations_create(name="inc-1"))["channel"]["id"]
    invited = await web.conversations_invite(channel=channel, users=[alice, bob])
    assert invited["channel"]["id"] == channel and fake.members(channel) == {"UBOT", alice, bob}
    assert (await api_error(web.conversations_invite(channel=channel, users=alice)))[
        "error"
    ] == "already_in_channel"
    assert (await api_error(web.conversations_invite(channel=channel, users="U404")))[
        "error"
    ] == "user_not_found"
    assert (await api_error(web.conversations_invite(channel=channel, users="UBOT")))[
        "error"
    ] == "cant_invite_self"
    await web.conversations_kick(channel=channel, user=bob)
    assert fake.members(channel) == {"UBOT", alice}
    assert (await api_error(web.conversations_kick(channel=channel, user=bob)))["error"] == "not_in_channel"
    members = await web.conversations_members(channel=channel)
    assert set(members["members"]) == {"UBOT", alice}

    await web.conversations_archive(channel=channel)
    assert fake.channel(channel).is_archived
    assert (await api_error(web.conversations_archive(channel=channel)))["error"] == "already_archived"
    assert (await api_error(web.conversations_invite(channel=channel, users=bob)))["error"] == "is_archived"
    assert (await api_error(web.chat_postMessage(channel=channel, text="x")))["error"] == "is_archived"
    await web.conversations_unarchive(channel=channel)
    assert (await api_error(web.conversations_unarchive(channel=channel)))["error"] == "not_archived"

    public = fake.add_channel("random", members=[alice])
    joined = await web.conversations_join(channel=public)
    assert joined["channel"]["is_member"] and "UBOT" in fake.members(public)
    await web.conversations_leave(channel=public)
    assert fake.members(public) == {alice}


async def test_conversation_info_list_topic_rename(fake: FakeSlack, web: AsyncWebClient) -> None:
    ids = [fake.add_channel(f"chan-{i}", members=[fake.bot_user_id]) for i in range(3)]
    hidden = fake.add_channel("secret", is_private=True)
    first = await web.conversations_list(limit=2)
    second = await web.conversations_list(limit=2, cursor=first["response_metadata"]["next_cursor"])
    assert [c["id"] for c in first["channels"] + second["channels"]] == ids
    assert second["response_metadata"]["next_cursor"] == ""
    listed = await web.conversations_list(types="public_channel,private_channel")
    assert hidden not in {c["id"] for c in listed["channels"]}
    assert (await api_error(web.conversations_info(channel=hidden)))["error"] == "channel_not_found"

    topic = await web.conversations_setTopic(channel=ids[0], topic="Sev1: checkout down")
    await web.conversations_setPurpose(channel=ids[0], purpose="War room")
    renamed = await web.conversations_rename(channel=ids[0], name="inc-checkout")
    info = (await web.conversations_info(channel=ids[0], include_num_members=True))["channel"]
    assert topic["channel"]["topic"]["value"] == "Sev1: checkout down"
    assert (info["name"], info["purpose"]["value"], info["num_members"]) == ("inc-checkout", "War room", 1)
    assert renamed["channel"]["previous_names"] == ["chan-0"]
    assert (await api_error(web.conversations_rename(channel=ids[1], name="chan-2")))["error"] == "name_taken"


async def test_dm_history_and_replies(fake: FakeSlack, web: AsyncWebClient) -> None:
    alice = fake.add_user("alice")
    dm = (await web.conversations_open(users=alice))["channel"]["id"]
    assert dm.startswith("D") and (await web.conversations_open(users=[alice]))["channel"]["id"] == dm
    first = await web.chat_postMessage(channel=dm, text="one")
    second = await web.chat_postMessage(channel=alice, text="two")  # a user id posts to the bot's DM
    reply = await web.chat_postMessage(channel=dm, text="in thread", thread_ts=first["ts"])
    assert first["ts"] < second["ts"] < reply["ts"] and first["ts"].startswith("1700000000.")
    assert [m.text for m in fake.dms_to(alice)] == ["one", "two", "in thread"]
    history = await web.conversations_history(channel=dm)
    assert [m["text"] for m in history["messages"]] == ["two", "one"]
    assert history["messages"][1]["reply_count"] == 1
    replies = await web.conversations_replies(channel=dm, ts=first["ts"])
    assert [m["text"] for m in replies["messages"]] == ["one", "in thread"]


# ----- Web API: chat, pins, bookmarks, reactions -----


async def test_chat_methods(fake: FakeSlack, web: AsyncWebClient) -> None:
    alice, bob = fake.add_user("alice"), fake.add_user("bob")
    channel = fake.add_channel("inc-7", members=[fake.bot_user_id, alice])
    private = fake.add_channel("private", members=[alice], is_private=True)
    assert (await api_error(web.chat_postMessage(channel="C404", text="x")))["error"] == "channel_not_found"
    assert (await api_error(web.chat_postMessage(channel=private, text="x")))["error"] == "not_in_channel"

    posted = await web.chat_postMessage(channel=channel, text="Incident declared", blocks=[section("*Sev1*")])
    assert posted["message"]["text"] == "Incident declared" and posted["message"]["bot_id"] == "BBOT"
    assert posted["message"]["blocks"][0]["block_id"]  # Slack fills in missing block ids
    updated = await web.chat_update(
        channel=channel, ts=posted["ts"], text="Resolved", blocks=[section("done")]
    )
    assert updated["message"]["text"] == "Resolved" and "edited" in updated["message"]
    assert [m.text for m in fake.messages(channel)] == ["Resolved"]

    await web.chat_postEphemeral(channel=channel, user=alice, text="only you")
    assert [m.text for m in fake.ephemerals(channel, alice)] == ["only you"]
    assert (await api_error(web.chat_postEphemeral(channel=channel, user=bob, text="x")))[
        "error"
    ] == "user_not_in_channel"

    link = await web.chat_getPermalink(channel=channel, message_ts=posted["ts"])
    assert (
        link["permalink"]
        == f"https://test-team.slack.com/archives/{channel}/p{posted['ts'].replace('.', '')}"
    )
    await web.chat_delete(channel=channel, ts=posted["ts"])
    assert fake.messages(channel) == []
    assert (await api_error(web.chat_delete(channel=channel, ts=posted["ts"])))[
        "error"
    ] == "message_not_found"


async def test_pins_bookmarks_reactions(fake: FakeSlack, web: AsyncWebClient) -> None:
    channel = fake.add_channel("inc-8", members=[fake.bot_user_id])
    ts = (await web.chat_postMessage(channel=channel, text="status"))["ts"]
    await web.pins_add(channel=channel, timestamp=ts)
    assert (await api_error(web.pins_add(channel=channel, timestamp=ts)))["error"] == "already_pinned"
    assert [m.ts for m in fake.pins(channel)] == [ts]
    assert (await web.pins_list(channel=channel))["items"][0]["message"]["ts"] == ts
    await web.pins_remove(channel=channel, timestamp=ts)
    assert fake.pins(channel) == []

    added = (await web.bookmarks_add(channel_id=channel, title="Runbook", type="link", link="https://rb"))[
        "bookmark"
    ]
    await web.bookmarks_edit(channel_id=channel, bookmark_id=added["id"], title="Runbook v2")
    assert [b["title"] for b in (await web.bookmarks_list(channel_id=channel))["bookmarks"]] == ["Runbook v2"]
    await web.bookmarks_remove(channel_id=channel, bookmark_id=added["id"])
    assert fake.bookmarks(channel) == []

    await web.reactions_add(channel=channel, timestamp=ts, name="eyes")
    got = await web.reactions_get(channel=channel, timestamp=ts)
    assert got["message"]["reactions"] == [{"name": "eyes", "users": ["UBOT"], "count": 1}]


async def test_files_upload_v2_keeps_content(fake: FakeSlack, web: AsyncWebClient) -> None:
    channel = fake.add_channel("inc-9", members=[fake.bot_user_id])
    result = await web.files_upload_v2(
        channel=channel,
        content="timeline...",
        filename="timeline.md",
        title="Timeline",
        initial_comment="here",
    )
    file_id = result["file"]["id"]
    assert fake.file(file_id).content == b"timeline..." and fake.file(file_id).title == "Timeline"
    [message] = fake.messages(channel)
    assert (message.text, message.files) == ("here", [file_id])


# ----- Web API: views -----


async def test_views_open_update_push_publish(fake: FakeSlack, web: AsyncWebClient) -> None:
    alice = fake.add_user("alice")
    opened = (await web.views_open(trigger_id=fake.issue_trigger(alice), view=INCIDENT_MODAL))["view"]
    assert opened["id"].startswith("V") and opened["hash"] and opened["state"] == {"values": {}}
    assert fake.open_view_for(alice)["id"] == opened["id"]

    changed = {**INCIDENT_MODAL, "title": plain("Edit incident")}
    updated = (await web.views_update(view_id=opened["id"], view=changed, hash=opened["hash"]))["view"]
    assert updated["title"]["text"] == "Edit incident" and updated["hash"] != opened["hash"]
    assert (await api_error(web.views_update(view_id=opened["id"], view=changed, hash=opened["hash"])))[
        "error"
    ] == "hash_conflict"
    assert (await api_error(web.views_update(view_id="V404", view=changed)))["error"] == "not_found"

    pushed = await web.views_push(
        trigger_id=fake.issue_trigger(alice), view={**INCIDENT_MODAL, "external_id": "x1"}
    )
    assert (
        pushed["view"]["previous_view_id"] == opened["id"] and pushed["view"]["root_view_id"] == opened["id"]
    )
    by_external = await web.views_update(external_id="x1", view={**INCIDENT_MODAL, "title": plain("Pushed")})
    assert by_external["view"]["id"] == pushed["view"]["id"] == fake.open_view_for(alice)["id"]
    assert [v["id"] for v in fake.views_of(alice)] == [opened["id"], pushed["view"]["id"]]

    home = {"type": "home", "blocks": [section("Your incidents")]}
    published = (await web.views_publish(user_id=alice, view=home))["view"]
    assert fake.home_view(alice)["id"] == published["id"]


async def test_views_open_trigger_rules() -> None:
    # The ttl leaves a loaded machine time to use a fresh trigger; the stale one waits past it.
    async with FakeSlack(trigger_ttl=1.0) as fake:
        web = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        alice = fake.add_user("alice")
        assert (await api_error(web.views_open(trigger_id="1.2.x", view=INCIDENT_MODAL)))[
            "error"
        ] == "invalid_trigger_id"
        stale = fake.issue_trigger(alice)
        await asyncio.sleep(1.1)
        assert (await api_error(web.views_open(trigger_id=stale, view=INCIDENT_MODAL)))[
            "error"
        ] == "expired_trigger_id"
        fresh = fake.issue_trigger(alice)
        await web.views_open(trigger_id=fresh, view=INCIDENT_MODAL)
        assert (await api_error(web.views_open(trigger_id=fresh, view=INCIDENT_MODAL)))[
            "error"
        ] == "exchanged_trigger_id"


# ----- Block Kit violations over the wire -----


async def test_too_many_blocks_is_rejected_and_recorded(fake: FakeSlack, web: AsyncWebClient) -> None:
    channel = fake.add_channel("inc-10", members=[fake.bot_user_id])
    body = await api_error(web.chat_postMessage(channel=channel, text="x", blocks=[section("b")] * 51))
    assert body["error"] == "invalid_blocks"
    assert any("51 blocks, at most 50" in e for e in body["errors"])
    assert fake.violations and fake.violations[0].startswith("chat.postMessage: ")
    assert fake.messages(channel) == []


async def test_misspelled_key_and_no_text(fake: FakeSlack, web: AsyncWebClient) -> None:
    channel = fake.add_channel("inc-11", members=[fake.bot_user_id])
    button = {"type": "button", "text": plain("Ack"), "acton_id": "ack"}
    body = await api_error(
        web.chat_postMessage(channel=channel, text="x", blocks=[{"type": "actions", "elements": [button]}])
    )
    assert body["error"] == "invalid_blocks"
    assert body["errors"] == ["blocks[0].elements[0]: unknown key 'acton_id' for type 'button'"]
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        assert (await api_error(web.chat_postMessage(channel=channel)))["error"] == "no_text"
    assert len(fake.violations) == 2


async def test_invalid_view_is_invalid_arguments(fake: FakeSlack, web: AsyncWebClient) -> None:
    alice = fake.add_user("alice")
    view = {key: value for key, value in INCIDENT_MODAL.items() if key != "submit"}
    body = await api_error(web.views_open(trigger_id=fake.issue_trigger(alice), view=view))
    assert body["error"] == "invalid_arguments"
    assert body["response_metadata"]["messages"] == [
        "[ERROR] view: a modal with input blocks needs a 'submit' button"
    ]
    assert fake.violations == ["views.open: view: a modal with input blocks needs a 'submit' button"]


# ----- validator as a pure function -----


def test_validate_blocks_accepts_a_realistic_message() -> None:
    blocks = [
        {"type": "header", "text": plain("Incident #42")},
        section(
            "*Sev1*",
            accessory={"type": "button", "text": plain("Open"), "action_id": "open", "url": "https://x"},
        ),
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "*Lead*"}, {"type": "mrkdwn", "text": "<@U1>"}],
        },
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "opened 5m ago"}]},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": plain("Ack"),
                    "action_id": "ack",
                    "style": "primary",
                    "value": "42",
                },
                {"type": "overflow", "action_id": "more", "options": [option("Mute", "mute")]},
                {"type": "users_select", "action_id": "assign", "placeholder": plain("Assign")},
            ],
        },
        {
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": "hi", "style": {}}]}
            ],
        },
    ]
    assert validate_blocks(blocks) == []
    assert validate_view(INCIDENT_MODAL) == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([section("a", block_id="x"), section("b", block_id="x")], "duplicate block_id 'x'"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "non-empty 'text'"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "longer than 2000"),
        ([section("s" * 3001)], "3000"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "must be a plain_text"),
        ([{"type": "sektion", "text": plain("x")}], "unknown block type 'sektion'"),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "text": plain("a"), "action_id": "same"},
                        {"type": "button", "text": plain("b"), "action_id": "same"},
                    ],
                }
            ],
            "duplicate action_id 'same'",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [{"type": "overflow", "options": [option("o", str(i)) for i in range(6)]}],
                }
            ],
            "6 options, at most 5",
        ),
    ],
)
def test_validate_blocks_catches(blocks: list[dict[str, Any]], expected: str) -> None:
    errors = validate_blocks(blocks)
    assert any(expected in error for error in errors), errors


def test_validate_view_limits() -> None:
    long_title = {**INCIDENT_MODAL, "title": plain("t" * 25)}
    assert validate_view(long_title) == ["view.title: longer than 24 characters"]
    too_many = {"type": "home", "blocks": [section("x")] * 101}
    assert validate_view(too_many) == ["view.blocks: 101 blocks, at most 100 allowed in a home"]
    echoed = {**INCIDENT_MODAL, "id": "V1", "state": {"values": {}}}
    assert validate_view(echoed) == [
        "view: unknown key 'id' for a modal view",
        "view: unknown key 'state' for a modal view",
    ]


@settings(max_examples=40, deadline=None)
@given(count=st.integers(min_value=1, max_value=120), surface=st.sampled_from(["message", "modal", "home"]))
def test_block_count_limit_property(count: int, surface: str) -> None:
    limit = 50 if surface == "message" else 100
    errors = validate_blocks([section(f"b{i}") for i in range(count)], surface)
    assert bool(errors) == (count > limit)


@settings(max_examples=40, deadline=None)
@given(key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_unknown_keys_are_flagged_property(key: str) -> None:
    # Button keys in the Block Kit reference, plus the newer ones slack_sdk 3.47 also models.
    documented = {"type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"}
    known = documented | {"alt_text", "agent_prompt", "agent_prompt_display", "visible_to_user_ids"}
    button = {"type": "button", "text": plain("Go"), "action_id": "go", key: "x"}
    errors = validate_blocks([{"type": "actions", "elements": [button]}])
    assert bool(errors) == (key not in known), errors


@settings(max_examples=30, deadline=None)
@given(n=st.integers(min_value=1, max_value=130))
def test_static_select_option_limit_property(n: int) -> None:
    select = {
        "type": "static_select",
        "action_id": "s",
        "options": [option(f"o{i}", str(i)) for i in range(n)],
    }
    errors = validate_blocks([section("pick", accessory=select)])
    assert bool(errors) == (n > 100), errors


# ----- faults -----


async def test_rate_limit_is_recovered_by_the_retry_handler(fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-12", members=[fake.bot_user_id])
    fake.faults.rate_limit("chat.postMessage", times=1, retry_after=0)
    web = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    assert (await web.chat_postMessage(channel=channel, text="after 429"))["ok"]
    assert [call.status for call in fake.calls_to("chat.postMessage")] == [429, 200]
    assert [m.text for m in fake.messages(channel)] == ["after 429"]  # the 429 never reached the method

    fake.faults.rate_limit("*", retry_after=7)
    body = await api_error(AsyncWebClient(token=fake.bot_token, base_url=fake.api_url).auth_test())
    assert body["error"] == "ratelimited"
    assert fake.calls[-1].status == 429


async def test_server_errors_fail_and_latency(fake: FakeSlack, web: AsyncWebClient) -> None:
    fake.faults.server_error("auth.test", status=503)
    retrying = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1)],
    )
    assert (await retrying.auth_test())["ok"]
    assert [c.status for c in fake.calls_to("auth.test")] == [503, 200]

    fake.faults.fail("users.list", error="fatal_error", times=2)
    for _ in range(2):
        assert (await api_error(web.users_list()))["error"] == "fatal_error"
    assert (await web.users_list())["ok"]

    fake.faults.latency("auth.test", 0.2)
    started = asyncio.get_running_loop().time()
    await web.auth_test()
    assert asyncio.get_running_loop().time() - started >= 0.2
    fake.faults.clear()
    assert fake.faults.delay_for("auth.test") == 0


# ----- Socket Mode -----


async def test_socket_mode_slash_command_round_trip(fake: FakeSlack) -> None:
    hellos: list[dict] = []
    received: list[SocketModeRequest] = []

    async def on_message(client: AsyncBaseSocketModeClient, message: dict, raw: str | None) -> None:
        if message.get("type") == "hello":
            hellos.append(message)

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        await ack(client, request, {"text": f"Got {request.payload['text']}"})

    client = SocketModeClient(app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.api_url))
    client.message_listeners.append(on_message)
    client.socket_mode_request_listeners.append(listener)
    try:
        await client.connect()
        await fake.wait_connected(2)
        alice = fake.add_user("alice")
        channel = fake.add_channel("ops", members=[alice])
        result = await fake.as_user(alice).slash_command("/incident new Disk full", channel="#ops")
    finally:
        await client.close()

    assert (
        hellos[0]["num_connections"] == 1 and hellos[0]["connection_info"]["app_id"] == fake.workspace.app_id
    )
    [request] = received
    assert request.type == "slash_commands" and request.accepts_response_payload
    payload = request.payload
    assert (payload["command"], payload["text"], payload["channel_id"]) == (
        "/incident",
        "new Disk full",
        channel,
    )
    assert (payload["user_id"], payload["user_name"], payload["channel_name"]) == (alice, "alice", "ops")
    assert payload["response_url"].startswith(fake.base_url) and payload["trigger_id"]
    assert result.ack == {"text": "Got new Disk full"} and 0 < result.latency < 1
    assert [m.text for m in fake.ephemerals(channel, alice)] == ["Got new Disk full"]


async def test_unacked_envelope_is_redelivered(fake: FakeSlack) -> None:
    seen: list[tuple[str, int | None, str | None]] = []

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        seen.append((request.envelope_id, request.retry_attempt, request.retry_reason))
        if request.retry_attempt:  # ignore the first delivery, ack the retry
            await ack(client, request)

    async with socket_client(fake, listener):
        await fake.wait_connected(2)
        delivery = await fake.deliver("events_api", fake.event_payload({"type": "app_mention", "text": "hi"}))
        acked = await delivery.acked(timeout=2)
    assert [(s[1], s[2]) for s in seen] == [(0, ""), (1, "timeout")]
    assert seen[0][0] == seen[1][0] == delivery.envelope_id
    assert acked.payload is None and acked.latency >= 0.3
    assert [a.retry_attempt for a in delivery.attempts] == [0, 1]
    assert fake.envelopes == [delivery]


async def test_gives_up_after_three_retries() -> None:
    async with FakeSlack(ack_timeout=0.05) as fake:
        attempts: list[int | None] = []

        async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
            attempts.append(request.retry_attempt)

        async with socket_client(fake, listener):
            await fake.wait_connected(2)
            delivery = await fake.deliver("interactive", {"type": "shortcut", "callback_id": "x"})
            with pytest.raises(TimeoutError):
                await delivery.acked()
        assert attempts == [0, 1, 2, 3] and delivery.gave_up


async def test_reconnects_after_drop_and_disconnect(fake: FakeSlack) -> None:
    async with socket_client(fake):
        await fake.wait_connected(2)
        assert await fake.drop_connections() == 1
        await fake.wait_connected(3)
        assert len(fake.calls_to("apps.connections.open")) == 2

        assert await fake.disconnect() == 1
        await fake.wait_for(lambda: len(fake.calls_to("apps.connections.open")) == 3, timeout=3)
        await fake.wait_for(lambda: fake.connected == 1 and fake.hub.total_connections == 3, timeout=3)


async def test_round_robin_over_two_connections(fake: FakeSlack) -> None:
    got: dict[str, list[str]] = {"a": [], "b": []}

    def listener_for(name: str) -> Listener:
        async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
            got[name].append(request.payload["event"]["text"])
            await ack(client, request)

        return listener

    async with socket_client(fake, listener_for("a")), socket_client(fake, listener_for("b")):
        await fake.wait_connected(2, count=2)
        for text in ("1", "2"):
            await (await fake.emit_event({"type": "message", "text": text})).acked(2)
    assert sorted(got["a"] + got["b"]) == ["1", "2"] and got["a"] and got["b"]


# ----- simulated users against a real Bolt app -----


def incident_app(fake: FakeSlack) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url), request_verification_enabled=False
    )

    @app.command("/incident")
    async def open_modal(ack: Any, body: dict, client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=INCIDENT_MODAL)

    @app.view("new_incident")
    async def submitted(ack: Any, body: dict, view: dict, client: AsyncWebClient) -> None:
        values = view["state"]["values"]
        title = values["title"]["value"]["value"]
        if len(title) < 5:
            await ack(response_action="errors", errors={"title": "Too short"})
            return
        await ack()
        priority = values["priority"]["value"]["selected_option"]["value"]
        lead = values["lead"]["value"]["selected_user"]
        areas = [o["value"] for o in values["areas"]["value"]["selected_options"]]
        started = values["when"]["value"]["selected_date"]
        channel = (await client.conversations_create(name="inc-disk"))["channel"]["id"]
        await client.conversations_invite(channel=channel, users=body["user"]["id"])
        await client.chat_postMessage(
            channel=channel,
            text=f"{title} {priority} {lead} {areas} {started}",
            blocks=[
                section(title),
                {
                    "type": "actions",
                    "elements": [{"type": "button", "text": plain("Resolve"), "action_id": "resolve"}],
                },
            ],
        )

    @app.action("resolve")
    async def resolve(ack: Any, respond: Any) -> None:
        await ack()
        await respond(text="Resolved", replace_original=True)

    @app.event("reaction_added")
    async def reacted(event: dict, say: Any) -> None:
        await say(text=f"saw :{event['reaction']}:", thread_ts=event["item"]["ts"])

    @app.event("member_joined_channel")
    async def joined(event: dict, client: AsyncWebClient) -> None:
        await client.chat_postEphemeral(channel=event["channel"], user=event["user"], text="welcome")

    return app


async def test_bolt_app_driven_by_simulated_users(fake: FakeSlack) -> None:
    alice, bob = fake.add_user("alice"), fake.add_user("bob")
    fake.add_channel("ops", members=[alice])
    handler = AsyncSocketModeHandler(incident_app(fake), fake.app_token, ping_interval=0.2)
    await handler.connect_async()
    try:
        await fake.wait_connected(2)
        actor = fake.as_user(alice)
        command = await actor.slash_command("/incident", channel="ops")
        assert command.ack is None
        view = await fake.wait_for(lambda: fake.open_view_for(alice), timeout=2)
        assert view["callback_id"] == "new_incident"

        with pytest.raises(ActorError, match="labels: \\['Title', 'Priority'"):
            await actor.submit_view({"Severity": "High"})
        with pytest.raises(ActorError, match="required input 'Priority'"):
            await actor.submit_view({"Title": "Disk full"})

        rejected = await actor.submit_view({"Title": "Disk", "Priority": "High"})
        assert rejected.response_action == "errors" and rejected.errors == {"title": "Too short"}
        assert fake.open_view_for(alice)["id"] == view["id"]

        accepted = await actor.submit_view(
            {
                "Title": "Disk full",
                "Priority": "High",
                "Lead": "bob",
                "Areas": ["API"],
                "Started": "2024-05-01",
            }
        )
        assert accepted.ack is None and fake.open_view_for(alice) is None
        submission = accepted.delivery.payload["view"]["state"]["values"]
        assert submission["priority"]["value"]["selected_option"]["value"] == "p1"
        assert submission["areas"]["value"] == {
            "type": "checkboxes",
            "selected_options": [option("API", "api")],
        }

        message = await fake.wait_for(lambda: fake.channel_by_name("inc-disk") and fake.messages("inc-disk"))
        channel = fake.channel_by_name("inc-disk").id
        assert message[0].text == f"Disk full p1 {bob} ['api'] 2024-05-01"
        assert fake.members(channel) == {"UBOT", alice}

        await actor.click_button(channel, message[0].ts, "Resolve")
        await fake.wait_for(lambda: fake.messages(channel)[0].text == "Resolved")

        await actor.add_reaction(channel, message[0].ts, "eyes")
        reply = await fake.wait_for(lambda: fake.messages(channel, thread_ts=message[0].ts)[1:])
        assert reply[0].text == "saw :eyes:" and message[0].reactions == {"eyes": [alice]}

        await fake.as_user(bob).join_channel("ops")
        assert await fake.wait_for(lambda: fake.ephemerals("ops", bob))
    finally:
        await handler.close_async()
    assert fake.violations == []


async def test_message_events_and_response_url(fake: FakeSlack) -> None:
    alice = fake.add_user("alice")
    channel = fake.add_channel("ops", members=[alice, fake.bot_user_id])
    events: list[dict] = []

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        await ack(client, request)
        events.append(request.payload)

    async with socket_client(fake, listener):
        await fake.wait_connected(2)
        actor = fake.as_user(alice)
        posted = await actor.post_message("ops", "hey <@UBOT> help")
        with pytest.raises(ActorError, match="not a member"):
            await fake.as_user(fake.add_user("carol")).post_message("ops", "hi")
        command = await actor.slash_command("/status", channel="ops")
        await fake.wait_for(lambda: len(events) == 3)

    message, mention = events[0]["event"], events[1]["event"]
    assert events[0]["type"] == "event_callback" and events[0]["event_id"].startswith("Ev")
    assert (message["type"], message["channel_type"], message["ts"]) == ("message", "channel", posted.ts)
    assert (mention["type"], mention["user"]) == ("app_mention", alice)

    assert command.response_url is not None
    webhook = AsyncWebhookClient(command.response_url)
    assert (await webhook.send(text="public", response_type="in_channel")).status_code == 200
    assert (await webhook.send(blocks=[{"type": "bogus"}])).status_code == 400
    assert fake.messages(channel)[-1].text == "public"
    assert fake.violations == ["response_url (slash_commands): blocks[0]: unknown block type 'bogus'"]


async def test_api_changes_can_echo_events() -> None:
    async with FakeSlack(echo_api_events=True) as fake:
        events: list[dict] = []

        async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
            events.append(request.payload["event"])
            await ack(client, request)

        alice = fake.add_user("alice")
        web = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        async with socket_client(fake, listener):
            await fake.wait_connected(2)
            channel = (await web.conversations_create(name="inc-echo"))["channel"]["id"]
            await web.conversations_invite(channel=channel, users=alice)
            await fake.wait_for(lambda: events)
        assert events[0]["type"] == "member_joined_channel"
        assert (events[0]["user"], events[0]["channel"], events[0]["inviter"]) == (alice, channel, "UBOT")


STATE_MODAL = {
    "type": "modal",
    "callback_id": "details",
    "notify_on_close": True,
    "title": plain("Details"),
    "submit": plain("Save"),
    "blocks": [
        {
            "type": "input",
            "label": plain("Impact"),
            "element": {
                "type": "radio_buttons",
                "action_id": "impact",
                "options": [option("Minor", "minor"), option("Major", "major")],
                "initial_option": option("Minor", "minor"),
            },
        },
        {
            "type": "input",
            "block_id": "tags",
            "label": plain("Tags"),
            "element": {
                "type": "multi_static_select",
                "action_id": "tags",
                "options": [option("db", "db"), option("net", "net"), option("ui", "ui")],
            },
        },
        {"type": "input", "label": plain("At"), "element": {"type": "timepicker", "action_id": "at"}},
        {
            "type": "input",
            "label": plain("Where"),
            "element": {"type": "conversations_select", "action_id": "c"},
        },
        {
            "type": "actions",
            "block_id": "tools",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": "team",
                    "placeholder": plain("Team"),
                    "options": [option("SRE", "sre"), option("Payments", "pay")],
                },
                {"type": "button", "action_id": "refresh", "text": plain("Refresh")},
            ],
        },
    ],
}


async def test_actor_payload_shapes(fake: FakeSlack, web: AsyncWebClient) -> None:
    alice = fake.add_user("alice")
    channel = fake.add_channel("ops", members=[alice, fake.bot_user_id])
    payloads: list[dict] = []

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        payloads.append(request.payload)
        await ack(client, request)

    buttons = {
        "type": "actions",
        "block_id": "controls",
        "elements": [
            {"type": "button", "action_id": "ack", "text": plain("Acknowledge"), "value": "42"},
            {
                "type": "static_select",
                "action_id": "sev",
                "options": [option("High", "h"), option("Low", "l")],
            },
        ],
    }
    ts = (await web.chat_postMessage(channel=channel, text="Sev1", blocks=[buttons]))["ts"]
    actor = fake.as_user(alice)
    async with socket_client(fake, listener):
        await fake.wait_connected(2)
        clicked = await actor.click_button(channel, ts, "Acknowledge")
        await actor.select_option(channel, ts, "sev", "Low")
        with pytest.raises(ActorError, match=r"available: .*'ack'"):
            await actor.click_button(channel, ts, "Nope")
        await actor.message_shortcut(channel, ts, "escalate")
        await actor.global_shortcut("new_incident")

        opened = await web.views_open(trigger_id=clicked.trigger_id, view=STATE_MODAL)
        view_id = opened["view"]["id"]
        await actor.select_in_view("Team", "Payments")
        await actor.click_in_view("refresh")
        submitted = await actor.submit_view({"Tags": ["db", "ui"], "At": "09:30", "Where": "#ops"})
        assert submitted.view_id == view_id and fake.open_view_for(alice) is None

        await web.views_open(trigger_id=fake.issue_trigger(alice), view=STATE_MODAL)
        closed = await actor.close_view()
        assert closed is not None and fake.open_view_for(alice) is None

    click, select, shortcut, global_shortcut, view_select, view_click, submission, view_closed = payloads
    assert click["type"] == "block_actions" and click["container"]["message_ts"] == ts
    assert click["actions"][0] | {"action_ts": "-"} == {
        "type": "button",
        "block_id": "controls",
        "action_id": "ack",
        "text": plain("Acknowledge"),
        "value": "42",
        "action_ts": "-",
    }
    assert click["message"]["ts"] == ts and click["channel"] == {"id": channel, "name": "ops"}
    assert select["actions"][0]["selected_option"] == option("Low", "l")
    assert select["state"]["values"]["controls"]["sev"] == {
        "type": "static_select",
        "selected_option": option("Low", "l"),
    }
    assert (shortcut["type"], shortcut["callback_id"], shortcut["message_ts"]) == (
        "message_action",
        "escalate",
        ts,
    )
    assert (global_shortcut["type"], global_shortcut["callback_id"]) == ("shortcut", "new_incident")
    assert view_select["container"] == {"type": "view", "view_id": view_id}
    assert view_click["view"]["state"]["values"]["tools"]["team"]["selected_option"]["value"] == "pay"
    values = submission["view"]["state"]["values"]
    impact_block = opened["view"]["blocks"][0]["block_id"]
    assert values[impact_block]["impact"] == {
        "type": "radio_buttons",
        "selected_option": option("Minor", "minor"),
    }
    assert values["tags"]["tags"]["selected_options"] == [option("db", "db"), option("ui", "ui")]
    assert {v.get("selected_time") for v in (values[b].get("at", {}) for b in values)} >= {"09:30"}
    assert any(entry.get("c", {}).get("selected_conversation") == channel for entry in values.values())
    assert view_closed["type"] == "view_closed" and view_closed["is_cleared"] is False


def test_the_fake_serves_on_loopback_only() -> None:
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(ValueError, match="loopback only"):
            FakeSlack(host=host)
    assert FakeSlack(host="::1").host == "::1"
