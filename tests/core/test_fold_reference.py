"""The reducer's fold of answers and events, written for speed, against the fold it replaced.

Issue 18 (round three) gave ``_merge`` a fast path for reports without a payment (the answer
to a capture, void or refund, and every webhook event): int totals, one pass over the
operations, the result built directly instead of through ``attrs.evolve``. The former
``_merge`` is kept here as the reference (only its reported-payment-free part is compared):
over generated stored payments, consistent or on the edge of their invariants, and generated
operations (replays, other currencies, pending and failed ones, negative amounts), the fold
gives the same payment, with the same operation details, or the same error.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import (
    MONEY_STATUSES,
    PAYMENT_RANK,
    TERMINAL_PAYMENT_STATUSES,
    Money,
    Operation,
    OperationKind,
    OperationSource,
    OperationStatus,
    Payment,
    PaymentStatus,
    ProviderResponseError,
    apply_operation,
    status_from_totals,
)
from psp_core._reducer import _earliest, _fold_status, _merge, merge_operation

# -- the reference: _merge (without a reported payment) as it was before round three ------------


def reference_sums(operations: Iterable[Operation]) -> dict[OperationKind, int]:
    sums: dict[OperationKind, int] = {}
    for op in operations:
        if op.counts:
            sums[op.kind] = sums.get(op.kind, 0) + op.amount.minor
    return sums


def reference_merged_operations(current: Payment, operations: Iterable[Operation]) -> tuple[Operation, ...]:
    merged = {(op.kind, op.id): op for op in current.operations}
    currency = current.amount.currency
    for op in operations:
        if op.amount.currency != currency:
            raise ProviderResponseError(
                f"{op.kind.value} {op.id} is in {op.amount.currency}, the payment {current.id} in {currency}"
            )
        key = (op.kind, op.id)
        merged[key] = merge_operation(merged[key], op) if key in merged else op
    return tuple(sorted(merged.values(), key=lambda op: (op.kind.value, op.id)))


def reference_fold_status(
    current: PaymentStatus, reported: PaymentStatus | None, implied: PaymentStatus | None
) -> PaymentStatus:
    words = [current] if reported is None else [current, reported]
    if implied is not None:
        words = [word for word in words if word not in MONEY_STATUSES] + [implied]
    return max(words, key=PAYMENT_RANK.__getitem__)


def reference_first_capture(operations: Iterable[Operation]) -> datetime | None:
    times = [
        op.at for op in operations if op.kind is OperationKind.CAPTURE and op.counts and op.at is not None
    ]
    return min(times) if times else None


def reference_merge(
    current: Payment, reported_status: PaymentStatus | None, operations: Iterable[Operation]
) -> Payment:
    reported = None
    currency = current.amount.currency
    amount = current.amount
    ops = reference_merged_operations(current, operations)
    sums = reference_sums(ops)

    def total(name: str, kind: OperationKind) -> Money:
        best: Money = getattr(current, name)
        summed = sums.get(kind, 0)
        if summed > best.minor:
            best = Money(summed, currency)
        return best

    charged_back = total("charged_back", OperationKind.CHARGEBACK)
    refunded = total("refunded", OperationKind.REFUND)
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
        status = reference_fold_status(current.status, reported_status, implied)
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
            captured_at=_earliest(
                _earliest(current.captured_at, newer.captured_at), reference_first_capture(ops)
            ),
            mandate_id=current.mandate_id or newer.mandate_id,
            merchant_reference=current.merchant_reference or newer.merchant_reference,
            amount=amount,
            consumer=newer.consumer or current.consumer,
            order=newer.order or current.order,
        )
    except ValueError as error:
        raise ProviderResponseError(
            f"payment {current.id}: the provider's reports add up to more than is possible ({error}); "
            "the stored payment was kept as it was: read the payment again and contact the provider "
            "if it persists"
        ) from None


# -- generated payments and operations ----------------------------------------------------------

USD = "USD"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
TIMES = st.one_of(st.none(), st.integers(0, 4).map(lambda minutes: T0 + timedelta(minutes=minutes)))


def outcome(fold: Any, *args: Any) -> tuple[str, Any]:
    try:
        payment = fold(*args)
    except Exception as error:
        return ("refused", (type(error), str(error)))
    # at, updated_at and source are not part of an Operation's equality: compared too.
    details = [(op.at, op.updated_at, op.source) for op in payment.operations]
    return ("folded", (payment, details))


@st.composite
def an_operation(draw: st.DrawFn, currency: str = USD) -> Operation:
    return Operation(
        draw(st.sampled_from(list(OperationKind))),
        draw(st.sampled_from(["a", "b", "c"])),
        Money(draw(st.integers(-2, 12)), draw(st.sampled_from([currency] * 5 + ["EUR"]))),
        at=draw(TIMES),
        status=draw(st.sampled_from(list(OperationStatus))),
        merchant_reference=draw(st.sampled_from([None, "r1", "r2"])),
        updated_at=draw(TIMES),
        source=draw(st.sampled_from([None, *OperationSource])),
    )


@st.composite
def a_stored_payment(draw: st.DrawFn) -> Payment:
    """A payment the reducer may be given: its invariants hold, its totals may be on their edge."""
    amount = draw(st.integers(0, 30))
    authorized = draw(st.integers(0, amount))
    captured = draw(st.integers(0, authorized))
    voided = draw(st.integers(0, authorized - captured))
    refunded = draw(st.integers(0, captured))
    charged_back = draw(st.integers(0, captured - refunded))
    ops = draw(st.lists(an_operation(), max_size=4))
    return Payment(
        provider="fakepay",
        id="ch_1",
        status=draw(st.sampled_from(list(PaymentStatus))),
        amount=Money(amount, USD),
        authorized=Money(authorized, USD),
        captured=Money(captured, USD),
        refunded=Money(refunded, USD),
        voided=Money(voided, USD),
        charged_back=Money(charged_back, USD),
        provider_status=draw(st.sampled_from(["", "CAPTURE_PENDING"])),
        merchant_reference=draw(st.sampled_from([None, "order-1"])),
        # Operations in the payment's own currency only: a payment refuses any other.
        operations=tuple(op for op in ops if op.amount.currency == USD),
        captured_at=draw(TIMES),
        mandate_id=draw(st.sampled_from([None, "agr_1"])),
    )


@settings(max_examples=500)
@given(
    a_stored_payment(),
    st.one_of(st.none(), st.sampled_from(list(PaymentStatus))),
    st.lists(an_operation(), max_size=3),
)
def test_the_fold_of_reports_without_a_payment_is_the_former_fold(
    current: Payment, status: PaymentStatus | None, operations: list[Operation]
) -> None:
    assert outcome(_merge, current, status, operations, None) == outcome(
        reference_merge, current, status, operations
    )


@settings(max_examples=500)
@given(a_stored_payment(), an_operation())
def test_an_answer_is_folded_as_the_former_fold_did(current: Payment, operation: Operation) -> None:
    assert outcome(apply_operation, current, operation) == outcome(reference_apply, current, operation)


def reference_apply(current: Payment, operation: Operation) -> Payment:
    """``apply_operation`` as it was before round three, folding with ``reference_merge``."""
    known = any(op.kind is operation.kind and op.id == operation.id for op in current.operations)
    if not known and operation.status is not OperationStatus.FAILED:
        amount = operation.amount
        if amount.currency != current.amount.currency:
            raise ProviderResponseError(
                f"{operation.kind.value} {operation.id} is in {amount.currency}, the payment "
                f"{current.id} in {current.amount.currency}"
            )
        kind, minor = operation.kind, amount.minor
        capture = minor if kind is OperationKind.CAPTURE else 0
        void = minor if kind is OperationKind.VOID else 0
        refund = minor if kind is OperationKind.REFUND else 0
        reserved_capture = reserved_refund = 0
        for op in current.operations:
            if op.pending:
                if op.kind is OperationKind.CAPTURE or op.kind is OperationKind.VOID:
                    reserved_capture += op.amount.minor
                elif op.kind is OperationKind.REFUND:
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
    return reference_merge(current, None, (operation,))


def test_money_moved_on_a_payment_with_no_authorization_authorizes_the_whole_amount() -> None:
    # As a webhook may bring it, before the authorization's own event.
    current = Payment.new("fakepay", "ch_1", PaymentStatus.PROCESSING, Money(1000, USD))
    capture = Operation(OperationKind.CAPTURE, "cap_1", Money(400, USD), at=T0)
    folded = _merge(current, None, (capture,), None)
    assert (folded.authorized, folded.captured) == (Money(1000, USD), Money(400, USD))
    assert folded.status is PaymentStatus.PARTIALLY_CAPTURED
    assert folded.captured_at == T0


def test_a_refund_reported_beyond_the_captures_raises_the_captured_total() -> None:
    current = Payment.new(
        "fakepay", "ch_1", PaymentStatus.AUTHORIZED, Money(1000, USD), authorized=Money(1000, USD)
    )
    refund = Operation(OperationKind.REFUND, "ref_1", Money(300, USD))
    folded = _merge(current, None, (refund,), None)
    assert (folded.captured, folded.refunded) == (Money(300, USD), Money(300, USD))
    assert folded.status is PaymentStatus.PARTIALLY_CAPTURED


def test_the_earliest_succeeded_capture_starts_the_refund_window() -> None:
    current = Payment.new(
        "fakepay", "ch_1", PaymentStatus.AUTHORIZED, Money(1000, USD), authorized=Money(1000, USD)
    )
    later = Operation(OperationKind.CAPTURE, "cap_2", Money(100, USD), at=T0 + timedelta(hours=1))
    failed = Operation(
        OperationKind.CAPTURE,
        "cap_0",
        Money(100, USD),
        at=T0 - timedelta(hours=1),
        status=OperationStatus.FAILED,
    )
    earlier = Operation(OperationKind.CAPTURE, "cap_1", Money(100, USD), at=T0)
    folded = _merge(current, None, (later, failed, earlier), None)
    assert folded.captured_at == T0
    assert [op.id for op in folded.operations] == ["cap_0", "cap_1", "cap_2"]


def test_an_answer_in_another_currency_is_refused_and_names_both() -> None:
    current = Payment.new(
        "fakepay", "ch_1", PaymentStatus.AUTHORIZED, Money(1000, USD), authorized=Money(1000, USD)
    )
    with pytest.raises(ProviderResponseError, match="capture cap_1 is in EUR, the payment ch_1 in USD"):
        _merge(current, None, (Operation(OperationKind.CAPTURE, "cap_1", Money(5, "EUR")),), None)


def test_the_status_fold_is_the_former_one_for_every_combination_of_words() -> None:
    # Used by every fold, reads included: all 13 x 14 x 14 combinations, exhaustively.
    maybe = [None, *PaymentStatus]
    for current in PaymentStatus:
        for reported in maybe:
            for implied in maybe:
                assert _fold_status(current, reported, implied) is reference_fold_status(
                    current, reported, implied
                ), (current, reported, implied)
