"""Money's and Payment's checks, written for speed, against the validators they replaced.

Issue 18 (round three) folded Money's two field validators into one and Payment's five
currency validators into one, and rewrote Payment's invariant checks without a dict of totals.
The old checks are kept here, word for word, as the reference: over generated constructions,
valid and broken alike, the models accept exactly what the old checks accepted and refuse the
rest with the same error type and message.
"""

from __future__ import annotations

import enum
import pickle
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import (
    Address,
    Consumer,
    MandateStatus,
    Money,
    Operation,
    OperationKind,
    OperationStatus,
    Order,
    Payment,
    PaymentStatus,
    currency_exponent,
)
from psp_core._money import _derived

# -- the reference: the checks as they were before round three ----------------------------------


def reference_money_checks(minor: object, currency: object) -> None:
    """Money's former validators, in field order: ``_check_minor`` then ``_check_currency``."""
    if isinstance(minor, float):
        raise TypeError("Money amounts are integer minor units; a float is never accepted")
    if not isinstance(minor, int) or isinstance(minor, bool):
        raise TypeError(f"Money.minor must be an int of minor units, got {type(minor).__name__}")
    currency_exponent(currency)  # type: ignore[arg-type]


def reference_payment_checks(payment: Any) -> None:
    """Payment's former five ``_same_currency`` validators, then its former post-init checks."""
    for name in ("authorized", "captured", "refunded", "voided", "charged_back"):
        value = getattr(payment, name)
        expected = payment.amount.currency
        if value.currency != expected:
            raise ValueError(f"{name} is in {value.currency}, the payment in {expected}")
    totals = {
        "authorized": payment.authorized,
        "captured": payment.captured,
        "refunded": payment.refunded,
        "voided": payment.voided,
        "charged_back": payment.charged_back,
    }
    for name, total in totals.items():
        if total.minor < 0:
            raise ValueError(f"{name} {total} is negative")
    for op in payment.operations:
        if op.amount.currency != payment.amount.currency:
            raise ValueError(
                f"{op.kind.value} {op.id} is in {op.amount.currency}, not {payment.amount.currency}"
            )
    if payment.authorized.minor > payment.amount.minor:
        raise ValueError(f"authorized {payment.authorized} exceeds the payment's amount {payment.amount}")
    if payment.captured.minor + payment.voided.minor > payment.authorized.minor:
        raise ValueError(
            f"captured {payment.captured} + voided {payment.voided} exceed authorized {payment.authorized}"
        )
    if payment.refunded.minor + payment.charged_back.minor > payment.captured.minor:
        raise ValueError(
            f"refunded {payment.refunded} + charged back {payment.charged_back} exceed captured "
            f"{payment.captured}"
        )


def outcome(build: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """What a construction gives: the value, or the error's type and message."""
    try:
        return ("built", build(*args, **kwargs))
    except Exception as error:
        return ("refused", (type(error), str(error)))


# -- Money --------------------------------------------------------------------------------------


class Units(int):
    """An int subclass a host might pass (an IntEnum member is one too)."""


class Cents(enum.IntEnum):
    TEN = 10


MINORS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.booleans(),
    st.floats(allow_nan=True),
    st.decimals(allow_nan=False),
    st.text(max_size=4),
    st.none(),
    st.integers(min_value=-5, max_value=5).map(Units),
    st.just(Cents.TEN),
)
CURRENCIES = st.one_of(
    st.sampled_from(["USD", "EUR", "JPY", "BHD", "CLF", "GBP"]),
    st.sampled_from(["usd", "US", "USDD", "", "XAU", "XXX", "XTS", "ABC", " USD"]),
    st.text(max_size=4),
    st.integers(),
    st.none(),
    st.lists(st.just("USD"), max_size=1),  # unhashable
)


@settings(max_examples=500)
@given(minor=MINORS, currency=CURRENCIES)
def test_money_accepts_and_refuses_exactly_what_its_former_validators_did(minor: Any, currency: Any) -> None:
    new = outcome(Money, minor, currency)
    old = outcome(reference_money_checks, minor, currency)
    if old[0] == "refused":
        assert new == old
    else:
        assert new[0] == "built"
        assert (new[1].minor, new[1].currency) == (minor, currency)
        assert type(new[1].minor) is type(minor)


@pytest.mark.parametrize(
    ("minor", "currency", "error", "message"),
    [
        (10.5, "USD", TypeError, "a float is never accepted"),
        (True, "USD", TypeError, "got bool"),
        ("10", "USD", TypeError, "got str"),
        (Decimal(10), "USD", TypeError, "got Decimal"),
        # The amount is checked first, as when each field had its own validator.
        (10.5, "usd", TypeError, "a float is never accepted"),
        (10, "usd", ValueError, "three-letter upper-case ISO 4217 code"),
        (10, "XAU", ValueError, "has no minor unit"),
        (10, "ABC", ValueError, "not an ISO 4217 currency code"),
    ],
)
def test_money_names_what_is_wrong_amount_first(minor: Any, currency: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Money(minor, currency)


def test_an_int_subclass_amount_is_still_money_and_evolve_and_validate_check_again() -> None:
    assert Money(Units(5), "USD") == Money(5, "USD")
    assert Money(Cents.TEN, "USD").minor == 10
    with pytest.raises(TypeError, match="a float is never accepted"):
        attrs.evolve(Money(1, "USD"), minor=1.5)
    with pytest.raises(ValueError, match="ISO 4217"):
        attrs.evolve(Money(1, "USD"), currency="usd")
    broken = _derived(1, "usd")  # only the core's own arithmetic builds Money unchecked
    with pytest.raises(ValueError, match="ISO 4217"):
        attrs.validate(broken)


def test_validators_switched_off_by_the_host_are_off_for_money_as_before() -> None:
    # attrs lets a host switch validators off; the checks that were validators stay validators.
    with attrs.validators.disabled():
        assert outcome(Money, 1.5, "usd")[0] == "built"


# -- Payment ------------------------------------------------------------------------------------

SOME_CURRENCIES = st.sampled_from(["USD", "USD", "USD", "EUR", "JPY"])
SMALL = st.integers(min_value=-2, max_value=12)


@st.composite
def totals_and_amount(draw: st.DrawFn) -> dict[str, Any]:
    currency = draw(SOME_CURRENCIES)
    fields: dict[str, Any] = {"amount": Money(draw(SMALL), currency)}
    for name in ("authorized", "captured", "refunded", "voided", "charged_back"):
        # Mostly consistent with the amount, sometimes anything at all.
        other = draw(SOME_CURRENCIES) if draw(st.integers(0, 9)) == 0 else currency
        fields[name] = Money(draw(SMALL), other)
    return fields


@st.composite
def operations(draw: st.DrawFn, currency: str) -> tuple[Operation, ...]:
    count = draw(st.integers(0, 3))
    ops = []
    for n in range(count):
        other = draw(SOME_CURRENCIES) if draw(st.integers(0, 5)) == 0 else currency
        ops.append(
            Operation(
                draw(st.sampled_from(list(OperationKind))),
                f"op_{n}",
                Money(draw(SMALL), other),
                status=draw(st.sampled_from(list(OperationStatus))),
            )
        )
    return tuple(ops)


@st.composite
def payment_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields = draw(totals_and_amount())
    fields["operations"] = draw(operations(fields["amount"].currency))
    fields.update(
        provider="fakepay",
        id="ch_1",
        status=draw(st.sampled_from(list(PaymentStatus))),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return fields


@settings(max_examples=600)
@given(payment_fields())
def test_a_payment_is_built_or_refused_exactly_as_its_former_checks_said(fields: dict[str, Any]) -> None:
    new = outcome(Payment, **fields)

    @attrs.frozen
    class Reference:
        # The same fields with no checks of their own, for the reference to read.
        values: dict[str, Any]

        def __getattr__(self, name: str) -> Any:
            return self.values[name]

    old = outcome(reference_payment_checks, Reference(fields))
    if old[0] == "refused":
        assert new == old
    else:
        assert new[0] == "built"
        assert attrs.asdict(new[1], recurse=False) == {
            field.name: fields.get(field.name, field.default) for field in attrs.fields(Payment)
        }


def test_the_first_total_in_another_currency_is_the_one_named() -> None:
    usd, eur = Money(0, "USD"), Money(0, "EUR")
    fields = {"authorized": usd, "captured": eur, "refunded": usd, "voided": eur, "charged_back": eur}
    with pytest.raises(ValueError, match="^captured is in EUR, the payment in USD$"):
        Payment("fakepay", "ch_1", PaymentStatus.PENDING, usd, **fields)
    fields = {"authorized": usd, "captured": usd, "refunded": usd, "voided": usd, "charged_back": eur}
    with pytest.raises(ValueError, match="^charged_back is in EUR, the payment in USD$"):
        Payment("fakepay", "ch_1", PaymentStatus.PENDING, usd, **fields)


def test_the_first_negative_total_is_the_one_named() -> None:
    zero, minus = Money(0, "USD"), Money(-1, "USD")
    with pytest.raises(ValueError, match="^refunded -0.01 USD is negative$"):
        Payment.new("fakepay", "ch_1", PaymentStatus.PENDING, zero, refunded=minus, charged_back=minus)


def test_a_payment_evolved_into_an_impossible_one_is_refused() -> None:
    payment = Payment.new("fakepay", "ch_1", PaymentStatus.AUTHORIZED, Money(100, "USD"))
    with pytest.raises(ValueError, match="exceed authorized"):
        attrs.evolve(payment, captured=Money(1, "USD"))
    with pytest.raises(ValueError, match="voided is in EUR"):
        attrs.evolve(payment, voided=Money(0, "EUR"))


# -- enum members as keys -----------------------------------------------------------------------

HASHED_BY_IDENTITY = (PaymentStatus, MandateStatus, OperationKind, OperationStatus)


@pytest.mark.parametrize("enum_class", HASHED_BY_IDENTITY, ids=lambda cls: cls.__name__)
def test_members_hashed_by_identity_still_key_dicts_and_sets_as_enum_members_do(
    enum_class: type[enum.Enum],
) -> None:
    # Round three gave these enums the identity hash (Enum's own hashes the name in Python).
    # Equality is identity either way, so every lookup finds what it found before: by the
    # member, by the member fetched by value or name, and after a pickle round trip.
    members = list(enum_class)
    table = {member: n for n, member in enumerate(members)}
    for n, member in enumerate(members):
        again = pickle.loads(pickle.dumps(member))  # noqa: S301 - the test's own bytes
        assert again is member
        assert table[enum_class(member.value)] == table[enum_class[member.name]] == table[again] == n
        assert hash(again) == hash(member)
        assert member in frozenset(members)
        assert member.value not in table  # a member is not its value, as before
    assert len({hash(member) for member in members}) == len(members)


def test_the_field_order_the_hot_paths_build_models_in_positionally() -> None:
    # payment_from_charge (psp_ppro) and the reducer's fold build these positionally for speed;
    # a reordered field must fail here first, and those calls be updated with it.
    assert [field.name for field in attrs.fields(Payment)] == [
        "provider",
        "id",
        "status",
        "amount",
        "authorized",
        "captured",
        "refunded",
        "voided",
        "charged_back",
        "provider_status",
        "merchant_reference",
        "next_action",
        "decline",
        "mandate_id",
        "operations",
        "captured_at",
        "created_at",
        "consumer",
        "order",
    ]
    assert [field.name for field in attrs.fields(Operation)] == [
        "kind",
        "id",
        "amount",
        "at",
        "status",
        "merchant_reference",
        "reason",
        "decline",
        "updated_at",
        "source",
    ]
    assert [field.name for field in attrs.fields(Address)] == [
        "first_name",
        "last_name",
        "street",
        "postal_code",
        "city",
        "region",
        "country",
        "phone",
    ]
    assert [field.name for field in attrs.fields(Consumer)] == [
        "country",
        "name",
        "email",
        "locale",
        "merchant_consumer_reference",
        "phone",
        "billing_address",
    ]
    assert [field.name for field in attrs.fields(Order)] == [
        "items",
        "shipping_address",
        "shipping_method",
        "reference",
        "tax",
    ]
