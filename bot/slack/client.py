"""The Slack Web API client: paced, retries rate limits and transient errors, and counts every call."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Iterator, Mapping
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
from bot.slack.pacing import Pacer, Slot

# The pacing slot of the call being made in this task, for the rate-limit retry handler to hold.
_calling: contextvars.ContextVar[Slot | None] = contextvars.ContextVar("slack_calling", default=None)


class InstrumentedWebClient(AsyncWebClient):
    """AsyncWebClient that waits its turn on the process's pacer before each call (see
    bot.slack.pacing) and reports each call and each error to the process metrics."""

    def __init__(
        self, *args: Any, metrics: Metrics | None = None, pacer: Pacer | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics
        self.pacer = pacer if pacer is not None else Pacer()

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        slot = self.pacer.slot(api_method, call_arguments(kwargs))
        if slot is not None:
            await self.pacer.wait_turn(slot)
        token = _calling.set(slot)
        try:
            return await self._counted_call(api_method, **kwargs)
        finally:
            _calling.reset(token)

    async def _counted_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
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


def call_arguments(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """A call's arguments, wherever slack_sdk put them (a JSON body, form data or the query)."""
    for where in ("json", "data", "params"):
        found = kwargs.get(where)
        if isinstance(found, Mapping) and found:
            return found
    return {}


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


class PacedRateLimitRetries(AsyncRateLimitErrorRetryHandler):
    """Retries a 429 as slack_sdk's handler does, but through the pacer: the 429 holds its method
    (its channel, for chat.postMessage) for every caller of the process until the Retry-After has
    passed, and the retry then waits its turn in the bucket like any new call. (slack_sdk's own
    handler sleeps in the one call it retries; the other callers would not know to wait.)"""

    def __init__(self, pacer: Pacer, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.pacer = pacer

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        slot = _calling.get()
        if slot is not None and response is not None and response.status_code == 429:
            # Held even when this call is not retried (its retries spent): the others must wait.
            self.pacer.hold(slot, retry_after(response))
        retry: bool = await super().can_retry_async(
            state=state, request=request, response=response, error=error
        )
        return retry

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        slot = _calling.get()
        if slot is None:
            await asyncio.sleep(retry_after(response))
        else:
            await self.pacer.wait_turn(slot)
        state.increment_current_attempt()


def retry_after(response: HttpResponse) -> float:
    """The seconds a 429 asks to wait (Slack sends whole seconds; 1 when it says nothing usable)."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) and values else values
            try:
                return max(0.0, float(str(value)))
            except ValueError:
                break
    return 1.0


def retry_handlers(pacer: Pacer, rate_limit_retries: int = 5) -> list[AsyncRetryHandler]:
    return [
        ConnectionErrorRetries(max_retry_count=3),
        PacedRateLimitRetries(pacer, max_retry_count=rate_limit_retries),
        ServerErrorRetries(max_retry_count=3),
    ]


def build_web_client(
    token: str, base_url: str, metrics: Metrics | None = None, pace_scale: float = 1.0
) -> InstrumentedWebClient:
    on_hold = None if metrics is None else (lambda method, _: metrics.slack_rate_limited.labels(method).inc())
    pacer = Pacer(scale=pace_scale, on_hold=on_hold)
    return InstrumentedWebClient(
        token=token,
        base_url=base_url,
        retry_handlers=retry_handlers(pacer),
        metrics=metrics,
        pacer=pacer,
        timeout=15,
    )
