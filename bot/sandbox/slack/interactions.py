"""A simulated user's action and what comes of it: what the user needs from the server around the
workspace (Host), the Interaction Slack's ack makes of it, and the ActorError of one that cannot be done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.sandbox.slack.socket_mode import Delivery
from bot.sandbox.slack.state import Channel
from bot.sandbox.slack.workspace import Workspace


class Host(Protocol):
    """What a simulated user needs from the server around the workspace (FakeSlack)."""

    workspace: Workspace

    def channel(self, channel: str) -> Channel: ...

    def response_url(self, url_id: str) -> str: ...

    def home_view(self, user_id: str) -> dict[str, Any] | None: ...

    async def deliver(self, envelope_type: str, payload: dict[str, Any]) -> Delivery: ...

    async def emit_event(self, event: dict[str, Any]) -> Delivery: ...


class ActorError(LookupError):
    """A simulated user could not do what the test asked (no such button, label, view...)."""


@dataclass
class Interaction:
    """The outcome of a user action that Slack sends as an interactive or slash_commands envelope."""

    delivery: Delivery
    ack: dict[str, Any] | None
    """The payload the app acked with (None: a bare ack)."""
    latency: float
    trigger_id: str | None = None
    response_url: str | None = None
    view_id: str | None = None

    @property
    def response_action(self) -> str | None:
        return (self.ack or {}).get("response_action")

    @property
    def errors(self) -> dict[str, str] | None:
        """The block_id -> message map of a `response_action: errors` ack."""
        return (self.ack or {}).get("errors") if self.response_action == "errors" else None
