"""Escaping for Slack mrkdwn: user text must never become a mention, a broadcast or a link."""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape `&`, `<` and `>` as Slack documents, which disarms `<!channel>`, `<@U…>` and `<url|label>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_within(text: str, limit: int) -> str:
    """`escape(text)` cut to at most `limit` characters without splitting an entity like `&amp;`."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    entity = cut.rfind("&")
    if entity != -1 and ";" not in cut[entity:]:
        cut = cut[:entity]
    return cut + "…"
