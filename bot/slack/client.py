"""The Slack Web API client: retries rate limits and transient errors, and counts every call."""

from __future__ import annotations

from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
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


def retry_handlers(rate_limit_retries: int = 5) -> list[AsyncRetryHandler]:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
        AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        AsyncServerErrorRetryHandler(max_retry_count=3),
    ]


def build_web_client(token: str, base_url: str, metrics: Metrics | None = None) -> InstrumentedWebClient:
    return InstrumentedWebClient(
        token=token, base_url=base_url, retry_handlers=retry_handlers(), metrics=metrics, timeout=15
    )
