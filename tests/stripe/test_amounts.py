"""Stripe's amounts: integer smallest units with Stripe's own exceptions to ISO 4217."""

from __future__ import annotations

import iso4217
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import Money, ProviderResponseError, ValidationError, currency_exponent
from psp_stripe import (
    THREE_DECIMAL,
    TWO_DECIMAL_EXCEPTIONS,
    ZERO_DECIMAL,
    from_stripe,
    stripe_exponent,
    to_stripe,
)

ISO_CURRENCIES = sorted(c.code for c in iso4217.Currency if c.exponent is not None)
minor = st.integers(0, 10**12)


def acceptable(currency: str) -> st.SearchStrategy[Money]:
    """Amounts Stripe takes in ``currency``: whole steps of Stripe's unit, last digit 0 for 3-decimal."""
    iso, ours = currency_exponent(currency), stripe_exponent(currency)
    step = 10 ** max(iso - ours, 0) * (10 if currency in THREE_DECIMAL else 1)
    return minor.map(lambda n: Money(n * step, currency))


@given(data=st.data(), currency=st.sampled_from(ISO_CURRENCIES))
def test_every_amount_stripe_takes_round_trips_exactly(data: st.DataObject, currency: str) -> None:
    money = data.draw(acceptable(currency))
    assert from_stripe(to_stripe(money), currency) == money


@given(amount=minor, currency=st.sampled_from(sorted(ZERO_DECIMAL)))
def test_zero_decimal_currencies_are_sent_in_whole_units(amount: int, currency: str) -> None:
    whole = Money.parse(str(amount), currency)
    assert to_stripe(whole) == amount


@given(krona=minor)
def test_isk_is_sent_two_decimal_in_multiples_of_100(krona: int) -> None:
    # "An ISK amount of 100 continues to represent 1 krona"; ISO 4217 gives ISK no decimals.
    assert currency_exponent("ISK") == 0 and "ISK" in TWO_DECIMAL_EXCEPTIONS
    assert to_stripe(Money(krona, "ISK")) == krona * 100
    assert from_stripe(krona * 100, "ISK") == Money(krona, "ISK")


@given(amount=minor, currency=st.sampled_from(sorted(THREE_DECIMAL)))
def test_three_decimal_amounts_must_end_in_zero(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    if amount % 10:
        with pytest.raises(ValidationError) as refused:
            to_stripe(money, "refund.amount")
        assert refused.value.field == "refund.amount" and "nearest ten" in str(refused.value)
    else:
        assert to_stripe(money) == amount


@given(amount=minor.filter(lambda n: n % 100))
def test_a_fraction_stripe_has_no_unit_for_is_refused_naming_the_field(amount: int) -> None:
    # MGA: two decimals in ISO 4217, none on Stripe.
    with pytest.raises(ValidationError) as refused:
        to_stripe(Money(amount, "MGA"), "amount")
    assert refused.value.field == "amount"


@given(amount=st.integers(1, 10**9).filter(lambda n: n % 100))
def test_an_answer_between_two_units_is_a_response_error(amount: int) -> None:
    with pytest.raises(ProviderResponseError):
        from_stripe(amount, "ISK")


def test_the_two_decimal_currencies_pass_through() -> None:
    assert to_stripe(Money(1050, "EUR")) == 1050
    assert to_stripe(Money(1050, "HUF")) == 1050  # two-decimal for charges; payouts differ
    assert to_stripe(Money(500, "JPY")) == 500
