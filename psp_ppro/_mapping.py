"""PPRO's statuses and failure codes onto psp's, and PPRO charges/agreements onto results.

Every PPRO value the plugin understands is in one of the tables below; anything else is a
``ProviderResponseError`` carrying the raw value, never a guess. A charge's normalized status
is the table's word combined with the money totals, because PPRO names a charge after its
*last* operation (VOIDED after a partial void even though the remainder is capturable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from operator import attrgetter

import attrs

from psp_core import (
    Address,
    ChargeInitiator,
    Consumer,
    Decline,
    DeclineCode,
    LineItem,
    Mandate,
    MandateStatus,
    Money,
    NextAction,
    Operation,
    OperationKind,
    OperationSource,
    OperationStatus,
    Order,
    Payment,
    PaymentStatus,
    ProviderResponseError,
    RefundReason,
    ScheduleType,
    ShippingMethod,
    status_from_totals,
)

from . import _wire

_P = PaymentStatus

CHARGE_STATUS: Mapping[str, PaymentStatus] = {
    "AUTHORIZATION_PROCESSING": _P.PENDING,
    "AUTHENTICATION_PENDING": _P.REQUIRES_ACTION,
    "AUTHORIZATION_ASYNC": _P.PROCESSING,
    "CAPTURE_PENDING": _P.AUTHORIZED,
    "CAPTURE_PROCESSING": _P.PROCESSING,
    "CAPTURED": _P.CAPTURED,
    "REFUND_PROCESSING": _P.CAPTURED,
    "REFUNDED": _P.REFUNDED,
    "VOID_PROCESSING": _P.AUTHORIZED,
    "VOIDED": _P.VOIDED,
    "DISCARD_PROCESSING": _P.PROCESSING,
    "DISCARDED": _P.EXPIRED,
    "FAILED": _P.FAILED,
}
"""Every PPRO charge status. FAILED is refined to DECLINED when the failure is a *_DECLINE."""

AGREEMENT_STATUS: Mapping[str, MandateStatus] = {
    "INITIALIZING": MandateStatus.PENDING,
    "AUTHENTICATION_PENDING": MandateStatus.REQUIRES_ACTION,
    "AUTHORIZATION_PROCESSING": MandateStatus.PENDING,
    "ACTIVE": MandateStatus.ACTIVE,
    "REVOKED_BY_CONSUMER": MandateStatus.REVOKED,
    "REVOKED_BY_MERCHANT": MandateStatus.REVOKED,
    "REVOKED_BY_PROVIDER": MandateStatus.REVOKED,
    "FAILED": MandateStatus.FAILED,
}

_O = OperationStatus

# Sub-object statuses (PPRO's charges spec). Anything not listed is unknown, never a guess.
AUTHORIZATION_STATUSES: Mapping[str, OperationStatus] = {
    "AUTHORIZED": _O.SUCCEEDED,
    "AUTHENTICATION_PENDING": _O.PENDING,
    "PROVIDER_CONFIRMATION_PENDING": _O.PENDING,
    "FAILED": _O.FAILED,
}
CAPTURE_STATUSES: Mapping[str, OperationStatus] = {"CAPTURED": _O.SUCCEEDED, "FAILED": _O.FAILED}
REFUND_STATUSES: Mapping[str, OperationStatus] = {
    "REFUNDED": _O.SUCCEEDED,
    "PENDING": _O.PENDING,
    "FAILED": _O.FAILED,
}
VOID_STATUSES: Mapping[str, OperationStatus] = {"VOIDED": _O.SUCCEEDED, "FAILED": _O.FAILED}
_REASONS = {
    raw: reason
    for reason, raw in {
        RefundReason.RETURN: "RETURN",
        RefundReason.DUPLICATE: "DUPLICATE",
        RefundReason.FRAUD: "FRAUD",
        RefundReason.CUSTOMER_REQUEST: "CUSTOMER_REQUEST",
        RefundReason.PRE_DISPUTE: "PRE_DISPUTE",
        RefundReason.OTHER: "OTHER",
    }.items()
}

_D = DeclineCode

FAILURE_CODES: Mapping[str, DeclineCode] = {
    "INSUFFICIENT_FUNDS": _D.INSUFFICIENT_FUNDS,
    "SUS_FRAUD": _D.SUSPECTED_FRAUD,
    "SUS_LOST": _D.SUSPECTED_FRAUD,
    "SUS_STOLEN": _D.SUSPECTED_FRAUD,
    "AUTHENTICATION_FAILED": _D.AUTHENTICATION_FAILED,
    "CANCELED_BY_CONSUMER": _D.CANCELLED_BY_CONSUMER,
    "EXPIRED_SESSION": _D.EXPIRED,
    "PAYMENT_METHOD_TIMEOUT": _D.EXPIRED,
    "AMOUNT_NOT_SUPPORTED": _D.AMOUNT_NOT_SUPPORTED,
    "INVALID_CURRENCY": _D.CURRENCY_NOT_SUPPORTED,
    "INVALID_COUNTRY": _D.COUNTRY_NOT_SUPPORTED,
    "INVALID_PAYMENT_METHOD": _D.PAYMENT_METHOD_NOT_SUPPORTED,
    "REFUND_NOT_SUPPORTED": _D.PAYMENT_METHOD_NOT_SUPPORTED,
    "AGREEMENT_INACTIVE": _D.MANDATE_INACTIVE,
    "AGREEMENT_REVOKED": _D.MANDATE_REVOKED,
    "REFUND_PERIOD_EXPIRED": _D.REFUND_PERIOD_EXPIRED,
    "EXCEEDS_AUTHORIZED_AMOUNT": _D.AMOUNT_EXCEEDED,
    "EXCEEDS_CAPTURED_AMOUNT": _D.AMOUNT_EXCEEDED,
    "EXCEEDS_REFUNDABLE_AMOUNT": _D.AMOUNT_EXCEEDED,
    "NO_AUTHORIZED_AMOUNT": _D.AMOUNT_EXCEEDED,
    "NO_CAPTURED_AMOUNT": _D.AMOUNT_EXCEEDED,
    "TRANSACTION_DISPUTED": _D.DISPUTED,
    "INTERNAL_SERVICE_UNAVAILABLE": _D.PROVIDER_UNAVAILABLE,
    "UNRESPONSIVE_PROVIDER": _D.PROVIDER_UNAVAILABLE,
    "UNRESPONSIVE_ISSUER": _D.PROVIDER_UNAVAILABLE,
    "INTERNAL_PROCESSING_ERROR": _D.PROCESSING_ERROR,
    "PROVIDER_PROCESSING_ERROR": _D.PROCESSING_ERROR,
    "SIMULTANEOUS_OPERATION_IN_PROGRESS": _D.PROCESSING_ERROR,
    "GENERIC_DECLINE": _D.GENERIC,
}
"""PPRO failure codes -> DeclineCode; an unlisted code is GENERIC with the raw code kept."""

REFUND_REASONS: Mapping[RefundReason, str] = {
    RefundReason.RETURN: "RETURN",
    RefundReason.DUPLICATE: "DUPLICATE",
    RefundReason.FRAUD: "FRAUD",
    RefundReason.CUSTOMER_REQUEST: "CUSTOMER_REQUEST",
    RefundReason.PRE_DISPUTE: "PRE_DISPUTE",
    RefundReason.OTHER: "OTHER",
}

_DECLINE_TYPES = frozenset({"INTERNAL_DECLINE", "PROVIDER_DECLINE"})
_STOPPED = frozenset({_P.FAILED, _P.DECLINED, _P.EXPIRED})


def charge_status(raw: str) -> PaymentStatus:
    try:
        return CHARGE_STATUS[raw]
    except KeyError:
        raise ProviderResponseError(f"unknown PPRO charge status {raw!r}", provider_code=raw) from None


def agreement_status(raw: str) -> MandateStatus:
    try:
        return AGREEMENT_STATUS[raw]
    except KeyError:
        raise ProviderResponseError(f"unknown PPRO agreement status {raw!r}", provider_code=raw) from None


def _sub_status(table: Mapping[str, OperationStatus], raw: str, what: str) -> OperationStatus:
    try:
        return table[raw]
    except KeyError:
        raise ProviderResponseError(f"unknown PPRO {what} status {raw!r}", provider_code=raw) from None


def decline_of(failure: _wire.Failure | None) -> Decline | None:
    if failure is None:
        return None
    raw = failure.failure_code or failure.provider_failure_code or "UNKNOWN"
    return Decline(
        code=FAILURE_CODES.get(raw, DeclineCode.GENERIC),
        provider_code=raw,
        message=failure.failure_message or "",
        provider_type=failure.failure_type,
        retryable=bool(failure.is_retryable),
    )


def failed_status(failure: _wire.Failure | None) -> PaymentStatus:
    """FAILED refined: a decline by PPRO or the provider is DECLINED, an error stays FAILED."""
    if failure is not None and failure.failure_type in _DECLINE_TYPES:
        return _P.DECLINED
    return _P.FAILED


def timestamp(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        # Quoted whole: the core scrubs secrets first and bounds the text after.
        raise ProviderResponseError(f"malformed PPRO timestamp {raw!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def next_action(methods: Iterable[_wire.AuthenticationMethod]) -> NextAction | None:
    for method in methods:
        if method.type == "REDIRECT" and method.details is not None and method.details.request_url:
            return NextAction(url=method.details.request_url, method=method.details.request_method or "GET")
    return None


def money(value: int, currency: str) -> Money:
    try:
        return Money(value, currency)
    except (TypeError, ValueError) as error:
        raise ProviderResponseError(f"PPRO reported an invalid amount: {error}") from None


def operation(
    kind: OperationKind,
    op: _wire.ChargeOperation | _wire.Authorization,
    currency: str,
    source: OperationSource = OperationSource.READ,
) -> Operation:
    """One PPRO sub-object as an operation, whatever its status (pending and failed ones too)."""
    if op.amount <= 0:
        raise ProviderResponseError(f"PPRO reported a {kind.value} of {op.amount} minor units")
    status = operation_status(kind, op.status)
    if isinstance(op, _wire.Authorization):
        reference, reason = op.merchant_payment_charge_reference, None
    else:
        reference = (
            op.merchant_capture_reference or op.merchant_refund_reference or op.merchant_void_reference
        )
        reason = _REASONS.get(op.refund_reason) if op.refund_reason else None
    # Positional, in field order: keywords cost ~0.6 us more per Operation on Python 3.11.
    return Operation(
        kind,  # kind
        op.id,  # id
        money(op.amount, currency),  # amount
        timestamp(op.created_at),  # at
        status,  # status
        reference,  # merchant_reference
        reason,  # reason
        decline_of(op.failure or _wire.Failure(failure_code="UNKNOWN"))  # decline
        if status is _OP_FAILED
        else None,
        timestamp(op.updated_at),  # updated_at
        source,  # source
    )


_STATUS_TABLES: Mapping[OperationKind, Mapping[str, OperationStatus]] = {
    OperationKind.AUTHORIZATION: AUTHORIZATION_STATUSES,
    OperationKind.CAPTURE: CAPTURE_STATUSES,
    OperationKind.REFUND: REFUND_STATUSES,
    OperationKind.VOID: VOID_STATUSES,
}


# Members the hot paths use, as module names: on Python 3.11 reading a member through its
# enum class costs ~0.1 us, a module global ~0.01 us.
_SUCCEEDED = OperationStatus.SUCCEEDED
_OP_FAILED = OperationStatus.FAILED
_AUTHORIZATION = OperationKind.AUTHORIZATION
_CAPTURE = OperationKind.CAPTURE
_REFUND = OperationKind.REFUND
_VOID = OperationKind.VOID
_FAILED = PaymentStatus.FAILED
_PROCESSING = PaymentStatus.PROCESSING
_AUTHORIZED = PaymentStatus.AUTHORIZED
_REQUIRES_ACTION = PaymentStatus.REQUIRES_ACTION


_BY_ID = attrgetter("id")


def _total(minor: int, amount: Money, zero: Money) -> Money:
    # A charge's total in its checked currency: zero, the whole amount, or a new Money.
    if not minor:
        return zero
    return amount if minor == amount.minor else Money(minor, amount.currency)


def operation_status(kind: OperationKind, status: str) -> OperationStatus:
    """What a sub-object's PPRO status means; only SUCCEEDED ones feed the totals."""
    # Speed: ``kind.value`` (a Python-level enum property) is read only for the error.
    known = _STATUS_TABLES[kind].get(status)
    if known is None:
        return _sub_status(_STATUS_TABLES[kind], status, kind.value)
    return known


def combine(table: PaymentStatus, implied: PaymentStatus | None, captured: Money) -> PaymentStatus:
    """The table's status and the totals' status, reconciled.

    The totals decide once money moved, except that a charge PPRO still calls *processing*
    is not offered for capture (its automatic capture is on the way), and a failed or
    expired charge stays so unless money was actually captured.
    """
    if implied is None:
        return table
    if table in _STOPPED and not captured:
        return table
    if table is _PROCESSING and implied is _AUTHORIZED:
        return table
    return implied


def payment_from_charge(
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
        amount = money(authorizations[-1].amount, currency)
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
        amount = money(0, currency)
    # Speed: one pass per kind builds its operations and sums the succeeded ones. The kinds are
    # visited in the order of their words (authorization, capture, refund, void), so each
    # kind's operations sorted by id are already the payment's order (kind word, then id) and
    # the whole list is never sorted; most kinds hold one operation or none.
    # An automatic capture in flight (CAPTURE_PROCESSING and no capture yet): counted, the
    # authorization would make the totals say AUTHORIZED, and folding this read into a stored
    # payment would offer it for capture while PPRO captures it; the capture brings the money
    # (as in the webhooks). Its authorizations are still read, so a malformed one is refused.
    drop_authorizations = charge.status == "CAPTURE_PROCESSING" and not charge.captures
    ops: list[Operation] = []
    sums = [0, 0, 0, 0]
    first_capture: datetime | None = None
    for index, kind, items in (
        (0, _AUTHORIZATION, authorizations),
        (1, _CAPTURE, charge.captures),
        (2, _REFUND, charge.refunds),
        (3, _VOID, charge.voids),
    ):
        if not items:
            continue
        built = [operation(kind, item, currency, source) for item in items]
        if index == 0 and drop_authorizations:
            continue
        if len(built) > 1:
            built.sort(key=_BY_ID)
        total = 0
        for op in built:
            if op.status is _SUCCEEDED:
                total += op.amount.minor
                if index == 1 and op.at is not None and (first_capture is None or op.at < first_capture):
                    first_capture = op.at
        sums[index] = total
        ops += built
    zero = Money(0, currency)
    # Most totals of a charge are zero or the whole amount: those Money are reused.
    authorized = _total(sums[0], amount, zero)
    captured = _total(sums[1], amount, zero)
    refunded = _total(sums[2], amount, zero)
    voided = _total(sums[3], amount, zero)
    table = charge_status(charge.status)
    if table is _FAILED:
        table = failed_status(charge.failure)
    discard = (
        discard_decline(charge.discards[-1].type)
        if charge.status == "DISCARDED" and charge.discards
        else None
    )
    if discard is not None:
        table = discard_status(discard)
    status = combine(table, status_from_totals(authorized, captured, refunded, voided, zero), captured)
    # The host's reference, else the first an authorization names (a loop: no generator).
    reference = merchant_reference or None
    if reference is None:
        for authorization in authorizations:
            if authorization.merchant_payment_charge_reference:
                reference = authorization.merchant_payment_charge_reference
                break
    # Sub-object failures (a refused refund) are reported on the charge too; only a failed
    # charge is a declined payment, an old refused operation does not decline it.
    decline = (discard or decline_of(charge.failure)) if status in _STOPPED else None
    try:
        # Positional, in field order: keywords cost ~0.8 us more for Payment's 19 fields on
        # Python 3.11 (tests/core pins the field order these calls rely on).
        return Payment(
            provider,  # provider
            charge.id,  # id
            status,  # status
            amount,  # amount
            authorized,  # authorized
            captured,  # captured
            refunded,  # refunded
            voided,  # voided
            zero,  # charged_back
            charge.status,  # provider_status
            reference,  # merchant_reference
            next_action(charge.authentication_methods) if status is _REQUIRES_ACTION else None,  # next_action
            decline,  # decline
            mandate_id or charge.agreement_id,  # mandate_id
            tuple(ops),  # operations
            first_capture,  # captured_at
            timestamp(charge.created_at),  # created_at
            consumer_of(charge.consumer),  # consumer
            order_of(charge.order, currency),  # order
        )
    except ValueError as error:
        raise ProviderResponseError(f"charge {charge.id}: PPRO's totals are inconsistent: {error}") from None


def mandate_from_agreement(
    agreement: _wire.Agreement, *, provider: str, merchant_reference: str | None = None
) -> Mandate:
    status = agreement_status(agreement.status)
    return Mandate(
        provider=provider,
        id=agreement.id,
        status=status,
        provider_status=agreement.status,
        merchant_reference=agreement.merchant_payment_agreement_reference or merchant_reference,
        next_action=next_action(agreement.authentication_methods)
        if status is MandateStatus.REQUIRES_ACTION
        else None,
        initial_payment_id=agreement.initial_payment_charge_id,
        decline=decline_of(agreement.failure) if status is MandateStatus.FAILED else None,
        created_at=timestamp(agreement.created_at),
    )


def with_decline(mandate: Mandate, failure: _wire.Failure | None) -> Mandate:
    decline = decline_of(failure)
    return attrs.evolve(mandate, decline=decline) if decline is not None else mandate


# -- order, consumer and discard reasons ---------------------------------------------------------

SHIPPING_METHODS: Mapping[ShippingMethod, str] = {
    ShippingMethod.VIRTUAL: "VIRTUAL",
    ShippingMethod.TRACKED_DELIVERY: "TRACKED_DELIVERY",
    ShippingMethod.UNTRACKED_DELIVERY: "UNTRACKED_DELIVERY",
    ShippingMethod.IN_STORE_PICKUP: "IN_STORE_PICKUP",
    ShippingMethod.LOCKER_PICKUP: "LOCKER_PICKUP",
    ShippingMethod.HYBRID: "HYBRID",
}
_SHIPPING_METHODS_BACK = {raw: method for method, raw in SHIPPING_METHODS.items()}

INITIATORS: Mapping[ChargeInitiator, str] = {
    ChargeInitiator.CONSUMER: "CONSUMER",
    ChargeInitiator.MERCHANT: "MERCHANT",
}

SCHEDULE_TYPES: Mapping[ScheduleType, str] = {
    ScheduleType.SCHEDULED: "SCHEDULED",
    ScheduleType.SCHEDULED_RETRY: "SCHEDULED_RETRY",
    ScheduleType.UNSCHEDULED: "UNSCHEDULED",
}
"""PPRO also lists RECURRING, "planned for deprecation": it is never sent."""

DISCARD_TYPES: Mapping[str, tuple[PaymentStatus, DeclineCode, str]] = {
    "AUTHENTICATION_TIMEOUT": (
        _P.EXPIRED,
        DeclineCode.EXPIRED,
        "the consumer did not complete authentication within the payment method's time limit",
    ),
    "PROVIDER_CONFIRMATION_TIMEOUT": (
        _P.EXPIRED,
        DeclineCode.EXPIRED,
        "the payment provider did not confirm the authorization in time",
    ),
    "MERCHANT_INITIATED_DISCARD": (
        _P.FAILED,
        DeclineCode.CANCELLED_BY_MERCHANT,
        "the merchant discarded the payment before it was authorized",
    ),
}
"""Why PPRO discarded a charge. A timeout is EXPIRED; the merchant's own discard is FAILED
(there is no normalized "cancelled" status), and the reason is kept as the decline."""


def discard_decline(raw: str | None) -> Decline:
    """The reason a DISCARDED charge took no money; an unknown type stays EXPIRED, raw kept."""
    status_code_message = DISCARD_TYPES.get(raw or "")
    if status_code_message is None:
        return Decline(DeclineCode.EXPIRED, raw or "UNKNOWN", "discarded", provider_type="DISCARD")
    _, code, message = status_code_message
    return Decline(code, raw or "", message, provider_type="DISCARD")


def discard_status(decline: Decline) -> PaymentStatus:
    known = DISCARD_TYPES.get(decline.provider_code)
    return known[0] if known is not None else _P.EXPIRED


def _address(raw: _wire.WireAddress | None) -> Address | None:
    if raw is None:
        return None
    # Positional, in field order: keywords cost ~0.5 us more per Address on Python 3.11.
    return Address(
        raw.first_name,  # first_name
        raw.last_name,  # last_name
        raw.street,  # street
        raw.postal_code,  # postal_code
        raw.city,  # city
        raw.region,  # region
        raw.country,  # country
        raw.phone_number,  # phone
    )


def consumer_of(raw: _wire.WireConsumer | None) -> Consumer | None:
    """The consumer PPRO reports on a charge (for Amazon Pay: what the buyer has at Amazon)."""
    if raw is None:
        return None
    # Positional, in field order: read on every charge, and keywords cost more on Python 3.11.
    return Consumer(
        raw.country,  # country
        raw.name,  # name
        raw.email,  # email
        raw.locale,  # locale
        raw.merchant_consumer_reference,  # merchant_consumer_reference
        raw.phone,  # phone
        _address(raw.billing_address),  # billing_address
    )


def order_of(raw: _wire.WireOrder | None, currency: str) -> Order | None:
    """The order PPRO reports on a charge; an unknown shipping method is an error, not a guess."""
    if raw is None:
        return None
    method: ShippingMethod | None = None
    if raw.shipping_method is not None:
        method = _SHIPPING_METHODS_BACK.get(raw.shipping_method)
        if method is None:
            raise ProviderResponseError(
                f"unknown PPRO shipping method {raw.shipping_method!r}", provider_code=raw.shipping_method
            )
    # Positional, in field order: read on every charge, and keywords cost more on Python 3.11.
    return Order(
        tuple(
            LineItem(
                name=item.name,
                quantity=item.quantity,
                unit_price=money(item.amount, currency),
                sku=item.sku,
                category=item.category,
                subcategory=item.sub_category,
            )
            for item in raw.order_items
        ),  # items
        _address(raw.shipping_address),  # shipping_address
        method,  # shipping_method
        raw.order_reference_number,  # reference
        money(raw.total_tax_amount, currency) if raw.total_tax_amount is not None else None,  # tax
    )
