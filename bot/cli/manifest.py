"""The Slack app manifest for Socket Mode, generated from the listener registry."""

from __future__ import annotations

from typing import Any

from bot.slack.listeners import Registry

MAX_COMMAND_DESCRIPTION = 100
MAX_USAGE_HINT = 100


def build_manifest(registry: Registry, app_name: str = "dispatch-bot") -> dict[str, Any]:
    slash_commands = []
    for command in registry.commands:
        entry: dict[str, Any] = {
            "command": command.name,
            "description": command.spec.description[:MAX_COMMAND_DESCRIPTION],
            "should_escape": False,
        }
        if command.spec.usage_hint:
            entry["usage_hint"] = command.spec.usage_hint[:MAX_USAGE_HINT]
        slash_commands.append(entry)
    shortcuts = [
        {
            "name": spec.name,
            "type": spec.kind,
            "callback_id": spec.callback_id,
            "description": spec.description,
        }
        for spec, _ in registry.shortcuts
    ]
    features: dict[str, Any] = {
        "bot_user": {"display_name": app_name, "always_online": True},
        "app_home": {"home_tab_enabled": False, "messages_tab_enabled": True},
        "slash_commands": slash_commands,
    }
    if shortcuts:
        features["shortcuts"] = shortcuts
    return {
        "display_information": {
            "name": app_name,
            "description": "Incident response in Slack: channels, people, timeline, reports.",
            "background_color": "#1d1c1d",
        },
        "features": features,
        "oauth_config": {"scopes": {"bot": sorted(registry.scopes)}},
        "settings": {
            "event_subscriptions": {"bot_events": registry.subscribed_events()},
            "interactivity": {"is_enabled": True},
            "org_deploy_enabled": False,
            "socket_mode_enabled": True,
            "token_rotation_enabled": False,
        },
    }
