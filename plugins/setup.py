"""What a plugin is built from: its project's options, the credentials, and what the process shares.

Plugin packages import this module, never the registry, so the registry can import them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from plugins.errors import PluginConfigError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class SharedResources:
    """What plugins of one process share (a client with its thread pool, say), closed with the process.

    Kept by the process's plugin provider rather than in module globals, so that two bot contexts in
    one interpreter (tests, the CLI beside a running bot) never share a client or its connections.
    """

    def __init__(self) -> None:
        self._items: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], T]) -> T:
        """The resource under `key`, made by `make` on first use (once, even from several threads)."""
        with self._lock:
            if key not in self._items:
                self._items[key] = make()
            return cast(T, self._items[key])

    def close(self) -> None:
        """Close every resource that can be closed; a failing close is logged, the others still close."""
        with self._lock:
            items, self._items = list(self._items.values()), {}
        for item in items:
            close = getattr(item, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    logger.exception("closing the plugin resource %r failed", item)


@dataclass(frozen=True)
class PluginSetup:
    """What a plugin is built from: the project's options for it and the credentials from the environment.

    `secrets` are keyed by environment name (PAGERDUTY_API_KEY...); only set ones are present.
    """

    project: str
    role: str
    options: Mapping[str, Any]
    secrets: Mapping[str, str]
    shared: SharedResources = field(default_factory=SharedResources, compare=False)

    def setting(self, option: str, secret: str, default: str | None = None) -> str | None:
        """An option from the config file, else the environment variable, else `default`."""
        value = self.options.get(option)
        if value not in (None, ""):
            return str(value)
        return self.secrets.get(secret) or default

    def required_secret(self, name: str) -> str:
        value = self.secrets.get(name)
        if not value:
            raise PluginConfigError(f"{name} is not set; set it in the environment (or .env) of the bot")
        return value
