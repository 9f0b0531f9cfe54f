"""The fake's Slack Web API, one module a family of methods (chat, conversations, views…)."""
