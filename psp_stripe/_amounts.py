"""Money in Stripe's ``amount`` integers, with Stripe's own exceptions to ISO 4217.

Stripe takes integer amounts in a currency's smallest unit, but its idea of that unit is not
always ISO 4217's (https://docs.stripe.com/currencies): the zero-decimal currencies are whole
units; ISK is ISO zero-decimal yet Stripe keeps it two-decimal with amounts divisible by 100
(https://support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds); the
three-decimal currencies take three decimals whose last digit must be 0. An amount Stripe
cannot take is refused here, before anything is sent.
"""

from __future__ import annotations

from psp_core import Money, ProviderResponseError, ValidationError, currency_exponent

ZERO_DECIMAL: frozenset[str] = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
"""https://docs.stripe.com/currencies#zero-decimal"""

THREE_DECIMAL: frozenset[str] = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
"""https://docs.stripe.com/currencies#three-decimal: the last digit must be 0."""

TWO_DECIMAL_EXCEPTIONS: frozenset[str] = frozenset({"ISK"})
"""ISO zero-decimal, Stripe two-decimal ("an ISK amount of 100 represents 1 krona")."""


def stripe_exponent(currency: str) -> int:
    """How many decimals Stripe's ``amount`` has in ``currency``."""
    if currency in ZERO_DECIMAL:
        return 0
    if currency in TWO_DECIMAL_EXCEPTIONS:
        return 2
    return currency_exponent(currency)


def to_stripe(money: Money, field: str = "amount") -> int:
    """``money`` as Stripe's ``amount``; a ValidationError naming ``field`` if Stripe cannot take it."""
    iso = currency_exponent(money.currency)
    ours = stripe_exponent(money.currency)
    if ours >= iso:
        amount = money.minor * 10 ** (ours - iso)
    else:
        step = 10 ** (iso - ours)
        if money.minor % step:
            raise ValidationError(
                field,
                f"{money} has fractions Stripe does not take in {money.currency}; "
                f"use a whole multiple of {Money(step, money.currency)}",
            )
        amount = money.minor // step
    if money.currency in THREE_DECIMAL and amount % 10:
        raise ValidationError(
            field,
            f"{money}: Stripe takes {money.currency} amounts only in multiples of 10 minor units "
            "(the last digit must be 0); round it to the nearest ten",
        )
    return int(amount)


def from_stripe(amount: int, currency: str) -> Money:
    """Stripe's ``amount`` in ``currency`` as ``Money``; a ProviderResponseError if it cannot be one."""
    iso = currency_exponent(currency)
    ours = stripe_exponent(currency)
    if ours >= iso:
        step = 10 ** (ours - iso)
        if amount % step:
            raise ProviderResponseError(
                f"Stripe reports {amount} in {currency}, which is not a whole {currency} minor unit "
                f"(Stripe's amounts in {currency} step by {step})"
            )
        return Money(amount // step, currency)
    return Money(amount * 10 ** (iso - ours), currency)


__all__ = [
    "THREE_DECIMAL",
    "TWO_DECIMAL_EXCEPTIONS",
    "ZERO_DECIMAL",
    "from_stripe",
    "stripe_exponent",
    "to_stripe",
]
