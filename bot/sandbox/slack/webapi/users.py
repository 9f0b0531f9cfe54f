"""Web API methods users.*: a person's profile, the members of the workspace, the channels of one."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack.state import ApiError, now
from bot.sandbox.slack.webapi.calls import Args, Family, paginate


class Users(Family):
    """users.*"""

    def api_users_info(self, args: Args) -> dict[str, Any]:
        return {"user": self.ws.user(args.get("user")).to_api()}

    def api_users_list(self, args: Args) -> dict[str, Any]:
        members, meta = paginate([u.to_api() for u in self.ws.users.values()], args, default_limit=1000)
        return {"members": members, "cache_ts": now(), "response_metadata": meta}

    def api_users_lookupByEmail(self, args: Args) -> dict[str, Any]:
        email = args.require("email").lower()
        for user in self.ws.users.values():
            if user.email and user.email.lower() == email and not user.deleted:
                return {"user": user.to_api()}
        raise ApiError("users_not_found")

    def api_users_profile_get(self, args: Args) -> dict[str, Any]:
        return {"profile": self.ws.user(args.get("user", self.bot)).to_api()["profile"]}

    def api_users_conversations(self, args: Args) -> dict[str, Any]:
        user = self.ws.user(args.get("user", self.bot)).id
        found = [c for c in self._listed(args) if user in c.members]
        page, meta = paginate([c.to_api(self.bot) for c in found], args)
        return {"channels": page, "response_metadata": meta}
