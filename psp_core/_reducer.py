"""Apply what a provider reports (a fresh read or a webhook event) to a stored payment.

The reducer is pure and monotonic. Operations are merged by the provider's operation id,
so a duplicate never counts twice; totals only grow; the status is the furthest along of
what is stored, what is reported, and what the totals imply. A terminal status is never
left, though the totals of a terminal payment still take in operations reported late.
For any order of the same updates the result is the same, so a late or duplicate webhook
cannot move a paid order back to pending.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from ._models import Mandate, Operation, OperationKind, Payment, WebhookEvent
from ._money import Money
from ._status import (
    MANDATE_RANK,
    PAYMENT_RANK,
    TERMINAL_PAYMENT_STATUSES,
    MandateStatus,
    PaymentStatus,
)

# At equal rank the order of arrival must not decide, so ties break on this fixed order.
_TIE_ORDER = {status: index for index, status in enumerate(PaymentStatus)}


def _further(a: PaymentStatus, b: PaymentStatus) -> PaymentStatus:
    return max(a, b, key=lambda s: (PAYMENT_RANK[s], _TIE_ORDER[s]))


def status_from_totals(
    authorized: Money, captured: Money, refunded: Money, voided: Money, charged_back: Money
) -> PaymentStatus | None:
    """The status the money totals imply, or None before anything was authorized."""
    if charged_back:
        return PaymentStatus.CHARGED_BACK
    if not authorized:
        return None
    remaining = authorized.minor - captured.minor - voided.minor
    if captured:
        if remaining > 0:
            return PaymentStatus.PARTIALLY_CAPTURED
        if refunded.minor >= captured.minor:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED if refunded else PaymentStatus.CAPTURED
    if remaining <= 0:
        return PaymentStatus.VOIDED
    return PaymentStatus.AUTHORIZED


def _total(operations: Iterable[Operation], kind: OperationKind, currency: str) -> Money:
    return Money(sum(op.amount.minor for op in operations if op.kind is kind), currency)


def _merge(
    current: Payment,
    reported_status: PaymentStatus | None,
    operations: Iterable[Operation],
    reported: Payment | None,
) -> Payment:
    merged = {(op.kind, op.id): op for op in current.operations}
    currency = current.amount.currency
    for op in operations:
        if op.amount.currency != currency:
            raise ValueError(f"{op.kind.value} {op.id} is in {op.amount.currency}, the payment in {currency}")
        merged.setdefault((op.kind, op.id), op)
    ops = tuple(sorted(merged.values(), key=lambda op: (op.kind.value, op.id)))

    def total(name: str, kind: OperationKind) -> Money:
        candidates = [getattr(current, name), _total(ops, kind, currency)]
        if reported is not None:
            candidates.append(getattr(reported, name))
        best: Money = max(candidates, key=lambda m: m.minor)
        return best

    charged_back = total("charged_back", OperationKind.CHARGEBACK)
    refunded = total("refunded", OperationKind.REFUND)
    # A refund or chargeback reported before its capture still proves the capture happened, and a capture
    # or void before its authorization proves the authorization of the whole requested
    # amount (authorizations are all-or-nothing): totals are raised so the invariants hold,
    # and the result is the same, whatever order the updates come in.
    captured = max(total("captured", OperationKind.CAPTURE), refunded, charged_back, key=lambda m: m.minor)
    voided = total("voided", OperationKind.VOID)
    moved = captured + voided
    authorized = max(
        total("authorized", OperationKind.AUTHORIZATION),
        moved,
        current.amount if moved else Money.zero(currency),
        key=lambda m: m.minor,
    )
    if current.status in TERMINAL_PAYMENT_STATUSES:
        # A terminal status absorbs every later status, but not money movements: a refund
        # made before a chargeback and reported after it still happened. Totals are joins,
        # so every order of one life ends in the same value.
        return attrs.evolve(
            current,
            authorized=authorized,
            captured=captured,
            refunded=refunded,
            voided=voided,
            charged_back=charged_back,
            operations=ops,
        )
    status = current.status
    if reported_status is not None:
        status = _further(status, reported_status)
    implied = status_from_totals(authorized, captured, refunded, voided, charged_back)
    if implied is not None:
        status = _further(status, implied)
    newer = reported if reported is not None else current
    return attrs.evolve(
        current,
        status=status,
        authorized=authorized,
        captured=captured,
        refunded=refunded,
        voided=voided,
        charged_back=charged_back,
        operations=ops,
        provider_status=newer.provider_status or current.provider_status,
        next_action=newer.next_action if status is PaymentStatus.REQUIRES_ACTION else None,
        decline=newer.decline or current.decline,
        captured_at=current.captured_at or newer.captured_at or _first_capture(ops),
        mandate_id=current.mandate_id or newer.mandate_id,
        merchant_reference=current.merchant_reference or newer.merchant_reference,
    )


def _first_capture(operations: Iterable[Operation]) -> datetime | None:
    # The refund window runs from the first capture, however the host learnt of it.
    times = [op.at for op in operations if op.kind is OperationKind.CAPTURE and op.at is not None]
    return min(times) if times else None


def apply_operation(current: Payment, operation: Operation) -> Payment:
    """Fold one operation the provider just confirmed in answer to a request made from ``current``.

    Unlike a webhook, which may arrive before the events it follows, this answer is to a
    capture, void or refund the host sent from ``current``: one that would take captures and
    voids past the authorization, or refunds past the captures, is impossible and raises
    ValueError instead of being absorbed. A replay of an operation already known changes nothing.
    """
    if any(op.kind is operation.kind and op.id == operation.id for op in current.operations):
        return current
    added = {kind: Money.zero(current.amount.currency) for kind in OperationKind}
    added[operation.kind] = operation.amount
    captured = current.captured + added[OperationKind.CAPTURE]
    voided = current.voided + added[OperationKind.VOID]
    refunded = current.refunded + added[OperationKind.REFUND]
    if captured + voided > current.authorized or refunded > captured:
        raise ValueError(
            f"a {operation.kind.value} of {operation.amount} on payment {current.id} would exceed "
            f"what it holds (authorized {current.authorized}, captured {current.captured}, "
            f"voided {current.voided}, refunded {current.refunded})"
        )
    return _merge(current, None, (operation,), None)


def apply_update(current: Payment, update: Payment) -> Payment:
    """Fold a fresh provider read of the same payment into the stored one."""
    if update.id != current.id or update.provider != current.provider:
        raise ValueError(f"update is for payment {update.id!r}, not {current.id!r}")
    return _merge(current, update.status, update.operations, update)


def apply_event(current: Payment, event: WebhookEvent) -> Payment:
    """Fold a verified webhook event into the stored payment it concerns."""
    if event.payment_id != current.id:
        raise ValueError(f"event is for payment {event.payment_id!r}, not {current.id!r}")
    operations = (event.operation,) if event.operation is not None else ()
    # An operation event's status says what PPRO-like providers call the charge after *that*
    # operation; the totals decide, so only statuses without money consequences are taken.
    status = None if event.operation is not None else event.payment_status
    if event.payment_status is PaymentStatus.CHARGED_BACK:
        status = PaymentStatus.CHARGED_BACK
    return _merge(current, status, operations, None)


def apply_mandate_update(current: Mandate, update: Mandate) -> Mandate:
    """Fold a fresh read or an event's status into a stored mandate, never moving back."""
    if current.status in (MandateStatus.FAILED, MandateStatus.REVOKED):
        return current
    if MANDATE_RANK[update.status] < MANDATE_RANK[current.status]:
        return current
    if MANDATE_RANK[update.status] == MANDATE_RANK[current.status] and (update.status is not current.status):
        # ACTIVE and FAILED share a rank and exclude each other; the first word stands.
        return current
    return attrs.evolve(
        update,
        initial_payment_id=update.initial_payment_id or current.initial_payment_id,
        merchant_reference=update.merchant_reference or current.merchant_reference,
    )


def apply_mandate_event(current: Mandate, event: WebhookEvent) -> Mandate:
    """Fold a verified webhook event into the stored mandate it concerns, never moving back.

    The mandate counterpart of :func:`apply_event`: duplicates, late and reordered events are
    safe. An event without a mandate status (a payment event that names the mandate) changes
    nothing.
    """
    if event.mandate_id != current.id or event.provider != current.provider:
        raise ValueError(f"event is for mandate {event.mandate_id!r}, not {current.id!r}")
    if event.mandate_status is None:
        return current
    reported = attrs.evolve(
        current,
        status=event.mandate_status,
        # The consumer's approval link is spent once the mandate has moved past waiting for it.
        next_action=current.next_action if event.mandate_status is MandateStatus.REQUIRES_ACTION else None,
        provider_status=event.provider_status or current.provider_status,
        decline=event.decline or current.decline,
        merchant_reference=event.merchant_reference or current.merchant_reference,
    )
    return apply_mandate_update(current, reported)
