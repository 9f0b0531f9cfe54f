"""FakeJira: an aiohttp server speaking the slice of Jira Cloud's REST API v3 the ticket plugin uses.

Issues live in projects; `POST /search/jql` understands the `project = "X" AND labels = "y"` queries the
plugin sends; transitions follow a small workflow (To Do → In Progress → Done, and back). Every request
needs basic auth with the configured e-mail and API token (else 401). Faults (any status, with an
optional Retry-After, before or after the request takes effect) and latency can be injected per method
and path prefix.
"""

from __future__ import annotations

import base64
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.injection import Injected, Misbehaving

API = "/rest/api/3"
STATUSES = ("To Do", "In Progress", "Done")
TRANSITIONS = {"11": "To Do", "21": "In Progress", "31": "Done"}
REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Request:
    method: str
    path: str
    body: Any = None
    status: int = 0


@dataclass
class Issue:
    id: str
    key: str
    project: str
    summary: str
    issue_type: str
    labels: list[str]
    description: Any = None
    status: str = "To Do"
    assignee: str | None = None
    # Custom fields as last written (customfield_NNNNN → value).
    custom: dict[str, Any] = field(default_factory=dict)

    def to_api(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "self": f"{base_url}{API}/issue/{self.id}",
            "fields": {
                "summary": self.summary,
                "labels": list(self.labels),
                "status": {"name": self.status},
                "issuetype": {"name": self.issue_type},
                "assignee": {"accountId": self.assignee} if self.assignee else None,
            },
        }


@dataclass
class FakeJira(Misbehaving):
    """Start with `async with FakeJira() as jira:`; point the plugin at `jira.url`."""

    username: str = "dispatch@example.com"
    api_token: str = "jira-test-token"
    projects: set[str] = field(default_factory=lambda: {"OPS"})
    users: dict[str, str] = field(default_factory=dict)  # e-mail → accountId
    issues: list[Issue] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    injected: Injected = field(default_factory=Injected)  # paths are those after /rest/api/3

    def __post_init__(self) -> None:
        self._ids = itertools.count(10001)
        self._numbers: dict[str, itertools.count[int]] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ----- state -----

    def add_user(self, email: str) -> str:
        account = f"acc-{len(self.users) + 1}"
        self.users[email] = account
        return account

    def issue(self, key: str) -> Issue | None:
        return next((issue for issue in self.issues if issue.key == key), None)

    def requests_to(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method.upper() and r.path.startswith(path)]

    # ----- server -----

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeJira:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get(f"{API}/myself", self._myself)
        app.router.add_get(f"{API}/user/search", self._user_search)
        app.router.add_post(f"{API}/search/jql", self._search)
        app.router.add_post(f"{API}/issue", self._create)
        app.router.add_get(API + "/issue/{key}", self._get)
        app.router.add_put(API + "/issue/{key}", self._edit)
        app.router.add_get(API + "/issue/{key}/transitions", self._transitions)
        app.router.add_post(API + "/issue/{key}/transitions", self._transition)
        await self.serve(app)
        return self

    @staticmethod
    def _error(status: int, *messages: str, errors: dict[str, str] | None = None) -> web.Response:
        return web.json_response(
            {"errorMessages": list(messages), "errors": errors or {}},
            status=status,
            reason=REASONS.get(status),
        )

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        record = Request(request.method, request.path.removeprefix(API), body)
        self.requests.append(record)
        await self.injected.wait(request.method, record.path)
        response = await self._answer(request, record, handler)
        record.status = response.status
        return response

    async def _answer(self, request: web.Request, record: Request, handler: Any) -> web.StreamResponse:
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.api_token}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return self._error(
                401, "You are not authenticated. Authentication required to perform this operation."
            )
        fault = self.injected.take(request.method, record.path)
        if fault is not None:
            if fault.applied:
                await handler(request)
            response = self._error(fault.status, REASONS.get(fault.status, "Error"))
            if fault.retry_after is not None:
                response.headers["Retry-After"] = f"{fault.retry_after:g}"
            return response
        result: web.StreamResponse = await handler(request)
        return result

    def _find(self, request: web.Request) -> Issue | None:
        key = request.match_info["key"]
        return next((i for i in self.issues if key in (i.key, i.id)), None)

    async def _myself(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"accountId": "acc-bot", "emailAddress": self.username, "displayName": "Dispatch"}
        )

    async def _user_search(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "")
        account = self.users.get(query)
        return web.json_response([{"accountId": account, "emailAddress": query}] if account else [])

    async def _search(self, request: web.Request) -> web.Response:
        body = await request.json()
        jql = str(body.get("jql") or "")
        clauses = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', jql))
        found = [
            issue
            for issue in self.issues
            if ("project" not in clauses or issue.project == clauses["project"])
            and ("labels" not in clauses or clauses["labels"] in issue.labels)
        ]
        limit = int(body.get("maxResults") or 50)
        return web.json_response({"issues": [issue.to_api(self.url) for issue in found[:limit]]})

    async def _create(self, request: web.Request) -> web.Response:
        fields = (await request.json()).get("fields") or {}
        project = (fields.get("project") or {}).get("key")
        if project not in self.projects:
            return self._error(400, errors={"project": "Specify a valid project ID or key"})
        if not fields.get("summary"):
            return self._error(400, errors={"summary": "You must specify a summary of the issue."})
        number = next(self._numbers.setdefault(project, itertools.count(1)))
        issue = Issue(
            id=str(next(self._ids)),
            key=f"{project}-{number}",
            project=project,
            summary=str(fields["summary"]),
            issue_type=str((fields.get("issuetype") or {}).get("name") or "Task"),
            labels=list(fields.get("labels") or []),
            description=fields.get("description"),
            assignee=(fields.get("assignee") or {}).get("accountId"),
        )
        self.issues.append(issue)
        return web.json_response(
            {"id": issue.id, "key": issue.key, "self": f"{self.url}{API}/issue/{issue.id}"}, status=201
        )

    async def _get(self, request: web.Request) -> web.Response:
        issue = self._find(request)
        if issue is None:
            return self._error(404, "Issue does not exist or you do not have permission to see it.")
        return web.json_response(issue.to_api(self.url))

    async def _edit(self, request: web.Request) -> web.Response:
        issue = self._find(request)
        if issue is None:
            return self._error(404, "Issue does not exist or you do not have permission to see it.")
        fields = (await request.json()).get("fields") or {}
        if "summary" in fields:
            issue.summary = str(fields["summary"])
        if "assignee" in fields:
            issue.assignee = (fields["assignee"] or {}).get("accountId")
        issue.custom.update({k: v for k, v in fields.items() if k.startswith("customfield_")})
        return web.Response(status=204)

    async def _transitions(self, request: web.Request) -> web.Response:
        issue = self._find(request)
        if issue is None:
            return self._error(404, "Issue does not exist or you do not have permission to see it.")
        available = [
            {"id": tid, "name": f"Move to {name}", "to": {"name": name}}
            for tid, name in TRANSITIONS.items()
            if name != issue.status
        ]
        return web.json_response({"transitions": available})

    async def _transition(self, request: web.Request) -> web.Response:
        issue = self._find(request)
        if issue is None:
            return self._error(404, "Issue does not exist or you do not have permission to see it.")
        tid = str(((await request.json()).get("transition") or {}).get("id"))
        if tid not in TRANSITIONS or TRANSITIONS[tid] == issue.status:
            return self._error(400, "Transition id is not valid for this issue.")
        issue.status = TRANSITIONS[tid]
        return web.Response(status=204)
