"""Docs documents: the incident document copied from its type's template, every `{{variable}}` filled in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plugins.google.client import GoogleWorkspace, workspace_for
from plugins.google.drive import copy_once
from plugins.interfaces import ExternalResource
from plugins.registry import PluginSetup

# The incident template's variables (the seeds' templates.mdx); a key with no value is emptied, so a
# reader never sees a `{{...}}` the bot knew about.
INCIDENT_VARIABLES = (
    "name",
    "title",
    "description",
    "resolution",
    "commander_fullname",
    "type",
    "priority",
    "status",
    "conversation_weblink",
    "conference_weblink",
    "storage_weblink",
    "document_weblink",
    "ticket_weblink",
)
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def _text(document: Mapping[str, Any]) -> str:
    parts = []
    for block in (document.get("body") or {}).get("content") or []:
        for element in (block.get("paragraph") or {}).get("elements") or []:
            parts.append((element.get("textRun") or {}).get("content", ""))
    return "".join(parts)


def _replace_all(document_id: str, pairs: Mapping[str, str]) -> dict[str, Any]:
    requests = [
        {"replaceAllText": {"containsText": {"text": old, "matchCase": True}, "replaceText": new}}
        for old, new in pairs.items()
        if old
    ]
    return {"requests": requests}


class GoogleDocument:
    """The `document` role: template copies in Drive, variable replacement with Docs' replaceAllText."""

    def __init__(self, workspace: GoogleWorkspace) -> None:
        self.workspace = workspace

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> GoogleDocument:
        return cls(workspace_for(setup))

    async def create_from_template(
        self, template_id: str, folder_id: str, name: str, variables: Mapping[str, str]
    ) -> ExternalResource:
        values = {key: "" for key in INCIDENT_VARIABLES} | {k: v or "" for k, v in variables.items()}

        def create(workspace: GoogleWorkspace) -> ExternalResource:
            copied = copy_once(workspace, template_id, folder_id, name, "id, name, webViewLink")
            document_id = copied["id"]
            if not values["document_weblink"]:  # the copy's own link is known only now
                values["document_weblink"] = str(copied.get("webViewLink") or "")
            docs = workspace.service("docs", "v1").documents()
            pairs = {"{{" + key + "}}": value for key, value in values.items()}
            docs.batchUpdate(documentId=document_id, body=_replace_all(document_id, pairs)).execute()
            left = sorted(set(PLACEHOLDER.findall(_text(docs.get(documentId=document_id).execute()))))
            return ExternalResource(
                id=document_id,
                weblink=copied.get("webViewLink"),
                name=copied.get("name", name),
                # Keys the template uses that the bot has no value for: the operator's to fix.
                details={"unresolved": left, "variables": values},
            )

        return await self.workspace.run(create, f"copy template {template_id} into folder {folder_id}")

    async def update(self, document_id: str, replacements: Mapping[str, str]) -> None:
        def update(workspace: GoogleWorkspace) -> None:
            pairs = {"{{" + key + "}}": value for key, value in replacements.items()}
            documents = workspace.service("docs", "v1").documents()
            documents.batchUpdate(documentId=document_id, body=_replace_all(document_id, pairs)).execute()

        await self.workspace.run(update, f"update document {document_id}")

    async def update_fields(
        self, document_id: str, previous: Mapping[str, str], current: Mapping[str, str]
    ) -> None:
        changed = {
            previous[key]: current[key]
            for key in current
            if previous.get(key) and previous[key] != current[key]
        }
        if not changed:
            return

        def update(workspace: GoogleWorkspace) -> None:
            documents = workspace.service("docs", "v1").documents()
            documents.batchUpdate(documentId=document_id, body=_replace_all(document_id, changed)).execute()

        await self.workspace.run(update, f"update document {document_id}")

    async def text(self, document_id: str) -> str:
        """The document's plain text."""

        def read(workspace: GoogleWorkspace) -> str:
            return _text(workspace.service("docs", "v1").documents().get(documentId=document_id).execute())

        return await self.workspace.run(read, f"read document {document_id}")
