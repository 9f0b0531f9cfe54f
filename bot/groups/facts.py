"""What the notifications-group flows and views both speak of: a change of members."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Changed:
    address: str
    added: list[str]
    removed: list[str]


def describe(added: list[str], removed: list[str]) -> str:
    """ "added a, b; removed c", or "" when nothing changed."""
    parts = [f"added {', '.join(added)}" if added else "", f"removed {', '.join(removed)}" if removed else ""]
    return "; ".join(part for part in parts if part)
