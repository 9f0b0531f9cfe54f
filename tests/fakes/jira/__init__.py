"""A fake Jira Cloud REST API v3 for the bot's aiohttp Jira client."""

from tests.fakes.jira.server import FakeJira

__all__ = ["FakeJira"]
