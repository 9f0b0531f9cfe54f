"""Drive storage: the incident's folder in a shared drive, its sub-folders, sharing, and file copies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from googleapiclient.errors import HttpError

from plugins.errors import PluginError
from plugins.google.client import GoogleWorkspace, workspace_for
from plugins.interfaces import ExternalResource
from plugins.setup import PluginSetup

FOLDER = "application/vnd.google-apps.folder"
FIELDS = "id, name, mimeType, webViewLink, parents, driveId"


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _resource(file: dict[str, Any]) -> ExternalResource:
    return ExternalResource(
        id=file["id"],
        weblink=file.get("webViewLink"),
        name=file.get("name", ""),
        details={"mime_type": file.get("mimeType", ""), "drive_id": file.get("driveId", "")},
    )


def _named(
    files: Any, name: str, parent: str, fields: str, mime_type: str | None = None, **where: str
) -> dict[str, Any] | None:
    """The first file called `name` (of `mime_type`, if given) in the folder `parent`, or None."""
    query = f"name = {_quoted(name)} and {_quoted(parent)} in parents and trashed = false"
    if mime_type:
        query = (
            f"name = {_quoted(name)} and mimeType = {_quoted(mime_type)} and {_quoted(parent)} in parents "
        )
        query += "and trashed = false"
    listed = files.list(
        q=query, includeItemsFromAllDrives=True, supportsAllDrives=True, fields=f"files({fields})", **where
    )
    found = listed.execute().get("files", [])
    return dict(found[0]) if found else None


def copy_once(workspace: GoogleWorkspace, file_id: str, folder_id: str, name: str, fields: str) -> dict:
    """The copy of `file_id` called `name` in the folder: the one found there, else a new one.

    Looking first makes a retried step (one that copied, then failed before recording) keep one copy.
    """
    files = workspace.service("drive", "v3").files()
    found = _named(files, name, folder_id, fields, corpora="allDrives")
    if found:
        return found
    body = {"name": name, "parents": [folder_id]}
    return dict(files.copy(fileId=file_id, body=body, supportsAllDrives=True, fields=fields).execute())


class GoogleDriveStorage:
    """The `storage` role: one folder per incident, in the configured shared drive or one of its own.

    Options: `shared_drive_id` (else each incident gets a shared drive of its own), `folders` (sub-folder
    names), `role` for participants (default writer), `domain_role` for opening at close (default reader).
    """

    def __init__(
        self,
        workspace: GoogleWorkspace,
        *,
        shared_drive_id: str | None = None,
        folders: Sequence[str] = (),
        role: str = "writer",
        domain_role: str = "reader",
    ) -> None:
        self.workspace = workspace
        self.shared_drive_id = shared_drive_id
        self.folders = tuple(folders)
        self.role = role
        self.domain_role = domain_role

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> GoogleDriveStorage:
        options = setup.options
        return cls(
            workspace_for(setup),
            shared_drive_id=options.get("shared_drive_id") or None,
            folders=[str(name) for name in options.get("folders") or ()],
            role=str(options.get("role", "writer")),
            domain_role=str(options.get("domain_role", "reader")),
        )

    # ----- sync helpers, run in the workspace's threads -----

    @staticmethod
    def _drive(workspace: GoogleWorkspace) -> Any:
        return workspace.service("drive", "v3")

    def _find_or_create_drive(self, workspace: GoogleWorkspace, name: str) -> str:
        """The id of the shared drive called `name` this bot made: a new one, or the one an earlier
        attempt made (its answer lost), which Google tells by refusing the request id again with 409."""
        drives = self._drive(workspace).drives()
        # One request id per name: Google makes one drive for it, however often the creation is retried.
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dispatch-bot/drive/{name}"))
        try:
            return str(drives.create(requestId=request_id, body={"name": name}).execute()["id"])
        except HttpError as error:
            if error.resp.status != 409:
                raise
        listed = drives.list(q=f"name = {_quoted(name)}", pageSize=100, fields="drives(id, name)").execute()
        found = listed.get("drives", [])
        if not found:
            raise PluginError(
                f"Google says the shared drive {name!r} exists (409) but does not list it yet; try again"
            )
        return str(found[0]["id"])

    def _find_or_create_folder(self, workspace: GoogleWorkspace, name: str, parent: str, drive: str) -> dict:
        files = self._drive(workspace).files()
        found = _named(files, name, parent, FIELDS, mime_type=FOLDER, corpora="drive", driveId=drive)
        if found:
            # A retry of a step that got this far finds the folder it made.
            return found
        body = {"name": name, "mimeType": FOLDER, "parents": [parent]}
        return dict(files.create(body=body, supportsAllDrives=True, fields=FIELDS).execute())

    def _share(
        self, workspace: GoogleWorkspace, file_id: str, emails: Sequence[str], kind: str, role: str
    ) -> None:
        permissions = self._drive(workspace).permissions()
        for email in dict.fromkeys(emails):
            body = {"type": kind, "role": role, "emailAddress": email}
            permissions.create(
                fileId=file_id, body=body, sendNotificationEmail=False, supportsAllDrives=True, fields="id"
            ).execute()

    # ----- the role -----

    async def create_folder(
        self, name: str, participants: Sequence[str], groups: Sequence[str] = ()
    ) -> ExternalResource:
        def create(workspace: GoogleWorkspace) -> ExternalResource:
            drive_id = self.shared_drive_id
            if drive_id is None:
                drive_id = self._find_or_create_drive(workspace, name)
            folder = self._find_or_create_folder(workspace, name, drive_id, drive_id)
            children = {
                sub: self._find_or_create_folder(workspace, sub, folder["id"], drive_id)["id"]
                for sub in self.folders
            }
            self._share(workspace, folder["id"], participants, "user", self.role)
            self._share(workspace, folder["id"], groups, "group", self.role)
            resource = _resource(folder)
            return ExternalResource(
                resource.id,
                resource.weblink,
                resource.name,
                {**resource.details, "drive_id": drive_id, "folders": children},
            )

        return await self.workspace.run(create, f"create the folder {name!r}")

    async def add_participants(
        self, folder_id: str, participants: Sequence[str], groups: Sequence[str] = ()
    ) -> None:
        def share(workspace: GoogleWorkspace) -> None:
            self._share(workspace, folder_id, participants, "user", self.role)
            self._share(workspace, folder_id, groups, "group", self.role)

        await self.workspace.run(share, f"share folder {folder_id}")

    async def copy_file(self, folder_id: str, file_id: str, name: str) -> ExternalResource:
        def copy(workspace: GoogleWorkspace) -> ExternalResource:
            return _resource(copy_once(workspace, file_id, folder_id, name, FIELDS))

        return await self.workspace.run(copy, f"copy file {file_id} into folder {folder_id}")

    async def open_to_domain(self, folder_id: str) -> None:
        domain = self.workspace.account.domain

        def open_up(workspace: GoogleWorkspace) -> None:
            body = {"type": "domain", "role": self.domain_role, "domain": domain}
            self._drive(workspace).permissions().create(
                fileId=folder_id, body=body, supportsAllDrives=True, fields="id"
            ).execute()

        await self.workspace.run(open_up, f"open folder {folder_id} to {domain}")

    async def permissions(self, file_id: str) -> list[dict[str, Any]]:
        """Who the file is shared with (type, role, emailAddress or domain)."""

        def read(workspace: GoogleWorkspace) -> list[dict[str, Any]]:
            listed = (
                self._drive(workspace)
                .permissions()
                .list(
                    fileId=file_id,
                    supportsAllDrives=True,
                    fields="permissions(id, type, role, emailAddress, domain)",
                )
            )
            return list(listed.execute().get("permissions", []))

        return await self.workspace.run(read, f"list the permissions of file {file_id}")
