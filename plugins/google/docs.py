"""Docs documents: the incident document copied from its type's template, every `{{variable}}` filled in.

Each value the bot writes is covered by a named range (`dispatch-bot:<key>`), so a later change of
the field replaces exactly that text: never the same words elsewhere in the document, nor another
field that happens to hold the same value. Indexes are in UTF-16 code units, as Docs counts them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from googleapiclient.errors import HttpError

from plugins.google.client import GoogleWorkspace, workspace_for
from plugins.google.drive import copy_once
from plugins.interfaces import ExternalResource
from plugins.setup import PluginSetup

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


RANGE_PREFIX = "dispatch-bot:"
# How often a field update reads the document again after someone changed it under the update.
REVISION_ATTEMPTS = 3


def _text(document: Mapping[str, Any]) -> str:
    return "".join(content for _, content in _runs(document, contents_table=True))


def _runs(document: Mapping[str, Any], *, contents_table: bool = False) -> list[tuple[int, str]]:
    """Each text run of the body, tables included: its start index and its text. The table of
    contents (which Docs makes from the headings, and never lets anyone edit) only when asked."""
    runs: list[tuple[int, str]] = []

    def walk(content: Iterable[Mapping[str, Any]]) -> None:
        for block in content:
            for element in (block.get("paragraph") or {}).get("elements") or []:
                run = element.get("textRun")
                if run is not None:
                    runs.append((int(element.get("startIndex", 0)), str(run.get("content", ""))))
            for row in (block.get("table") or {}).get("tableRows") or []:
                for cell in row.get("tableCells") or []:
                    walk(cell.get("content") or [])
            if contents_table:
                walk((block.get("tableOfContents") or {}).get("content") or [])

    walk((document.get("body") or {}).get("content") or [])
    return runs


# Docs drops these from inserted text (control characters, the private use area): dropped here first,
# so the named range covers exactly what was inserted.
_STRIPPED = re.compile("[\u0000-\u0008\u000c-\u001f\ue000-\uf8ff]")


def _clean(value: str) -> str:
    return _STRIPPED.sub("", value)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _placeholders(document: Mapping[str, Any], keys: Iterable[str]) -> list[tuple[int, int, str]]:
    """Where each `{{key}}` of `keys` stands: (start, end, key)."""
    wanted = set(keys)
    found = []
    for start, content in _runs(document):
        for match in PLACEHOLDER.finditer(content):
            if match.group(1) in wanted:
                at = start + _units(content[: match.start()])
                found.append((at, at + _units(match.group(0)), match.group(1)))
    return found


def _write(spots: Iterable[tuple[int, int, str]], values: Mapping[str, str]) -> list[dict[str, Any]]:
    """Requests putting each key's value in its spot under a named range, the last spot first so the
    earlier indexes still hold when their turn comes."""
    requests: list[dict[str, Any]] = []
    for start, end, key in sorted(spots, reverse=True):
        requests.append({"deleteContentRange": {"range": {"startIndex": start, "endIndex": end}}})
        value = _clean(values[key])
        if value:
            requests.append({"insertText": {"location": {"index": start}, "text": value}})
            span = {"startIndex": start, "endIndex": start + _units(value)}
            requests.append({"createNamedRange": {"name": RANGE_PREFIX + key, "range": span}})
    return requests


def _replace_all(pairs: Mapping[str, str]) -> list[dict[str, Any]]:
    """Requests replacing every occurrence of each text with its new one."""
    return [
        {"replaceAllText": {"containsText": {"text": old, "matchCase": True}, "replaceText": new}}
        for old, new in pairs.items()
        if old
    ]


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
            requests = _write(_placeholders(docs.get(documentId=document_id).execute(), values), values)
            # A placeholder split across differently formatted runs is not found above: filled as text.
            pairs = {"{{" + key + "}}": value for key, value in values.items()}
            requests += _replace_all(pairs)
            docs.batchUpdate(documentId=document_id, body={"requests": requests}).execute()
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
            documents.batchUpdate(documentId=document_id, body={"requests": _replace_all(pairs)}).execute()

        await self.workspace.run(update, f"update document {document_id}")

    async def update_fields(
        self, document_id: str, previous: Mapping[str, str], current: Mapping[str, str]
    ) -> None:
        """Each changed field's text replaced where the bot wrote it (its named ranges). A field with
        no range (written across differently formatted text, or its text deleted by someone) is found
        by its previous text, as the only trace left of it."""
        changed = {key: value for key, value in current.items() if previous.get(key) != value}
        if not changed:
            return

        def update(workspace: GoogleWorkspace) -> None:
            # The positions hold only for the revision they were read from: written with that
            # revision required, and read again when someone changed the document in between.
            for attempt in range(REVISION_ATTEMPTS):
                try:
                    return write(workspace)
                except HttpError as error:
                    outdated = error.resp.status == 400 and b"revision" in (error.content or b"").lower()
                    if not outdated or attempt == REVISION_ATTEMPTS - 1:
                        raise

        def write(workspace: GoogleWorkspace) -> None:
            documents = workspace.service("docs", "v1").documents()
            document = documents.get(documentId=document_id).execute()
            named = document.get("namedRanges") or {}
            stale, spots = [], []
            for key in changed:
                for named_range in (named.get(RANGE_PREFIX + key) or {}).get("namedRanges") or []:
                    stale.append({"deleteNamedRange": {"namedRangeId": named_range["namedRangeId"]}})
                    for span in named_range.get("ranges") or []:
                        spots.append((int(span["startIndex"]), int(span["endIndex"]), key))
            # A field written as plain text (a placeholder split across differently formatted runs):
            # its previous text replaced, as the only way to find it.
            unranged = {
                previous[key]: value
                for key, value in changed.items()
                if RANGE_PREFIX + key not in named and previous.get(key)
            }
            requests = stale + _write(spots, changed) + _replace_all(unranged)
            if not requests:
                return
            body: dict[str, Any] = {"requests": requests}
            if document.get("revisionId"):
                body["writeControl"] = {"requiredRevisionId": document["revisionId"]}
            documents.batchUpdate(documentId=document_id, body=body).execute()

        await self.workspace.run(update, f"update document {document_id}")

    async def text(self, document_id: str) -> str:
        """The document's plain text."""

        def read(workspace: GoogleWorkspace) -> str:
            return _text(workspace.service("docs", "v1").documents().get(documentId=document_id).execute())

        return await self.workspace.run(read, f"read document {document_id}")
