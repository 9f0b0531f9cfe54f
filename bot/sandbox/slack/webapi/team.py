"""Web API methods about the app and its team: auth.test, apps.connections.open, team.info, emoji.list."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack.state import now
from bot.sandbox.slack.webapi.calls import Args, Family


class Team(Family):
    """auth.*, apps.*, team.*, emoji.*"""

    def api_auth_test(self, args: Args) -> dict[str, Any]:
        return {
            "url": f"https://{self.ws.team_domain}.slack.com/",
            "team": self.ws.team_name,
            "user": self.ws.bot_name,
            "team_id": self.ws.team_id,
            "user_id": self.bot,
            "bot_id": self.ws.bot_id,
            "is_enterprise_install": False,
        }

    def api_apps_connections_open(self, args: Args) -> dict[str, Any]:
        return {"url": self.host.socket_url()}

    def api_team_info(self, args: Args) -> dict[str, Any]:
        return {
            "team": {
                "id": self.ws.team_id,
                "name": self.ws.team_name,
                "domain": self.ws.team_domain,
                "email_domain": "",
                "icon": {"image_default": True, "image_34": "https://avatars.example/team_34.png"},
            }
        }

    def api_emoji_list(self, args: Args) -> dict[str, Any]:
        return {"emoji": dict(self.ws.emoji), "cache_ts": f"{now()}.000000"}
