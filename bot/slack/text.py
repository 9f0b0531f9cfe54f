"""Escaping for Slack mrkdwn: user text must never become a mention, a broadcast or a link."""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape `&`, `<` and `>` as Slack documents, which disarms `<!channel>`, `<@U…>` and `<url|label>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
