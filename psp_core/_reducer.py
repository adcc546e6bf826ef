"""Apply what a provider reports (a fresh read or a webhook event) to a stored payment.

The reducer is pure and order-independent: for any set of updates, every order of folding
them gives the same payment (status, totals and operations), and every status change it
makes is in ``PAYMENT_TRANSITIONS``. It is built from joins:

- operations are merged by (kind, provider id); an operation's status only moves from
  PENDING to SUCCEEDED or FAILED (if a provider reports both, SUCCEEDED wins: hiding money
  that moved is worse than reserving money that did not), so a duplicate never counts twice
  and a late PENDING never reopens a settled refund;
- totals are the largest of what is stored, what is reported and what the SUCCEEDED
  operations add up to, raised so the invariants hold (a refund proves its capture);
- the status is the furthest along, by ``PAYMENT_RANK`` (no ties), of the no-money words
  reported (pending, processing, declined, ...) and of what the totals imply. Money
  statuses (captured, refunded, voided, charged back) come from the totals only, so a
  provider's name for the charge after its *last* operation cannot lock a payment in a
  final state its money does not support.

Totals that exceed the payment's amount, or refunds and chargebacks above what was
captured, are not a new truth: the reducer raises ``ProviderResponseError`` and the stored
payment stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeVar

import attrs

from ._errors import ProviderResponseError
from ._models import Mandate, Operation, OperationKind, OperationStatus, Payment, WebhookEvent
from ._money import Money, _derived
from ._status import (
    MANDATE_RANK,
    MONEY_STATUSES,
    PAYMENT_RANK,
    TERMINAL_PAYMENT_STATUSES,
    MandateStatus,
    PaymentStatus,
)

_T = TypeVar("_T")
_OPERATION_RANK = {OperationStatus.PENDING: 0, OperationStatus.FAILED: 1, OperationStatus.SUCCEEDED: 2}
# Module-level names for the members the hot paths use: on Python 3.11 reading a member
# through its enum class costs ~0.1 us, a module global ~0.01 us.
_SUCCEEDED = OperationStatus.SUCCEEDED
_PENDING = OperationStatus.PENDING
_FAILED = OperationStatus.FAILED
_S_AUTHORIZED = PaymentStatus.AUTHORIZED
_S_PARTIALLY_CAPTURED = PaymentStatus.PARTIALLY_CAPTURED
_S_CAPTURED = PaymentStatus.CAPTURED
_S_PARTIALLY_REFUNDED = PaymentStatus.PARTIALLY_REFUNDED
_S_REFUNDED = PaymentStatus.REFUNDED
_S_VOIDED = PaymentStatus.VOIDED
_S_CHARGED_BACK = PaymentStatus.CHARGED_BACK
_S_REQUIRES_ACTION = PaymentStatus.REQUIRES_ACTION
_AUTHORIZATION = OperationKind.AUTHORIZATION
_CAPTURE = OperationKind.CAPTURE
_REFUND = OperationKind.REFUND
_VOID = OperationKind.VOID
_CHARGEBACK = OperationKind.CHARGEBACK


def status_from_totals(
    authorized: Money, captured: Money, refunded: Money, voided: Money, charged_back: Money
) -> PaymentStatus | None:
    """The status the money totals imply, or None before anything was authorized.

    While part of the authorization may still be captured the payment is PARTIALLY_CAPTURED,
    whatever was refunded or charged back. Once nothing is left to capture: CHARGED_BACK when
    refunds and chargebacks together took back everything captured and a chargeback was part
    of it, REFUNDED when refunds alone did, PARTIALLY_REFUNDED when some was refunded, and
    CAPTURED otherwise (a partial chargeback shows in ``charged_back`` only). Growing totals
    never lower the implied status's rank, which is what makes the fold order-independent.
    """
    return _status_of_minor(
        authorized.minor, captured.minor, refunded.minor, voided.minor, charged_back.minor
    )


def _status_of_minor(
    authorized: int, captured: int, refunded: int, voided: int, charged_back: int
) -> PaymentStatus | None:
    # ``status_from_totals`` in minor units of the payment's one currency: the reducer knows
    # its totals as ints and needs no Money per total to ask.
    if not authorized:
        return _S_CHARGED_BACK if charged_back else None
    remaining = authorized - captured - voided
    if captured:
        if remaining > 0:
            return _S_PARTIALLY_CAPTURED
        if refunded + charged_back >= captured:
            return _S_CHARGED_BACK if charged_back else _S_REFUNDED
        return _S_PARTIALLY_REFUNDED if refunded else _S_CAPTURED
    if remaining <= 0:
        return _S_VOIDED
    return _S_AUTHORIZED


def _sums(operations: Iterable[Operation]) -> dict[OperationKind, int]:
    """The SUCCEEDED operations' minor units by kind, in one pass over them."""
    sums: dict[OperationKind, int] = {}
    for op in operations:
        if op.counts:
            sums[op.kind] = sums.get(op.kind, 0) + op.amount.minor
    return sums


def _pick(a: _T | None, b: _T | None) -> _T | None:
    # The same field from two reports of one operation: a value beats none, and two values
    # are ordered by their text so the choice does not depend on arrival.
    if a is None or b is None:
        return a if b is None else b
    return min(a, b, key=repr)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a is not None and b is not None else a or b


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a is not None and b is not None else a or b


def merge_operation(a: Operation, b: Operation) -> Operation:
    """Two reports of the same operation as one: the further status, every known detail."""
    if (a.kind, a.id) != (b.kind, b.id):
        raise ValueError(f"cannot merge {a.kind.value} {a.id} with {b.kind.value} {b.id}")
    if a.amount != b.amount:
        raise ProviderResponseError(
            f"the provider reported {a.kind.value} {a.id} as {a.amount} and as {b.amount}; "
            "read the payment again and contact the provider if it persists"
        )
    first, second = sorted((a, b), key=lambda op: _OPERATION_RANK[op.status], reverse=True)
    same = first.status is second.status
    return Operation(
        kind=a.kind,
        id=a.id,
        amount=a.amount,
        status=first.status,
        at=_earliest(a.at, b.at),
        updated_at=_latest(a.updated_at, b.updated_at),
        merchant_reference=_pick(a.merchant_reference, b.merchant_reference)
        if same
        else first.merchant_reference or second.merchant_reference,
        reason=_pick(a.reason, b.reason) if same else first.reason or second.reason,
        decline=_pick(a.decline, b.decline) if same else first.decline,
        source=_pick(a.source, b.source) if same else first.source,
    )


_KIND_WORD: Mapping[OperationKind, str] = {kind: kind.value for kind in OperationKind}
"""Each kind's value, read from a dict: ``kind.value`` is a Python-level property per call."""


def _operation_order(op: Operation) -> tuple[str, str]:
    return (_KIND_WORD[op.kind], op.id)


def _merged_operations(current: Payment, operations: Iterable[Operation]) -> tuple[Operation, ...]:
    merged = {(op.kind, op.id): op for op in current.operations}
    currency = current.amount.currency
    for op in operations:
        if op.amount.currency != currency:
            raise ProviderResponseError(
                f"{op.kind.value} {op.id} is in {op.amount.currency}, the payment {current.id} in {currency}"
            )
        key = (op.kind, op.id)
        merged[key] = merge_operation(merged[key], op) if key in merged else op
    return tuple(sorted(merged.values(), key=_operation_order))


def _fold_status(
    current: PaymentStatus, reported: PaymentStatus | None, implied: PaymentStatus | None
) -> PaymentStatus:
    # The furthest along of the words that count. Speed: no list per fold, and ranks are
    # compared directly (no two statuses share one, so no tie needs breaking).
    best: PaymentStatus | None = None
    best_rank = -1
    for word in (current, reported):
        if word is not None and (implied is None or word not in MONEY_STATUSES):
            rank = PAYMENT_RANK[word]
            if rank > best_rank:
                best, best_rank = word, rank
    if implied is not None and PAYMENT_RANK[implied] > best_rank:
        return implied
    assert best is not None  # ``current`` counts unless it is a money status, and then ``implied`` does
    return best


def _merge(
    current: Payment,
    reported_status: PaymentStatus | None,
    operations: Iterable[Operation],
    reported: Payment | None,
) -> Payment:
    if reported is None:
        return _fold_reports(current, reported_status, operations)
    currency = current.amount.currency
    if reported.amount.currency != currency:
        # Checked first: summing its totals with the stored ones would fail as a bare ValueError.
        raise ProviderResponseError(
            f"payment {current.id}: the provider reports it in {reported.amount.currency}, but it is "
            f"in {currency}; the stored payment was kept as it was: read the payment again and "
            "contact the provider if it persists"
        )
    # A payment read before anything was authorized may not know its amount yet (a provider's
    # charge may carry none of its own); a later report that does is taken. The largest is kept, so the
    # order of the reports does not matter.
    amount = current.amount
    if reported is not None and reported.amount.currency == currency and reported.amount > amount:
        amount = reported.amount
    ops = _merged_operations(current, operations)
    sums = _sums(ops)

    def total(name: str, kind: OperationKind) -> Money:
        # The largest of the stored, the summed and the reported total; on a tie the earlier
        # one. A reported total in another currency stays Money of that currency, so the
        # payment refuses it below.
        best: Money = getattr(current, name)
        summed = sums.get(kind, 0)
        if summed > best.minor:
            # A sum of validated amounts in the payment's validated currency: no second check.
            best = _derived(summed, currency)
        if reported is not None:
            other: Money = getattr(reported, name)
            if other.minor > best.minor:
                best = other
        return best

    charged_back = total("charged_back", OperationKind.CHARGEBACK)
    refunded = total("refunded", OperationKind.REFUND)
    # A refund or chargeback reported before its capture still proves the capture happened
    # (refunds and chargebacks together never exceed what was captured), and a capture or
    # void before its authorization proves the authorization of the whole requested amount
    # (authorizations are all-or-nothing): totals are raised so the invariants hold, and the
    # result is the same whatever order the updates come in.
    captured = max(total("captured", OperationKind.CAPTURE), refunded + charged_back, key=lambda m: m.minor)
    voided = total("voided", OperationKind.VOID)
    moved = captured + voided
    authorized = max(
        total("authorized", OperationKind.AUTHORIZATION),
        moved,
        amount if moved else Money.zero(currency),
        key=lambda m: m.minor,
    )
    implied = status_from_totals(authorized, captured, refunded, voided, charged_back)
    if current.status in TERMINAL_PAYMENT_STATUSES:
        status = current.status
    else:
        status = _fold_status(current.status, reported_status, implied)
    newer = reported if reported is not None else current
    try:
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
            captured_at=_earliest(_earliest(current.captured_at, newer.captured_at), _first_capture(ops)),
            mandate_id=current.mandate_id or newer.mandate_id,
            merchant_reference=current.merchant_reference or newer.merchant_reference,
            amount=amount,
            # What the provider reports about the consumer and the order (a wallet's saved
            # details, for one) is newest in a fresh read.
            consumer=newer.consumer or current.consumer,
            order=newer.order or current.order,
        )
    except ValueError as error:
        raise _impossible(current, error) from None


def _impossible(current: Payment, error: ValueError) -> ProviderResponseError:
    return ProviderResponseError(
        f"payment {current.id}: the provider's reports add up to more than is possible ({error}); "
        "the stored payment was kept as it was: read the payment again and contact the provider "
        "if it persists"
    )


def _larger(stored: Money, summed: int, currency: str) -> Money:
    # The stored total unless the operations add up to more (on a tie, the stored one).
    return _derived(summed, currency) if summed > stored.minor else stored


def _fold_reports(
    current: Payment, reported_status: PaymentStatus | None, operations: Iterable[Operation]
) -> Payment:
    """``_merge`` without a reported payment: an answer to a capture, void or refund, or an event.

    The same joins as ``_merge``, written for speed (every capture, void and refund answer
    comes through here): every total is a stored one or a sum of operations in the payment's
    currency, so the arithmetic runs on ints, one pass over the operations sums them and finds
    the first capture, and the result is built directly (``attrs.evolve`` reads every field
    first). The payment's own checks still run on the result.
    """
    currency = current.amount.currency
    ops = _merged_operations(current, operations)
    authorization = capture = refund = void = chargeback = 0
    first_capture: datetime | None = None
    for op in ops:
        if op.status is _SUCCEEDED:
            kind = op.kind
            if kind is _CAPTURE:
                capture += op.amount.minor
                if op.at is not None and (first_capture is None or op.at < first_capture):
                    first_capture = op.at
            elif kind is _REFUND:
                refund += op.amount.minor
            elif kind is _AUTHORIZATION:
                authorization += op.amount.minor
            elif kind is _VOID:
                void += op.amount.minor
            elif kind is _CHARGEBACK:
                chargeback += op.amount.minor
    charged_back = _larger(current.charged_back, chargeback, currency)
    refunded = _larger(current.refunded, refund, currency)
    # As in ``_merge``: refunds and chargebacks prove their captures, captures and voids the
    # authorization of the whole amount.
    captured = _larger(current.captured, capture, currency)
    returned = refunded.minor + charged_back.minor
    if returned > captured.minor:
        captured = _derived(returned, currency)
    voided = _larger(current.voided, void, currency)
    moved = captured.minor + voided.minor
    authorized = _larger(current.authorized, authorization, currency)
    if moved > authorized.minor:
        authorized = _derived(moved, currency)
    # ``_merge``'s third candidate is the amount once money moved, else zero; a payment's
    # authorized total is never negative, so zero never wins.
    if moved and current.amount.minor > authorized.minor:
        authorized = current.amount
    status = current.status
    if status not in TERMINAL_PAYMENT_STATUSES:
        implied = _status_of_minor(
            authorized.minor, captured.minor, refunded.minor, voided.minor, charged_back.minor
        )
        status = _fold_status(status, reported_status, implied)
    try:
        # Positional, in field order: keywords cost ~0.8 us more for Payment's 19 fields on
        # Python 3.11 (tests/core pins the field order this call relies on).
        return current.__class__(
            current.provider,  # provider
            current.id,  # id
            status,  # status
            current.amount,  # amount
            authorized,  # authorized
            captured,  # captured
            refunded,  # refunded
            voided,  # voided
            charged_back,  # charged_back
            current.provider_status,  # provider_status
            current.merchant_reference,  # merchant_reference
            current.next_action if status is _S_REQUIRES_ACTION else None,  # next_action
            current.decline,  # decline
            current.mandate_id,  # mandate_id
            ops,  # operations
            _earliest(current.captured_at, first_capture),  # captured_at
            current.created_at,  # created_at
            current.consumer,  # consumer
            current.order,  # order
        )
    except ValueError as error:
        raise _impossible(current, error) from None


def _first_capture(operations: Iterable[Operation]) -> datetime | None:
    # The refund window runs from the first capture, however the host learnt of it.
    times = [
        op.at for op in operations if op.kind is OperationKind.CAPTURE and op.counts and op.at is not None
    ]
    return min(times) if times else None


def apply_operation(current: Payment, operation: Operation) -> Payment:
    """Fold one operation the provider just answered in reply to a request made from ``current``.

    Unlike a webhook, which may arrive before the events it follows, this answer is to a
    capture, void or refund the host sent from ``current``: one that would take captures and
    voids (pending ones included) past the authorization, or refunds, pending refunds and
    chargebacks past the captures, is impossible and raises ProviderResponseError instead of
    being absorbed. A replay of an operation already known only settles it further.
    """
    kind, op_id = operation.kind, operation.id
    # Speed: a loop rather than any() over a generator; enum members are read from module
    # names (a member read through its class costs ~0.1 us on Python 3.11).
    known = False
    for op in current.operations:
        if op.kind is kind and op.id == op_id:
            known = True
            break
    if not known and operation.status is not _FAILED:
        amount = operation.amount
        if amount.currency != current.amount.currency:
            raise ProviderResponseError(
                f"{operation.kind.value} {operation.id} is in {amount.currency}, the payment "
                f"{current.id} in {current.amount.currency}"
            )
        # In minor units of the one currency: the same sums as Money, without a Money per step.
        minor = amount.minor
        capture = minor if kind is _CAPTURE else 0
        void = minor if kind is _VOID else 0
        refund = minor if kind is _REFUND else 0
        reserved_capture = reserved_refund = 0
        for op in current.operations:
            if op.status is _PENDING:
                if op.kind is _CAPTURE or op.kind is _VOID:
                    reserved_capture += op.amount.minor
                elif op.kind is _REFUND:
                    reserved_refund += op.amount.minor
        taken = current.captured.minor + current.voided.minor + reserved_capture + capture + void
        returned = current.refunded.minor + reserved_refund + current.charged_back.minor + refund
        if taken > current.authorized.minor or returned > current.captured.minor + capture:
            raise ProviderResponseError(
                f"a {operation.kind.value} of {amount} on payment {current.id} would exceed what it "
                f"holds (authorized {current.authorized}, captured {current.captured}, voided "
                f"{current.voided}, refunded {current.refunded}, refunds pending {current.refund_pending}, "
                f"charged back {current.charged_back}); read the payment and check it with the provider"
            )
    return _merge(current, None, (operation,), None)


def apply_update(current: Payment, update: Payment) -> Payment:
    """Fold a fresh provider read of the same payment into the stored one."""
    if update.id != current.id or update.provider != current.provider:
        raise ValueError(
            f"update is for {update.provider} payment {update.id!r}, not {current.provider} payment "
            f"{current.id!r}"
        )
    return _merge(current, update.status, update.operations, update)


def apply_event(current: Payment, event: WebhookEvent) -> Payment:
    """Fold a verified webhook event into the stored payment it concerns."""
    if event.payment_id != current.id or event.provider != current.provider:
        raise ValueError(
            f"event is for {event.provider} payment {event.payment_id!r}, not {current.provider} payment "
            f"{current.id!r}"
        )
    operations = (event.operation,) if event.operation is not None else ()
    # An operation event's status says what some providers call the charge after *that*
    # operation; the totals decide, so only statuses without money consequences are taken.
    status = None if event.operation is not None else event.payment_status
    if status in MONEY_STATUSES:
        status = None
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
