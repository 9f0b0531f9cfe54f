"""FakeGoogle: one aiohttp server speaking the slices of Google's APIs the bot uses, with state.

The token endpoint takes the service account's signed JWT (grant type jwt-bearer) and hands out a bearer
token bound to the delegated subject; every API call needs one (else 401). Paths are those of the static
discovery documents: `/drive/v3/...`, `/calendar/v3/...` (service path), `/v1/documents/...`,
`/admin/directory/v1/...`, `/gmail/v1/...` (bare root). Faults (403/404/429/5xx, with Retry-After) can be
queued per method and path prefix, answers can be lost after the request was carried out (`lose_answer`),
and `latency` delays every answer.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import itertools
import json
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiohttp import web

from tests.fakes.injection import Injected, Misbehaving

FOLDER = "application/vnd.google-apps.folder"
DOCUMENT = "application/vnd.google-apps.document"
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
REASON = {403: "forbidden", 404: "notFound", 409: "duplicate", 429: "rateLimitExceeded", 500: "backendError"}


@dataclass
class Call:
    method: str
    path: str
    subject: str
    status: int = 0


def _units(text: str) -> int:
    """The length of `text` as Docs counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _slice(text: str, start: int, end: int) -> str:
    """The text from Docs index `start` to `end` (the body's first character is at index 1)."""
    return text.encode("utf-16-le")[2 * (start - 1) : 2 * (end - 1)].decode("utf-16-le")


def _table_row(line: str, start: int) -> dict[str, Any]:
    """A line written `| a | b |` as a one-row table, each cell's text a run of its own. (Real Docs
    gives tables structural indexes of their own; here the runs keep the flat text's indexes.)"""
    cells, offset = [], 0
    for part in line.split("|"):
        if part.strip():
            at = start + _units(line[:offset])
            run = {"startIndex": at, "endIndex": at + _units(part), "textRun": {"content": part}}
            cells.append({"content": [{"paragraph": {"elements": [run]}}]})
        offset += len(part) + 1
    return {"rows": 1, "columns": len(cells), "tableRows": [{"tableCells": cells}]}


def _jwt_claims(assertion: str) -> dict[str, Any]:
    payload = assertion.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@dataclass
class FakeGoogle(Misbehaving):
    """Start with `async with FakeGoogle() as google:`; point the plugins' api_url and token_uri at it."""

    domain: str = "example.com"
    latency: float = 0.0
    drives: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, str] = field(default_factory=dict)
    # Docs named ranges by document id: {"namedRangeId", "name", "startIndex", "endIndex"} each.
    named_ranges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Each document's revision, moved on by every change (the bot's or someone typing).
    revisions: dict[str, int] = field(default_factory=dict)
    # Typing that happens right after the next read of a document: (after, text) by document id.
    typing_after_read: dict[str, tuple[str, str]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: list[EmailMessage] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Drive comments by file id, in the order they were made.
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    injected: Injected = field(default_factory=Injected)
    # Requests carried out whose answer is then replaced by an error (lost on the way back).
    lost: Injected = field(default_factory=Injected)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ----- state -----

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):05d}"

    def add_document(self, name: str, text: str, parent: str | None = None) -> str:
        """A Google Docs file (a template, say) with this text."""
        file_id = self._id("doc")
        self.files[file_id] = {
            "id": file_id,
            "name": name,
            "mimeType": DOCUMENT,
            "parents": [parent] if parent else [],
            "permissions": [],
        }
        self.documents[file_id] = text
        return file_id

    def type_in_document(self, document_id: str, after: str, text: str) -> None:
        """Someone types `text` in the editor right after the first `after` in the document."""
        at = self.documents[document_id].index(after) + len(after)
        index = _units(self.documents[document_id][:at]) + 1
        self._edit(document_id, index, index, text)

    def ranges_of(self, document_id: str, name: str) -> list[str]:
        """The text each named range called `name` covers, in document order."""
        text = self.documents[document_id]
        ranges = self.named_ranges.get(document_id, [])
        spans = sorted((r["startIndex"], r["endIndex"]) for r in ranges if r["name"] == name)
        return [_slice(text, start, end) for start, end in spans]

    def _edit(self, document_id: str, start: int, end: int, new: str) -> None:
        """Replace the text from index `start` to `end` (UTF-16 units, the body starting at 1) with
        `new`, moving the named ranges as Docs does: a range whose whole text is deleted goes."""
        text = self.documents[document_id]
        self.documents[document_id] = _slice(text, 1, start) + new + _slice(text, end, _units(text) + 1)
        self.revisions[document_id] = self.revisions.get(document_id, 0) + 1
        length = _units(new)
        delta = length - (end - start)
        kept = []
        for named in self.named_ranges.get(document_id, []):
            first, last = named["startIndex"], named["endIndex"]
            if last <= start:  # before the edit (text typed at its end stays outside it)
                pass
            elif first >= end:  # after it (text typed at its start goes before it)
                first, last = first + delta, last + delta
            elif start <= first and last <= end:
                continue  # its whole text is gone, and the range with it
            elif first < start:  # the edit starts inside the range
                last = last + delta if end <= last else start
            else:  # the edit starts before the range and ends inside it
                first, last = start + length, last + delta
            kept.append({**named, "startIndex": first, "endIndex": last})
        self.named_ranges[document_id] = kept

    def add_comment(self, file_id: str, content: str, author: str, *, resolved: bool = False) -> str:
        """Someone (`author`, an address) comments on the file, as they would in the editor."""
        comment_id = self._id("cmt")
        self.comments.setdefault(file_id, []).append(
            {
                "id": comment_id,
                "content": content,
                "resolved": resolved,
                "deleted": False,
                "author": {"displayName": author.split("@")[0], "emailAddress": author},
                "replies": [],
            }
        )
        return comment_id

    def comment(self, file_id: str, comment_id: str) -> dict[str, Any]:
        return next(c for c in self.comments.get(file_id, []) if c["id"] == comment_id)

    def children(self, parent: str) -> list[dict[str, Any]]:
        return [f for f in self.files.values() if parent in f["parents"]]

    def lose_answer(self, method: str, path: str, status: int = 503, *, times: int = 1) -> None:
        """Carry out the next `times` requests `method path…`, then answer `status` instead: the caller
        does not learn that it worked, and its retry meets what the first attempt did."""
        self.lost.fail(method, path, status, times=times)

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method.upper() and c.path.startswith(path)]

    # ----- server -----

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def token_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    async def __aenter__(self) -> FakeGoogle:
        app = web.Application(middlewares=[self._middleware])
        routes = [
            ("POST", "/token", self._token),
            ("POST", "/drive/v3/drives", self._create_drive),
            ("GET", "/drive/v3/drives", self._list_drives),
            ("POST", "/drive/v3/files", self._create_file),
            ("GET", "/drive/v3/files", self._list_files),
            ("GET", "/drive/v3/files/{id}", self._get_file),
            ("POST", "/drive/v3/files/{id}/copy", self._copy_file),
            ("POST", "/drive/v3/files/{id}/permissions", self._create_permission),
            ("GET", "/drive/v3/files/{id}/permissions", self._list_permissions),
            ("GET", "/v1/documents/{spec}", self._get_document),
            ("POST", "/v1/documents/{spec}", self._batch_update),
            ("POST", "/admin/directory/v1/groups", self._insert_group),
            ("GET", "/admin/directory/v1/groups/{group}", self._get_group),
            ("DELETE", "/admin/directory/v1/groups/{group}", self._delete_group),
            ("POST", "/admin/directory/v1/groups/{group}/members", self._insert_member),
            ("GET", "/admin/directory/v1/groups/{group}/members", self._list_members),
            ("DELETE", "/admin/directory/v1/groups/{group}/members/{member}", self._delete_member),
            ("POST", "/gmail/v1/users/{user}/messages/send", self._send_message),
            ("POST", "/calendar/v3/calendars/{calendar}/events", self._insert_event),
            ("GET", "/calendar/v3/calendars/{calendar}/events/{event}", self._get_event),
            ("GET", "/drive/v3/files/{id}/comments", self._list_comments),
            ("POST", "/drive/v3/files/{id}/comments/{comment}/replies", self._create_reply),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        await self.serve(app)
        return self

    @staticmethod
    def error(status: int, message: str, retry_after: float | None = None) -> web.Response:
        body = {
            "error": {
                "code": status,
                "message": message,
                "status": STATUS.get(status, "UNKNOWN"),
                "errors": [{"domain": "global", "reason": REASON.get(status, "error"), "message": message}],
            }
        }
        response = web.json_response(body, status=status)
        if retry_after is not None:
            response.headers["Retry-After"] = f"{retry_after:g}"
        return response

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        subject = ""
        if request.path != "/token":
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            subject = self.tokens.get(token, "")
        call = Call(request.method, request.path, subject)
        self.calls.append(call)
        response = await self._answer(request, handler, subject)
        call.status = response.status
        return response

    async def _answer(self, request: web.Request, handler: Any, subject: str) -> web.StreamResponse:
        await self.injected.wait(request.method, request.path)
        fault = self.injected.take(request.method, request.path)
        if fault is not None:
            messages = {403: "The caller does not have permission", 429: "Rate Limit Exceeded"}
            return self.error(fault.status, messages.get(fault.status, "Backend Error"), fault.retry_after)
        if request.path != "/token" and not subject:
            return self.error(401, "Request had invalid authentication credentials.")
        result: web.StreamResponse = await handler(request)
        lost = self.lost.take(request.method, request.path)
        if lost is not None:
            return self.error(lost.status, "Backend Error")
        return result

    # ----- OAuth -----

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        claims = _jwt_claims(str(form.get("assertion", "")))
        subject = str(claims.get("sub") or claims.get("iss") or "")
        if not subject.endswith("@" + self.domain):
            return web.json_response(
                {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens.",
                },
                status=401,
            )
        token = self._id("ya29.token")
        self.tokens[token] = subject
        return web.json_response({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    # ----- Drive -----

    def _file_api(self, file: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in file.items() if k != "permissions"}
        kind = "folders" if file["mimeType"] == FOLDER else "file/d"
        shown["webViewLink"] = f"https://drive.google.com/{kind}/{file['id']}"
        return shown

    def _drive_of(self, parent: str) -> str:
        if parent in self.drives:
            return parent
        return str(self.files[parent].get("driveId", "")) if parent in self.files else ""

    async def _create_drive(self, request: web.Request) -> web.Response:
        """As Google: a request id already used by the same user answers 409, whatever the body."""
        request_id = request.query.get("requestId", "")
        if not request_id:
            return self.error(400, "Required parameter: requestId")
        subject = self.tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "), "")
        if any(
            d.get("requestId") == request_id and d.get("creator") == subject for d in self.drives.values()
        ):
            return self.error(409, "A shared drive with this request ID already exists.")
        body = await request.json()
        drive_id = self._id("drive")
        self.drives[drive_id] = {
            "id": drive_id,
            "name": body["name"],
            "requestId": request_id,
            "creator": subject,
        }
        return web.json_response({"id": drive_id, "name": body["name"], "kind": "drive#drive"})

    async def _list_drives(self, request: web.Request) -> web.Response:
        """The shared drives, filtered by a `name = '…'` query (the only term the fake knows)."""
        query = request.query.get("q", "")
        found = list(self.drives.values())
        if query:
            m = re.fullmatch(r"name = '((?:[^'\\]|\\.)*)'", query)
            if m is None:
                return self.error(400, f"Invalid Value: {query}")
            found = [d for d in found if d["name"] == re.sub(r"\\(.)", r"\1", m[1])]
        shown = [{"kind": "drive#drive", "id": d["id"], "name": d["name"]} for d in found]
        return web.json_response({"kind": "drive#driveList", "drives": shown})

    async def _create_file(self, request: web.Request) -> web.Response:
        body = await request.json()
        parents = list(body.get("parents") or [])
        if any(p not in self.files and p not in self.drives for p in parents):
            return self.error(404, f"File not found: {parents[0]}.")
        file_id = self._id("fld" if body.get("mimeType") == FOLDER else "file")
        file = {
            "id": file_id,
            "name": body.get("name", "Untitled"),
            "mimeType": body.get("mimeType", ""),
            "parents": parents,
            "driveId": self._drive_of(parents[0]) if parents else "",
            "permissions": [],
        }
        self.files[file_id] = file
        return web.json_response(self._file_api(file))

    async def _list_files(self, request: web.Request) -> web.Response:
        query = request.query.get("q", "")
        found = [f for f in self.files.values() if not f.get("trashed")]
        for clause in re.split(r"\s+and\s+", query) if query else []:
            if m := re.fullmatch(r"name = '((?:[^'\\]|\\.)*)'", clause):
                found = [f for f in found if f["name"] == re.sub(r"\\(.)", r"\1", m[1])]
            elif m := re.fullmatch(r"mimeType = '([^']*)'", clause):
                found = [f for f in found if f["mimeType"] == m[1]]
            elif m := re.fullmatch(r"'([^']*)' in parents", clause):
                found = [f for f in found if m[1] in f["parents"]]
            elif clause != "trashed = false":
                return self.error(400, f"Invalid Value: {clause}")
        return web.json_response({"files": [self._file_api(f) for f in found]})

    async def _get_file(self, request: web.Request) -> web.Response:
        file = self.files.get(request.match_info["id"])
        if file is None:
            return self.error(404, f"File not found: {request.match_info['id']}.")
        return web.json_response(self._file_api(file))

    async def _copy_file(self, request: web.Request) -> web.Response:
        source = self.files.get(request.match_info["id"])
        if source is None:
            return self.error(404, f"File not found: {request.match_info['id']}.")
        body = await request.json()
        parents = list(body.get("parents") or source["parents"])
        file_id = self._id("doc" if source["mimeType"] == DOCUMENT else "file")
        copy = {
            **source,
            "id": file_id,
            "name": body.get("name") or f"Copy of {source['name']}",
            "parents": parents,
            "driveId": self._drive_of(parents[0]) if parents else "",
            "permissions": [],
        }
        self.files[file_id] = copy
        if source["id"] in self.documents:
            self.documents[file_id] = self.documents[source["id"]]
            self.named_ranges[file_id] = [dict(r) for r in self.named_ranges.get(source["id"], [])]
        return web.json_response(self._file_api(copy))

    async def _create_permission(self, request: web.Request) -> web.Response:
        file = self.files.get(request.match_info["id"])
        if file is None:
            return self.error(404, f"File not found: {request.match_info['id']}.")
        body = await request.json()
        if body.get("type") in ("user", "group") and "@" not in str(body.get("emailAddress", "")):
            return self.error(400, "The permission's email address is invalid.")
        permission = {
            "id": self._id("perm"),
            **{k: body[k] for k in ("type", "role", "emailAddress", "domain") if k in body},
        }
        permission["sendNotificationEmail"] = request.query.get("sendNotificationEmail", "true")
        file["permissions"].append(permission)
        return web.json_response({"id": permission["id"]})

    async def _list_permissions(self, request: web.Request) -> web.Response:
        file = self.files.get(request.match_info["id"])
        if file is None:
            return self.error(404, f"File not found: {request.match_info['id']}.")
        shown = [{k: v for k, v in p.items() if k != "sendNotificationEmail"} for p in file["permissions"]]
        return web.json_response({"permissions": shown})

    # ----- Docs -----

    async def _get_document(self, request: web.Request) -> web.Response:
        document_id = request.match_info["spec"]
        if document_id not in self.documents:
            return self.error(404, "Requested entity was not found.")
        paragraphs, index = [], 1
        for line in self.documents[document_id].splitlines(keepends=True):
            end = index + _units(line)
            if line.startswith("|"):
                paragraphs.append({"startIndex": index, "endIndex": end, "table": _table_row(line, index)})
            else:
                run = {"startIndex": index, "endIndex": end, "textRun": {"content": line}}
                paragraphs.append({"startIndex": index, "endIndex": end, "paragraph": {"elements": [run]}})
            index = end
        named: dict[str, dict[str, Any]] = {}
        typing = self.typing_after_read.pop(document_id, None)
        if typing is not None:  # once the answer below is read, it is out of date
            asyncio.get_running_loop().call_soon(self.type_in_document, document_id, *typing)
        for r in self.named_ranges.get(document_id, []):
            entry = named.setdefault(r["name"], {"name": r["name"], "namedRanges": []})
            span = {"startIndex": r["startIndex"], "endIndex": r["endIndex"]}
            entry["namedRanges"].append(
                {"namedRangeId": r["namedRangeId"], "name": r["name"], "ranges": [span]}
            )
        return web.json_response(
            {
                "documentId": document_id,
                "title": self.files[document_id]["name"],
                "body": {"content": paragraphs},
                "namedRanges": named,
                "revisionId": f"rev-{self.revisions.get(document_id, 0)}",
            }
        )

    async def _batch_update(self, request: web.Request) -> web.Response:
        """replaceAllText, deleteContentRange, insertText, createNamedRange and deleteNamedRange, applied
        one after another; a request Docs would refuse (an index off the text, say) refuses them all."""
        document_id, _, verb = request.match_info["spec"].partition(":")
        if verb != "batchUpdate":
            return self.error(404, "Method not found.")
        if document_id not in self.documents:
            return self.error(404, "Requested entity was not found.")
        body = await request.json()
        required = (body.get("writeControl") or {}).get("requiredRevisionId")
        latest = f"rev-{self.revisions.get(document_id, 0)}"
        if required is not None and required != latest:
            return self.error(
                400, f"The required revision ID '{required}' does not match the latest revision '{latest}'."
            )
        before = (
            self.documents[document_id],
            [dict(r) for r in self.named_ranges.get(document_id, [])],
            self.revisions.get(document_id, 0),
        )
        try:
            replies = [self._apply(document_id, item) for item in body.get("requests", [])]
        except ValueError as refused:
            self.documents[document_id], self.named_ranges[document_id], self.revisions[document_id] = before
            return self.error(400, str(refused))
        return web.json_response({"documentId": document_id, "replies": replies})

    def _apply(self, document_id: str, item: dict[str, Any]) -> dict[str, Any]:
        size = _units(self.documents[document_id])
        if "replaceAllText" in item:
            replace = item["replaceAllText"]
            needle, new = replace["containsText"]["text"], str(replace.get("replaceText", ""))
            flags = 0 if replace["containsText"].get("matchCase") else re.IGNORECASE
            text = self.documents[document_id]
            found = list(re.finditer(re.escape(needle), text, flags))
            for match in reversed(found):
                start = _units(text[: match.start()]) + 1
                self._edit(document_id, start, start + _units(match.group(0)), new)
            return {"replaceAllText": {"occurrencesChanged": len(found)} if found else {}}
        if "deleteContentRange" in item:
            span = item["deleteContentRange"]["range"]
            start, end = int(span["startIndex"]), int(span["endIndex"])
            if not 1 <= start < end <= size + 1:
                raise ValueError(f"Invalid deletion range {start}-{end}: the document has {size} units.")
            self._edit(document_id, start, end, "")
            return {}
        if "insertText" in item:
            index = int(item["insertText"]["location"]["index"])
            if not 1 <= index <= size + 1:
                raise ValueError(f"Index {index} must be within the document (1-{size + 1}).")
            self._edit(document_id, index, index, str(item["insertText"]["text"]))
            return {}
        if "createNamedRange" in item:
            create = item["createNamedRange"]
            start, end = int(create["range"]["startIndex"]), int(create["range"]["endIndex"])
            if not 1 <= start < end <= size + 1:
                raise ValueError(f"Invalid named range {start}-{end}.")
            named_range_id = self._id("kix.")
            self.named_ranges.setdefault(document_id, []).append(
                {"namedRangeId": named_range_id, "name": create["name"], "startIndex": start, "endIndex": end}
            )
            return {"createNamedRange": {"namedRangeId": named_range_id}}
        if "deleteNamedRange" in item:
            delete = item["deleteNamedRange"]
            self.named_ranges[document_id] = [
                r
                for r in self.named_ranges.get(document_id, [])
                if r["namedRangeId"] != delete.get("namedRangeId") and r["name"] != delete.get("name")
            ]
            return {}
        raise ValueError(f"Unsupported request: {sorted(item)}")

    # ----- Admin Directory -----

    def _group(self, key: str) -> dict[str, Any] | None:
        return self.groups.get(key) or next((g for g in self.groups.values() if g["id"] == key), None)

    async def _insert_group(self, request: web.Request) -> web.Response:
        body = await request.json()
        address = str(body.get("email", ""))
        if not address.endswith("@" + self.domain):
            return self.error(400, "Invalid Input: email")
        if address in self.groups:
            return self.error(409, "Entity already exists.")
        group = {
            "id": self._id("grp"),
            "email": address,
            "name": body.get("name", ""),
            "description": body.get("description", ""),
            "members": {},
        }
        self.groups[address] = group
        return web.json_response({k: v for k, v in group.items() if k != "members"})

    async def _get_group(self, request: web.Request) -> web.Response:
        group = self._group(request.match_info["group"])
        if group is None:
            return self.error(404, "Resource Not Found: groupKey")
        return web.json_response({k: v for k, v in group.items() if k != "members"})

    async def _delete_group(self, request: web.Request) -> web.Response:
        group = self._group(request.match_info["group"])
        if group is None:
            return self.error(404, "Resource Not Found: groupKey")
        del self.groups[group["email"]]
        return web.Response(status=204)

    async def _insert_member(self, request: web.Request) -> web.Response:
        group = self._group(request.match_info["group"])
        if group is None:
            return self.error(404, "Resource Not Found: groupKey")
        body = await request.json()
        address = str(body.get("email", "")).lower()
        if address in group["members"]:
            return self.error(409, "Member already exists.")
        group["members"][address] = body.get("role", "MEMBER")
        return web.json_response({"email": address, "role": group["members"][address], "type": "USER"})

    async def _list_members(self, request: web.Request) -> web.Response:
        group = self._group(request.match_info["group"])
        if group is None:
            return self.error(404, "Resource Not Found: groupKey")
        members = [{"email": e, "role": r, "type": "USER"} for e, r in group["members"].items()]
        return web.json_response({"members": members} if members else {})

    async def _delete_member(self, request: web.Request) -> web.Response:
        group = self._group(request.match_info["group"])
        member = request.match_info["member"].lower()
        if group is None or member not in group["members"]:
            return self.error(404, "Resource Not Found: memberKey")
        del group["members"][member]
        return web.Response(status=204)

    # ----- Gmail -----

    async def _send_message(self, request: web.Request) -> web.Response:
        raw = (await request.json()).get("raw", "")
        try:
            data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError:
            return self.error(400, "Invalid value for ByteString")
        message = email.message_from_bytes(data, policy=email.policy.default)
        if not message["To"]:
            return self.error(400, "Invalid To header")
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return web.json_response({"id": self._id("msg"), "threadId": self._id("thr"), "labelIds": ["SENT"]})

    # ----- Calendar -----

    async def _insert_event(self, request: web.Request) -> web.Response:
        body = await request.json()
        if "start" not in body or "end" not in body:
            return self.error(400, "Missing time range.")
        event_id = str(body.get("id") or self._id("evt"))
        if not re.fullmatch(r"[a-v0-9]{5,1024}", event_id):
            return self.error(400, "Invalid resource id value.")
        if event_id in self.events:
            return self.error(409, "The requested identifier already exists.")
        event = {
            **body,
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://calendar.google.com/event?eid={event_id}",
        }
        create = (body.get("conferenceData") or {}).get("createRequest")
        if create and request.query.get("conferenceDataVersion") == "1":
            code = f"abc-{next(self._ids):04d}-xyz"
            event["hangoutLink"] = f"https://meet.google.com/{code}"
            event["conferenceData"] = {
                "createRequest": {**create, "status": {"statusCode": "success"}},
                "conferenceId": code,
                "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
                "entryPoints": [{"entryPointType": "video", "uri": event["hangoutLink"], "label": code}],
            }
        self.events[event_id] = event
        return web.json_response(event)

    async def _get_event(self, request: web.Request) -> web.Response:
        event = self.events.get(request.match_info["event"])
        return web.json_response(event) if event is not None else self.error(404, "Not Found")

    # ----- Drive comments -----

    COMMENTS_PAGE = 20

    async def _list_comments(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        if file_id not in self.files:
            return self.error(404, f"File not found: {file_id}.")
        if not request.query.get("fields"):
            return self.error(400, "The 'fields' parameter is required for this method.")
        shown = [
            c
            for c in self.comments.get(file_id, [])
            if request.query.get("includeDeleted") == "true" or not c["deleted"]
        ]
        size = min(int(request.query.get("pageSize", self.COMMENTS_PAGE)), self.COMMENTS_PAGE)
        start = int(request.query.get("pageToken") or 0)
        page: dict[str, Any] = {"comments": shown[start : start + size]}
        if start + size < len(shown):
            page["nextPageToken"] = str(start + size)
        return web.json_response(page)

    async def _create_reply(self, request: web.Request) -> web.Response:
        file_id, comment_id = request.match_info["id"], request.match_info["comment"]
        if not request.query.get("fields"):
            return self.error(400, "The 'fields' parameter is required for this method.")
        found = [c for c in self.comments.get(file_id, []) if c["id"] == comment_id]
        if not found:
            return self.error(404, f"Comment not found: {comment_id}.")
        body = await request.json()
        action = body.get("action")
        if action not in (None, "resolve", "reopen") or not (body.get("content") or action):
            return self.error(400, "Invalid reply.")
        subject = self.tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "), "")
        reply = {
            "id": self._id("rpl"),
            "content": body.get("content", ""),
            "action": action,
            "deleted": False,
            "author": {"displayName": subject.split("@")[0], "emailAddress": subject},
        }
        found[0]["replies"].append(reply)
        if action:
            found[0]["resolved"] = action == "resolve"
        return web.json_response(reply)
