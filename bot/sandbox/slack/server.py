"""FakeSlack: an aiohttp server speaking Slack's Web API, Socket Mode and response_url protocols."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.slack.blockkit import validate_message, validate_view
from bot.sandbox.slack.faults import Faults
from bot.sandbox.slack.limits import Limit, RateLimits
from bot.sandbox.slack.socket_mode import Delivery, SocketHub
from bot.sandbox.slack.state import ApiError, Channel, FileRecord, Message, User
from bot.sandbox.slack.users import Actor
from bot.sandbox.slack.webapi.calls import Args, decode_json_args
from bot.sandbox.slack.webapi.methods import WebApi
from bot.sandbox.slack.workspace import Workspace

logger = logging.getLogger(__name__)

MAX_RESPONSE_URL_USES = 5
ALL_ENVELOPE_TYPES = frozenset({"events_api", "slash_commands", "interactive"})


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ApiCall:
    """One Web API request as the fake saw it."""

    method: str
    args: dict[str, Any]
    time: float
    """time.time() when it arrived."""
    http_verb: str
    token: str | None
    status: int = 0
    response: dict[str, Any] | None = None
    arrived: float = 0.0
    """When it arrived on the clock of the fake's rate limits (`FakeSlack.limits.clock`)."""
    retry_after: int | None = None
    """The Retry-After it was answered with (a 429), if any."""
    answered: float | None = None
    """When its answer left, on the same clock as `arrived`."""

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.response is None else self.response.get("error")


@dataclass
class ResponseUrlPost:
    """One POST to a response_url the fake issued."""

    url_id: str
    source: str
    user: str
    channel: str | None
    body: dict[str, Any]
    status: int = 200


class FakeSlack:
    """A Slack workspace on 127.0.0.1 for the real slack_sdk / slack_bolt clients to talk to.

    Web API: base_url=fake.api_url. Socket Mode: apps.connections.open hands out ws:// URLs on the
    same server. State is inspectable (messages(), members(), views_of() ...) and users can be
    simulated through as_user(). Every Block Kit or payload problem lands in `violations`.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        team_id: str = "T0000000001",
        team_name: str = "Test Team",
        team_domain: str = "test-team",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        bot_name: str = "dispatch-bot",
        app_id: str = "A0000000001",
        ack_timeout: float = 3.0,
        max_retries: int = 3,
        redeliver_types: frozenset[str] | set[str] = ALL_ENVELOPE_TYPES,
        trigger_ttl: float = 3.0,
        chat_write_public: bool = True,
        echo_api_events: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        clock: Callable[[], float] | None = None,
        rate_limit_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"the fake Slack serves on loopback only, not on {host!r}")
        self.bot_token = bot_token
        # The scopes granted to the bot token, sent as X-OAuth-Scopes like Slack does (None: no header).
        self.bot_scopes: list[str] | None = None
        self.app_token = app_token
        self.host = host
        self._port = port
        self.echo_api_events = echo_api_events
        self.workspace = Workspace(
            team_id=team_id,
            team_name=team_name,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
            app_id=app_id,
            trigger_ttl=trigger_ttl,
            seed=seed,
            clock=clock,
        )
        self.api = WebApi(self.workspace, self, chat_write_public=chat_write_public)
        self.faults = Faults()
        # Slack's per-method limits, enforced only after enforce_rate_limits() (tests stay fast).
        self.limits = RateLimits(rate_limit_clock)
        self.hub = SocketHub(
            app_id=app_id,
            ack_timeout=ack_timeout,
            max_retries=max_retries,
            redeliver_types=frozenset(redeliver_types),
            on_change=self._touch,
        )
        self.calls: list[ApiCall] = []
        self.violations: list[str] = []
        self.unknown_methods: list[str] = []
        self.response_url_posts: list[ResponseUrlPost] = []
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    # ----- lifecycle -----

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/link/", self.hub.handle)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/respond/{url_id}", self._handle_response_url)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.hub.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RuntimeError("FakeSlack is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What to pass as base_url to AsyncWebClient."""
        return f"{self.base_url}/api/"

    # ----- hooks used by WebApi -----

    def report_violation(self, where: str, errors: list[str]) -> None:
        self.violations.extend(f"{where}: {error}" for error in errors)

    def socket_url(self) -> str:
        return f"ws://{self.host}:{self.port}/link/?ticket={self.hub.issue_ticket()}&app_id={self.workspace.app_id}"

    def upload_url(self, file_id: str) -> str:
        return f"{self.base_url}/upload/v1/{file_id}"

    def response_url(self, url_id: str) -> str:
        return f"{self.base_url}/respond/{url_id}"

    def api_event(self, event: dict[str, Any]) -> None:
        if self.echo_api_events and self.hub.connected:
            self._spawn(self.emit_event(event))

    # ----- Web API -----

    async def _read_args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise ApiError("invalid_json")
                args.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        args[key] = value.file.read()
                        args.setdefault("filename", value.filename)
                    else:
                        args[key] = value
        return decode_json_args(args)

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = ApiCall(method, {}, time.time(), request.method, None, arrived=self.limits.now())
        self.calls.append(call)
        try:
            args = await self._read_args(request)
        except (ValueError, ApiError):
            args = {}
            parse_error: str | None = "invalid_json"
        else:
            parse_error = None
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else args.pop("token", None)
        args.pop("token", None)
        call.args, call.token = args, token

        # An injected fault comes first; else the call counts against its limit when it arrives.
        fault = self.faults.take(method, args)
        retry_after = self.limits.check(method, args) if fault is None else None
        delay = self.faults.delay_for(method)
        if delay:
            await asyncio.sleep(delay)
        status, headers = 200, {}
        # A faulted or refused call never reaches the method (a lost answer aside), so a retried
        # write is not applied twice.
        if fault is not None and fault.kind == "rate_limit":
            retry_after = fault.retry_after
        if retry_after is not None:
            status, headers = 429, {"Retry-After": str(retry_after)}
            body = {"ok": False, "error": "ratelimited"}
            call.retry_after = retry_after
        elif fault is None:
            body = self._dispatch(method, args, token, parse_error)
        elif fault.kind == "server_error":
            status, body = fault.status, {"ok": False, "error": "internal_error"}
        elif fault.kind == "lost_answer":
            self._dispatch(method, args, token, parse_error)
            status, body = 500, {"ok": False, "error": "internal_error"}
        else:
            body = {"ok": False, "error": fault.error}
        call.status, call.response, call.answered = status, body, self.limits.now()
        if self.bot_scopes is not None and token == self.bot_token:
            headers["X-OAuth-Scopes"] = ",".join(self.bot_scopes)  # what Slack says the token may do
        self._touch()
        return web.json_response(body, status=status, headers=headers)

    def _dispatch(
        self, method: str, args: dict[str, Any], token: str | None, parse_error: str | None
    ) -> dict[str, Any]:
        handler = self.api.handler(method)
        if handler is None:
            self.unknown_methods.append(method)
            return {"ok": False, "error": "unknown_method"}
        if not token:
            return {"ok": False, "error": "not_authed"}
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            wrong_kind = token in (self.bot_token, self.app_token)
            return {"ok": False, "error": "not_allowed_token_type" if wrong_kind else "invalid_auth"}
        if parse_error:
            return {"ok": False, "error": parse_error}
        try:
            result = handler(Args(args))
        except ApiError as error:
            return {"ok": False, "error": error.code, **error.extra}
        return {"ok": True, **result}

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def enforce_rate_limits(self, overrides: dict[str, Limit] | None = None, scale: float = 1.0) -> None:
        """Refuse calls beyond Slack's rate limits from now on (HTTP 429, Retry-After, "ratelimited"),
        as Slack does: a tier per method, chat.postMessage per channel; `overrides` replace the limits
        of the methods they name, and `scale` speeds every refill up (Retry-After stays whole seconds).
        Every call's arrival is on `limits.clock` (`ApiCall.arrived`)."""
        self.limits.enforce(overrides, scale)

    def held_back(self, refused: ApiCall) -> list[ApiCall]:
        """The calls that should have waited for the 429 `refused`: of the same method (and channel,
        for chat.postMessage), arriving after it was answered and before its Retry-After had passed."""
        assert refused.retry_after is not None and refused.answered is not None
        until = refused.answered + refused.retry_after
        return [
            call
            for call in self.calls[self.calls.index(refused) + 1 :]
            if call.method == refused.method
            and (call.method != "chat.postMessage" or call.args.get("channel") == refused.args.get("channel"))
            and refused.answered < call.arrived < until
        ]

    def early_retries(self) -> list[tuple[ApiCall, ApiCall]]:
        """Each (429, its retry) where the retry (the next call of the same method with the same
        arguments) arrived before the Retry-After had passed."""
        early: list[tuple[ApiCall, ApiCall]] = []
        for index, refused in enumerate(self.calls):
            if refused.retry_after is None or refused.answered is None:
                continue
            retry = next(
                (c for c in self.calls[index + 1 :] if (c.method, c.args) == (refused.method, refused.args)),
                None,
            )
            if retry is not None and retry.arrived < refused.answered + refused.retry_after:
                early.append((refused, retry))
        return early

    # ----- file uploads (the URL files.getUploadURLExternal hands out) -----

    async def _handle_upload(self, request: web.Request) -> web.Response:
        record = self.workspace.files.get(request.match_info["file_id"])
        if record is None:
            return web.Response(status=404, text="file_not_found")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            field = form.get("file") or form.get("filename")
            data = field.file.read() if isinstance(field, web.FileField) else str(field or "").encode()
        else:
            data = await request.read()
        record.content = data
        self._touch()
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    # ----- response_url -----

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        ws = self.workspace
        target = ws.response_urls.get(request.match_info["url_id"])
        if target is None:
            return web.json_response({"ok": False, "error": "invalid_url"}, status=404)
        try:
            body = await request.json()
        except ValueError:
            form = await request.post()
            raw = form.get("payload")
            body = json.loads(raw) if isinstance(raw, str) else {}
        body = decode_json_args(dict(body)) if isinstance(body, dict) else {}
        record = ResponseUrlPost(target.url_id, target.source, target.user, target.channel, body)
        self.response_url_posts.append(record)
        target.uses += 1
        status, answer = self._apply_response(target, body)
        if target.uses > MAX_RESPONSE_URL_USES:
            status, answer = 404, {"ok": False, "error": "used_url"}
        record.status = status
        self._touch()
        return web.json_response(answer, status=status)

    def _apply_response(self, target: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        ws = self.workspace
        channel = ws.channels.get(target.channel or "")
        where = f"response_url ({target.source})"
        if channel is None:
            return 404, {"ok": False, "error": "channel_not_found"}
        original = self._original_message(channel, target)
        if body.get("delete_original"):
            if original is None:
                return 404, {"ok": False, "error": "message_not_found"}
            self._remove_message(channel, original)
            return 200, {"ok": True}
        errors = validate_message(body.get("text"), body.get("blocks"), body.get("attachments"))
        if errors:
            self.report_violation(where, errors)
            return 400, {
                "ok": False,
                "error": "no_text" if errors[0].startswith("no_text") else "invalid_blocks",
            }
        if body.get("replace_original") and original is not None:
            original.text = body.get("text") or ""
            original.blocks = copy.deepcopy(body.get("blocks")) or None
            original.edited = {"user": ws.bot_user_id, "ts": ws.ids.ts()}
            return 200, {"ok": True}
        if body.get("response_type") == "in_channel":
            ws.post(
                channel,
                ws.bot_user_id,
                text=body.get("text") or "",
                blocks=body.get("blocks"),
                attachments=body.get("attachments"),
                thread_ts=body.get("thread_ts"),
                response_type="in_channel",
            )
        else:
            ws.post_ephemeral(
                channel,
                target.user,
                text=body.get("text") or "",
                blocks=body.get("blocks"),
                thread_ts=body.get("thread_ts"),
                response_type="ephemeral",
            )
        return 200, {"ok": True}

    def _original_message(self, channel: Channel, target: Any) -> Message | None:
        if not target.message_ts:
            return None
        found = channel.find(target.message_ts)
        if found is not None:
            return found
        for _, message in channel.ephemerals:
            if message.ts == target.message_ts:
                return message
        return None

    def _remove_message(self, channel: Channel, message: Message) -> None:
        if message in channel.messages:
            channel.messages.remove(message)
        channel.ephemerals = [(u, m) for u, m in channel.ephemerals if m is not message]

    # ----- Socket Mode -----

    @property
    def connected(self) -> int:
        """Open Socket Mode connections."""
        return self.hub.connected

    @property
    def busy(self) -> bool:
        """An envelope is on its way or waiting for its ack, or an event is about to be sent."""
        return bool(self._tasks) or any(
            not delivery.is_acked and not delivery.gave_up for delivery in self.hub.deliveries
        )

    @property
    def envelopes(self) -> list[Delivery]:
        """Every envelope delivered so far, oldest first."""
        return self.hub.deliveries

    async def wait_connected(self, timeout: float = 5.0, count: int = 1) -> None:
        """Until at least `count` Socket Mode connections are open (TimeoutError otherwise)."""
        await self.hub.wait_connected(timeout, count)

    async def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        connect_timeout: float | None = None,
    ) -> Delivery:
        """Send an envelope on one open connection (round robin) and redeliver it until acked.

        Acks are applied the way Slack applies them: a slash command's ack payload becomes a
        response message, a view_submission's response_action changes the modal stack.
        """
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type == "slash_commands" or (
                envelope_type == "interactive"
                and payload.get("type") in ("view_submission", "block_suggestion")
            )
        return await self.hub.deliver(
            envelope_type,
            payload,
            accepts_response_payload=accepts_response_payload,
            on_ack=self._apply_ack,
            connect_timeout=connect_timeout,
        )

    def event_payload(self, event: dict[str, Any]) -> dict[str, Any]:
        """The events_api payload (event_callback wrapper) Slack sends for event."""
        ws = self.workspace
        event = dict(event)
        event.setdefault("event_ts", ws.ids.ts())
        return {
            "token": "fake-verification-token",
            "team_id": ws.team_id,
            "context_team_id": ws.team_id,
            "context_enterprise_id": None,
            "api_app_id": ws.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": ws.ids.next("Ev", 10),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": ws.team_id,
                    "user_id": ws.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{ws.ids.next('ctx', 8)}",
        }

    async def emit_event(self, event: dict[str, Any]) -> Delivery:
        """Deliver one Events API event (wrapped as Slack wraps it)."""
        return await self.deliver("events_api", self.event_payload(event))

    async def disconnect(self, reason: str = "refresh_requested") -> int:
        """Send Slack's {"type": "disconnect"} message on every connection; returns how many got it."""
        return await self.hub.send_all(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )

    async def drop_connections(self, *, abrupt: bool = True) -> int:
        """Close every Socket Mode connection (abrupt: TCP reset, no close frame)."""
        return await self.hub.drop(abrupt=abrupt)

    def _apply_ack(self, delivery: Delivery) -> None:
        payload = delivery.payload
        if delivery.type == "slash_commands":
            self._apply_command_ack(payload, delivery.ack_payload)
        elif delivery.type == "interactive" and payload.get("type") == "view_submission":
            self._apply_submission_ack(payload, delivery.ack_payload)

    def _apply_command_ack(self, command: dict[str, Any], ack: dict[str, Any] | None) -> None:
        if not ack or not (ack.get("text") or ack.get("blocks")):
            return
        errors = validate_message(ack.get("text"), ack.get("blocks"), ack.get("attachments"))
        if errors:
            self.report_violation(f"ack of {command.get('command')}", errors)
            return
        ws = self.workspace
        channel = ws.channels.get(command.get("channel_id", ""))
        if channel is None:
            return
        if ack.get("response_type") == "in_channel":
            ws.post(
                channel,
                ws.bot_user_id,
                text=ack.get("text") or "",
                blocks=ack.get("blocks"),
                response_type="in_channel",
            )
        else:
            ws.post_ephemeral(
                channel,
                command["user_id"],
                text=ack.get("text") or "",
                blocks=ack.get("blocks"),
                response_type="ephemeral",
            )

    def _apply_submission_ack(self, submission: dict[str, Any], ack: dict[str, Any] | None) -> None:
        ws = self.workspace
        user = submission["user"]["id"]
        view_id = submission["view"]["id"]
        where = f"ack of view_submission ({submission['view'].get('callback_id')})"
        action = (ack or {}).get("response_action")
        if action is None:
            self._close_submitted(user, view_id)
        elif action == "errors":
            errors = ack.get("errors") if ack else None
            input_ids = {
                b.get("block_id")
                for b in ws.views.get(view_id, {}).get("blocks", [])
                if b.get("type") == "input"
            }
            if not isinstance(errors, dict) or not errors:
                self.report_violation(where, ["response_action errors needs a non-empty 'errors' object"])
            else:
                unknown = sorted(set(errors) - input_ids)
                if unknown:
                    self.report_violation(
                        where, [f"errors for block_ids that are not input blocks: {unknown}"]
                    )
        elif action in ("update", "push"):
            view = (ack or {}).get("view")
            problems = validate_view(view)
            if problems:
                self.report_violation(where, problems)
                return
            assert isinstance(view, dict)
            if action == "update":
                ws.store_view(user, view, view_id=view_id)
            else:
                stack = ws.modal_stacks.setdefault(user, [])
                if len(stack) >= 3:
                    self.report_violation(where, ["push_limit_reached: at most 3 views in a modal stack"])
                    return
                root = stack[0] if stack else None
                stored = ws.store_view(user, view, root_view_id=root, previous_view_id=view_id)
                stack.append(stored["id"])
        elif action == "clear":
            ws.close_modal(user, clear=True)
        else:
            self.report_violation(where, [f"unknown response_action {action!r}"])

    def _close_submitted(self, user: str, view_id: str) -> None:
        stack = self.workspace.modal_stacks.get(user) or []
        if stack and stack[-1] == view_id:
            stack.pop()

    # ----- state helpers and queries -----

    def add_user(self, name: str, email: str | None = None, tz: str = "UTC", **fields: Any) -> str:
        """Add a workspace member; returns its "U…" id. fields: real_name, tz_offset, is_bot, is_admin,
        deleted, title, user_id."""
        uid = self.workspace.add_user(name, email=email, tz=tz, **fields)
        self._touch()
        return uid

    def add_channel(
        self, name: str, members: list[str] | tuple[str, ...] = (), is_private: bool = False, **fields: Any
    ) -> str:
        """Add a channel; returns its "C…" id. Include fake.bot_user_id in members for the bot to be
        in it. fields: is_archived, is_general, topic, purpose, creator, channel_id."""
        cid = self.workspace.add_channel(name, members=members, is_private=is_private, **fields)
        self._touch()
        return cid

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    def user(self, user_id: str) -> User:
        return self.workspace.user(user_id)

    def channel(self, channel: str) -> Channel:
        """A channel by id, name or "#name" (KeyError if missing)."""
        try:
            return self.workspace.find_channel(channel)
        except ApiError:
            raise KeyError(channel) from None

    def channel_by_name(self, name: str) -> Channel | None:
        return self.workspace.channel_by_name(name)

    def messages(self, channel: str, thread_ts: str | None = None) -> list[Message]:
        """Non-ephemeral messages in channel, oldest first (thread replies included);
        with thread_ts only that thread, root first."""
        found = self.channel(channel).messages
        if thread_ts is not None:
            found = [m for m in found if m.ts == thread_ts or m.thread_ts == thread_ts]
        return list(found)

    def ephemerals(self, channel: str, user_id: str | None = None) -> list[Message]:
        """Ephemeral messages shown in channel (to user_id only, when given), oldest first."""
        return [m for to, m in self.channel(channel).ephemerals if user_id is None or to == user_id]

    def dms_to(self, user_id: str) -> list[Message]:
        """Messages in the bot's DM with user_id, both directions, oldest first."""
        for channel in self.workspace.channels.values():
            if channel.is_im and channel.im_user == user_id:
                return list(channel.messages)
        return []

    def members(self, channel: str) -> set[str]:
        return set(self.channel(channel).members)

    def pins(self, channel: str) -> list[Message]:
        found = self.channel(channel)
        return [m for ts in found.pins if (m := found.find(ts)) is not None]

    def bookmarks(self, channel: str) -> list[dict[str, Any]]:
        return [dict(b) for b in self.channel(channel).bookmarks]

    def view(self, view_id: str) -> dict[str, Any]:
        return copy.deepcopy(self.workspace.views[view_id])

    def views_of(self, user_id: str) -> list[dict[str, Any]]:
        """Every modal opened or pushed for user_id, oldest first, in its current state."""
        ws = self.workspace
        ids = ws.view_history.get(user_id, [])
        return [copy.deepcopy(ws.views[v]) for v in ids if ws.views[v]["type"] == "modal"]

    def open_view_for(self, user_id: str) -> dict[str, Any] | None:
        """The modal user_id currently sees (top of the stack), or None."""
        view = self.workspace.open_modal(user_id)
        return copy.deepcopy(view) if view is not None else None

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        view_id = self.workspace.home_views.get(user_id)
        return copy.deepcopy(self.workspace.views[view_id]) if view_id else None

    def file(self, file_id: str) -> FileRecord:
        return self.workspace.files[file_id]

    @property
    def files(self) -> list[FileRecord]:
        return list(self.workspace.files.values())

    def issue_trigger(self, user_id: str) -> str:
        """A fresh trigger_id for user_id, as an interaction would carry."""
        return self.workspace.issue_trigger(user_id)

    def as_user(self, user_id: str) -> Actor:
        """Act as user_id: slash commands, clicks, modal submissions, messages, reactions."""
        self.workspace.user(user_id)
        return Actor(self, user_id)

    # ----- waiting -----

    def _touch(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Re-check predicate on every state change until it returns something truthy; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 2.0,
        since: int = 0,
    ) -> ApiCall:
        """The first answered call to method (matching predicate) at index >= since in `calls`."""

        def find() -> ApiCall | None:
            for call in self.calls[since:]:
                if (
                    call.method == method
                    and call.response is not None
                    and (predicate is None or predicate(call))
                ):
                    return call
            return None

        try:
            return await self.wait_for(find, timeout)
        except TimeoutError:
            seen = sorted({c.method for c in self.calls[since:]})
            raise TimeoutError(f"no {method} call within {timeout}s; calls seen: {seen}") from None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
