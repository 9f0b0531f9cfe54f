"""Document comments as tasks: a comment that assigns someone (`+alice@example.com`) is a task, and
resolving it on either side is mirrored through the comment's resolve/reopen replies."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from plugins.google.client import GoogleWorkspace, workspace_for
from plugins.interfaces import ExternalTask
from plugins.setup import PluginSetup

FIELDS = (
    "nextPageToken, comments(id, content, resolved, deleted, author(displayName, emailAddress), "
    "replies(action, content, deleted, author(displayName, emailAddress)))"
)
# Docs writes an assignment into the comment (or a reply) as a "+" mention of the address.
ASSIGNED = re.compile(r"(?<![\w.+-])\+([\w.%+-]+@[\w-]+(?:\.[\w-]+)+)")


def assignees_of(texts: Sequence[str]) -> list[str]:
    """The addresses assigned in these texts, in order, each once, lower-cased."""
    return list(dict.fromkeys(match.lower() for text in texts for match in ASSIGNED.findall(text)))


def _task(file_id: str, comment: dict[str, Any]) -> ExternalTask | None:
    replies = [reply for reply in comment.get("replies") or [] if not reply.get("deleted")]
    assignees = assignees_of([comment.get("content") or "", *(r.get("content") or "" for r in replies)])
    if not assignees:
        return None
    description = ASSIGNED.sub("", comment.get("content") or "").strip() or "(no text)"
    return ExternalTask(
        id=str(comment["id"]),
        description=description,
        assignees=assignees,
        creator=((comment.get("author") or {}).get("emailAddress") or "").lower() or None,
        resolved=bool(comment.get("resolved")),
        weblink=f"https://docs.google.com/document/d/{file_id}/edit?disco={comment['id']}",
    )


class GoogleDocTasks:
    """The `task` role: the assigned comments of a Google document (the incident document)."""

    def __init__(self, workspace: GoogleWorkspace) -> None:
        self.workspace = workspace

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> GoogleDocTasks:
        return cls(workspace_for(setup))

    async def list(self, file_id: str) -> Sequence[ExternalTask]:
        def read(workspace: GoogleWorkspace) -> list[ExternalTask]:
            comments = workspace.service("drive", "v3").comments()
            found: list[ExternalTask] = []
            page: str | None = None
            while True:
                answer = comments.list(
                    fileId=file_id, fields=FIELDS, includeDeleted=False, pageSize=100, pageToken=page
                ).execute()
                for comment in answer.get("comments") or []:
                    task = None if comment.get("deleted") else _task(file_id, comment)
                    if task is not None:
                        found.append(task)
                page = answer.get("nextPageToken")
                if not page:
                    return found

        return await self.workspace.run(read, "read the document's comments")

    async def set_resolved(self, file_id: str, task_id: str, resolved: bool, note: str) -> None:
        def reply(workspace: GoogleWorkspace) -> None:
            workspace.service("drive", "v3").replies().create(
                fileId=file_id,
                commentId=task_id,
                fields="id, action",
                body={"action": "resolve" if resolved else "reopen", "content": note},
            ).execute()

        what = "resolve the document comment" if resolved else "re-open the document comment"
        await self.workspace.run(reply, what)
