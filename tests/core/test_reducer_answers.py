"""A capture, void or refund answer folded into the payment it was made from.

``apply_operation`` sums in minor units rather than in ``Money`` (issue 18): these specs hold
it to the rule it documents, over any payment a legal life produces and any answer: an answer
that takes captures and voids (pending ones included) past the authorization, or refunds,
pending refunds and chargebacks past the captures, is refused with ``ProviderResponseError``
and changes nothing; any other is on the result, counted once when it succeeded.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import (
    Money,
    Operation,
    OperationKind,
    OperationStatus,
    Payment,
    PaymentStatus,
    ProviderResponseError,
    apply_operation,
    apply_update,
)
from tests.core.test_money_states import Step, true_lives

K = OperationKind
S = OperationStatus


def lived(amount: int, steps: list[Step]) -> Payment:
    """The payment after a legal life, told answer by answer."""
    payment = Payment.new(
        "fakepay",
        "pay_1",
        PaymentStatus.AUTHORIZED,
        Money(amount, "USD"),
        authorized=Money(amount, "USD"),
        operations=(Operation(K.AUTHORIZATION, "au", Money(amount, "USD")),),
    )
    for step in steps[1:]:
        payment = apply_operation(
            payment, Operation(step.kind, step.id, Money(step.amount, "USD"), status=step.status)
        )
    return payment


def exceeds(payment: Payment, answer: Operation) -> bool:
    """The documented rule, in the payment's own public terms."""
    if answer.status is S.FAILED or any(
        op.kind is answer.kind and op.id == answer.id for op in payment.operations
    ):
        return False
    minor = answer.amount.minor
    capture = minor if answer.kind is K.CAPTURE else 0
    void = minor if answer.kind is K.VOID else 0
    refund = minor if answer.kind is K.REFUND else 0
    reserved = payment.pending_total(K.CAPTURE, K.VOID).minor
    taken = payment.captured.minor + payment.voided.minor + reserved + capture + void
    returned = payment.refunded.minor + payment.refund_pending.minor + payment.charged_back.minor + refund
    return taken > payment.authorized.minor or returned > payment.captured.minor + capture


answers = st.builds(
    lambda kind, amount, status, known: (kind, amount, status, known),
    st.sampled_from([K.CAPTURE, K.VOID, K.REFUND]),
    st.integers(1, 60_000),
    st.sampled_from(list(S)),
    st.booleans(),
)


@given(life=true_lives(), answer=answers)
def test_an_answer_is_refused_exactly_when_it_exceeds_what_the_payment_holds(
    life: tuple[int, list[Step]], answer: tuple[OperationKind, int, OperationStatus, bool]
) -> None:
    payment = lived(*life)
    kind, amount, status, known = answer
    same_kind = [op for op in payment.operations if op.kind is kind]
    # A replay reports a known operation with its own amount and a status no earlier than the
    # one known (a refused operation stays refused: the provider contradicting itself is a
    # different spec); a new one has a fresh id.
    if known and same_kind:
        replayed = same_kind[0]
        settled = replayed.status if replayed.status is S.FAILED else status
        op = Operation(kind, replayed.id, replayed.amount, status=settled)
    else:
        op = Operation(kind, "answer_1", Money(amount, "USD"), status=status)
    if exceeds(payment, op):
        with pytest.raises(ProviderResponseError, match="would exceed what it holds"):
            apply_operation(payment, op)
        return
    result = apply_operation(payment, op)
    assert any(o.kind is kind and o.id == op.id for o in result.operations)
    counted = sum(o.amount.minor for o in result.operations if o.kind is kind and o.counts)
    total = {K.CAPTURE: result.captured, K.VOID: result.voided, K.REFUND: result.refunded}[kind]
    assert total.minor >= counted


def test_an_answer_in_another_currency_is_refused_naming_both() -> None:
    payment = lived(1_000, [Step(K.AUTHORIZATION, "au", 1_000, S.SUCCEEDED)])
    with pytest.raises(ProviderResponseError, match="capture cp_1 is in EUR, the payment pay_1 in USD"):
        apply_operation(payment, Operation(K.CAPTURE, "cp_1", Money(100, "EUR")))


@given(life=true_lives())
def test_what_is_left_to_capture_and_refund_follows_the_totals_and_pending_operations(
    life: tuple[int, list[Step]],
) -> None:
    payment = lived(*life)
    pending = {
        kind: sum(o.amount.minor for o in payment.operations if o.kind is kind and o.pending) for kind in K
    }
    capturing = payment.status in (PaymentStatus.AUTHORIZED, PaymentStatus.PARTIALLY_CAPTURED)
    refunding = payment.status in (
        PaymentStatus.PARTIALLY_CAPTURED,
        PaymentStatus.CAPTURED,
        PaymentStatus.PARTIALLY_REFUNDED,
    )
    left = payment.authorized.minor - payment.captured.minor - payment.voided.minor
    refundable = payment.captured.minor - payment.refunded.minor - payment.charged_back.minor
    assert payment.capturable == Money(
        max(left - pending[K.CAPTURE] - pending[K.VOID], 0) if capturing else 0, "USD"
    )
    assert payment.refundable == Money(max(refundable - pending[K.REFUND], 0) if refunding else 0, "USD")
    assert payment.refund_pending == Money(pending[K.REFUND], "USD")


@given(
    life=true_lives(),
    currency=st.sampled_from(["EUR", "JPY", "GBP"]),
    refunded=st.integers(min_value=0, max_value=2_000),
    charged_back=st.integers(min_value=0, max_value=2_000),
)
def test_a_read_in_another_currency_is_refused_and_the_stored_payment_kept(
    life: tuple[int, list[Step]], currency: str, refunded: int, charged_back: int
) -> None:
    """A fresh read the provider reports in another currency is the provider's error, whatever
    its totals: never a bare ValueError from adding Money of two currencies."""
    amount, steps = life
    stored = lived(amount, steps)
    whole = max(amount, refunded + charged_back)  # a read that is consistent in itself
    reported = Payment.new(
        "fakepay",
        "pay_1",
        PaymentStatus.CAPTURED,
        Money(whole, currency),
        authorized=Money(whole, currency),
        captured=Money(whole, currency),
        refunded=Money(refunded, currency),
        charged_back=Money(charged_back, currency),
    )
    with pytest.raises(ProviderResponseError, match=f"reports it in {currency}, but it is in USD"):
        apply_update(stored, reported)
