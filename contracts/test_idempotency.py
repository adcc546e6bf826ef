"""Idempotency: the same key gives the same result and one effect; a reused key with other
parameters is a conflict; an unknown outcome resumes with the same key to exactly one effect."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import (
    CaptureRequest,
    IdempotencyConflictError,
    Money,
    PaymentStatus,
    RefundRequest,
    RetryPolicy,
    TransportError,
)

from ._harness import Contract

verifies = pytest.mark.psp_verifies
vias = st.sampled_from(["sync", "async"])


@verifies("idempotency")
def test_authorize_with_the_same_key_creates_one_payment(contract: Contract) -> None:
    @contract.hypothesis_settings
    @given(first=vias, second=vias)
    def check(first: str, second: str) -> None:
        request = contract.authorize_request(contract.ordinary_amount(), key=contract.reference("key"))
        one = contract.call(first, "authorize", request)
        two = contract.call(second, "authorize", request)
        assert one.id == two.id and one.amount == two.amount and one.status == two.status
        assert contract.sandbox.payment_count(request.merchant_reference) == 1

    check()


@verifies("idempotency")
def test_a_reused_key_with_other_parameters_is_a_conflict(contract: Contract) -> None:
    request = contract.authorize_request(contract.ordinary_amount(), key=contract.reference("key"))
    contract.gateway.authorize(request)
    changed = attrs.evolve(request, amount=request.amount + Money(1, request.amount.currency))
    with pytest.raises(IdempotencyConflictError):
        contract.gateway.authorize(changed)
    assert contract.sandbox.payment_count(request.merchant_reference) == 1


@verifies("idempotency", "capture_modes.separate")
def test_a_capture_repeated_with_its_key_takes_effect_once(contract: Contract) -> None:
    contract.require("capture_modes.separate", "partial_capture")
    payment = contract.authorized()
    part = Money(payment.amount.minor // 2, payment.amount.currency)
    request = CaptureRequest(payment, part, idempotency_key=contract.reference("capture"))
    one = contract.gateway.capture(request)
    two = contract.call("async", "capture", request)
    assert one.captured == two.captured == part
    assert contract.sandbox.effects(payment.id).captures == 1
    assert contract.gateway.get_payment(payment.id).captured == part
    with pytest.raises(IdempotencyConflictError):
        contract.gateway.capture(attrs.evolve(request, amount=part - Money(1, part.currency)))
    assert contract.sandbox.effects(payment.id).captures == 1


@verifies("idempotency", "refunds")
def test_a_refund_repeated_with_its_key_takes_effect_once(contract: Contract) -> None:
    contract.require("refunds", "partial_refund")
    payment = contract.captured()
    part = Money(payment.captured.minor // 2, payment.amount.currency)
    request = RefundRequest(payment, part, idempotency_key=contract.reference("refund"))
    one = contract.call("async", "refund", request)
    two = contract.gateway.refund(request)
    assert one.refunded + one.refund_pending == two.refunded + two.refund_pending == part
    assert contract.sandbox.effects(payment.id).refunds == 1
    settled = contract.settled(contract.gateway.get_payment(payment.id))
    assert settled.status is PaymentStatus.PARTIALLY_REFUNDED and settled.refunded == part


def _supports_fault(contract: Contract, kind: str) -> None:
    if kind not in contract.sandbox.fault_kinds:
        pytest.skip(f"{contract.provider}'s sandbox cannot inject {kind!r}")


@verifies("unknown_outcome")
def test_a_dropped_answer_is_retried_with_the_same_key_to_one_effect(contract: Contract) -> None:
    contract.require("capture_modes.separate")
    _supports_fault(contract, "drop_after_store")
    payment = contract.authorized()
    contract.sandbox.inject_fault("drop_after_store")
    captured = contract.gateway.capture(CaptureRequest(payment))
    assert captured.captured == payment.amount
    assert contract.sandbox.effects(payment.id).captures == 1


@verifies("unknown_outcome")
def test_an_unknown_outcome_resumes_with_the_same_key_to_one_effect(contract: Contract) -> None:
    _supports_fault(contract, "drop_after_store")
    _supports_fault(contract, "timeout")
    attempts = RetryPolicy.no_wait().attempts
    request = contract.authorize_request(contract.ordinary_amount(), key=contract.reference("key"))
    # Stored, then the answer is lost, then every retry times out: the host cannot know.
    contract.sandbox.inject_fault("drop_after_store")
    contract.sandbox.inject_fault("timeout", attempts - 1)
    with pytest.raises(TransportError) as unknown:
        contract.gateway.authorize(request)
    assert unknown.value.outcome_unknown, "the PSP stored the payment; the outcome must be unknown"
    assert unknown.value.idempotency_key == request.idempotency_key
    found = contract.gateway.find_payment(request.merchant_reference)
    resumed = contract.gateway.authorize(request)
    assert found is not None and found.id == resumed.id
    assert contract.sandbox.payment_count(request.merchant_reference) == 1
