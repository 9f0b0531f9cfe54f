"""The one list of what the bot answers in Slack: commands, shortcuts, actions, views and events.

Capabilities declare their listeners here; `attach` wires them to the Bolt app, and the Slack app
manifest is generated from the same records, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.app.async_app import AsyncApp

Listener = Callable[..., Awaitable[None]]

# Scopes every installation needs whatever capabilities are on: commands, replies, DMs, user names.
BASE_SCOPES = ("commands", "chat:write", "im:write", "users:read", "users:read.email")


@dataclass(frozen=True)
class CommandSpec:
    """A slash command; `key` names it in settings so operators can rename it."""

    key: str
    default_name: str
    description: str
    usage_hint: str = ""


@dataclass(frozen=True)
class RegisteredCommand:
    spec: CommandSpec
    name: str
    listener: Listener


@dataclass(frozen=True)
class ShortcutSpec:
    callback_id: str
    name: str
    description: str
    kind: str = "message"


@dataclass
class Registry:
    command_names: Mapping[str, str] = field(default_factory=dict)
    commands: list[RegisteredCommand] = field(default_factory=list)
    shortcuts: list[tuple[ShortcutSpec, Listener]] = field(default_factory=list)
    actions: list[tuple[str | dict[str, Any], Listener]] = field(default_factory=list)
    views: list[tuple[str | dict[str, Any], Listener]] = field(default_factory=list)
    events: list[tuple[str, Listener]] = field(default_factory=list)
    # Hooks for people's messages in incident channels, run by the one `message` listener in turn.
    message_hooks: list[Listener] = field(default_factory=list)
    # Events Slack must deliver even before a capability handles them; unhandled ones are acked and logged.
    subscriptions: set[str] = field(default_factory=set)
    scopes: set[str] = field(default_factory=lambda: set(BASE_SCOPES))

    def name_of(self, spec: CommandSpec) -> str:
        name = self.command_names.get(spec.key, spec.default_name)
        return name if name.startswith("/") else "/" + name

    def command(self, spec: CommandSpec) -> Callable[[Listener], Listener]:
        def register(listener: Listener) -> Listener:
            name = self.name_of(spec)
            if any(existing.name == name for existing in self.commands):
                raise ValueError(f"two listeners for the slash command {name}")
            self.commands.append(RegisteredCommand(spec, name, listener))
            return listener

        return register

    def shortcut(self, spec: ShortcutSpec) -> Callable[[Listener], Listener]:
        def register(listener: Listener) -> Listener:
            self.shortcuts.append((spec, listener))
            return listener

        return register

    def action(self, constraints: str | dict[str, Any]) -> Callable[[Listener], Listener]:
        def register(listener: Listener) -> Listener:
            self.actions.append((constraints, listener))
            return listener

        return register

    def view(self, constraints: str | dict[str, Any]) -> Callable[[Listener], Listener]:
        def register(listener: Listener) -> Listener:
            self.views.append((constraints, listener))
            return listener

        return register

    def event(self, event_type: str) -> Callable[[Listener], Listener]:
        def register(listener: Listener) -> Listener:
            self.events.append((event_type, listener))
            return listener

        return register

    def on_message(self, hook: Listener) -> Listener:
        """Run `hook(message)` for each person's message in an incident channel (bot/people/messages.py)."""
        self.message_hooks.append(hook)
        return hook

    def require_scopes(self, *scopes: str) -> None:
        self.scopes.update(scopes)

    def subscribe(self, *event_types: str) -> None:
        self.subscriptions.update(event_types)

    def subscribed_events(self) -> list[str]:
        """Event types Slack must send us; `message` listeners need both channel kinds."""
        names: set[str] = set()
        for event_type in self.subscriptions | {event_type for event_type, _ in self.events}:
            names.update(("message.channels", "message.groups") if event_type == "message" else (event_type,))
        return sorted(names)

    def attach(self, app: AsyncApp) -> None:
        for command in self.commands:
            app.command(command.name)(command.listener)
        for spec, listener in self.shortcuts:
            app.shortcut(spec.callback_id)(listener)
        for constraints, listener in self.actions:
            app.action(constraints)(listener)
        for constraints, listener in self.views:
            app.view(constraints)(listener)
        for event_type, listener in self.events:
            app.event(event_type)(listener)
        handled = {event_type for event_type, _ in self.events}
        for subscription in sorted(self.subscriptions):
            event_type = subscription.split(".")[0]  # message.channels and message.groups are `message`
            if event_type not in handled:
                handled.add(event_type)
                app.event(event_type)(_not_handled_yet)


async def _not_handled_yet() -> None:
    """Subscribed events no capability consumes (yet) are acknowledged and dropped, without a warning."""
