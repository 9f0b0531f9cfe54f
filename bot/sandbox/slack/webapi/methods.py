"""Every Web API method the fake answers, found by its name in the family of methods that has it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sandbox.slack.webapi.bookmarks import Bookmarks
from bot.sandbox.slack.webapi.calls import Args, Family, Host
from bot.sandbox.slack.webapi.chat import Chat
from bot.sandbox.slack.webapi.conversations import Conversations
from bot.sandbox.slack.webapi.files import Files
from bot.sandbox.slack.webapi.pins import Pins
from bot.sandbox.slack.webapi.reactions import Reactions
from bot.sandbox.slack.webapi.team import Team
from bot.sandbox.slack.webapi.users import Users
from bot.sandbox.slack.webapi.views import Views
from bot.sandbox.slack.workspace import Workspace

FAMILIES: tuple[type[Family], ...] = (
    Team,
    Users,
    Conversations,
    Chat,
    Pins,
    Bookmarks,
    Reactions,
    Views,
    Files,
)


class WebApi:
    """The Web API: a Slack method `chat.postMessage` is answered by `api_chat_postMessage` (dots as
    underscores) of the family that has it."""

    def __init__(self, workspace: Workspace, host: Host, *, chat_write_public: bool = True) -> None:
        self.families = [family(workspace, host, chat_write_public=chat_write_public) for family in FAMILIES]

    def handler(self, method: str) -> Callable[[Args], dict[str, Any]] | None:
        name = "api_" + method.replace(".", "_")
        for family in self.families:
            found: Callable[[Args], dict[str, Any]] | None = getattr(family, name, None)
            if found is not None:
                return found
        return None
