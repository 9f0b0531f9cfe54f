"""Incident and channel names from the project's patterns (`{prefix}-{number}`, `inc-{number}-{slug}`)."""

from __future__ import annotations

import re
import unicodedata

MAX_CHANNEL_NAME = 80
FIELDS = ("prefix", "number", "slug", "name", "project")


def slug(text: str, limit: int = MAX_CHANNEL_NAME) -> str:
    """Lowercase ASCII words joined by dashes: "Checkout fails (EU)!" → "checkout-fails-eu"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-")


def render(pattern: str, **values: object) -> str:
    """Fill `{field}` placeholders; unknown placeholders stay as written rather than failing a report."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), pattern)


def incident_name(pattern: str, prefix: str, number: int, project: str) -> str:
    return render(pattern, prefix=prefix, number=number, project=project)[:100]


def channel_name(pattern: str, *, prefix: str, number: int, title: str, name: str, project: str) -> str:
    """A valid Slack channel name: lowercase, a-z 0-9 - _, at most 80 characters, never empty."""
    raw = render(pattern, prefix=prefix.lower(), number=number, slug=slug(title), name=name, project=project)
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]+", "-", raw.lower())).strip("-_")
    return cleaned[:MAX_CHANNEL_NAME].rstrip("-_") or f"inc-{number}"
