"""Amounts typed into the "Add cost" modal: every well-formed dollar amount read exactly, the rest refused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.costs.flows import MAX_MANUAL_CENTS, dollars, parse_amount
from bot.costs.views import amount


@given(st.integers(min_value=1, max_value=MAX_MANUAL_CENTS))
def test_every_amount_in_cents_reads_back_as_typed_or_as_shown(cents: int) -> None:
    assert parse_amount(dollars(cents)) == cents
    assert parse_amount(amount(cents)) == cents  # "$1,234.56", as the bot shows it
    whole, _, fraction = dollars(cents).partition(".")
    if fraction == "00":
        assert parse_amount(whole) == cents
    if fraction.endswith("0"):
        assert parse_amount(f"{whole}.{fraction[0]}") == cents


@given(st.integers(min_value=0, max_value=999), st.integers(min_value=0, max_value=10**6))
def test_three_decimals_negative_or_zero_amounts_are_refused(thousandths: int, whole: int) -> None:
    assert isinstance(parse_amount(f"{whole}.{thousandths:03d}"), str)
    assert isinstance(parse_amount(f"-{whole}.50"), str)
    assert isinstance(parse_amount("0"), str) and isinstance(parse_amount("0.00"), str)


def test_amounts_people_write_and_typos() -> None:
    assert parse_amount(" 89.9 ") == 8990
    assert parse_amount("1,250") == 125000
    for typo in ("", "12,34", "1.2.3", "ten", "1e3", "12 34"):
        assert isinstance(parse_amount(typo), str), typo
    assert "zeros" in str(parse_amount(dollars(MAX_MANUAL_CENTS + 1)))
