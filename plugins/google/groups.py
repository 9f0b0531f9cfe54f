"""Google Groups through the Admin Directory API: the incident's tactical and notifications groups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from googleapiclient.errors import HttpError

from plugins.google.client import GoogleWorkspace, workspace_for
from plugins.interfaces import ExternalResource
from plugins.setup import PluginSetup


class GoogleGroups:
    """The `participant_group` role: groups `<name>@<domain>`; members are added and removed by e-mail."""

    def __init__(self, workspace: GoogleWorkspace, role: str = "MEMBER") -> None:
        self.workspace = workspace
        self.role = role

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> GoogleGroups:
        return cls(workspace_for(setup), role=str(setup.options.get("role", "MEMBER")))

    def _address(self, name: str) -> str:
        return name if "@" in name else f"{name.lower()}@{self.workspace.account.domain}"

    def _add(self, workspace: GoogleWorkspace, group: str, participants: Sequence[str]) -> None:
        members = workspace.service("admin", "directory_v1").members()
        for email in dict.fromkeys(participants):
            try:
                members.insert(groupKey=group, body={"email": email, "role": self.role}).execute()
            except HttpError as error:
                if error.resp.status != 409:  # already a member: what was asked
                    raise

    async def create(self, name: str, participants: Sequence[str], description: str = "") -> ExternalResource:
        address = self._address(name)

        def create(workspace: GoogleWorkspace) -> ExternalResource:
            groups = workspace.service("admin", "directory_v1").groups()
            body = {"email": address, "name": name, "description": description[:4096]}
            try:
                group: dict[str, Any] = groups.insert(body=body).execute()
            except HttpError as error:
                if error.resp.status != 409:
                    raise
                # A retried step finds the group the first attempt made.
                group = groups.get(groupKey=address).execute()
            self._add(workspace, address, participants)
            return ExternalResource(
                id=str(group["id"]),
                weblink=f"https://groups.google.com/a/{self.workspace.account.domain}/g/{address.split('@')[0]}",
                name=name,
                details={"email": address},
            )

        return await self.workspace.run(create, f"create group {address}")

    async def create_incident_groups(
        self, name: str, participants: Sequence[str], notifications: Sequence[str] = (), description: str = ""
    ) -> tuple[ExternalResource, ExternalResource]:
        """The tactical group `<name>` (participants) and `<name>-notifications` (those kept informed)."""
        tactical = await self.create(name, participants, description)
        informed = await self.create(f"{name}-notifications", [*notifications], description)
        return tactical, informed

    async def add(self, group_email: str, participants: Sequence[str]) -> None:
        await self.workspace.run(
            lambda w: self._add(w, group_email, participants), f"add members to {group_email}"
        )

    async def remove(self, group_email: str, participants: Sequence[str]) -> None:
        def remove(workspace: GoogleWorkspace) -> None:
            members = workspace.service("admin", "directory_v1").members()
            for email in dict.fromkeys(participants):
                try:
                    members.delete(groupKey=group_email, memberKey=email).execute()
                except HttpError as error:
                    if error.resp.status != 404:  # not a member any more: what was asked
                        raise

        await self.workspace.run(remove, f"remove members from {group_email}")

    async def members(self, group_email: str) -> list[str]:
        """The group's members' e-mail addresses."""

        def read(workspace: GoogleWorkspace) -> list[str]:
            members = workspace.service("admin", "directory_v1").members()
            found: list[str] = []
            request = members.list(groupKey=group_email)
            while request is not None:
                page = request.execute()
                found += [m["email"] for m in page.get("members", [])]
                request = members.list_next(request, page)
            return found

        return await self.workspace.run(read, f"list the members of {group_email}")

    async def delete(self, group_email: str) -> None:
        def delete(workspace: GoogleWorkspace) -> None:
            workspace.service("admin", "directory_v1").groups().delete(groupKey=group_email).execute()

        await self.workspace.run(delete, f"delete group {group_email}")
