"""FakePagerDuty: an aiohttp server speaking the slice of PagerDuty's REST API v2 the bot uses, with state.

Services point at escalation policies; on-call entries put users on a policy's levels; incidents are
created with `POST /incidents` (a `From` header is required, an open incident with the same
incident_key is refused with 400 "Incident Already Exists", as PagerDuty does). Every request needs
`Authorization: Token token=<api_key>` (else 401). Faults (429 with Retry-After, 5xx, before or after
the request takes effect) can be queued.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.injection import Injected, Misbehaving


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any = None
    status: int = 0


@dataclass
class Incident:
    id: str
    title: str
    service_id: str
    incident_key: str | None
    from_email: str
    details: str
    status: str = "triggered"

    def to_api(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "incident",
            "summary": self.title,
            "title": self.title,
            "status": self.status,
            "incident_key": self.incident_key,
            "service": {"id": self.service_id, "type": "service_reference"},
            "html_url": f"{base_url}/incidents/{self.id}",
            "self": f"{base_url}/incidents/{self.id}",
        }


@dataclass
class FakePagerDuty(Misbehaving):
    """Start with `async with FakePagerDuty() as pd:`; point pdpyras at `pd.url`."""

    api_key: str = "pd-test-key"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    oncalls: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    injected: Injected = field(default_factory=Injected)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ----- state -----

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def add_user(self, name: str, email: str) -> str:
        user_id = self._id("PU")
        self.users[user_id] = {"id": user_id, "name": name, "email": email}
        return user_id

    def add_service(
        self, name: str, on_call: list[str] | None = None, level2: list[str] | None = None
    ) -> str:
        """A service with its own escalation policy; `on_call` user ids at level 1, `level2` at 2."""
        policy_id = self._id("PP")
        self.policies[policy_id] = f"{name} policy"
        service_id = self._id("PS")
        self.services[service_id] = {"id": service_id, "name": name, "escalation_policy_id": policy_id}
        for level, users in ((2, level2 or []), (1, on_call or [])):
            for user in users:
                self.oncalls.append({"policy": policy_id, "level": level, "user": user})
        return service_id

    def set_on_call(self, service_id: str, user_ids: list[str]) -> None:
        """A shift change: these users are on call at level 1 from now on."""
        policy = self.services[service_id]["escalation_policy_id"]
        self.oncalls = [o for o in self.oncalls if not (o["policy"] == policy and o["level"] == 1)]
        self.oncalls += [{"policy": policy, "level": 1, "user": user} for user in user_ids]

    def requests_to(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method.upper() and r.path.startswith(path)]

    # ----- server -----

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakePagerDuty:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/services/{id}", self._get_service)
        app.router.add_get("/users/{id}", self._get_user)
        app.router.add_get("/oncalls", self._list_oncalls)
        app.router.add_get("/abilities", self._abilities)
        app.router.add_get("/incidents", self._list_incidents)
        app.router.add_post("/incidents", self._create_incident)
        await self.serve(app)
        return self

    @staticmethod
    def _error(status: int, message: str, code: int, errors: list[str] | None = None) -> web.Response:
        return web.json_response(
            {"error": {"message": message, "code": code, "errors": errors or []}}, status=status
        )

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        query: dict[str, list[str]] = {}
        for key, value in request.query.items():
            query.setdefault(key, []).append(value)
        record = Request(request.method, request.path, query, dict(request.headers), body)
        self.requests.append(record)
        response = await self._answer(request, handler)
        record.status = response.status
        return response

    async def _answer(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Token token={self.api_key}":
            return self._error(401, "Unauthorized", 2006)
        await self.injected.wait(request.method, request.path)
        fault = self.injected.take(request.method, request.path)
        if fault is not None:
            if fault.applied:
                await handler(request)
            response = self._error(
                fault.status, "Rate Limit Exceeded" if fault.status == 429 else "Error", 2020
            )
            if fault.retry_after is not None:
                response.headers["Retry-After"] = f"{fault.retry_after:g}"
            return response
        result: web.StreamResponse = await handler(request)
        return result

    def _user_api(self, user_id: str, full: bool) -> dict[str, Any]:
        user = self.users[user_id]
        reference = {
            "id": user_id,
            "type": "user" if full else "user_reference",
            "summary": user["name"],
            "self": f"{self.url}/users/{user_id}",
        }
        return {**reference, "name": user["name"], "email": user["email"]} if full else reference

    async def _abilities(self, request: web.Request) -> web.Response:
        return web.json_response({"abilities": ["teams", "read_only_users"]})

    async def _get_service(self, request: web.Request) -> web.Response:
        service = self.services.get(request.match_info["id"])
        if service is None:
            return self._error(404, "Not Found", 2100)
        policy = service["escalation_policy_id"]
        return web.json_response(
            {
                "service": {
                    "id": service["id"],
                    "type": "service",
                    "name": service["name"],
                    "summary": service["name"],
                    "escalation_policy": {
                        "id": policy,
                        "type": "escalation_policy_reference",
                        "summary": self.policies[policy],
                    },
                }
            }
        )

    async def _get_user(self, request: web.Request) -> web.Response:
        user_id = request.match_info["id"]
        if user_id not in self.users:
            return self._error(404, "Not Found", 2100)
        return web.json_response({"user": self._user_api(user_id, full=True)})

    @staticmethod
    def _page(request: web.Request, name: str, items: list[dict[str, Any]]) -> web.Response:
        offset = int(request.query.get("offset", 0))
        limit = int(request.query.get("limit", 25))
        page = items[offset : offset + limit]
        more = offset + limit < len(items)
        return web.json_response({name: page, "limit": limit, "offset": offset, "more": more, "total": None})

    async def _list_oncalls(self, request: web.Request) -> web.Response:
        policies = request.query.getall("escalation_policy_ids[]", [])
        with_users = "users" in request.query.getall("include[]", [])
        entries = [
            {
                "escalation_policy": {"id": o["policy"], "type": "escalation_policy_reference"},
                "escalation_level": o["level"],
                "user": self._user_api(o["user"], full=with_users),
                "start": None,
                "end": None,
            }
            for o in self.oncalls
            if not policies or o["policy"] in policies
        ]
        return self._page(request, "oncalls", entries)

    async def _list_incidents(self, request: web.Request) -> web.Response:
        key = request.query.get("incident_key")
        found = [i.to_api(self.url) for i in self.incidents if key is None or i.incident_key == key]
        return self._page(request, "incidents", found)

    async def _create_incident(self, request: web.Request) -> web.Response:
        from_email = request.headers.get("From", "")
        if not from_email:
            return self._error(400, "Invalid Input Provided", 2001, ["A valid 'From' header is required."])
        body = (await request.json()).get("incident") or {}
        service_id = (body.get("service") or {}).get("id")
        if service_id not in self.services:
            return self._error(404, "Not Found", 2100)
        key = body.get("incident_key")
        if key and any(i.incident_key == key and i.status != "resolved" for i in self.incidents):
            return self._error(
                400, "Incident Already Exists", 2001, [f"Open incident with key {key!r} exists."]
            )
        incident = Incident(
            id=self._id("PI"),
            title=str(body.get("title") or ""),
            service_id=service_id,
            incident_key=key,
            from_email=from_email,
            details=str((body.get("body") or {}).get("details") or ""),
        )
        self.incidents.append(incident)
        return web.json_response({"incident": incident.to_api(self.url)}, status=201)
