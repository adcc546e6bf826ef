"""The storage format: ``to_json`` / ``from_json`` round-trip every stored model exactly, and a
document an older psp wrote keeps loading.

The strategies are derived from the models' attrs fields and type hints, so a field added to
``Payment``, ``Operation``, ``Mandate`` or ``WebhookEvent`` (or to anything they hold) is
generated and round-tripped without touching this file; a field of a type the derivation does
not know fails loudly here, asking for a strategy and a storage hook.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import (
    STORAGE_VERSION,
    EventKind,
    Mandate,
    MandateStatus,
    Money,
    Operation,
    OperationKind,
    Payment,
    PaymentStatus,
    ValidationError,
    WebhookEvent,
    apply_event,
    apply_mandate_event,
    from_json,
    storage_converter,
    to_json,
)

CURRENCIES = ["USD", "EUR", "JPY", "BHD", "CLF"]  # exponents 2, 2, 0, 3, 4
TIMEZONES = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=7))]
)
TOTALS = ("authorized", "captured", "refunded", "voided", "charged_back")


def strategy_for(hint: Any, currency: str) -> st.SearchStrategy[Any]:
    """A strategy for any value of type ``hint``; Money is in ``currency``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is type(None):
        return st.none()
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(arg, currency) for arg in args])
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return st.lists(strategy_for(args[0], currency), max_size=3).map(tuple)
    if origin in (Mapping, dict):
        return st.dictionaries(strategy_for(args[0], currency), strategy_for(args[1], currency), max_size=3)
    if hint is Money:
        return st.integers(-(10**15), 10**15).map(lambda minor: Money(minor, currency))
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-(2**63), 2**63)
    if hint is str:
        return st.text(max_size=20)
    if hint is datetime:
        return st.datetimes(timezones=TIMEZONES)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(hint)
    if attrs.has(hint):
        return instances(hint, currency)
    raise TypeError(f"no strategy for {hint!r}: teach strategy_for (and the storage converter) this type")


def instances(
    cls: type[Any], currency: str, **given_fields: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Instances of the attrs class ``cls``, every init field generated from its type hint."""
    hints = typing.get_type_hints(cls)
    fields = {
        field.name: given_fields[field.name]
        if field.name in given_fields
        else strategy_for(hints[field.name], currency)
        for field in attrs.fields(cls)
        if field.init
    }
    return st.fixed_dictionaries(fields).map(lambda kwargs: cls(**kwargs))


@st.composite
def totals(draw: st.DrawFn, currency: str) -> dict[str, Money]:
    """Totals that keep a payment's invariants (authorized <= amount, captured + voided <=
    authorized, refunded + charged back <= captured)."""
    amount = draw(st.integers(0, 10**12))
    authorized = draw(st.integers(0, amount))
    captured = draw(st.integers(0, authorized))
    voided = draw(st.integers(0, authorized - captured))
    refunded = draw(st.integers(0, captured))
    charged_back = draw(st.integers(0, captured - refunded))
    values = (amount, authorized, captured, refunded, voided, charged_back)
    return {name: Money(value, currency) for name, value in zip(("amount", *TOTALS), values, strict=True)}


@st.composite
def payments(draw: st.DrawFn) -> Payment:
    currency = draw(st.sampled_from(CURRENCIES))
    money = draw(totals(currency))
    built: Payment = draw(
        instances(Payment, currency, **{name: st.just(value) for name, value in money.items()})
    )
    return built


def mandates() -> st.SearchStrategy[Mandate]:
    return st.sampled_from(CURRENCIES).flatmap(lambda currency: instances(Mandate, currency))


def webhook_events() -> st.SearchStrategy[WebhookEvent]:
    return st.sampled_from(CURRENCIES).flatmap(lambda currency: instances(WebhookEvent, currency))


def every_field(value: Any) -> Any:
    """The value's fields, recursively, including those attrs leaves out of ``==`` (``Operation.at``),
    with each timestamp's UTC offset beside it: an exact round trip keeps all of them."""
    if attrs.has(type(value)):
        return (type(value), {f.name: every_field(getattr(value, f.name)) for f in attrs.fields(type(value))})
    if isinstance(value, tuple | list):
        return [every_field(item) for item in value]
    if isinstance(value, datetime):
        return (value, value.utcoffset())
    return value


def assert_round_trips(value: Any) -> None:
    text = to_json(value)
    loaded = from_json(text, type(value))
    assert loaded == value
    assert every_field(loaded) == every_field(value)
    assert to_json(loaded) == text, "the same value always gives the same document"
    document = json.loads(text)
    assert document["psp_storage"] == STORAGE_VERSION


@given(payments())
def test_any_payment_round_trips_exactly(payment: Payment) -> None:
    assert_round_trips(payment)


@given(mandates())
def test_any_mandate_round_trips_exactly(mandate: Mandate) -> None:
    assert_round_trips(mandate)


@given(webhook_events())
def test_any_webhook_event_round_trips_exactly(event: WebhookEvent) -> None:
    assert_round_trips(event)


@given(payments())
def test_the_storage_converter_writes_the_data_of_the_stored_form_and_reads_it_back(payment: Payment) -> None:
    # Other packages (the store's journal of write requests) keep values in the same form.
    converter = storage_converter()
    data = converter.unstructure(payment)
    assert data == json.loads(to_json(payment))["data"]
    assert converter.structure(data, Payment) == payment


def test_the_storage_converter_is_strict_about_primitives_and_unknown_keys() -> None:
    converter = storage_converter()
    with pytest.raises(TypeError, match="expected int, got bool"):
        converter.structure(True, int)
    with pytest.raises(TypeError, match="expected str, got int"):
        converter.structure(12, str)
    with pytest.raises(TypeError, match="minor"):
        converter.structure(10.5, Money)
    assert converter.structure({"minor": 1050, "currency": "EUR"}, Money) == Money(1050, "EUR")


@given(payments())
def test_amounts_are_stored_as_integer_minor_units_never_floats(payment: Payment) -> None:
    def numbers(node: Any) -> list[Any]:
        if isinstance(node, dict):
            return [n for child in node.values() for n in numbers(child)]
        if isinstance(node, list):
            return [n for child in node for n in numbers(child)]
        return [node] if isinstance(node, int | float) and not isinstance(node, bool) else []

    document = json.loads(to_json(payment))
    assert all(type(number) is int for number in numbers(document))
    assert document["data"]["amount"] == {"minor": payment.amount.minor, "currency": payment.amount.currency}


# A document as psp's first storage version writes it. It must load for as long as psp reads
# version 1: change the model, and this document still has to come back as this payment.
VERSION_1_PAYMENT = """{
  "psp_storage": 1,
  "type": "payment",
  "data": {
    "provider": "amazon_pay", "id": "charge_X1", "status": "partially_refunded",
    "amount": {"minor": 4990, "currency": "USD"},
    "authorized": {"minor": 4990, "currency": "USD"},
    "captured": {"minor": 4990, "currency": "USD"},
    "refunded": {"minor": 500, "currency": "USD"},
    "voided": {"minor": 0, "currency": "USD"},
    "charged_back": {"minor": 0, "currency": "USD"},
    "provider_status": "CAPTURED", "merchant_reference": "order-1001",
    "next_action": null, "decline": null, "mandate_id": null,
    "operations": [
      {"kind": "capture", "id": "cap_1", "amount": {"minor": 4990, "currency": "USD"},
       "at": "2026-12-01T10:00:00+00:00"},
      {"kind": "refund", "id": "ref_1", "amount": {"minor": 500, "currency": "USD"}, "at": null}
    ],
    "captured_at": "2026-12-01T10:00:00+00:00", "created_at": "2026-12-01T09:58:00+00:00"
  }
}"""


def test_a_version_1_document_keeps_loading() -> None:
    payment = from_json(VERSION_1_PAYMENT, Payment)
    usd = Money.parse("49.90", "USD")
    assert payment.id == "charge_X1" and payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (payment.captured, payment.refunded) == (usd, Money(500, "USD"))
    assert payment.operations[0] == Operation(OperationKind.CAPTURE, "cap_1", usd)
    assert payment.operations[0].at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert payment.refundable == Money(4490, "USD")


def test_a_document_missing_a_field_added_later_loads_with_its_default() -> None:
    document = json.loads(VERSION_1_PAYMENT)
    for optional in ("captured_at", "created_at", "mandate_id", "decline"):
        del document["data"][optional]
    payment = from_json(json.dumps(document), Payment)
    assert payment.captured_at is None and payment.mandate_id is None


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        (lambda d: d.update(psp_storage=STORAGE_VERSION + 1), "psp_storage", "upgrade psp"),
        (lambda d: d.update(psp_storage="1"), "psp_storage", "schema version number"),
        (lambda d: d.pop("psp_storage"), "psp_storage", "is this a psp document"),
        (lambda d: d.update(type="mandate"), "type", "expected 'payment'"),
        (lambda d: d.update(written_by="x"), "document", "upgrade psp"),
        (lambda d: d["data"].update(tip={"minor": 1, "currency": "USD"}), "data", "newer psp wrote it"),
        (lambda d: d["data"].pop("id"), "data", "data.id"),
        (lambda d: d["data"]["amount"].update(minor=49.9), "data", "data.amount"),
        (lambda d: d["data"]["amount"].update(minor="4990"), "data", "data.amount"),
        (lambda d: d["data"].update(id=17), "data", "data.id"),
        (lambda d: d["data"].update(status="paid"), "data", "data.status"),
        (lambda d: d["data"]["refunded"].update(minor=99_999), "data", "exceed captured"),
        (lambda d: d["data"]["operations"][0].update(at=1764583200), "data", "data.operations[0].at"),
    ],
)
def test_a_bad_or_newer_document_is_refused_naming_what_is_wrong(change: Any, field: str, says: str) -> None:
    document = json.loads(VERSION_1_PAYMENT)
    change(document)
    with pytest.raises(ValidationError) as refused:
        from_json(json.dumps(document), Payment)
    assert refused.value.field == field
    assert says in str(refused.value)


def test_text_that_is_not_json_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="document: is not JSON"):
        from_json("{'psp_storage': 1", Payment)


def test_only_the_stored_models_have_a_storage_form() -> None:
    with pytest.raises(TypeError, match="to_json stores a Payment, Mandate, WebhookEvent"):
        to_json(Money(1, "USD"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="from_json loads"):
        from_json(VERSION_1_PAYMENT, Money)  # type: ignore[type-var]


# -- mandate webhooks fold like payment webhooks -----------------------------------------------


def mandate_event(status: MandateStatus, event_id: str, mandate_id: str = "agr_1") -> WebhookEvent:
    kinds = {
        MandateStatus.ACTIVE: EventKind.MANDATE_ACTIVE,
        MandateStatus.FAILED: EventKind.MANDATE_FAILED,
        MandateStatus.REVOKED: EventKind.MANDATE_REVOKED,
        MandateStatus.REQUIRES_ACTION: EventKind.MANDATE_REQUIRES_ACTION,
        MandateStatus.PENDING: EventKind.MANDATE_CREATED,
    }
    return WebhookEvent(
        provider="amazon_pay",
        event_id=event_id,
        kind=kinds[status],
        provider_type="payment-agreement.status",
        mandate_id=mandate_id,
        mandate_status=status,
        provider_status=status.value.upper(),
    )


STORED_MANDATE = Mandate("amazon_pay", "agr_1", MandateStatus.REQUIRES_ACTION, merchant_reference="sub-7")


@given(
    st.permutations([MandateStatus.REQUIRES_ACTION, MandateStatus.ACTIVE, MandateStatus.REVOKED]), st.data()
)
def test_mandate_events_in_any_order_and_duplicated_end_where_the_provider_is(
    order: list[MandateStatus], data: st.DataObject
) -> None:
    events = [mandate_event(status, f"evt_{status.value}") for status in order]
    events += data.draw(st.lists(st.sampled_from(events), max_size=3))
    mandate = STORED_MANDATE
    for event in events:
        mandate = apply_mandate_event(mandate, event)
    assert mandate.status is MandateStatus.REVOKED
    assert mandate.merchant_reference == "sub-7"
    assert mandate.next_action is None


def test_a_mandate_event_never_moves_a_mandate_back() -> None:
    active = apply_mandate_event(STORED_MANDATE, mandate_event(MandateStatus.ACTIVE, "evt_1"))
    assert active.status is MandateStatus.ACTIVE
    late = apply_mandate_event(active, mandate_event(MandateStatus.REQUIRES_ACTION, "evt_0"))
    assert late == active


def test_a_mandate_event_for_another_mandate_is_refused() -> None:
    with pytest.raises(ValueError, match="event is for mandate 'agr_2', not 'agr_1'"):
        apply_mandate_event(STORED_MANDATE, mandate_event(MandateStatus.ACTIVE, "evt_1", mandate_id="agr_2"))


def test_a_stored_payment_and_its_webhook_fold_after_a_round_trip_through_storage() -> None:
    stored = from_json(to_json(from_json(VERSION_1_PAYMENT, Payment)), Payment)
    refund = Operation(OperationKind.REFUND, "ref_2", Money(4490, "USD"))
    event = WebhookEvent(
        provider="amazon_pay",
        event_id="evt_9",
        kind=EventKind.PAYMENT_REFUNDED,
        provider_type="payment.refund",
        payment_id=stored.id,
        operation=refund,
    )
    assert apply_event(stored, event).status is PaymentStatus.REFUNDED
