"""PPRO charges onto payments, written for speed, against the mapping it replaced.

Issue 18 (round three) rewrote ``payment_from_charge``'s middle: one pass per kind builds,
sums and orders the operations (no sort of the whole list), totals reuse the charge's zero and
whole amount, and models are built positionally. The former function (with the former
``operation``, ``consumer_of`` and ``order_of``) is kept here as the reference, calling the
module's unchanged helpers: over generated charges, well-formed and malformed (unknown
statuses, zero, negative and bool amounts, other currencies, bad timestamps, totals beyond the
amount, an automatic capture in flight, unknown shipping methods), the new mapping gives the
same payment, operation details included, or the same error.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import (
    Address,
    Consumer,
    LineItem,
    Money,
    Operation,
    OperationKind,
    OperationSource,
    OperationStatus,
    Order,
    Payment,
    PaymentStatus,
    ProviderResponseError,
    ShippingMethod,
    status_from_totals,
)
from psp_ppro import _mapping, _wire

REFERENCE_TOTAL_INDEX = (
    OperationKind.AUTHORIZATION,
    OperationKind.CAPTURE,
    OperationKind.REFUND,
    OperationKind.VOID,
)


def reference_address(raw: _wire.WireAddress | None) -> Address | None:
    if raw is None:
        return None
    return Address(
        first_name=raw.first_name,
        last_name=raw.last_name,
        street=raw.street,
        postal_code=raw.postal_code,
        city=raw.city,
        region=raw.region,
        country=raw.country,
        phone=raw.phone_number,
    )


def reference_consumer_of(raw: _wire.WireConsumer | None) -> Consumer | None:
    if raw is None:
        return None
    return Consumer(
        country=raw.country,
        name=raw.name,
        email=raw.email,
        locale=raw.locale,
        merchant_consumer_reference=raw.merchant_consumer_reference,
        phone=raw.phone,
        billing_address=reference_address(raw.billing_address),
    )


def reference_order_of(raw: _wire.WireOrder | None, currency: str) -> Order | None:
    if raw is None:
        return None
    method: ShippingMethod | None = None
    if raw.shipping_method is not None:
        method = _mapping._SHIPPING_METHODS_BACK.get(raw.shipping_method)
        if method is None:
            raise ProviderResponseError(
                f"unknown PPRO shipping method {raw.shipping_method!r}", provider_code=raw.shipping_method
            )
    return Order(
        items=tuple(
            LineItem(
                name=item.name,
                quantity=item.quantity,
                unit_price=_mapping.money(item.amount, currency),
                sku=item.sku,
                category=item.category,
                subcategory=item.sub_category,
            )
            for item in raw.order_items
        ),
        shipping_address=reference_address(raw.shipping_address),
        shipping_method=method,
        reference=raw.order_reference_number,
        tax=_mapping.money(raw.total_tax_amount, currency) if raw.total_tax_amount is not None else None,
    )


def reference_operation(
    kind: OperationKind,
    op: _wire.ChargeOperation | _wire.Authorization,
    currency: str,
    source: OperationSource = OperationSource.READ,
) -> Operation:
    """One PPRO sub-object as an operation, whatever its status (pending and failed ones too)."""
    if op.amount <= 0:
        raise ProviderResponseError(f"PPRO reported a {kind.value} of {op.amount} minor units")
    status = _mapping._sub_status(_mapping._STATUS_TABLES[kind], op.status, kind.value)
    if isinstance(op, _wire.Authorization):
        reference, reason = op.merchant_payment_charge_reference, None
    else:
        reference = (
            op.merchant_capture_reference or op.merchant_refund_reference or op.merchant_void_reference
        )
        reason = _mapping._REASONS.get(op.refund_reason) if op.refund_reason else None
    return Operation(
        kind=kind,
        id=op.id,
        amount=_mapping.money(op.amount, currency),
        at=_mapping.timestamp(op.created_at),
        status=status,
        merchant_reference=reference,
        reason=reason,
        decline=_mapping.decline_of(op.failure or _wire.Failure(failure_code="UNKNOWN"))
        if status is OperationStatus.FAILED
        else None,
        updated_at=_mapping.timestamp(op.updated_at),
        source=source,
    )



def reference_payment_from_charge(
    charge: _wire.Charge,
    *,
    provider: str,
    expected: Money | None = None,
    merchant_reference: str | None = None,
    mandate_id: str | None = None,
    source: OperationSource = OperationSource.READ,
    payment_method: str | None = None,
) -> Payment:
    """Normalize a charge. ``expected`` is what was requested: PPRO must report exactly it.

    ``payment_method`` is the provider's PPRO method: one PPRO account holds the charges of
    every method, and another method's charge is not this provider's payment.

    Every capture, void and refund on the charge is on the payment, pending and failed ones
    too; only succeeded ones count in the totals. PPRO's charge carries no chargebacks (only
    the CHARGEBACK_SUCCEEDED webhook does), so a read never reports ``charged_back``.
    """
    if payment_method is not None and charge.payment_method not in (None, payment_method):
        raise ProviderResponseError(
            f"charge {charge.id} is a {charge.payment_method} payment, not {payment_method}: read it "
            f"through the provider of {charge.payment_method}"
        )
    currency = charge.currency or (expected.currency if expected else None)
    if currency is None:
        raise ProviderResponseError(f"charge {charge.id}: PPRO reported no currency")
    if expected is not None and currency != expected.currency:
        raise ProviderResponseError(
            f"charge {charge.id}: PPRO reports currency {currency}, {expected.currency} was requested"
        )
    authorizations = charge.authorizations
    if authorizations:
        if authorizations[-1].amount <= 0:
            reported = authorizations[-1].amount
            raise ProviderResponseError(
                f"charge {charge.id}: PPRO reports an authorization of {reported} minor units"
            )
        amount = _mapping.money(authorizations[-1].amount, currency)
        if expected is not None and amount != expected:
            raise ProviderResponseError(
                f"charge {charge.id}: PPRO reports an authorization of {amount}, {expected} was requested"
            )
    elif expected is not None:
        amount = expected
    else:
        # A charge read while PPRO is still creating it (AUTHORIZATION_PROCESSING) has no
        # authorization yet, and PPRO's charge has no top-level amount: the payment is
        # reported with a zero amount until an authorization names it.
        amount = _mapping.money(0, currency)
    ops: list[Operation] = []
    for kind, items in (
        (OperationKind.AUTHORIZATION, authorizations),
        (OperationKind.CAPTURE, charge.captures),
        (OperationKind.REFUND, charge.refunds),
        (OperationKind.VOID, charge.voids),
    ):
        ops.extend(reference_operation(kind, item, currency, source) for item in items)
    if charge.status == "CAPTURE_PROCESSING" and not any(op.kind is OperationKind.CAPTURE for op in ops):
        # An automatic capture is in flight. Counted, the authorization would make the totals
        # say AUTHORIZED, and folding this read into a stored payment would offer it for
        # capture while PPRO captures it; the capture brings the money (as in the webhooks).
        ops = [op for op in ops if op.kind is not OperationKind.AUTHORIZATION]

    # One pass, in a list indexed by kind: an enum member hashes in Python, a dict keyed by
    # kinds would cost a call per operation and per total.
    sums = [0, 0, 0, 0]
    for op in ops:
        if op.counts:
            sums[REFERENCE_TOTAL_INDEX.index(op.kind)] += op.amount.minor
    zero = Money.zero(currency)
    # Most totals of a charge are zero: one zero serves them all.
    authorized, captured, refunded, voided = (Money(minor, currency) if minor else zero for minor in sums)
    table = _mapping.charge_status(charge.status)
    if table is PaymentStatus.FAILED:
        table = _mapping.failed_status(charge.failure)
    discard = (
        _mapping.discard_decline(charge.discards[-1].type)
        if charge.status == "DISCARDED" and charge.discards
        else None
    )
    if discard is not None:
        table = _mapping.discard_status(discard)
    implied = status_from_totals(authorized, captured, refunded, voided, zero)
    status = _mapping.combine(table, implied, captured)
    captures = [op.at for op in ops if op.kind is OperationKind.CAPTURE and op.counts and op.at is not None]
    reference = merchant_reference or next(
        (a.merchant_payment_charge_reference for a in authorizations if a.merchant_payment_charge_reference),
        None,
    )
    # Sub-object failures (a refused refund) are reported on the charge too; only a failed
    # charge is a declined payment, an old refused operation does not decline it.
    decline = (discard or _mapping.decline_of(charge.failure)) if status in _mapping._STOPPED else None
    try:
        return Payment(
            provider=provider,
            id=charge.id,
            status=status,
            amount=amount,
            authorized=authorized,
            captured=captured,
            refunded=refunded,
            voided=voided,
            charged_back=zero,
            provider_status=charge.status,
            merchant_reference=reference,
            next_action=_mapping.next_action(charge.authentication_methods)
            if status is PaymentStatus.REQUIRES_ACTION
            else None,
            decline=decline,
            mandate_id=mandate_id or charge.agreement_id,
            operations=tuple(sorted(ops, key=lambda op: (op.kind.value, op.id))),
            captured_at=min(captures) if captures else None,
            created_at=_mapping.timestamp(charge.created_at),
            consumer=reference_consumer_of(charge.consumer),
            order=reference_order_of(charge.order, currency),
        )
    except ValueError as error:
        raise ProviderResponseError(f"charge {charge.id}: PPRO's totals are inconsistent: {error}") from None


# -- generated charges ---------------------------------------------------------------------------

TIMES = st.sampled_from(
    [
        None,
        "2026-03-01T10:00:00Z",
        "2026-03-01T09:00:00+00:00",
        "2026-03-01T10:00:00",
        "2026-03-01T11:00:00.5Z",
        *[None, "2026-03-01T10:00:00Z"] * 4,
        "soon",
    ]
)
# Mostly well-formed, so that malformed parts meet well-formed ones.
AMOUNTS = st.one_of(st.integers(1, 12), st.integers(1, 12), st.integers(-1, 0), st.booleans())
IDS = st.sampled_from(["a", "b", "c"])
FAILURES = st.one_of(
    st.none(),
    st.builds(
        _wire.Failure,
        failure_type=st.sampled_from([None, "INTERNAL_DECLINE", "PROVIDER_DECLINE", "PROVIDER_ERROR"]),
        failure_code=st.sampled_from([None, "INSUFFICIENT_FUNDS", "SOMETHING_NEW"]),
    ),
)


def sub_status(table: Any) -> st.SearchStrategy[str]:
    return st.sampled_from([*table, *table, *table, "SOMETHING_NEW"])


AUTHORIZATIONS = st.builds(
    _wire.Authorization,
    id=IDS,
    amount=AMOUNTS,
    status=sub_status(_mapping.AUTHORIZATION_STATUSES),
    merchant_payment_charge_reference=st.sampled_from([None, "", "order-1"]),
    failure=FAILURES,
    created_at=TIMES,
    updated_at=TIMES,
)


def charge_operations(table: Any) -> st.SearchStrategy[_wire.ChargeOperation]:
    return st.builds(
        _wire.ChargeOperation,
        id=IDS,
        amount=AMOUNTS,
        status=sub_status(table),
        failure=FAILURES,
        created_at=TIMES,
        updated_at=TIMES,
        merchant_capture_reference=st.sampled_from([None, "cap-ref"]),
        merchant_refund_reference=st.sampled_from([None, "ref-ref"]),
        refund_reason=st.sampled_from([None, "RETURN", "FRAUD", "NEW_REASON"]),
    )


CHARGES = st.builds(
    _wire.Charge,
    id=st.just("charge_1"),
    status=st.sampled_from([*_mapping.CHARGE_STATUS, "SOMETHING_NEW"]),
    payment_method=st.sampled_from([None, "AMAZON_PAY", "AMAZON_PAY", "AMAZON_PAY", "IDEAL"]),
    currency=st.sampled_from(["USD"] * 12 + ["EUR", None, "usd"]),
    agreement_id=st.sampled_from([None, "agr_1"]),
    failure=FAILURES,
    authentication_methods=st.sampled_from(
        [
            (),
            (
                _wire.AuthenticationMethod(
                    "REDIRECT", _wire.AuthenticationDetails("https://ppro.example/a", "GET")
                ),
            ),
        ]
    ),
    authorizations=st.lists(AUTHORIZATIONS, max_size=2).map(tuple),
    captures=st.lists(charge_operations(_mapping.CAPTURE_STATUSES), max_size=3).map(tuple),
    refunds=st.lists(charge_operations(_mapping.REFUND_STATUSES), max_size=3).map(tuple),
    voids=st.lists(charge_operations(_mapping.VOID_STATUSES), max_size=2).map(tuple),
    created_at=TIMES,
    discards=st.sampled_from(
        [(), (_wire.Discard(type="AUTHENTICATION_TIMEOUT"),), (_wire.Discard(type="NEW"),)]
    ),
    consumer=st.sampled_from([None, _wire.WireConsumer(country="US", name="John Smith")]),
    order=st.none(),
)

ADDRESSES = st.one_of(
    st.none(),
    st.builds(
        _wire.WireAddress,
        first_name=st.sampled_from([None, "Sandbox"]),
        last_name=st.sampled_from([None, "Buyer"]),
        phone_number=st.sampled_from([None, "+1 206 555 0100"]),
        street=st.sampled_from([None, "410 Terry Ave N"]),
        postal_code=st.sampled_from([None, "98109"]),
        city=st.sampled_from([None, "Seattle"]),
        region=st.sampled_from([None, "WA"]),
        country=st.sampled_from([None, "US"]),
    ),
)
CONSUMERS = st.one_of(
    st.none(),
    st.builds(
        _wire.WireConsumer,
        country=st.sampled_from(["US", "NL"]),
        name=st.sampled_from([None, "John Smith"]),
        email=st.sampled_from([None, "buyer@example.com"]),
        locale=st.sampled_from([None, "en-US"]),
        merchant_consumer_reference=st.sampled_from([None, "cust-1"]),
        phone=st.sampled_from([None, "+31 20 555 0100"]),
        billing_address=ADDRESSES,
    ),
)
ORDERS = st.one_of(
    st.none(),
    st.builds(
        _wire.WireOrder,
        order_items=st.lists(
            st.builds(
                _wire.WireOrderItem,
                name=st.just("Socks"),
                quantity=st.integers(1, 3),
                amount=st.one_of(st.integers(1, 500), st.booleans()),
                sku=st.sampled_from([None, "sku-1"]),
                category=st.sampled_from([None, "clothing"]),
                sub_category=st.sampled_from([None, "feet"]),
            ),
            max_size=2,
        ).map(tuple),
        shipping_method=st.sampled_from([None, "VIRTUAL", "TRACKED_DELIVERY", "BY_PIGEON"]),
        shipping_address=ADDRESSES,
        order_reference_number=st.sampled_from([None, "order-1"]),
        total_tax_amount=st.sampled_from([None, 0, 19, -1]),
    ),
)


def outcome(mapping: Any, charge: _wire.Charge, options: dict[str, Any]) -> tuple[str, Any]:
    try:
        payment = mapping(charge, **options)
    except Exception as error:  # whatever is raised is compared
        return ("refused", (type(error), str(error)))
    # at, updated_at and source are not part of an Operation's equality: compared too.
    details = [(op.at, op.updated_at, op.source) for op in payment.operations]
    return ("mapped", (payment, details))


OPTIONS = st.fixed_dictionaries(
    {"provider": st.just("amazon_pay")},
    optional={
        "expected": st.builds(Money, st.integers(1, 12), st.sampled_from(["USD", "USD", "USD", "EUR"])),
        "merchant_reference": st.sampled_from(["order-9", ""]),
        "source": st.sampled_from(list(OperationSource)),
        "payment_method": st.sampled_from(["AMAZON_PAY"]),
        "mandate_id": st.sampled_from(["agr_9"]),
    },
)


@settings(max_examples=400)
@given(CHARGES, OPTIONS)
def test_a_charge_maps_to_the_payment_or_the_error_the_former_mapping_gave(
    charge: _wire.Charge, options: dict[str, Any]
) -> None:
    assert outcome(_mapping.payment_from_charge, charge, options) == outcome(
        reference_payment_from_charge, charge, options
    )


WELL_FORMED_TIMES = st.sampled_from(
    [
        None,
        "2026-03-01T10:00:00Z",
        "2026-03-01T09:00:00+00:00",
        "2026-03-01T10:00:00",
        "2026-03-01T11:00:00.5Z",
    ]
)


def well_formed(table: Any, top: int) -> st.SearchStrategy[tuple[_wire.ChargeOperation, ...]]:
    item = st.builds(
        _wire.ChargeOperation,
        id=IDS,
        amount=st.integers(1, top),
        status=st.sampled_from(list(table)),
        failure=FAILURES,
        created_at=WELL_FORMED_TIMES,
        updated_at=WELL_FORMED_TIMES,
        refund_reason=st.sampled_from([None, "RETURN"]),
    )
    return st.lists(item, max_size=3).map(tuple)


WELL_FORMED_CHARGES = st.builds(
    _wire.Charge,
    id=st.just("charge_1"),
    status=st.sampled_from(list(_mapping.CHARGE_STATUS)),
    currency=st.just("USD"),
    failure=FAILURES,
    authorizations=st.lists(
        st.builds(
            _wire.Authorization,
            id=IDS,
            amount=st.just(1000),
            status=st.sampled_from(list(_mapping.AUTHORIZATION_STATUSES)),
            merchant_payment_charge_reference=st.sampled_from([None, "order-1"]),
            created_at=WELL_FORMED_TIMES,
        ),
        max_size=2,
    ).map(tuple),
    captures=well_formed(_mapping.CAPTURE_STATUSES, 400),
    refunds=well_formed(_mapping.REFUND_STATUSES, 150),
    voids=well_formed(_mapping.VOID_STATUSES, 150),
    created_at=WELL_FORMED_TIMES,
    discards=st.sampled_from([(), (_wire.Discard(type="MERCHANT_INITIATED_DISCARD"),)]),
    consumer=CONSUMERS,
    order=ORDERS,
)


@settings(max_examples=600)
@given(WELL_FORMED_CHARGES, OPTIONS.filter(lambda options: "expected" not in options))
def test_a_well_formed_charge_with_many_operations_maps_as_before(
    charge: _wire.Charge, options: dict[str, Any]
) -> None:
    # The first property meets many refusals; this one mostly maps, with several operations
    # of one kind to order and sum, in every charge status (totals beyond the amount included).
    assert outcome(_mapping.payment_from_charge, charge, options) == outcome(
        reference_payment_from_charge, charge, options
    )


def test_operations_come_in_kind_word_then_id_order_and_the_first_capture_dates_the_payment() -> None:
    capture = _wire.ChargeOperation
    charge = _wire.Charge(
        id="charge_1",
        status="CAPTURED",
        currency="USD",
        authorizations=(_wire.Authorization("authz_1", 1000, "AUTHORIZED"),),
        voids=(capture("void_1", 100, "VOIDED"),),
        captures=(
            capture("cap_b", 500, "CAPTURED", created_at="2026-03-01T12:00:00Z"),
            capture("cap_c", 400, "FAILED", created_at="2026-03-01T08:00:00Z"),
            capture("cap_a", 400, "CAPTURED", created_at="2026-03-01T10:00:00Z"),
        ),
        refunds=(capture("ref_1", 50, "PENDING"),),
    )
    payment = _mapping.payment_from_charge(charge, provider="amazon_pay")
    assert [(op.kind, op.id) for op in payment.operations] == [
        (OperationKind.AUTHORIZATION, "authz_1"),
        (OperationKind.CAPTURE, "cap_a"),
        (OperationKind.CAPTURE, "cap_b"),
        (OperationKind.CAPTURE, "cap_c"),
        (OperationKind.REFUND, "ref_1"),
        (OperationKind.VOID, "void_1"),
    ]
    assert [kind.value for kind in OperationKind][:4] == sorted(kind.value for kind in REFERENCE_TOTAL_INDEX)
    assert payment.captured_at is not None and payment.captured_at.hour == 10
    assert (payment.authorized, payment.captured, payment.voided) == (
        Money(1000, "USD"),
        Money(900, "USD"),
        Money(100, "USD"),
    )
    assert payment.refunded == Money(0, "USD") and payment.refund_pending == Money(50, "USD")
    assert payment.status is PaymentStatus.CAPTURED


def test_an_automatic_capture_in_flight_counts_no_authorization_but_still_reads_it() -> None:
    flight = _wire.Charge(
        id="charge_1",
        status="CAPTURE_PROCESSING",
        currency="USD",
        authorizations=(_wire.Authorization("authz_1", 1000, "AUTHORIZED"),),
    )
    payment = _mapping.payment_from_charge(flight, provider="amazon_pay")
    assert payment.operations == () and payment.authorized == Money(0, "USD")
    assert payment.status is PaymentStatus.PROCESSING
    malformed = _wire.Charge(
        id="charge_1",
        status="CAPTURE_PROCESSING",
        currency="USD",
        authorizations=(
            _wire.Authorization("authz_0", 1000, "NEW_STATUS"),
            _wire.Authorization("authz_1", 1000, "AUTHORIZED"),
        ),
    )
    with pytest.raises(ProviderResponseError, match="unknown PPRO authorization status 'NEW_STATUS'"):
        _mapping.payment_from_charge(malformed, provider="amazon_pay")
