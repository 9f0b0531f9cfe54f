"""Block Kit for costs: amounts as people read them, and the "Add cost" modal."""

from __future__ import annotations


def amount(cents: int) -> str:
    """Cents as a dollar amount: 123456 → "$1,234.56"."""
    return f"${cents // 100:,}.{cents % 100:02d}"
