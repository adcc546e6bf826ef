"""The validation rules rewritten for speed (issue 18) decide exactly as the rules they replaced.

Each old rule is kept here, word for word, as the reference; hypothesis generates the inputs,
malformed ones included, and the new rule must accept, refuse (with the same error, field and
message) or compute the same.
"""

from __future__ import annotations

import calendar
import string
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import (
    Capabilities,
    Money,
    Operation,
    OperationKind,
    OperationStatus,
    Payment,
    PaymentStatus,
    ValidationError,
)
from psp_core._capabilities import add_months, authorization_deadline, check_id


def reference_check_id(field: str, value: object, caps: Capabilities) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string")
    if (
        (caps.max_text is not None and len(value) > caps.max_text)
        or any(c in value for c in "/?#\\")
        or not value.isprintable()
        or value.strip(".") == ""
    ):
        raise ValidationError(field, f"{value!r} is not a valid identifier; pass the id the provider gave")


def reference_add_months(at: datetime, months: int) -> datetime:
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def reference_authorization_deadline(caps: Capabilities, payment: Payment) -> datetime | None:
    if caps.authorization_validity is None:
        return None
    times = [
        op.at
        for op in payment.operations_of(OperationKind.AUTHORIZATION, OperationStatus.SUCCEEDED)
        if op.at is not None
    ]
    start = min(times) if times else payment.created_at
    return None if start is None else start + caps.authorization_validity


def outcome(rule: object, *args: object) -> tuple[str, object]:
    """What a rule did: its result, or its error's type, field and message."""
    try:
        return ("returned", rule(*args))  # type: ignore[operator]
    except ValidationError as error:
        return ("refused", (type(error), error.field, str(error)))
    except (ValueError, OverflowError, TypeError) as error:
        return ("raised", type(error))


def caps(**changes: object) -> Capabilities:
    return Capabilities(currencies=frozenset({"EUR"}), countries=frozenset({"DE"}), **changes)  # type: ignore[arg-type]


IDS = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.printable + "./\\?#\u200b\u00e9", max_size=12),
    st.sampled_from(["", " ", ".", "..", "...", "a/b", "a?b", "a#b", "a\\b", "ch_1", "x" * 300]),
    st.integers(),
    st.none(),
)


@settings(max_examples=800, deadline=None)
@given(value=IDS, max_text=st.one_of(st.none(), st.integers(1, 64)))
def test_check_id_refuses_and_accepts_as_before(value: object, max_text: int | None) -> None:
    profile = caps(max_text=max_text)
    assert outcome(check_id, "payment.id", value, profile) == outcome(
        reference_check_id, "payment.id", value, profile
    )


@pytest.mark.parametrize("value", ["a/b", "a?b", "a#b", "a\\b", "..", "", "x\ny"])
def test_an_id_that_is_not_one_path_segment_is_refused_naming_the_field(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_id("payment_id", value, caps())
    assert refused.value.field == "payment_id"


ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)), None])


@settings(max_examples=800, deadline=None)
@given(at=st.datetimes(timezones=ZONES), months=st.integers(-30, 400))
def test_add_months_lands_on_the_same_day_as_before(at: datetime, months: int) -> None:
    assert outcome(add_months, at, months) == outcome(reference_add_months, at, months)


def test_a_day_the_target_month_lacks_becomes_its_last_day() -> None:
    assert add_months(datetime(2026, 1, 31, 12, tzinfo=UTC), 1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert add_months(datetime(2027, 8, 29, tzinfo=UTC), 6) == datetime(2028, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2026, 7, 28, tzinfo=UTC), 7) == datetime(2027, 2, 28, tzinfo=UTC)


AWARE = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.sampled_from([UTC])
)


@st.composite
def payments(draw: st.DrawFn) -> Payment:
    amount = Money(10_000, "EUR")
    operations = tuple(
        Operation(
            kind=draw(st.sampled_from(list(OperationKind))),
            id=f"op_{index}",
            amount=Money(draw(st.integers(1, 100)), "EUR"),
            at=draw(st.one_of(st.none(), AWARE)),
            status=draw(st.sampled_from(list(OperationStatus))),
        )
        for index in range(draw(st.integers(0, 6)))
    )
    return Payment.new(
        "acme",
        "pay_1",
        PaymentStatus.AUTHORIZED,
        amount,
        authorized=amount,
        operations=operations,
        created_at=draw(st.one_of(st.none(), AWARE)),
    )


@settings(max_examples=300, deadline=None)
@given(payment=payments(), validity=st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(days=60))))
def test_the_authorization_deadline_is_the_one_computed_before(
    payment: Payment, validity: timedelta | None
) -> None:
    profile = caps(authorization_validity=validity)
    assert authorization_deadline(profile, payment) == reference_authorization_deadline(profile, payment)
