"""Money: integer minor units, ISO 4217 exponents, exact parsing and formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import Money, currency_exponent

# One currency per exponent that ISO 4217 defines: 0, 2, 3 and 4 minor-unit digits.
CURRENCIES_BY_EXPONENT = {0: "JPY", 2: "USD", 3: "BHD", 4: "CLF"}


def test_exponents_come_from_the_iso_4217_data() -> None:
    assert {code: currency_exponent(code) for code in CURRENCIES_BY_EXPONENT.values()} == {
        "JPY": 0,
        "USD": 2,
        "BHD": 3,
        "CLF": 4,
    }


@given(
    minor=st.integers(min_value=-(10**15), max_value=10**15),
    currency=st.sampled_from(list(CURRENCIES_BY_EXPONENT.values())),
)
def test_format_then_parse_round_trips_exactly(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    text, code = money.format().split(" ")
    assert code == currency
    assert Money.parse(text, currency) == money
    assert Money.parse(money.amount, currency) == money


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9))
def test_parse_of_two_place_decimals_is_exact_in_usd(value: Decimal) -> None:
    money = Money.parse(value, "USD")
    assert Decimal(money.minor) == value * 100
    assert money.amount == value


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("10.50", "USD", 1050),
        ("0.01", "USD", 1),
        ("100", "JPY", 100),
        ("1.005", "BHD", 1005),
        ("0.0001", "CLF", 1),
    ],
)
def test_parse_reads_major_units(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(("text", "currency"), [("1.005", "USD"), ("1.5", "JPY"), ("0.00001", "CLF")])
def test_more_decimal_places_than_the_currency_has_is_refused_not_rounded(text: str, currency: str) -> None:
    with pytest.raises(ValueError, match="decimal places"):
        Money.parse(text, currency)


def test_a_float_is_a_type_error_everywhere() -> None:
    with pytest.raises(TypeError):
        Money(10.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money.parse(10.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")


@pytest.mark.parametrize("currency", ["usd", "US", "XXXX", "ABC", "XAU", ""])
def test_unknown_lowercase_and_unpayable_currencies_are_refused(currency: str) -> None:
    with pytest.raises(ValueError, match="currency|ISO 4217|minor unit"):
        Money(100, currency)


@pytest.mark.parametrize("text", ["abc", "NaN", "Infinity", "1e", ""])
def test_non_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="decimal amount|finite"):
        Money.parse(text, "USD")


@given(a=st.integers(-(10**12), 10**12), b=st.integers(-(10**12), 10**12))
def test_arithmetic_and_order_follow_the_integers(a: int, b: int) -> None:
    assert Money(a, "EUR") + Money(b, "EUR") == Money(a + b, "EUR")
    assert Money(a, "EUR") - Money(b, "EUR") == Money(a - b, "EUR")
    assert (Money(a, "EUR") < Money(b, "EUR")) == (a < b)
    assert (Money(a, "EUR") >= Money(b, "EUR")) == (a >= b)


def test_arithmetic_across_currencies_is_refused() -> None:
    with pytest.raises(ValueError, match="USD with EUR"):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(ValueError, match="cannot combine"):
        _ = Money(1, "USD") < Money(1, "EUR")
    with pytest.raises(TypeError):
        Money(1, "USD") + 1  # type: ignore[operator]


def test_format_shows_exactly_the_currency_digits() -> None:
    assert Money(5, "USD").format() == "0.05 USD"
    assert Money(-1050, "USD").format() == "-10.50 USD"
    assert Money(1234, "JPY").format() == "1234 JPY"
    assert str(Money(1, "BHD")) == "0.001 BHD"


def test_parse_is_exact_beyond_decimal_precision() -> None:
    """Decimal's context keeps 28 digits; parsing must never round a huge amount."""
    assert Money.parse("1234567890123456789012345678.01", "USD").minor == 123456789012345678901234567801
    with pytest.raises(ValueError, match="decimal places"):
        Money.parse("1234567890123456789012345678.015", "USD")
    assert Money.parse("1.500", "USD") == Money(150, "USD")
