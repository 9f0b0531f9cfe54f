"""The Google Workspace client the plugins share: credentials, a dedicated thread pool, and error sentences.

googleapiclient is synchronous and its service objects are not thread-safe (one shared object hands
callers each other's responses), so every worker thread of the pool builds its own services, each on its
own `httplib2.Http` with a socket timeout. Discovery documents are the library's static copies: nothing
is fetched at start, and every endpoint (APIs and the token URI) is a setting.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from plugins.errors import PluginAuthError, PluginConfigError, PluginError, PluginNotFound, PluginRateLimited
from plugins.setup import PluginSetup

T = TypeVar("T")

DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPES = (
    "https://www.googleapis.com/auth/documents",
    "https://www.googleapis.com/auth/drive",
    "https://mail.google.com/",
    "https://www.googleapis.com/auth/admin.directory.group",
    "https://www.googleapis.com/auth/calendar",
)
# (api, version) → (public root URL, service path). `api_endpoint` replaces both, so a custom root gets
# the service path appended for the APIs that have one (Drive, Calendar).
APIS: dict[tuple[str, str], tuple[str, str]] = {
    ("drive", "v3"): ("https://www.googleapis.com/", "drive/v3/"),
    ("docs", "v1"): ("https://docs.googleapis.com/", ""),
    ("admin", "directory_v1"): ("https://admin.googleapis.com/", ""),
    ("gmail", "v1"): ("https://gmail.googleapis.com/", ""),
    ("calendar", "v3"): ("https://www.googleapis.com/", "calendar/v3/"),
}
REQUIRED = (
    "GOOGLE_DOMAIN",
    "GOOGLE_SERVICE_ACCOUNT_CLIENT_EMAIL",
    "GOOGLE_SERVICE_ACCOUNT_DELEGATED_ACCOUNT",
    "GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY",
)
SECRETS = (
    *REQUIRED,
    "GOOGLE_DEVELOPER_KEY",
    "GOOGLE_SERVICE_ACCOUNT_CLIENT_ID",
    "GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY_ID",
    "GOOGLE_SERVICE_ACCOUNT_PROJECT_ID",
    "GOOGLE_USER_OVERRIDE",
    "GOOGLE_API_URL",
    "GOOGLE_TOKEN_URI",
)
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
RETRIED = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class GoogleAccount:
    """The service account, the user it acts as (domain-wide delegation), and where Google is."""

    domain: str
    client_email: str
    delegated_account: str
    private_key: str
    private_key_id: str = ""
    client_id: str = ""
    project_id: str = ""
    developer_key: str | None = None
    user_override: str | None = None
    api_url: str | None = None
    token_uri: str = DEFAULT_TOKEN_URI

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> GoogleAccount:
        missing = [name for name in REQUIRED if not setup.secrets.get(name)]
        if missing:
            raise PluginConfigError(
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; set "
                f"{'it' if len(missing) == 1 else 'them'} in the environment (or .env) of the bot"
            )
        secrets = setup.secrets
        return cls(
            domain=secrets["GOOGLE_DOMAIN"],
            client_email=secrets["GOOGLE_SERVICE_ACCOUNT_CLIENT_EMAIL"],
            delegated_account=secrets["GOOGLE_SERVICE_ACCOUNT_DELEGATED_ACCOUNT"],
            # Environments often hold the PEM with literal "\n"s, as the JSON key file writes it.
            private_key=secrets["GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY"].replace("\\n", "\n"),
            private_key_id=secrets.get("GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY_ID", ""),
            client_id=secrets.get("GOOGLE_SERVICE_ACCOUNT_CLIENT_ID", ""),
            project_id=secrets.get("GOOGLE_SERVICE_ACCOUNT_PROJECT_ID", ""),
            developer_key=secrets.get("GOOGLE_DEVELOPER_KEY"),
            user_override=secrets.get("GOOGLE_USER_OVERRIDE"),
            api_url=setup.setting("api_url", "GOOGLE_API_URL"),
            token_uri=setup.setting("token_uri", "GOOGLE_TOKEN_URI", DEFAULT_TOKEN_URI) or DEFAULT_TOKEN_URI,
        )

    def endpoint(self, api: str, version: str) -> str:
        root, service_path = APIS[(api, version)]
        if not self.api_url:
            return root + service_path
        return self.api_url.rstrip("/") + "/" + service_path

    def credentials(self) -> service_account.Credentials:
        info = {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": self.private_key,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "token_uri": self.token_uri,
        }
        try:
            credentials = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
        except (ValueError, TypeError) as error:
            raise PluginConfigError(
                f"GOOGLE_SERVICE_ACCOUNT_PRIVATE_KEY is not a usable private key: {error}"
            ) from None
        return credentials.with_subject(self.delegated_account)


def _google_error(error: HttpError) -> tuple[str, str]:
    """The message and first reason of a Google error body."""
    try:
        body = json.loads(error.content.decode("utf-8", "replace"))
    except ValueError:
        return error.reason or "", ""
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        return str(detail or error.reason or ""), ""
    errors = detail.get("errors") or [{}]
    return str(detail.get("message") or ""), str((errors[0] or {}).get("reason") or "")


def _retry_after(error: HttpError) -> float | None:
    try:
        return float(error.resp.get("retry-after"))
    except (TypeError, ValueError):
        return None


class GoogleWorkspace:
    """Runs Google API calls in its own thread pool, one set of service objects per worker thread."""

    def __init__(
        self,
        account: GoogleAccount,
        *,
        timeout: float = 20.0,
        max_workers: int = 8,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 10.0,
    ) -> None:
        self.account = account
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="google")
        self._local = threading.local()
        account.credentials()  # a broken key is a configuration problem, reported when the plugin is built

    @classmethod
    def from_setup(cls, setup: PluginSetup) -> GoogleWorkspace:
        options = setup.options
        return cls(
            GoogleAccount.from_setup(setup),
            timeout=float(options.get("timeout_seconds", 20.0)),
            max_workers=int(options.get("max_workers", 8)),
            retries=int(options.get("retries", 3)),
            backoff=float(options.get("backoff_seconds", 0.5)),
        )

    def service(self, api: str, version: str) -> Any:
        """This thread's service object for the API (built on first use in the thread)."""
        services: dict[tuple[str, str], Any] | None = getattr(self._local, "services", None)
        if services is None:
            services = self._local.services = {}
            # One credentials object per thread too: a token refresh must not race another thread's.
            self._local.http = google_auth_httplib2.AuthorizedHttp(
                self.account.credentials(), http=httplib2.Http(timeout=self.timeout)
            )
        service = services.get((api, version))
        if service is None:
            service = build(
                api,
                version,
                http=self._local.http,
                developerKey=self.account.developer_key,
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": self.account.endpoint(api, version)},
            )
            services[(api, version)] = service
        return service

    async def run(self, work: Callable[[GoogleWorkspace], T], what: str) -> T:
        """Run `work` in the pool; Google's refusals come back as PluginErrors that say what to do."""

        def call() -> T:
            attempt = 0
            while True:
                try:
                    return work(self)
                except HttpError as error:
                    status = error.resp.status
                    _, reason = _google_error(error)
                    limited = status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS)
                    if (status in RETRIED or limited) and attempt < self.retries:
                        after = _retry_after(error)
                        wait = after if after is not None else self.backoff * 2**attempt
                        if wait <= self.max_wait:
                            attempt += 1
                            time.sleep(wait)
                            continue
                    raise self.explain(error, what, limited) from None
                except RefreshError as error:
                    raise PluginAuthError(
                        "Google refused the service account's credentials "
                        f"({error.args[0] if error.args else error}). Check the GOOGLE_SERVICE_ACCOUNT_* "
                        "settings and that the client id has domain-wide delegation for the bot's scopes."
                    ) from None
                except (TimeoutError, TransportError, OSError, httplib2.HttpLib2Error) as error:
                    raise PluginError(
                        f"Cannot reach Google at {self.account.api_url or 'googleapis.com'} ({what}): "
                        f"{type(error).__name__}: {error}"
                    ) from None

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, call)

    def explain(self, error: HttpError, what: str, limited: bool = False) -> PluginError:
        status = error.resp.status
        message, _ = _google_error(error)
        if limited:
            after = _retry_after(error)
            wait = f" Try again in {after:g} s." if after is not None else " Try again in a minute."
            return PluginRateLimited(f"Google is rate limiting the bot ({what}, {status}).{wait}", after)
        if status == 401:
            return PluginAuthError(
                f"Google did not accept the bot's token ({what}, 401). Check the GOOGLE_SERVICE_ACCOUNT_* "
                "settings."
            )
        if status == 403:
            return PluginAuthError(
                f"Google does not allow {self.account.delegated_account} to {what} (403: {message}). Check "
                "the account's access and the service account's domain-wide delegation scopes."
            )
        if status == 404:
            return PluginNotFound(f"Google could not {what}: not found (404: {message}).")
        return PluginError(f"Google answered {status} to {what}: {message}".rstrip(": "))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def workspace_for(setup: PluginSetup) -> GoogleWorkspace:
    """One workspace (and pool) per account and client options, shared by the Google plugins using it."""
    account = GoogleAccount.from_setup(setup)
    keys = ("timeout_seconds", "max_workers", "retries", "backoff_seconds")
    options: Mapping[str, Any] = setup.options
    key = ("google", account, tuple((k, str(options[k])) for k in keys if k in options))
    return setup.shared.get(key, lambda: GoogleWorkspace.from_setup(setup))
