"""What the fake vendor servers (Google, Jira, PagerDuty) share: serving on a free local port, and
misbehaving on request (error answers queued by method and path prefix, slow answers, and answers
held until the test lets them go)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Fault:
    """The next `remaining` requests `method path…` get `status` (with Retry-After when given); when
    `applied`, each request takes effect first, as when a vendor commits and then fails to answer."""

    method: str
    path: str
    status: int
    remaining: int
    retry_after: float | None = None
    applied: bool = False


@dataclass
class Injected:
    """The faults, delays and holds of one fake; paths are prefixes as the fake names its paths."""

    faults: list[Fault] = field(default_factory=list)
    delays: dict[tuple[str, str], float] = field(default_factory=dict)
    # How many more answers a delay applies to, for delays given `times`; the others never run out.
    delays_left: dict[tuple[str, str], int] = field(default_factory=dict)
    holds: dict[str, asyncio.Event] = field(default_factory=dict)

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        applied: bool = False,
    ) -> None:
        self.faults.append(Fault(method.upper(), path, status, times, retry_after, applied))

    def slow(self, method: str, path: str, seconds: float, *, times: int | None = None) -> None:
        """Delay every answer (or the next `times`) to `method path…` ("*" for any method) by `seconds`."""
        self.delays[(method.upper(), path)] = seconds
        if times is not None:
            self.delays_left[(method.upper(), path)] = times

    def hold(self, path: str) -> asyncio.Event:
        """Keep requests under `path` waiting until the returned event is set."""
        return self.holds.setdefault(path, asyncio.Event())

    async def wait(self, method: str, path: str) -> None:
        """Sleep the delays and wait the holds that apply to this request."""
        for (slowed, prefix), seconds in list(self.delays.items()):
            if slowed in ("*", method) and path.startswith(prefix):
                left = self.delays_left.get((slowed, prefix))
                if left is not None:
                    if left <= 1:
                        del self.delays[(slowed, prefix)], self.delays_left[(slowed, prefix)]
                    else:
                        self.delays_left[(slowed, prefix)] = left - 1
                await asyncio.sleep(seconds)
        for prefix, released in self.holds.items():
            if path.startswith(prefix):
                await released.wait()

    def take(self, method: str, path: str) -> Fault | None:
        """The queued fault this request meets, if any (used up by one)."""
        for fault in self.faults:
            if fault.remaining and fault.method == method and path.startswith(fault.path):
                fault.remaining -= 1
                return fault
        return None


class Misbehaving:
    """`fail`, `slow` and `hold` for a fake keeping its `Injected` in `self.injected`, and its serving."""

    injected: Injected
    port: int
    _runner: web.AppRunner | None

    async def serve(self, app: web.Application) -> None:
        """Serve `app` on a free port of 127.0.0.1 (in `self.port`) until the fake is closed."""
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def __aexit__(self, *exc_info: Any) -> None:
        # A held request left waiting by a failed test would hold up the server's shutdown.
        for held in self.injected.holds.values():
            held.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        applied: bool = False,
    ) -> None:
        """Answer the next `times` requests `method path…` with `status` (after doing what they asked,
        when `applied`; only the fakes saying so in their docstring honour it)."""
        self.injected.fail(method, path, status, times=times, retry_after=retry_after, applied=applied)

    def slow(self, method: str, path: str, seconds: float, *, times: int | None = None) -> None:
        """Delay every answer (or the next `times`) to `method path…` ("*" for any method) by `seconds`."""
        self.injected.slow(method, path, seconds, times=times)

    def hold(self, path: str) -> asyncio.Event:
        """Keep requests under `path` waiting until the returned event is set."""
        return self.injected.hold(path)
