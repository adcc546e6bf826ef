"""Money properties: exact round trips, and no capture or refund beyond what the payment holds.

The gateway refuses an amount above what remains before any I/O. The PSP must refuse it too:
a host whose stored view is stale gets past the gateway, and the provider must then answer
with a typed error (or an in-band decline) and store nothing.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from psp_core import (
    CaptureMode,
    CaptureRequest,
    Money,
    Payment,
    PaymentStatus,
    PspError,
    RefundRequest,
    ValidationError,
)

from ._harness import Contract

verifies = pytest.mark.psp_verifies


@st.composite
def amounts(draw: st.DrawFn, contract: Contract, smallest: int = 1) -> Money:
    currency = draw(st.sampled_from(contract.currencies))
    low, high = contract.bounds(currency)
    return Money(draw(st.integers(max(low, smallest), high)), currency)


def refused_at_the_psp(contract: Contract, payment_id: str, attempt: object, before: Payment) -> None:
    """``attempt`` (a callable) must be refused by the provider and change nothing there."""
    effects = contract.sandbox.effects(payment_id)
    try:
        answer = attempt()  # type: ignore[operator]
    except PspError:
        pass
    except Exception as error:  # the contract: every refusal is a typed psp error
        raise AssertionError(f"the refusal is not a psp error: {error!r}") from error
    else:
        assert isinstance(answer, Payment) and answer.decline is not None, (
            f"the provider accepted an operation beyond the payment's balance: {answer}"
        )
    assert contract.sandbox.effects(payment_id) == effects, "a refused operation left an effect at the PSP"
    after = contract.gateway.get_payment(payment_id)
    assert (after.authorized, after.captured, after.refunded, after.voided) == (
        before.authorized,
        before.captured,
        before.refunded,
        before.voided,
    )


@verifies("currencies", "amount_limits")
@pytest.mark.psp_live
def test_any_valid_amount_round_trips_exactly(contract: Contract) -> None:
    @contract.hypothesis_settings
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        amount = data.draw(amounts(contract))
        via = data.draw(st.sampled_from(["sync", "async"]))
        created = contract.call(via, "authorize", contract.authorize_request(amount))
        assert created.amount == amount
        assert contract.call(via, "get_payment", created.id).amount == amount
        if not contract.has_sandbox():
            return
        contract.sandbox.approve(created.id)
        payment = contract.call(via, "get_payment", created.id)
        if contract.declines(amount):
            assert payment.status is PaymentStatus.DECLINED and payment.decline is not None
            assert not payment.authorized
            return
        assert payment.authorized == amount
        if payment.status is PaymentStatus.AUTHORIZED:
            payment = contract.call(via, "capture", CaptureRequest(payment))
        assert payment.captured == amount
        if contract.supports("refunds"):
            answer = contract.call(via, "refund", RefundRequest(payment))
            assert answer.refunded + answer.refund_pending == amount
            settled = contract.settled(contract.call(via, "get_payment", created.id))
            assert settled.refunded == amount

    check()


@verifies("capture_modes.separate", "partial_capture")
def test_captures_never_exceed_the_authorized_amount(contract: Contract) -> None:
    contract.require("capture_modes.separate", "partial_capture")

    @contract.hypothesis_settings
    @given(amount=amounts(contract, smallest=2), data=st.data())
    def check(amount: Money, data: st.DataObject) -> None:
        assume(not contract.declines(amount))
        authorized = contract.approved(amount, CaptureMode.SEPARATE)
        first = Money(data.draw(st.integers(1, amount.minor - 1), label="first capture"), amount.currency)
        after = contract.gateway.capture(CaptureRequest(authorized, first))
        remaining = amount - first
        over = Money(data.draw(st.integers(1, first.minor), label="overshoot"), amount.currency)
        with pytest.raises(ValidationError):  # the gateway knows what remains
            contract.gateway.capture(CaptureRequest(after, remaining + over))
        # A stale view (before the first capture) gets past the gateway; the PSP must refuse.
        refused_at_the_psp(
            contract,
            authorized.id,
            lambda: contract.gateway.capture(CaptureRequest(authorized, remaining + over)),
            after,
        )

    check()


@verifies("refunds", "partial_refund")
def test_refunds_never_exceed_the_captured_amount(contract: Contract) -> None:
    contract.require("refunds", "partial_refund", "multiple_refunds")

    @contract.hypothesis_settings
    @given(amount=amounts(contract, smallest=3), data=st.data())
    def check(amount: Money, data: st.DataObject) -> None:
        assume(not contract.declines(amount))
        captured = contract.captured(amount)
        first = Money(data.draw(st.integers(1, amount.minor - 1), label="first refund"), amount.currency)
        after = contract.gateway.refund(RefundRequest(captured, first))
        assert after.refunded + after.refund_pending == first
        after = contract.settled(after)
        assert after.refunded == first
        left = amount - first
        over = Money(data.draw(st.integers(1, first.minor), label="overshoot"), amount.currency)
        with pytest.raises(ValidationError):
            contract.gateway.refund(RefundRequest(after, left + over))
        stale = attrs.evolve(after, refunded=Money.zero(amount.currency), status=PaymentStatus.CAPTURED)
        refused_at_the_psp(
            contract, captured.id, lambda: contract.gateway.refund(RefundRequest(stale, left + over)), after
        )

    check()
