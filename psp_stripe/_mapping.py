"""Stripe's objects as psp's normalized results: pure functions, tested with hypothesis.

A PaymentIntent (https://docs.stripe.com/payments/paymentintents/lifecycle) becomes a
``Payment`` whose totals are those of its operations: the authorization (the intent's
amount once Stripe holds it), the one capture Stripe allows per intent, the release of what
a partial capture or a cancellation left uncaptured (a VOID: "the remaining amount is
released", https://docs.stripe.com/payments/place-a-hold-on-a-payment-method), and the
refunds of its charge in their own statuses (pending, succeeded, failed: a pending refund
reserves its amount). A SetupIntent with its PaymentMethod becomes a ``Mandate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from psp_core import (
    Decline,
    DeclineCode,
    Mandate,
    MandateStatus,
    Money,
    NextAction,
    Operation,
    OperationKind,
    OperationSource,
    OperationStatus,
    Payment,
    PaymentStatus,
    ProviderResponseError,
    status_from_totals,
)

from . import _wire
from ._amounts import from_stripe

MERCHANT_REFERENCE_KEY = "merchant_reference"
"""The metadata key that holds the host's merchant reference (find_payment searches it)."""

MANDATE_KEY = "psp_mandate"
"""The metadata key that names the mandate an off-session charge was made under."""

REVOKED_KEY = "psp_revoked"
"""The metadata key psp's revoke sets on a SetupIntent (beside detaching its payment method)."""

INTENT_STATUSES: frozenset[str] = frozenset(
    {
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
        "processing",
        "requires_capture",
        "canceled",
        "succeeded",
    }
)
"""https://docs.stripe.com/payments/paymentintents/lifecycle"""

SETUP_STATUSES: frozenset[str] = frozenset(
    {
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
        "processing",
        "canceled",
        "succeeded",
    }
)
"""https://docs.stripe.com/payments/setupintents/lifecycle"""

REFUND_STATUSES: Mapping[str, OperationStatus] = {
    "pending": OperationStatus.PENDING,
    "requires_action": OperationStatus.PENDING,
    "succeeded": OperationStatus.SUCCEEDED,
    "failed": OperationStatus.FAILED,
    "canceled": OperationStatus.FAILED,
}
"""https://docs.stripe.com/api/refunds/object#refund_object-status"""

DECLINE_CODES: Mapping[str, DeclineCode] = {
    # https://docs.stripe.com/declines/codes and https://docs.stripe.com/error-codes
    "insufficient_funds": DeclineCode.INSUFFICIENT_FUNDS,
    "fraudulent": DeclineCode.SUSPECTED_FRAUD,
    "stolen_card": DeclineCode.SUSPECTED_FRAUD,
    "lost_card": DeclineCode.SUSPECTED_FRAUD,
    "pickup_card": DeclineCode.SUSPECTED_FRAUD,
    "merchant_blacklist": DeclineCode.SUSPECTED_FRAUD,
    "security_violation": DeclineCode.SUSPECTED_FRAUD,
    "authentication_required": DeclineCode.AUTHENTICATION_FAILED,
    "payment_intent_authentication_failure": DeclineCode.AUTHENTICATION_FAILED,
    "setup_intent_authentication_failure": DeclineCode.AUTHENTICATION_FAILED,
    "currency_not_supported": DeclineCode.CURRENCY_NOT_SUPPORTED,
    "card_not_supported": DeclineCode.PAYMENT_METHOD_NOT_SUPPORTED,
    "card_velocity_exceeded": DeclineCode.AMOUNT_EXCEEDED,
    "withdrawal_count_limit_exceeded": DeclineCode.AMOUNT_EXCEEDED,
    "processing_error": DeclineCode.PROCESSING_ERROR,
    "try_again_later": DeclineCode.PROVIDER_UNAVAILABLE,
    "issuer_not_available": DeclineCode.PROVIDER_UNAVAILABLE,
    "approve_with_id": DeclineCode.PROVIDER_UNAVAILABLE,
    "generic_decline": DeclineCode.GENERIC,
    "do_not_honor": DeclineCode.GENERIC,
    "card_declined": DeclineCode.GENERIC,
}
"""Stripe's ``decline_code`` (or ``code`` when there is none) -> psp's; others are GENERIC."""

RETRYABLE_DECLINES: frozenset[str] = frozenset(
    {"processing_error", "try_again_later", "issuer_not_available", "approve_with_id"}
)
"""Codes Stripe's decline page says to retry (the same payment method may then succeed)."""

_CANCELLATIONS: Mapping[str, DeclineCode] = {
    "requested_by_customer": DeclineCode.CANCELLED_BY_CONSUMER,
    "abandoned": DeclineCode.EXPIRED,
    "automatic": DeclineCode.EXPIRED,
    "failed_invoice": DeclineCode.GENERIC,
    "fraudulent": DeclineCode.SUSPECTED_FRAUD,
}
"""``cancellation_reason`` of an intent canceled before anything was authorized."""


def timestamp(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def decline_of(error: _wire.PaymentError | _wire.ErrorDetail) -> Decline:
    raw = error.decline_code or error.code or error.type or "declined"
    return Decline(
        code=DECLINE_CODES.get(raw, DeclineCode.GENERIC),
        provider_code=raw,
        message=error.message or "",
        provider_type=error.type,
        retryable=raw in RETRYABLE_DECLINES,
    )


def next_action_of(action: _wire.NextAction | None) -> NextAction | None:
    """A redirect the consumer must follow; None for an action only Stripe.js can take."""
    if action is None or action.type != "redirect_to_url" or action.redirect_to_url is None:
        return None
    return NextAction(url=action.redirect_to_url.url, method="GET")


def refund_operation(refund: _wire.Refund, currency: str, source: OperationSource) -> Operation:
    if refund.currency.upper() != currency:
        raise ProviderResponseError(
            f"refund {refund.id} is in {refund.currency.upper()}, its payment in {currency}",
            provider_code=refund.currency,
        )
    status = REFUND_STATUSES.get(refund.status or "succeeded")
    if status is None:
        raise ProviderResponseError(
            f"refund {refund.id}: unknown Stripe refund status {refund.status!r}", provider_code=refund.status
        )
    decline = None
    if status is OperationStatus.FAILED:
        raw = refund.failure_reason or refund.status or "failed"
        decline = Decline(code=DeclineCode.GENERIC, provider_code=raw, message=f"the refund {refund.status}")
    return Operation(
        kind=OperationKind.REFUND,
        id=refund.id,
        amount=from_stripe(refund.amount, currency),
        at=timestamp(refund.created),
        status=status,
        merchant_reference=refund.metadata.get(MERCHANT_REFERENCE_KEY),
        decline=decline,
        source=source,
    )


def _intent_totals(intent: _wire.PaymentIntent) -> tuple[int, int, int]:
    """(authorized, captured, released) in Stripe's amounts."""
    charge = intent.latest_charge
    if intent.status == "requires_capture":
        held = intent.amount_capturable if intent.amount_capturable is not None else intent.amount
        return held, 0, 0
    if intent.status == "succeeded":
        if charge is not None and charge.amount_captured is not None:
            captured = charge.amount_captured
        elif intent.amount_received is not None:
            captured = intent.amount_received
        else:
            captured = charge.amount if charge is not None else intent.amount
        return intent.amount, captured, intent.amount - captured
    if intent.status == "canceled" and charge is not None and charge.status == "succeeded":
        # Canceled after Stripe held the amount: the hold was released.
        return intent.amount, 0, intent.amount
    return 0, 0, 0


def payment_from_intent(
    intent: _wire.PaymentIntent,
    *,
    provider: str,
    source: OperationSource,
    refunds: Iterable[_wire.Refund] = (),
    expected: Money | None = None,
    mandate_id: str | None = None,
) -> Payment:
    """The normalized payment of a PaymentIntent (its charge and refunds expanded, if any)."""
    currency = intent.currency.upper()
    amount = from_stripe(intent.amount, currency)
    if expected is not None and amount != expected:
        raise ProviderResponseError(
            f"payment {intent.id}: Stripe reports {amount}, {expected} were requested",
            provider_code=str(intent.amount),
        )
    if intent.status not in INTENT_STATUSES:
        raise ProviderResponseError(
            f"payment {intent.id}: unknown Stripe PaymentIntent status {intent.status!r}",
            provider_code=intent.status,
        )
    authorized, captured, released = _intent_totals(intent)
    for name, value in (("authorized", authorized), ("captured", captured), ("released", released)):
        if not 0 <= value <= intent.amount:
            raise ProviderResponseError(
                f"payment {intent.id}: Stripe reports {name} {value}, outside 0..{intent.amount}",
                provider_code=str(value),
            )
    created = timestamp(intent.created)
    charge = intent.latest_charge
    operations: list[Operation] = []
    if authorized:
        operations.append(
            Operation(
                OperationKind.AUTHORIZATION,
                intent.id,
                from_stripe(authorized, currency),
                at=created,
                source=source,
            )
        )
    charge_at = timestamp(charge.created) if charge is not None else created
    if captured:
        capture_id = charge.id if charge is not None else f"{intent.id}:capture"
        operations.append(
            Operation(
                OperationKind.CAPTURE,
                capture_id,
                from_stripe(captured, currency),
                at=charge_at,
                source=source,
            )
        )
    if released:
        operations.append(
            Operation(
                OperationKind.VOID, f"{intent.id}:release", from_stripe(released, currency), source=source
            )
        )
    seen: set[str] = set()
    listed = list(charge.refunds.data) if charge is not None and charge.refunds is not None else []
    for refund in [*listed, *refunds]:
        if refund.id not in seen:
            seen.add(refund.id)
            operations.append(refund_operation(refund, currency, source))
    zero = Money.zero(currency)
    refunded = sum(
        (op.amount for op in operations if op.kind is OperationKind.REFUND and op.counts), start=zero
    )
    totals = {
        "authorized": from_stripe(authorized, currency),
        "captured": from_stripe(captured, currency),
        "refunded": refunded,
        "voided": from_stripe(released, currency),
        "charged_back": zero,
    }
    decline = None
    next_action = None
    status = status_from_totals(
        totals["authorized"], totals["captured"], totals["refunded"], totals["voided"], totals["charged_back"]
    )
    if status is None:
        if intent.status == "requires_action":
            status, next_action = PaymentStatus.REQUIRES_ACTION, next_action_of(intent.next_action)
        elif intent.status == "processing":
            status = PaymentStatus.PROCESSING
        elif intent.status == "canceled":
            reason = intent.cancellation_reason or "canceled"
            code = _CANCELLATIONS.get(reason, DeclineCode.CANCELLED_BY_MERCHANT)
            status = PaymentStatus.EXPIRED if code is DeclineCode.EXPIRED else PaymentStatus.FAILED
            decline = Decline(code=code, provider_code=reason, message="the payment was canceled")
        elif intent.last_payment_error is not None:
            status, decline = PaymentStatus.DECLINED, decline_of(intent.last_payment_error)
        else:
            status = PaymentStatus.PENDING
    elif intent.last_payment_error is not None and status is PaymentStatus.AUTHORIZED:
        decline = None  # an earlier attempt's error; the hold that followed is what counts
    try:
        return Payment(
            provider=provider,
            id=intent.id,
            status=status,
            amount=amount,
            provider_status=intent.status,
            merchant_reference=intent.metadata.get(MERCHANT_REFERENCE_KEY),
            next_action=next_action,
            decline=decline,
            mandate_id=mandate_id or intent.metadata.get(MANDATE_KEY),
            operations=tuple(operations),
            captured_at=charge_at if captured else None,
            created_at=created,
            authorized=totals["authorized"],
            captured=totals["captured"],
            refunded=totals["refunded"],
            voided=totals["voided"],
            charged_back=totals["charged_back"],
        )
    except ValueError as error:
        raise ProviderResponseError(
            f"payment {intent.id}: Stripe's totals contradict each other: {error}"
        ) from None


def mandate_from_setup(setup: _wire.SetupIntent, *, provider: str) -> Mandate:
    """A SetupIntent as a mandate: ACTIVE while its PaymentMethod stays with its customer."""
    if setup.status not in SETUP_STATUSES:
        raise ProviderResponseError(
            f"mandate {setup.id}: unknown Stripe SetupIntent status {setup.status!r}",
            provider_code=setup.status,
        )
    method = setup.payment_method
    decline = None
    next_action = None
    word = setup.status
    if setup.status == "succeeded":
        moved = method is not None and method.customer is not None and method.customer != setup.customer
        if setup.metadata.get(REVOKED_KEY) == "true" or moved or method is None:
            # Revoked through psp (detached and marked), or the payment method went elsewhere.
            status, word = MandateStatus.REVOKED, "succeeded:revoked"
        else:
            status = MandateStatus.ACTIVE
    elif setup.status == "requires_action":
        status, next_action = MandateStatus.REQUIRES_ACTION, next_action_of(setup.next_action)
    elif setup.status == "canceled":
        status = MandateStatus.FAILED
        decline = Decline(code=DeclineCode.CANCELLED_BY_MERCHANT, provider_code="canceled")
    elif setup.status == "requires_payment_method" and setup.last_setup_error is not None:
        status, decline = MandateStatus.FAILED, decline_of(setup.last_setup_error)
    else:
        status = MandateStatus.PENDING
    return Mandate(
        provider=provider,
        id=setup.id,
        status=status,
        provider_status=word,
        merchant_reference=setup.metadata.get(MERCHANT_REFERENCE_KEY),
        next_action=next_action,
        decline=decline,
        created_at=timestamp(setup.created),
    )
