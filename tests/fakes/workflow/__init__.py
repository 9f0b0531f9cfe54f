"""A fake automation service speaking the webhook workflow plugin's protocol."""

from tests.fakes.workflow.server import FakeWorkflows

__all__ = ["FakeWorkflows"]
