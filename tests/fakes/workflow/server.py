"""FakeWorkflows: an aiohttp server that starts runs on `POST /hooks/<name>` and reports them on
`GET /hooks/<name>/<run id>`, as the webhook workflow plugin expects (plugins/workflow/webhook.py).

A start carrying an Idempotency-Key it has seen returns that run instead of starting another. With a
token set, requests without `Authorization: Bearer <token>` get 401. The test moves runs along with
`finish`; faults, latency and holds come from the shared injection (paths as requested).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.injection import Injected, Misbehaving


@dataclass
class Run:
    id: str
    hook: str
    key: str
    body: dict[str, Any]
    status: str = "running"
    artifacts: list[dict[str, str]] = field(default_factory=list)


@dataclass
class FakeWorkflows(Misbehaving):
    """Start with `async with FakeWorkflows() as workflows:`; a workflow's URL is `workflows.hook(name)`."""

    token: str | None = None
    # Answer with a `status_url` of the fake's own (`/status/<run id>`), to be followed there.
    status_urls: bool = False
    # Or answer with a `status_url` elsewhere: `<status_base>/status/<run id>`.
    status_base: str | None = None
    # Answer every request with a redirect to this URL instead (a moved service, or a hostile one).
    redirect_to: str | None = None
    runs: dict[str, Run] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    injected: Injected = field(default_factory=Injected)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hook(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def finish(
        self, run_id: str, status: str = "completed", artifacts: list[dict[str, str]] | None = None
    ) -> None:
        run = self.runs[run_id]
        run.status = status
        run.artifacts = list(artifacts or [])

    def _api(self, run: Run) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": run.id,
            "status": run.status,
            "weblink": f"{self.url}/runs/{run.id}",
            "artifacts": run.artifacts,
        }
        if self.status_base is not None:
            answer["status_url"] = f"{self.status_base}/status/{run.id}"
        elif self.status_urls:
            answer["status_url"] = f"{self.url}/status/{run.id}"
        return answer

    async def __aenter__(self) -> FakeWorkflows:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/hooks/{hook}", self._start)
        app.router.add_get("/hooks/{hook}/{run}", self._read)
        app.router.add_get("/status/{run}", self._status)
        await self.serve(app)
        return self

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        await self.injected.wait(request.method, request.path)
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        if self.redirect_to is not None:
            raise web.HTTPTemporaryRedirect(self.redirect_to)
        fault = self.injected.take(request.method, request.path)
        if fault is not None:
            response = web.json_response({"error": f"injected {fault.status}"}, status=fault.status)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = f"{fault.retry_after:g}"
            return response
        result: web.StreamResponse = await handler(request)
        return result

    async def _start(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.headers.get("Idempotency-Key", "")
        known = next((run for run in self.runs.values() if key and run.key == key), None)
        if known is not None:
            return web.json_response(self._api(known))
        run = Run(id=f"run-{next(self._ids)}", hook=request.match_info["hook"], key=key, body=body)
        self.runs[run.id] = run
        return web.json_response(self._api(run), status=201)

    async def _read(self, request: web.Request) -> web.Response:
        run = self.runs.get(request.match_info["run"])
        if run is None or run.hook != request.match_info["hook"]:
            return web.json_response({"error": "no such run"}, status=404)
        return web.json_response(self._api(run))

    async def _status(self, request: web.Request) -> web.Response:
        run = self.runs.get(request.match_info["run"])
        if run is None:
            return web.json_response({"error": "no such run"}, status=404)
        return web.json_response(self._api(run))
