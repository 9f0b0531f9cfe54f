"""The Slack Web API client: retries rate limits and transient errors, and counts every call."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.runtime.metrics import Metrics


class InstrumentedWebClient(AsyncWebClient):
    """AsyncWebClient that reports each call and each error to the process metrics."""

    def __init__(self, *args: Any, metrics: Metrics | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        if self.metrics is None:
            return await super().api_call(api_method, **kwargs)
        self.metrics.slack_calls.labels(api_method).inc()
        try:
            response = await super().api_call(api_method, **kwargs)
        except Exception as error:
            reason = getattr(getattr(error, "response", None), "data", {}) or {}
            code = reason.get("error") if isinstance(reason, dict) else None
            self.metrics.slack_errors.labels(api_method, code or type(error).__name__).inc()
            raise
        return response


# The metadata type of a message an effect posts (see SlackGateway.post_once).
EFFECT_EVENT = "dispatch_bot_effect"

# Set while a call must not be retried blindly (see `blind_retries_off`).
_no_blind_retries: contextvars.ContextVar[bool] = contextvars.ContextVar("no_blind_retries", default=False)


@contextlib.contextmanager
def blind_retries_off() -> Iterator[None]:
    """Calls made inside are not retried on a connection error or a 5xx: those may come after Slack
    did the work (an effect's message posted), and a blind retry would do it twice. The caller's
    own retry checks first (an effect looks for its message by key)."""
    token = _no_blind_retries.set(True)
    try:
        yield
    finally:
        _no_blind_retries.reset(token)


class _UnlessBlindRetriesOff:
    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if _no_blind_retries.get():
            return False
        retry: bool = await super()._can_retry_async(  # type: ignore[misc]
            state=state, request=request, response=response, error=error
        )
        return retry


class ConnectionErrorRetries(_UnlessBlindRetriesOff, AsyncConnectionErrorRetryHandler):
    pass


class ServerErrorRetries(_UnlessBlindRetriesOff, AsyncServerErrorRetryHandler):
    pass


def retry_handlers(rate_limit_retries: int = 5) -> list[AsyncRetryHandler]:
    return [
        ConnectionErrorRetries(max_retry_count=3),
        AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ServerErrorRetries(max_retry_count=3),
    ]


def build_web_client(token: str, base_url: str, metrics: Metrics | None = None) -> InstrumentedWebClient:
    return InstrumentedWebClient(
        token=token, base_url=base_url, retry_handlers=retry_handlers(), metrics=metrics, timeout=15
    )
