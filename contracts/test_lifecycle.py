"""Random operation sequences against a model, through both gateways.

A hypothesis ``RuleBasedStateMachine`` authorizes payments, plays the consumer (approve,
decline, cancel, walk away), captures, voids and refunds random amounts (too large ones
included), reads payments and delivers webhooks (duplicated and out of order). After every
step, for every payment:

* the provider's view (``get_payment``) equals the model: amount and every total;
* its status is the one the model implies, and moved only along the core table;
* a terminal status stays terminal;
* the host's view, built from webhooks and reads through the core reducer, never moved back
  and never claims more money moved than did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from psp_core import (
    TERMINAL_PAYMENT_STATUSES,
    CaptureMode,
    CaptureRequest,
    Money,
    Payment,
    PaymentStatus,
    RefundRequest,
    UnsupportedOperationError,
    ValidationError,
    VoidRequest,
    WebhookOrder,
    apply_event,
    apply_update,
    can_transition,
    status_from_totals,
)

from ._harness import Contract, never_back

_P = PaymentStatus
WAITING = frozenset({_P.PENDING, _P.REQUIRES_ACTION})
STOPPED = frozenset({_P.DECLINED, _P.FAILED})
TIMED_OUT = frozenset({_P.EXPIRED, _P.FAILED, _P.DECLINED})
TOTALS = ("authorized", "captured", "refunded", "voided")
REFUNDABLE = frozenset({_P.PARTIALLY_CAPTURED, _P.CAPTURED, _P.PARTIALLY_REFUNDED})
SIZES = st.sampled_from(["all", "part", "too_much"])
VIAS = st.sampled_from(["sync", "async"])
# Approval first: it is what leads on to captures, voids and refunds.
ACTIONS = st.sampled_from(["approve", "approve", "approve", "decline", "cancel", "time_out"])
# What the consumer does right after the payment is created ("wait": nothing yet).
THEN = st.sampled_from(["approve", "approve", "approve", "wait", "decline", "cancel"])


@attrs.define
class Tracked:
    """The model of one payment, the last provider view, and the host's stored view."""

    id: str
    amount: Money
    mode: CaptureMode
    phase: str = "waiting"  # waiting | stopped | timed_out | approved
    authorized: int = 0
    captured: int = 0
    refunded: int = 0
    voided: int = 0
    refund_pending: int = 0  # accepted by the PSP, not settled: reserved
    seen: Payment | None = None
    host: Payment | None = None

    def expected(self) -> frozenset[PaymentStatus]:
        if self.phase == "waiting":
            return WAITING
        if self.phase == "stopped":
            return STOPPED
        if self.phase == "timed_out":
            return TIMED_OUT
        currency = self.amount.currency
        authorized, captured, refunded, voided = (Money(getattr(self, total), currency) for total in TOTALS)
        implied = status_from_totals(authorized, captured, refunded, voided, Money.zero(currency))
        assert implied is not None
        return frozenset({implied})

    @property
    def capturable(self) -> int:
        return self.authorized - self.captured - self.voided if self.phase == "approved" else 0

    @property
    def refundable(self) -> int:
        return self.captured - self.refunded - self.refund_pending


def lifecycle_machine(start: Callable[[], Contract]) -> type[RuleBasedStateMachine]:
    """A state machine class over fresh sandboxes of one provider."""
    probe = start()
    caps = probe.capabilities
    currencies = probe.currencies
    bounds = {currency: probe.bounds(currency) for currency in currencies}
    modes = sorted(caps.capture_modes, key=lambda mode: mode.value)
    probe.close()

    @st.composite
    def amounts(draw: st.DrawFn) -> Money:
        currency = draw(st.sampled_from(currencies))
        low, high = bounds[currency]
        return Money(draw(st.integers(max(low, 2), high)), currency)

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.contract = start()
            self.payments: dict[str, Tracked] = {}

        def teardown(self) -> None:
            self.contract.close()

        # -- helpers ------------------------------------------------------------------

        def _open(self) -> int:
            """Payments that can still change: waiting, or holding money that can move."""
            return sum(
                1 for p in self.payments.values() if p.phase == "waiting" or p.capturable or p.refundable
            )

        def _any(self, wanted: Callable[[Tracked], bool]) -> bool:
            return any(wanted(p) for p in self.payments.values())

        def _pick(self, data: st.DataObject, wanted: Callable[[Tracked], bool], label: str) -> Tracked | None:
            candidates = sorted(pid for pid, p in self.payments.items() if wanted(p))
            if not candidates:
                return None
            return self.payments[data.draw(st.sampled_from(candidates), label=label)]

        def _size(self, data: st.DataObject, size: str, remaining: int, currency: str) -> Money | None:
            if size == "all":
                return None
            if size == "part" and remaining >= 2:
                return Money(data.draw(st.integers(1, remaining - 1), label="part"), currency)
            if size == "part":
                return None
            return Money(remaining + data.draw(st.integers(1, 10**4), label="over"), currency)

        def _operate(
            self,
            tracked: Tracked,
            via: str,
            method: str,
            request: Any,
            amount: Money | None,
            remaining: int,
            refusal: type[Exception] | None,
        ) -> int | None:
            """Run ``method``; returns the amount moved, or None when it was (rightly) refused."""
            wanted = amount.minor if amount is not None else remaining
            if wanted > remaining:
                refusal = ValidationError
            if refusal is not None:
                with pytest.raises(refusal):
                    self.contract.call(via, method, request)
                return None
            result = self.contract.call(via, method, request)
            assert isinstance(result, Payment) and result.id == tracked.id
            return wanted

        # -- rules --------------------------------------------------------------------

        @initialize(amount=amounts(), mode=st.sampled_from(modes), via=VIAS, then=THEN)
        def first_payment(self, amount: Money, mode: CaptureMode, via: str, then: str) -> None:
            # Every sequence has a payment to work on, whichever rules it enables.
            self.authorize(amount, mode, via, then)

        @precondition(lambda self: len(self.payments) < 6 and self._open() < 3)
        @rule(amount=amounts(), mode=st.sampled_from(modes), via=VIAS, then=THEN)
        def authorize(self, amount: Money, mode: CaptureMode, via: str, then: str) -> None:
            request = self.contract.authorize_request(amount, capture_mode=mode)
            payment = self.contract.call(via, "authorize", request)
            assert payment.amount == amount and payment.status in WAITING
            tracked = Tracked(payment.id, amount, mode, seen=payment, host=payment)
            self.payments[payment.id] = tracked
            if then != "wait":
                self._consumer_acts(tracked, then)

        @precondition(lambda self: self._any(lambda p: p.phase == "waiting"))
        @rule(data=st.data(), action=ACTIONS)
        def consumer(self, data: st.DataObject, action: str) -> None:
            tracked = self._pick(data, lambda p: p.phase == "waiting", "waiting payment")
            if tracked is not None:
                self._consumer_acts(tracked, action)

        def _consumer_acts(self, tracked: Tracked, action: str) -> None:
            sandbox = self.contract.sandbox
            if action == "time_out":
                sandbox.let_time_out(tracked.id)
                # Time passed for everyone: every payment still waiting ran out of it too.
                for other in self.payments.values():
                    if other.phase == "waiting":
                        other.phase = "timed_out"
                    if other.refund_pending:
                        self._settled_by_time(other)
                return
            getattr(sandbox, action)(tracked.id)
            if action != "approve" or self.contract.declines(tracked.amount):
                tracked.phase = "stopped"
                return
            tracked.phase = "approved"
            tracked.authorized = tracked.amount.minor
            if tracked.mode is CaptureMode.AUTOMATIC:
                tracked.captured = tracked.amount.minor

        def _settled_by_time(self, tracked: Tracked) -> None:
            """A sandbox may settle pending refunds on its own clock (PPRO's after a delay):
            whatever settled moved from pending to refunded, all of it and nothing else."""
            view = self.contract.gateway.get_payment(tracked.id)
            settled = tracked.refund_pending - view.refund_pending.minor
            assert settled >= 0 and view.refunded.minor - tracked.refunded == settled, (
                f"after time passed: refunded {view.refunded}, pending {view.refund_pending}; the "
                f"model had {tracked.refunded} refunded and {tracked.refund_pending} pending"
            )
            tracked.refunded += settled
            tracked.refund_pending -= settled

        @precondition(lambda self: CaptureMode.SEPARATE in caps.capture_modes)
        @precondition(lambda self: self._any(lambda p: p.capturable > 0))
        @rule(data=st.data(), size=SIZES, via=VIAS)
        def capture(self, data: st.DataObject, size: str, via: str) -> None:
            tracked = self._pick(data, lambda p: p.capturable > 0, "capturable payment")
            if tracked is None:
                return
            view = self.contract.gateway.get_payment(tracked.id)
            amount = self._size(data, size, tracked.capturable, tracked.amount.currency)
            refusal: type[Exception] | None = None
            if amount is not None and amount.minor < tracked.capturable and not caps.partial_capture:
                refusal = UnsupportedOperationError
            if tracked.captured and not caps.multiple_captures:
                refusal = UnsupportedOperationError
            moved = self._operate(
                tracked, via, "capture", CaptureRequest(view, amount), amount, tracked.capturable, refusal
            )
            if moved is not None:
                tracked.captured += moved

        @precondition(lambda self: caps.void and self._any(lambda p: p.capturable > 0))
        @rule(data=st.data(), size=SIZES, via=VIAS)
        def void(self, data: st.DataObject, size: str, via: str) -> None:
            tracked = self._pick(data, lambda p: p.capturable > 0, "voidable payment")
            if tracked is None:
                return
            view = self.contract.gateway.get_payment(tracked.id)
            amount = self._size(data, size, tracked.capturable, tracked.amount.currency)
            refusal: type[Exception] | None = None
            if amount is not None and amount.minor < tracked.capturable and not caps.partial_void:
                refusal = UnsupportedOperationError
            moved = self._operate(
                tracked, via, "void", VoidRequest(view, amount), amount, tracked.capturable, refusal
            )
            if moved is not None:
                tracked.voided += moved

        @precondition(lambda self: caps.refunds and self._any(lambda p: p.refundable > 0))
        @rule(data=st.data(), size=SIZES, via=VIAS)
        def refund(self, data: st.DataObject, size: str, via: str) -> None:
            tracked = self._pick(data, lambda p: p.refundable > 0, "refundable payment")
            if tracked is None:
                return
            view = self.contract.gateway.get_payment(tracked.id)
            amount = self._size(data, size, tracked.refundable, tracked.amount.currency)
            refusal: type[Exception] | None = None
            if amount is not None and amount.minor < tracked.refundable and not caps.partial_refund:
                refusal = UnsupportedOperationError
            if tracked.refunded and not caps.multiple_refunds:
                refusal = UnsupportedOperationError
            wanted = amount.minor if amount is not None else tracked.refundable
            if wanted > tracked.refundable:
                refusal = ValidationError
            if refusal is not None:
                with pytest.raises(refusal):
                    self.contract.call(via, "refund", RefundRequest(view, amount))
                return
            result = self.contract.call(via, "refund", RefundRequest(view, amount))
            # Settled in the answer, or pending and reserving the amount (never neither).
            pending = (result.refund_pending - view.refund_pending).minor
            settled = (result.refunded - view.refunded).minor
            assert (pending, settled) in ((wanted, 0), (0, wanted)), (pending, settled, wanted)
            tracked.refund_pending += pending
            tracked.refunded += settled

        @precondition(
            lambda self: (
                caps.pending_refunds
                and self.contract.can_settle_refunds
                and self._any(lambda p: p.refund_pending > 0)
            )
        )
        @rule(data=st.data(), succeed=st.booleans())
        def settle_refunds(self, data: st.DataObject, succeed: bool) -> None:
            tracked = self._pick(data, lambda p: p.refund_pending > 0, "payment with pending refunds")
            if tracked is None:
                return
            assert self.contract.settle_refunds(tracked.id, succeed=succeed) >= 1
            if succeed:
                tracked.refunded += tracked.refund_pending
            tracked.refund_pending = 0

        @precondition(lambda self: self._open() > 0)
        @rule(order=st.sampled_from(list(WebhookOrder)))
        def deliver_webhooks(self, order: WebhookOrder) -> None:
            for event in self.contract.webhook_events(order):
                tracked = self.payments.get(event.payment_id or "")
                if tracked is None or tracked.host is None:
                    continue
                before, after = tracked.host, apply_event(tracked.host, event)
                assert never_back(before.status, after.status), (
                    f"webhook {event.provider_type} moved the host's payment "
                    f"{before.status.value} -> {after.status.value}"
                )
                for total in TOTALS:
                    assert getattr(before, total) <= getattr(after, total), f"webhook lowered {total}"
                    assert getattr(after, total).minor <= getattr(tracked, total), (
                        f"a webhook claims more {total} than the PSP did"
                    )
                tracked.host = after

        @precondition(lambda self: bool(self.payments))
        @rule(data=st.data())
        def read_through_the_async_gateway(self, data: st.DataObject) -> None:
            tracked = self._pick(data, lambda p: True, "payment")
            if tracked is not None:
                assert self.contract.call("async", "get_payment", tracked.id) == (
                    self.contract.gateway.get_payment(tracked.id)
                )

        # -- after every step -------------------------------------------------------------

        @invariant()
        def provider_view_matches_the_model(self) -> None:
            for tracked in self.payments.values():
                view = self.contract.gateway.get_payment(tracked.id)
                assert view.amount == tracked.amount
                for total in (*TOTALS, "refund_pending"):
                    assert getattr(view, total).minor == getattr(tracked, total), (
                        f"{total}: the provider says {getattr(view, total)}, "
                        f"the model {getattr(tracked, total)} minor units"
                    )
                assert view.refundable.minor == (tracked.refundable if view.status in REFUNDABLE else 0)
                assert view.status in tracked.expected(), (
                    f"status {view.status.value}, "
                    f"expected one of {sorted(s.value for s in tracked.expected())}"
                )
                seen = tracked.seen
                assert seen is not None
                assert can_transition(seen.status, view.status), (
                    f"the provider moved {seen.status.value} -> {view.status.value}"
                )
                if seen.status in TERMINAL_PAYMENT_STATUSES:
                    assert view.status is seen.status, "a terminal status was left"
                tracked.seen = view
                assert tracked.host is not None
                host = apply_update(tracked.host, view)
                assert never_back(tracked.host.status, host.status)
                assert host.status is view.status, "after a fresh read the host agrees with the provider"
                tracked.host = host

    return Lifecycle


@pytest.mark.psp_verifies("lifecycle", "webhooks")
def test_random_operation_sequences_follow_the_state_machine(contract: Contract) -> None:
    contract.sandbox  # noqa: B018 - skips when there is no sandbox to drive
    machine = lifecycle_machine(contract.fresh)
    suite = contract.hypothesis_settings
    budget = max(8, suite.max_examples // 2)
    run_state_machine_as_test(machine, settings=settings(suite, max_examples=budget, stateful_step_count=15))
