"""Web API methods views.*: modals opened, pushed on the stack and updated; Home tabs published."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack.state import ApiError
from bot.sandbox.slack.webapi.calls import Args, Family, missing

MAX_VIEW_STACK = 3


class Views(Family):
    """views.*"""

    def api_views_open(self, args: Args) -> dict[str, Any]:
        trigger_id = args.require("trigger_id")
        view = self._check_view("views.open", args.get("view"))
        if view["type"] != "modal":
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] views.open needs a modal"]}
            )
        trigger = self.ws.use_trigger(trigger_id)
        stored = self.ws.store_view(trigger.user, view)
        self.ws.modal_stacks[trigger.user] = [stored["id"]]
        return {"view": stored}

    def api_views_push(self, args: Args) -> dict[str, Any]:
        trigger_id = args.require("trigger_id")
        view = self._check_view("views.push", args.get("view"))
        trigger = self.ws.use_trigger(trigger_id)
        stack = self.ws.modal_stacks.setdefault(trigger.user, [])
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        previous = stack[-1] if stack else None
        root = self.ws.views[stack[0]]["id"] if stack else None
        stored = self.ws.store_view(trigger.user, view, root_view_id=root, previous_view_id=previous)
        stack.append(stored["id"])
        return {"view": stored}

    def api_views_update(self, args: Args) -> dict[str, Any]:
        if args.get("view_id") is None and args.get("external_id") is None:
            raise missing("view_id")
        existing = self.ws.find_view(args.get("view_id"), args.get("external_id"))
        view = self._check_view("views.update", args.get("view"))
        if args.get("hash") is not None and args.get("hash") != existing["hash"]:
            raise ApiError("hash_conflict")
        owner = self.ws.view_owner[existing["id"]]
        return {"view": self.ws.store_view(owner, view, view_id=existing["id"])}

    def api_views_publish(self, args: Args) -> dict[str, Any]:
        user = self.ws.user(args.require("user_id"))
        view = self._check_view("views.publish", args.get("view"))
        if view["type"] != "home":
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] publish needs a home"]}
            )
        existing_id = self.ws.home_views.get(user.id)
        if (
            existing_id
            and args.get("hash") is not None
            and args.get("hash") != self.ws.views[existing_id]["hash"]
        ):
            raise ApiError("hash_conflict")
        stored = self.ws.store_view(user.id, view, view_id=existing_id)
        if existing_id is None:
            self.ws.home_views[user.id] = stored["id"]
        return {"view": stored}
