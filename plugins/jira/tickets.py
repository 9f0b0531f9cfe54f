"""An incident's Jira issue: found by its label or created, edited as the incident changes, transitioned
with its status. Jira's refusals become sentences a responder can act on.

The issue carries the label `dispatch-<incident key>`, so a retried creation searches for that label
first and finds the issue an earlier attempt made instead of making a second one.

A request Jira answers with a 5xx, or that cannot connect or times out, is tried again (three attempts
in all, 0.25 s then 0.5 s apart); a 429 is tried again after its Retry-After when that is short. No
retry library is installed (tenacity is not a dependency), and the loop is a dozen lines.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp

from plugins.errors import (
    PluginAuthError,
    PluginConfigError,
    PluginError,
    PluginNoAnswer,
    PluginNotFound,
    PluginRateLimited,
)
from plugins.interfaces import ExternalResource
from plugins.setup import PluginSetup

API = "/rest/api/3"
# Incident status → the Jira status (or transition) name it moves the issue to, unless the options say.
DEFAULT_TRANSITIONS = {"active": "In Progress", "stable": "In Progress", "closed": "Done"}
ATTEMPTS = 3
FIRST_DELAY = 0.25  # seconds before the second attempt; doubled before each later one
LONGEST_RETRY_AFTER = 5.0  # a 429 asking for a longer wait is reported, not waited out
RETRIED_STATUSES = {500, 502, 503, 504}

T = TypeVar("T")


class _Transient(Exception):
    """One attempt failed in a way another attempt may not: `error` is what to raise if none is left."""

    def __init__(self, error: PluginError, *, timed_out: bool = False, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.timed_out = timed_out
        self.wait = wait


def incident_label(incident_key: str) -> str:
    """The label marking the incident's issue (Jira labels cannot hold spaces)."""
    return "dispatch-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", incident_key).strip("-").lower()


def _paragraph(text: str) -> dict[str, Any]:
    """Plain text as the Atlassian Document Format v3 expects for a description."""
    content = [{"type": "paragraph", "content": [{"type": "text", "text": text}]}] if text else []
    return {"type": "doc", "version": 1, "content": content}


class JiraTickets:
    """The `ticket` role served by a Jira Cloud site (basic auth: account e-mail and API token)."""

    def __init__(
        self,
        api_url: str,
        username: str,
        api_token: str,
        project_key: str,
        *,
        issue_type: str = "Task",
        transitions: Mapping[str, str] | None = None,
        timeout: float = 15.0,
        cost_field: str | None = None,
        first_delay: float = FIRST_DELAY,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        token = base64.b64encode(f"{username}:{api_token}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self.project_key = project_key
        self.issue_type = issue_type
        self.transitions = {k.lower(): v for k, v in (transitions or DEFAULT_TRANSITIONS).items()}
        # `timeout` bounds a request with its retries: each of the attempts gets its share.
        self.timeout = aiohttp.ClientTimeout(total=timeout / ATTEMPTS)
        self.first_delay = first_delay
        # Jira has no cost field of its own: a number custom field (customfield_10050, say) holds it.
        self.cost_field = cost_field

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> JiraTickets:
        """Options project_key (required), issue_type, transitions, timeout_seconds, cost_field (a number
        custom field for the incident's cost); env credentials."""
        options = setup.options
        project_key = str(options.get("project_key") or "")
        if not project_key:
            raise PluginConfigError("the jira plugin needs options.project_key (the Jira project's key)")
        api_url = setup.setting("api_url", "JIRA_API_URL")
        if not api_url:
            raise PluginConfigError(
                "JIRA_API_URL is not set; set it to the site, https://<you>.atlassian.net"
            )
        return cls(
            api_url=api_url,
            username=setup.required_secret("JIRA_USERNAME"),
            api_token=setup.required_secret("JIRA_API_TOKEN"),
            project_key=project_key,
            issue_type=str(options.get("issue_type") or "Task"),
            transitions=options.get("transitions") or None,
            timeout=float(options.get("timeout_seconds", 15.0)),
            cost_field=str(options["cost_field"]) if options.get("cost_field") else None,
        )

    def weblink(self, key: str) -> str:
        return f"{self.api_url}/browse/{key}"

    async def _call(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        return await self._retrying(lambda _attempt: self._request(method, path, body, params))

    async def _retrying(self, attempt: Callable[[int], Awaitable[T]], *, retry_timeouts: bool = True) -> T:
        """`attempt(1)`, then `attempt(2)`... while it fails transiently, up to ATTEMPTS in all."""
        for number in range(1, ATTEMPTS + 1):
            try:
                return await attempt(number)
            except _Transient as failure:
                if number == ATTEMPTS or (failure.timed_out and not retry_timeouts):
                    raise failure.error from None
                delay = self.first_delay * 2 ** (number - 1)
                await asyncio.sleep(delay if failure.wait is None else failure.wait)
        raise AssertionError("unreachable")

    async def _request(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        """One attempt at a request; a failure worth another attempt is raised as `_Transient`."""
        async with aiohttp.ClientSession(headers=self.headers, timeout=self.timeout) as session:
            try:
                async with session.request(
                    method, f"{self.api_url}{API}{path}", json=body, params=params
                ) as response:
                    if response.status >= 400:
                        refusal = await self._refusal(response)
                        if response.status in RETRIED_STATUSES:
                            raise _Transient(refusal)
                        if (
                            isinstance(refusal, PluginRateLimited)
                            and (refusal.retry_after or 0) <= LONGEST_RETRY_AFTER
                        ):
                            raise _Transient(refusal, wait=refusal.retry_after)
                        raise refusal
                    if response.status == 204:
                        return None
                    return await response.json(content_type=None)
            except TimeoutError:
                raise _Transient(
                    PluginNoAnswer(f"Jira did not answer {method} {path} in time"), timed_out=True
                ) from None
            except aiohttp.ClientConnectionError as error:
                raise _Transient(
                    PluginError(f"Jira could not be reached at {self.api_url}: {error}")
                ) from error

    @staticmethod
    async def _refusal(response: aiohttp.ClientResponse) -> PluginError:
        said = f"Jira answered {response.status} {response.reason or ''}".rstrip()
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = None
        messages = list((body or {}).get("errorMessages") or []) if isinstance(body, dict) else []
        messages += (
            [f"{k}: {v}" for k, v in ((body or {}).get("errors") or {}).items()]
            if isinstance(body, dict)
            else []
        )
        messages = [m for m in messages if m and m != response.reason]
        detail = f" ({'; '.join(messages)})" if messages else ""
        if response.status == 401:
            return PluginAuthError(f"{said}: check JIRA_USERNAME and JIRA_API_TOKEN")
        if response.status == 404:
            return PluginNotFound(said + detail)
        if response.status == 429:
            try:
                retry_after: float | None = float(response.headers.get("Retry-After", ""))
            except ValueError:
                retry_after = None
            return PluginRateLimited(said, retry_after)
        return PluginError(said + detail)

    async def check(self) -> str:
        """Who the credentials belong to (GET /myself): a cheap live check for the doctor."""
        me = await self._call("GET", "/myself")
        return "as " + str(me.get("displayName") or me.get("emailAddress") or me.get("accountId") or "")

    async def find(self, incident_key: str) -> dict[str, Any] | None:
        return await self._retrying(lambda _attempt: self._find_once(incident_key))

    async def _find_once(self, incident_key: str) -> dict[str, Any] | None:
        jql = f'project = "{self.project_key}" AND labels = "{incident_label(incident_key)}"'
        found = await self._request(
            "POST", "/search/jql", {"jql": jql, "fields": ["summary", "status"], "maxResults": 1}
        )
        issues = found.get("issues") or []
        return issues[0] if issues else None

    async def _create_once(self, incident_key: str, fields: dict[str, Any], attempt: int) -> dict[str, Any]:
        if attempt > 1:
            # The failed attempt may have made the issue before Jira failed to say so.
            earlier = await self._find_once(incident_key)
            if earlier is not None:
                return earlier
        return await self._request("POST", "/issue", {"fields": fields})

    async def _account(self, email: str) -> str | None:
        if not email:
            return None
        users = await self._call("GET", "/user/search", params={"query": email})
        return str(users[0]["accountId"]) if users else None

    async def create(
        self, incident_key: str, title: str, incident_type: str, priority: str, commander: str, reporter: str
    ) -> ExternalResource:
        issue = await self.find(incident_key)
        created = issue is None
        if issue is None:
            fields: dict[str, Any] = {
                "project": {"key": self.project_key},
                "summary": f"{incident_key}: {title}",
                "issuetype": {"name": self.issue_type},
                "labels": [incident_label(incident_key)],
                "description": _paragraph(
                    f"Incident {incident_key} ({incident_type}, priority {priority}); "
                    f"commander {commander or 'unknown'}, reported by {reporter or 'unknown'}."
                ),
            }
            assignee = await self._account(commander)
            if assignee:
                fields["assignee"] = {"accountId": assignee}
            # Not retried after a timeout: the creation may still be under way, and a search now could
            # miss it; the flow's own retry, a minute on, finds it by its label.
            issue = await self._retrying(
                lambda attempt: self._create_once(incident_key, fields, attempt), retry_timeouts=False
            )
        key = str(issue["key"])
        return ExternalResource(
            id=key,
            weblink=self.weblink(key),
            name=key,
            details={"jira_id": str(issue["id"]), "created": created},
        )

    async def update(self, ticket_id: str, fields: Mapping[str, str]) -> None:
        edit: dict[str, Any] = {}
        if fields.get("title"):
            name = fields.get("name")
            edit["summary"] = f"{name}: {fields['title']}" if name else fields["title"]
        if "commander" in fields:
            account = await self._account(fields["commander"])
            if account:
                edit["assignee"] = {"accountId": account}
        if "cost" in fields and self.cost_field:
            edit[self.cost_field] = float(fields["cost"])
        if edit:
            await self._call("PUT", f"/issue/{ticket_id}", {"fields": edit})
        if fields.get("status"):
            await self.transition(ticket_id, fields["status"])

    async def transition(self, ticket_id: str, status: str) -> bool:
        """Move the issue toward the status mapped from `status`; False when no transition leads there."""
        target = self.transitions.get(status.lower(), status).lower()
        available = (await self._call("GET", f"/issue/{ticket_id}/transitions")).get("transitions") or []
        for transition in available:
            names = {
                str(transition.get("name", "")).lower(),
                str((transition.get("to") or {}).get("name", "")).lower(),
            }
            if target in names:
                await self._call(
                    "POST", f"/issue/{ticket_id}/transitions", {"transition": {"id": transition["id"]}}
                )
                return True
        return False
