"""Errors plugins raise; each message is a sentence a responder or operator can act on."""

from __future__ import annotations


class PluginError(Exception):
    """A plugin call failed; `str(error)` is safe to show to the person who asked."""


class PluginConfigError(PluginError):
    """A plugin cannot be built: a missing credential or a bad option."""


class PluginAuthError(PluginError):
    """The vendor refused the plugin's credentials."""


class PluginNotFound(PluginError):
    """The vendor does not know the thing asked for (a service id, say)."""


class PluginRateLimited(PluginError):
    """The vendor kept answering "too many requests"; `retry_after` seconds, when it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PluginNoAnswer(PluginError):
    """The call got no answer (a timeout, a dropped connection): it may or may not have taken effect."""
