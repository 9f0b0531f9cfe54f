"""The generic HTTP webhook workflow: a workflow's external id is the URL that starts it.

Starting a run is `POST <url>` with a JSON body

    {"workflow": "...", "key": "<run key>", "parameters": {...}, "context": {"incident": {...}, ...}}

and the header `Idempotency-Key: <run key>` (the same for a retried start of one run). The answer is
the run, as JSON: `{"id", "status", "weblink", "status_url", "artifacts": [{"name", "weblink"}]}`,
every field optional but the id. Its state is read later with `GET <status_url>`, or `GET <url>/<id>`
when the answer gave none; the same JSON comes back. With WEBHOOK_TOKEN set, requests to the
workflow URL's own origin carry `Authorization: Bearer <token>` (a status URL elsewhere gets none).

The workflow URL often carries a secret (in its path or query), so what the plugin says about it, in
errors and logs, names only its scheme and host. A `status_url` is followed only on the workflow URL's
own origin or on an origin of WEBHOOK_STATUS_ORIGINS (comma-separated, e.g.
`https://status.example.com`), and never over plain http to another host; any other one (another
host, a loopback, link-local or private address) is refused before any connection, and the run is
followed through the workflow URL as if the answer had named none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from plugins.errors import PluginAuthError, PluginError, PluginNoAnswer, PluginNotFound, PluginRateLimited
from plugins.interfaces import ExternalResource, WorkflowRun
from plugins.setup import PluginSetup

logger = logging.getLogger(__name__)

RETRIED = {500, 502, 503, 504}
# What the bot keeps of an answer (the run's table columns).
MAX_ID, MAX_STATUS = 200, 50


class WebhookWorkflow:
    """The `workflow` role over plain HTTP: any automation that can take a POST and answer JSON."""

    def __init__(
        self,
        token: str | None = None,
        *,
        timeout: float = 8.0,
        retries: int = 2,
        backoff: float = 0.5,
        status_origins: str = "",
    ) -> None:
        self.token = token
        # Origins besides the workflow URL's own where a run's status_url may be followed.
        self.status_origins = {
            str(URL(origin.strip()).origin()) for origin in status_origins.split(",") if origin.strip()
        }
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retries = retries
        self.backoff = backoff

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> WebhookWorkflow:
        """Options timeout_seconds, retries, status_origins (else WEBHOOK_STATUS_ORIGINS); the token from
        WEBHOOK_TOKEN (optional)."""
        options = setup.options
        return cls(
            setup.secrets.get("WEBHOOK_TOKEN"),
            timeout=float(options.get("timeout_seconds", 8.0)),
            retries=int(options.get("retries", 2)),
            status_origins=setup.setting("status_origins", "WEBHOOK_STATUS_ORIGINS") or "",
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
        return self._followable(_run_of(answer, default_id=key), workflow_id)

    async def get_instance(
        self, workflow_id: str, instance_id: str, status_url: str | None = None
    ) -> WorkflowRun:
        if status_url and not self._may_follow(status_url, workflow_id):
            status_url = None
        # The run's own URL keeps the workflow URL's query (where its secret may be).
        base, mark, query = workflow_id.partition("?")
        url = status_url or f"{base.rstrip('/')}/{instance_id}{mark}{query}"
        answer = await self._call("GET", url, None, {}, what=f"read the run {instance_id}", home=workflow_id)
        return self._followable(_run_of(answer, default_id=instance_id, status_url=status_url), workflow_id)

    def _may_follow(self, status_url: str, workflow_url: str) -> bool:
        """Whether a status_url an answer named may be requested (see the module's notes)."""
        try:
            target, home = URL(status_url), URL(workflow_url)
            if target.origin() == home.origin():
                return True
            # Plain http is followed only on the workflow URL's own host.
            secure = target.scheme == "https" or target.host == home.host
            if secure and str(target.origin()) in self.status_origins:
                return True
        except ValueError:
            pass  # not an absolute URL the bot could follow
        logger.warning(
            "a workflow's status_url is not followed: its origin is neither the workflow's nor allowed "
            "in WEBHOOK_STATUS_ORIGINS (plain http to another host never is)",
            extra={"status_origin": _where(status_url), "workflow_origin": _where(workflow_url)},
        )
        return False

    def _followable(self, run: WorkflowRun, workflow_url: str) -> WorkflowRun:
        """The run without its status_url when that may not be followed, so it is read at the workflow URL."""
        if run.status_url and not self._may_follow(run.status_url, workflow_url):
            return dataclasses.replace(run, status_url=None)
        return run

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
                    # Never followed: a redirect would carry the request (and its token) where the
                    # operator did not point the workflow.
                    async with session.request(
                        method, url, json=body, headers=sent, allow_redirects=False
                    ) as response:
                        if 300 <= response.status < 400:
                            raise PluginError(
                                f"The workflow at {_where(url)} answered a redirect "
                                f"to {_where(response.headers.get('Location', ''))} for {what}; the bot "
                                "does not follow redirects: point the workflow's URL where it leads"
                            )
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
                                f"The workflow at {_where(url)} answered something other than JSON"
                            ) from None
                        if not isinstance(answer, dict):
                            raise PluginError(
                                f"The workflow at {_where(url)} answered JSON that is not an object"
                            )
                        return answer
                except aiohttp.InvalidURL:
                    raise PluginError(
                        f"The workflow's URL (at {_where(url)}) is not a URL the bot can call"
                    ) from None
                except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as error:
                    # The request may have reached the service before the connection was lost.
                    raise PluginNoAnswer(
                        f"The workflow at {_where(url)} did not answer to {what}: {_reason(error, url)}"
                    ) from None
                except aiohttp.ClientError as error:  # too many redirects, a malformed answer...
                    raise PluginError(
                        f"The workflow at {_where(url)} could not be asked to {what}: {_reason(error, url)}"
                    ) from None


def _where(url: str) -> str:
    """Only the scheme and host (and port) of a URL: its path and query may carry a secret."""
    try:
        parsed = URL(url)
    except ValueError:
        return "an unreadable URL"
    return str(parsed.origin()) if parsed.absolute and parsed.host else "an unreadable URL"


def _reason(error: BaseException, url: str) -> str:
    """What went wrong, without the URL that aiohttp's errors often repeat."""
    text = str(error)
    try:
        spellings = {url, str(URL(url)), repr(URL(url))}
    except ValueError:
        spellings = {url}
    for spelled in spellings:
        text = text.replace(spelled, _where(url))
    return text or type(error).__name__


def _refusal(status: int, text: str, url: str, what: str, headers: Mapping[str, str]) -> PluginError:
    said = f"The workflow at {_where(url)} answered {status} to {what}"
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
