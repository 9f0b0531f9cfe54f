"""Jira Cloud: the ticket plugin, over Jira's REST API v3 with aiohttp."""
