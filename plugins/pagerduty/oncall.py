"""Who is on call for a PagerDuty service, and paging it, with PagerDuty's answers turned into sentences.

pdpyras is synchronous and its `requests` session is not meant to be shared between threads, so each
worker thread gets its own session. Every page carries an incident key: PagerDuty refuses a second open
incident with the same key, which is how a retried page stays one page.

pdpyras tries a request again itself: after a 429 (`rate_limit_attempts` times), after a 500, 502, 503
or 504 (`server_error_attempts` times) and after a network error, sleeping `sleep_seconds` doubled
before each try (1 s, 2 s, 4 s... by default), so a request with its retries ends well inside the
plugin timeout.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from plugins.errors import PluginAuthError, PluginError, PluginNotFound, PluginRateLimited
from plugins.interfaces import OnCallPerson, Page
from plugins.setup import PluginSetup

with warnings.catch_warnings():
    # pdpyras announces its deprecation on import; it stays behind this module until we switch.
    warnings.simplefilter("ignore")
    import pdpyras

T = TypeVar("T")

DEFAULT_API_URL = "https://api.pagerduty.com"
ALREADY_EXISTS = "Incident Already Exists"
SERVER_ERRORS = (500, 502, 503, 504)


def _error_of(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _retry_after(response: Any) -> float | None:
    try:
        return float(response.headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


class PagerDutyOnCall:
    """The `oncall` role served by PagerDuty's REST API v2."""

    def __init__(
        self,
        api_key: str,
        from_email: str,
        api_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 15.0,
        rate_limit_attempts: int = 4,
        server_error_attempts: int = 2,
        sleep_timer: float = 0.5,
    ) -> None:
        self.api_key = api_key
        self.from_email = from_email
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.rate_limit_attempts = rate_limit_attempts
        self.server_error_attempts = server_error_attempts
        self.sleep_timer = sleep_timer
        self._local = threading.local()

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> PagerDutyOnCall:
        """Options (api_url, timeout_seconds, rate_limit_attempts, server_error_attempts, sleep_seconds)
        with env credentials."""
        options = setup.options
        return cls(
            api_key=setup.required_secret("PAGERDUTY_API_KEY"),
            from_email=setup.required_secret("PAGERDUTY_API_FROM_EMAIL"),
            api_url=setup.setting("api_url", "PAGERDUTY_API_URL", DEFAULT_API_URL) or DEFAULT_API_URL,
            timeout=float(options.get("timeout_seconds", 15.0)),
            rate_limit_attempts=int(options.get("rate_limit_attempts", 4)),
            server_error_attempts=int(options.get("server_error_attempts", 2)),
            sleep_timer=float(options.get("sleep_seconds", 0.5)),
        )

    def _session(self) -> pdpyras.APISession:
        session: pdpyras.APISession | None = getattr(self._local, "session", None)
        if session is None:
            session = pdpyras.APISession(self.api_key, default_from=self.from_email)
            session.url = self.api_url
            session.timeout = self.timeout
            session.sleep_timer = self.sleep_timer
            session.sleep_timer_base = 2
            session.max_network_attempts = 2
            # pdpyras retries 429 forever by default; a responder waiting on a modal needs an answer.
            session.retry[429] = self.rate_limit_attempts
            for status in SERVER_ERRORS:
                session.retry[status] = self.server_error_attempts
            # pdpyras stops once more than max_http_attempts retries were made, whatever the statuses:
            # a mix of 429s and 5xx answers gets no more retries in all than a run of 429s.
            session.max_http_attempts = max(self.rate_limit_attempts, self.server_error_attempts) - 1
            self._local.session = session
        return session

    async def _run(self, work: Callable[[pdpyras.APISession], T], what: str) -> T:
        def call() -> T:
            try:
                return work(self._session())
            except pdpyras.PDHTTPError as error:
                raise self._explain(error.response, what) from None
            except pdpyras.PDClientError as error:
                raise PluginError(f"Cannot reach PagerDuty at {self.api_url} ({what}): {error}") from None

        return await asyncio.to_thread(call)

    def _explain(self, response: Any, what: str) -> PluginError:
        status = response.status_code
        message = _error_of(response).get("message") or response.reason or ""
        if status == 401:
            return PluginAuthError(
                "PagerDuty refused the API key (401 Unauthorized). Check PAGERDUTY_API_KEY in the bot's "
                "environment."
            )
        if status == 403:
            return PluginAuthError(f"PagerDuty does not allow this API key to read {what} (403 Forbidden).")
        if status == 404:
            return PluginNotFound(
                f"PagerDuty has no {what} (404 Not Found). Check the service's external_id in the config."
            )
        if status == 429:
            after = _retry_after(response)
            wait = f" Try again in {after:g} s." if after is not None else " Try again in a minute."
            return PluginRateLimited(f"PagerDuty is rate limiting the bot (429).{wait}", after)
        return PluginError(f"PagerDuty answered {status} for {what}: {message}".rstrip(": "))

    async def check(self) -> str:
        """A cheap live check for the doctor: the account's abilities need only a valid key."""
        abilities = await self._run(lambda session: session.rget("/abilities"), "the account's abilities")
        return f"API key accepted ({len(abilities or [])} abilities)"

    async def oncall(self, service_id: str) -> OnCallPerson | None:
        def resolve(session: pdpyras.APISession) -> OnCallPerson | None:
            service = session.rget(f"/services/{service_id}")
            policy = (service.get("escalation_policy") or {}).get("id")
            if not policy:
                return None
            entries = session.list_all(
                "/oncalls", params={"escalation_policy_ids": [policy], "include": ["users"]}
            )
            first_level = [entry for entry in entries if entry.get("escalation_level") == 1]
            if not first_level:
                return None
            user = first_level[0].get("user") or {}
            email = user.get("email")
            if not email and user.get("id"):
                email = session.rget(f"/users/{user['id']}").get("email")
            if not email:
                return None
            return OnCallPerson(
                email=email,
                name=user.get("name") or user.get("summary") or "",
                external_id=str(user.get("id") or ""),
            )

        return await self._run(resolve, f"service {service_id}")

    async def page(self, service_id: str, incident_key: str, title: str, description: str) -> Page:
        def send(session: pdpyras.APISession) -> Page:
            body = {
                "type": "incident",
                "title": title[:1024],
                "service": {"id": service_id, "type": "service_reference"},
                "incident_key": incident_key,
                "body": {"type": "incident_body", "details": description},
            }
            try:
                incident = session.rpost("/incidents", json=body)
            except pdpyras.PDHTTPError as error:
                if (
                    error.response.status_code != 400
                    or _error_of(error.response).get("message") != ALREADY_EXISTS
                ):
                    raise
                # A page with this key is open already: that earlier page is the answer.
                found = session.list_all("/incidents", params={"incident_key": incident_key})
                if not found:
                    raise
                return Page(id=str(found[0]["id"]), weblink=found[0].get("html_url"), created=False)
            return Page(id=str(incident["id"]), weblink=incident.get("html_url"), created=True)

        return await self._run(send, f"service {service_id}")
