"""Money as integer minor units of an ISO 4217 currency.

Exponents come from the maintained ``iso4217`` data package, never from a hand-typed table.
Amounts are parsed from decimal strings or :class:`~decimal.Decimal`; a ``float`` is refused
with :class:`TypeError`, because binary floating point cannot hold most decimal amounts.
"""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

MAX_DIGITS = 30
"""Most digits an amount may have in minor units: far beyond any payment, and small enough
that parsing ``"1e999999999"`` is refused at once instead of computing a billion-digit number."""
MAX_TEXT = 100
"""Longest amount text parsed."""


def _shown(amount: object) -> str:
    text = repr(amount)
    return text if len(text) <= 60 else text[:60] + "..."


@functools.cache
def currency_exponent(code: str) -> int:
    """The number of minor-unit digits of ``code`` (USD 2, JPY 0, BHD 3, CLF 4).

    Raises ValueError for codes that are not ISO 4217 currencies, or that have no minor
    unit (funds codes, precious metals), since those cannot be paid in.
    """
    # Imported on first use: the ISO table costs start-up time a CLI listing never needs.
    from iso4217 import Currency

    if not isinstance(code, str) or len(code) != 3 or not code.isupper():
        raise ValueError(f"currency must be a three-letter upper-case ISO 4217 code, got {code!r}")
    try:
        exponent = Currency(code).exponent
    except ValueError:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise ValueError(f"{code!r} has no minor unit and cannot be used for payments")
    return int(exponent)


def _check_minor(value: object) -> None:
    # bool is an int subclass; True pounds is a bug, not an amount.
    if isinstance(value, float):
        raise TypeError("Money amounts are integer minor units; a float is never accepted")
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"Money.minor must be an int of minor units, got {type(value).__name__}")


def _check_money(instance: Money, attribute: attrs.Attribute[str], currency: str) -> None:
    # Speed: Money is built for every amount of every answer, so both fields are checked by one
    # validator (on the last field, when both are set) instead of one call each, in the same
    # order (minor, then currency). ``type(minor) is int`` settles the common case at once;
    # anything else (an int subclass, a float, a bool) takes the general checks.
    minor = instance.minor
    if type(minor) is not int:
        _check_minor(minor)
    currency_exponent(currency)


@attrs.frozen(order=False)
class Money:
    """An amount in integer minor units of one currency: ``Money(1050, "USD")`` is 10.50 USD."""

    minor: int
    currency: str = attrs.field(validator=_check_money)

    @classmethod
    def parse(cls, amount: str | Decimal, currency: str) -> Money:
        """Build Money from a decimal amount in major units: ``Money.parse("10.50", "USD")``.

        More fractional digits than the currency has (``"1.005"`` USD, ``"1.5"`` JPY) is a
        ValueError rather than a silent rounding.
        """
        if isinstance(amount, float):
            raise TypeError("parse amounts from a str or Decimal, never a float")
        if isinstance(amount, str):
            if len(amount) > MAX_TEXT:
                raise ValueError(f"an amount of {len(amount)} characters is not a payment amount")
            try:
                value = Decimal(amount.strip())
            except InvalidOperation:
                raise ValueError(f"{amount!r} is not a decimal amount") from None
        elif isinstance(amount, Decimal):
            value = amount
        else:
            raise TypeError(f"parse amounts from a str or Decimal, not {type(amount).__name__}")
        if not value.is_finite():
            raise ValueError(f"{amount!r} is not a finite amount")
        exponent = currency_exponent(currency)
        # Exact integer arithmetic on the digits: Decimal.scaleb would round beyond the
        # context's 28 significant digits, silently changing a huge amount.
        sign, digits, power = value.as_tuple()
        assert isinstance(power, int)  # finite, checked above
        # Trailing zeros move into the exponent, so "1.500" and "15e-1" are read alike and the
        # checks below look at significant digits only.
        significant = "".join(map(str, digits)).rstrip("0")
        if not significant:
            return cls(0, currency)
        shift = power + (len(digits) - len(significant)) + exponent
        if shift < 0:
            # The last significant digit is below the minor unit: never rounded away.
            raise ValueError(
                f"{_shown(amount)} has more than {exponent} decimal places, the minor unit of {currency}"
            )
        if len(significant) + shift > MAX_DIGITS:
            raise ValueError(
                f"{_shown(amount)} is more than {MAX_DIGITS} digits in minor units of {currency}; "
                "that is not a payment amount"
            )
        magnitude = int(significant) * 10**shift
        return cls(-magnitude if sign else magnitude, currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    @property
    def amount(self) -> Decimal:
        """The amount in major units, exact."""
        return Decimal(self.minor).scaleb(-self.exponent)

    def format(self) -> str:
        """``"10.50 USD"``: major units with exactly the currency's decimal places."""
        exponent = self.exponent
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exponent)
        text = f"{whole}.{frac:0{exponent}d}" if exponent else str(whole)
        return f"{sign}{text} {self.currency}"

    def __str__(self) -> str:
        return self.format()

    def _same_currency(self, other: Any) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return _derived(self.minor + self._same_currency(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return _derived(self.minor - self._same_currency(other).minor, self.currency)

    def __neg__(self) -> Money:
        return _derived(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same_currency(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same_currency(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same_currency(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same_currency(other).minor

    def __bool__(self) -> bool:
        return self.minor != 0


def _derived(minor: int, currency: str) -> Money:
    """Money computed from validated Money: an int sum in a checked currency needs no second
    check, and the reducer adds amounts many times per answer."""
    money = object.__new__(Money)
    object.__setattr__(money, "minor", minor)
    object.__setattr__(money, "currency", currency)
    return money
