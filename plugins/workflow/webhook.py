"""The generic HTTP webhook workflow: a workflow's external id is the URL that starts it.

Starting a run is `POST <url>` with a JSON body

    {"workflow": "...", "key": "<run key>", "parameters": {...}, "context": {"incident": {...}, ...}}

and the header `Idempotency-Key: <run key>` (the same for a retried start of one run). The answer is
the run, as JSON: `{"id", "status", "weblink", "status_url", "artifacts": [{"name", "weblink"}]}`,
every field optional but the id. Its state is read later with `GET <status_url>`, or `GET <url>/<id>`
when the answer gave none; the same JSON comes back. With WEBHOOK_TOKEN set, every request carries
`Authorization: Bearer <token>`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp

from plugins.errors import PluginAuthError, PluginError, PluginNotFound, PluginRateLimited
from plugins.interfaces import ExternalResource, WorkflowRun
from plugins.registry import PluginSetup

RETRIED = {500, 502, 503, 504}


class WebhookWorkflow:
    """The `workflow` role over plain HTTP: any automation that can take a POST and answer JSON."""

    def __init__(
        self, token: str | None = None, *, timeout: float = 15.0, retries: int = 2, backoff: float = 0.5
    ) -> None:
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retries = retries
        self.backoff = backoff

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> WebhookWorkflow:
        """Options timeout_seconds, retries; the token from WEBHOOK_TOKEN (optional)."""
        options = setup.options
        return cls(
            setup.secrets.get("WEBHOOK_TOKEN"),
            timeout=float(options.get("timeout_seconds", 15.0)),
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
            "POST", workflow_id, body, {"Idempotency-Key": key}, what="start the workflow"
        )
        return _run_of(answer, default_id=key)

    async def get_instance(
        self, workflow_id: str, instance_id: str, status_url: str | None = None
    ) -> WorkflowRun:
        url = status_url or f"{workflow_id.rstrip('/')}/{instance_id}"
        answer = await self._call("GET", url, None, {}, what=f"read the run {instance_id}")
        return _run_of(answer, default_id=instance_id, status_url=status_url)

    async def _call(
        self, method: str, url: str, body: Any, headers: Mapping[str, str], *, what: str
    ) -> Mapping[str, Any]:
        attempt = 0
        async with aiohttp.ClientSession(headers=self.headers, timeout=self.timeout) as session:
            while True:
                try:
                    async with session.request(method, url, json=body, headers=dict(headers)) as response:
                        if response.status in RETRIED and attempt < self.retries:
                            attempt += 1
                            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                            continue
                        if response.status >= 400:
                            raise _refusal(
                                response.status, await response.text(), url, what, response.headers
                            )
                        try:
                            answer = await response.json(content_type=None)
                        except ValueError:
                            raise PluginError(
                                f"The workflow at {url} answered something other than JSON"
                            ) from None
                        if not isinstance(answer, dict):
                            raise PluginError(f"The workflow at {url} answered JSON that is not an object")
                        return answer
                except (aiohttp.ClientConnectionError, TimeoutError) as error:
                    reason = str(error) or type(error).__name__
                    raise PluginError(
                        f"The workflow at {url} could not be reached to {what}: {reason}"
                    ) from None


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


def _run_of(answer: Mapping[str, Any], *, default_id: str, status_url: str | None = None) -> WorkflowRun:
    artifacts = [
        ExternalResource(
            id=str(item.get("id") or item.get("weblink") or index),
            weblink=str(item["weblink"]) if item.get("weblink") else None,
            name=str(item.get("name") or item.get("weblink") or f"Artifact {index + 1}"),
        )
        for index, item in enumerate(answer.get("artifacts") or [])
        if isinstance(item, dict)
    ]
    return WorkflowRun(
        id=str(answer.get("id") or default_id),
        status=str(answer.get("status") or "submitted").lower(),
        weblink=str(answer["weblink"]) if answer.get("weblink") else None,
        artifacts=artifacts,
        status_url=str(answer["status_url"]) if answer.get("status_url") else status_url,
    )
