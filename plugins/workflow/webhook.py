"""The generic HTTP webhook workflow: a workflow's external id is the URL that starts it.

Starting a run is `POST <url>` with a JSON body

    {"workflow": "...", "key": "<run key>", "parameters": {...}, "context": {"incident": {...}, ...}}

and the header `Idempotency-Key: <run key>` (the same for a retried start of one run). The answer is
the run, as JSON: `{"id", "status", "weblink", "status_url", "artifacts": [{"name", "weblink"}]}`,
every field optional but the id. Its state is read later with `GET <status_url>`, or `GET <url>/<id>`
when the answer gave none; the same JSON comes back. With WEBHOOK_TOKEN set, requests to the
workflow URL's own origin carry `Authorization: Bearer <token>` (a status URL elsewhere gets none).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from plugins.errors import PluginAuthError, PluginError, PluginNoAnswer, PluginNotFound, PluginRateLimited
from plugins.interfaces import ExternalResource, WorkflowRun
from plugins.setup import PluginSetup

RETRIED = {500, 502, 503, 504}
# What the bot keeps of an answer (the run's table columns).
MAX_ID, MAX_STATUS = 200, 50


class WebhookWorkflow:
    """The `workflow` role over plain HTTP: any automation that can take a POST and answer JSON."""

    def __init__(
        self, token: str | None = None, *, timeout: float = 8.0, retries: int = 2, backoff: float = 0.5
    ) -> None:
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retries = retries
        self.backoff = backoff

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> WebhookWorkflow:
        """Options timeout_seconds, retries; the token from WEBHOOK_TOKEN (optional)."""
        options = setup.options
        return cls(
            setup.secrets.get("WEBHOOK_TOKEN"),
            timeout=float(options.get("timeout_seconds", 8.0)),
            retries=int(options.get("retries", 2)),
        )

    async def run(
        self, workflow_id: str, params: Mapping[str, str], *, key: str, context: Mapping[str, Any]
    ) -> WorkflowRun:
        body = {
            "workflow": context.get("workflow", ""),
            "key": key,
            "parameters": dict(params),
            "context": context,
        }
        answer = await self._call(
            "POST", workflow_id, body, {"Idempotency-Key": key}, what="start the workflow", home=workflow_id
        )
        return _run_of(answer, default_id=key)

    async def get_instance(
        self, workflow_id: str, instance_id: str, status_url: str | None = None
    ) -> WorkflowRun:
        url = status_url or f"{workflow_id.rstrip('/')}/{instance_id}"
        answer = await self._call("GET", url, None, {}, what=f"read the run {instance_id}", home=workflow_id)
        return _run_of(answer, default_id=instance_id, status_url=status_url)

    async def _call(
        self, method: str, url: str, body: Any, headers: Mapping[str, str], *, what: str, home: str
    ) -> Mapping[str, Any]:
        sent = {"Accept": "application/json", **headers}
        # The token is for the workflow's own service: a status URL the answer named elsewhere gets none.
        if self.token and URL(url).origin() == URL(home).origin():
            sent["Authorization"] = f"Bearer {self.token}"
        attempt = 0
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            while True:
                try:
                    async with session.request(method, url, json=body, headers=sent) as response:
                        if response.status in RETRIED and attempt < self.retries:
                            attempt += 1
                            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                            continue
                        if response.status >= 400:
                            text = await response.text()
                            raise _refusal(response.status, text, url, what, response.headers)
                        try:
                            answer = await response.json(content_type=None)
                        except ValueError:
                            raise PluginError(
                                f"The workflow at {url} answered something other than JSON"
                            ) from None
                        if not isinstance(answer, dict):
                            raise PluginError(f"The workflow at {url} answered JSON that is not an object")
                        return answer
                except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as error:
                    # The request may have reached the service before the connection was lost.
                    reason = str(error) or type(error).__name__
                    raise PluginNoAnswer(
                        f"The workflow at {url} did not answer to {what}: {reason}"
                    ) from None
                except aiohttp.InvalidURL:
                    raise PluginError(f"The workflow's URL {url!r} is not a URL the bot can call") from None


def _refusal(status: int, text: str, url: str, what: str, headers: Mapping[str, str]) -> PluginError:
    said = f"The workflow at {url} answered {status} to {what}"
    detail = text.strip().splitlines()[0][:200] if text.strip() else ""
    said += f" ({detail})" if detail else ""
    if status in (401, 403):
        return PluginAuthError(said + ": check WEBHOOK_TOKEN")
    if status == 404:
        return PluginNotFound(said)
    if status == 429:
        try:
            after: float | None = float(headers.get("Retry-After", ""))
        except ValueError:
            after = None
        return PluginRateLimited(said, after)
    return PluginError(said)


def _link(value: Any) -> str | None:
    """A link the vendor gave, if it is a plain http(s) URL that cannot break out of a Slack link."""
    text = str(value or "")
    if not text.startswith(("https://", "http://")) or any(c in text for c in "<>| \n"):
        return None
    return text[:2000]


def _run_of(answer: Mapping[str, Any], *, default_id: str, status_url: str | None = None) -> WorkflowRun:
    listed = answer.get("artifacts")
    artifacts = [
        ExternalResource(
            id=str(item.get("id") or item.get("weblink") or index)[:MAX_ID],
            weblink=_link(item.get("weblink")),
            name=str(item.get("name") or item.get("weblink") or f"Artifact {index + 1}")[:200],
        )
        for index, item in enumerate(listed[:20] if isinstance(listed, list) else [])
        if isinstance(item, dict)
    ]
    return WorkflowRun(
        id=str(answer.get("id") or default_id)[:MAX_ID],
        status=str(answer.get("status") or "submitted").strip().lower()[:MAX_STATUS] or "submitted",
        weblink=_link(answer.get("weblink")),
        artifacts=artifacts,
        status_url=_link(answer.get("status_url")) or status_url,
    )
