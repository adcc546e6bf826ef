"""A host's money through both gateways against the sandbox, in any interleaving.

Hypothesis drives one separate-capture payment through captures, voids, refunds (answered
PENDING, settled by the sandbox's clock or by its operator, succeeding or failing), partial
and full chargebacks, webhooks delivered in any order and twice, and reads, each call through
the sync or the async gateway. The host keeps one record, folded from every answer, webhook
and read. What must hold after every step:

- at the PSP: captured + voided <= authorized and refunded + pending refunds + charged back <=
  captured (the sandbox's balance rules; the host never gets it to break them);
- in the host's record: the same invariants, totals that only grow, never more than the PSP
  holds (no amount counted twice), and only moves the transition table allows;
- the gateway refuses, before any request, any capture, void or refund beyond what the
  record says is left, naming the pending refunds; one the record allows but the PSP no
  longer does (a chargeback not yet delivered) is refused by the PSP and changes nothing;
- once every webhook is delivered and the payment read, the record is the PSP's truth.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import event, settings
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
    AsyncGateway,
    CaptureMode,
    CaptureRequest,
    Gateway,
    Money,
    Payment,
    ProviderError,
    RefundRequest,
    RetryPolicy,
    ValidationError,
    VoidRequest,
    add_months,
    apply_event,
    apply_update,
    can_transition,
    status_from_totals,
)
from psp_ppro.sandbox import Sandbox, SandboxConfig

from .conftest import authorize_request

SECRET = "whsec_machine"
SETTLE_S = 60
OPTIONS = {
    "api_key": "key_sandbox_machine",
    "merchant_id": "merch_machine",
    "base_url": "https://sandbox.local",
    "webhook_secret": SECRET,
}
VIAS = st.sampled_from(["sync", "async"])
# Of what the record says is left: mostly within it, sometimes all of it, sometimes more.
SHARES = st.sampled_from([0.1, 0.3, 0.5, 1.0, 1.0, 1.25])
TOTALS = ("authorized", "captured", "refunded", "voided", "charged_back")


def usd(minor: int) -> Money:
    return Money(minor, "USD")


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sb = Sandbox(
            SandboxConfig(
                seed=11,
                webhook_secret=SECRET,
                refund_settlement_s=SETTLE_S,
                default_webhooks_url="https://shop.example/webhooks",
            )
        )
        clock = self.sb.clock.now
        common: dict[str, Any] = {
            "options": OPTIONS,
            "environ": {},
            "retry": RetryPolicy.no_wait(),
            "clock": clock,
        }
        self.gateway = Gateway("amazon_pay", transport=self.sb.transport(), **common)
        self.async_gateway = AsyncGateway("amazon_pay", transport=self.sb.transport(), **common)
        self.loop = asyncio.new_event_loop()
        self.record: Payment | None = None

    def teardown(self) -> None:
        self.gateway.close()
        self.loop.run_until_complete(self.async_gateway.aclose())
        self.loop.close()

    # -- helpers ----------------------------------------------------------------------------

    def call(self, via: str, method: str, request: object) -> Payment:
        if via == "sync":
            result = getattr(self.gateway, method)(request)
        else:
            result = self.loop.run_until_complete(getattr(self.async_gateway, method)(request))
        assert isinstance(result, Payment)
        return result

    @property
    def payment(self) -> Payment:
        assert self.record is not None
        return self.record

    def truth(self) -> dict[str, int]:
        """The PSP's own books for the payment, from the sandbox's record."""
        charge = self.sb.charge(self.payment.id)

        def total(key: str, status: str) -> int:
            return sum(op["amount"] for op in charge[key] if op["status"] == status)

        return {
            "authorized": sum(a["amount"] for a in charge["authorizations"] if a["status"] == "AUTHORIZED"),
            "captured": total("captures", "CAPTURED"),
            "voided": total("voids", "VOIDED"),
            "refunded": total("refunds", "REFUNDED"),
            "pending": total("refunds", "PENDING"),
            "charged_back": sum(cb.amount for cb in self.sb.chargebacks if cb.charge_id == self.payment.id),
        }

    def returnable(self) -> int:
        t = self.truth()
        return t["captured"] - t["refunded"] - t["pending"] - t["charged_back"]

    def keep(self, payment: Payment) -> None:
        """The host stores what it learnt; the record never moves back."""
        before = self.payment
        assert can_transition(before.status, payment.status), (before.status, payment.status)
        for name in TOTALS:
            assert getattr(payment, name) >= getattr(before, name), name
        self.record = payment

    def refused_before_any_request(self, via: str, method: str, request: object, pending_named: bool) -> None:
        event(f"{method} refused by the gateway" + (" naming pending refunds" if pending_named else ""))
        sent = self.sb.request_count
        with pytest.raises(ValidationError) as refused:
            self.call(via, method, request)
        assert self.sb.request_count == sent, f"a refused {method} was sent"
        if pending_named:
            named = str(refused.value)
            assert all(op.id in named for op in self.payment.pending_refunds), named

    # -- rules ------------------------------------------------------------------------------

    @initialize(amount=st.integers(100, 20_000), via=VIAS)
    def authorize_and_approve(self, amount: int, via: str) -> None:
        request = authorize_request(amount, capture_mode=CaptureMode.SEPARATE)
        created = self.call(via, "authorize", request)
        self.sb.approve(created.id)
        self.record = apply_update(created, self.gateway.get_payment(created.id))

    @precondition(lambda self: self.record is not None)
    @rule(share=SHARES, via=VIAS, void=st.booleans())
    def capture_or_void(self, share: float, via: str, void: bool) -> None:
        left = self.payment.capturable
        amount = usd(max(1, int(left.minor * share)))
        method, kind = ("void", VoidRequest) if void else ("capture", CaptureRequest)
        if not left or amount > left:
            self.refused_before_any_request(via, method, kind(self.payment, amount), pending_named=False)
            return
        before = self.truth()
        self.keep(self.call(via, method, kind(self.payment, amount)))
        after = self.truth()
        moved = "voided" if void else "captured"
        assert after[moved] - before[moved] == amount.minor

    @precondition(lambda self: self.record is not None and self.payment.captured.minor > 0)
    @rule(share=SHARES, via=VIAS)
    def refund(self, share: float, via: str) -> None:
        record = self.payment
        amount = usd(max(1, int(record.refundable.minor * share)))
        if not record.refundable or amount > record.refundable:
            self.refused_before_any_request(
                via, "refund", RefundRequest(record, amount), pending_named=bool(record.refund_pending)
            )
            return
        held = self.returnable()
        if amount.minor > held:
            # The record allows it, the PSP does not (a chargeback the host has not heard of).
            event("refund allowed by a stale record, refused by the PSP")
            sent = self.truth()
            with pytest.raises(ProviderError):
                self.call(via, "refund", RefundRequest(record, amount))
            assert self.truth() == sent, "a refused refund moved money"
            return
        answer = self.call(via, "refund", RefundRequest(record, amount))
        event("refund answered pending")
        # Answered PENDING: on the record at once, reserving its amount.
        assert answer.refund_pending - record.refund_pending == amount
        assert answer.refundable == record.refundable - amount
        self.keep(answer)

    @precondition(lambda self: self.record is not None and self.truth()["pending"] > 0)
    @rule(data=st.data(), succeed=st.booleans())
    def operator_settles_a_refund(self, data: st.DataObject, succeed: bool) -> None:
        charge = self.sb.charge(self.payment.id)
        pending = [r["id"] for r in charge["refunds"] if r["status"] == "PENDING"]
        self.sb.settle_refund(self.payment.id, data.draw(st.sampled_from(pending)), succeed=succeed)

    @precondition(lambda self: self.record is not None)
    @rule()
    def clock_settles_due_refunds(self) -> None:
        before = self.truth()
        self.sb.clock.advance(SETTLE_S + 1)
        self.sb.expire_pending()
        after = self.truth()
        assert after["pending"] == 0
        assert after["refunded"] == before["refunded"] + before["pending"]

    @precondition(lambda self: self.record is not None and self.returnable() > 0)
    @rule(full=st.booleans(), share=st.floats(0.01, 1.0))
    def chargeback(self, full: bool, share: float) -> None:
        held = self.returnable()
        amount = None if full else max(1, min(held, int(held * share)))
        event("full chargeback" if amount is None or amount == held else "partial chargeback")
        self.sb.chargeback(self.payment.id, amount)

    @precondition(lambda self: self.record is not None)
    @rule(data=st.data(), duplicates=st.integers(0, 3))
    def webhooks_in_any_order_and_twice(self, data: st.DataObject, duplicates: int) -> None:
        deliveries = self.sb.pending_webhooks()
        self.sb.drain_webhooks(lambda _delivery: 200)
        events = [self.gateway.parse_webhook(d.headers, d.body) for d in deliveries]
        mine = [e for e in events if e.payment_id == self.payment.id]
        if not mine:
            return
        order = data.draw(st.permutations(mine))
        order += data.draw(st.lists(st.sampled_from(mine), max_size=duplicates))
        for webhook in order:
            self.keep(apply_event(self.payment, webhook))

    @precondition(lambda self: self.record is not None)
    @rule(via=VIAS)
    def read(self, via: str) -> None:
        if via == "sync":
            fresh = self.gateway.get_payment(self.payment.id)
        else:
            fresh = self.loop.run_until_complete(self.async_gateway.get_payment(self.payment.id))
        self.keep(apply_update(self.payment, fresh))

    @precondition(lambda self: self.record is not None)
    @rule()
    def everything_delivered_and_read(self) -> None:
        for delivery in self.sb.pending_webhooks():
            self.keep(apply_event(self.payment, self.gateway.parse_webhook(delivery.headers, delivery.body)))
        self.sb.drain_webhooks(lambda _delivery: 200)
        self.keep(apply_update(self.payment, self.gateway.get_payment(self.payment.id)))
        t = self.truth()
        record = self.payment
        for name in TOTALS:
            assert getattr(record, name).minor == t[name], name
        assert record.refund_pending.minor == t["pending"]
        implied = status_from_totals(
            record.authorized, record.captured, record.refunded, record.voided, record.charged_back
        )
        assert record.status is implied

    # -- after every step -------------------------------------------------------------------

    @invariant()
    def the_books_balance(self) -> None:
        if self.record is None:
            return
        t = self.truth()
        assert t["captured"] + t["voided"] <= t["authorized"]
        assert t["refunded"] + t["pending"] + t["charged_back"] <= t["captured"]
        record = self.payment
        assert record.captured + record.voided <= record.authorized <= record.amount
        assert record.refunded + record.charged_back <= record.captured
        assert record.refundable.minor >= 0 and record.capturable.minor >= 0
        # Never more than the PSP holds: nothing counted twice.
        for name in TOTALS:
            assert getattr(record, name).minor <= t[name], name
        assert record.refundable.minor <= record.captured.minor - record.refunded.minor


def test_any_interleaving_of_money_operations_through_both_gateways_keeps_the_books() -> None:
    run_state_machine_as_test(
        MoneyMachine, settings=settings(max_examples=60, stateful_step_count=30, deadline=None)
    )


def machine_gateway(sb: Sandbox) -> Gateway:
    return Gateway(
        "amazon_pay",
        transport=sb.transport(),
        options=OPTIONS,
        environ={},
        retry=RetryPolicy.no_wait(),
        clock=sb.clock.now,
    )


def test_a_capture_after_30_days_is_refused_before_any_request_and_the_sandbox_released_the_hold() -> None:
    sb = Sandbox(SandboxConfig(seed=3, webhook_secret=SECRET))
    with machine_gateway(sb) as gw:
        payment = gw.authorize(authorize_request(5_000))
        sb.approve(payment.id)
        payment = gw.capture(CaptureRequest(gw.get_payment(payment.id), usd(1_000)))
        sb.clock.advance(30 * 24 * 3600 + 1)
        sent = sb.request_count
        with pytest.raises(ValidationError, match="expired") as refused:
            gw.capture(CaptureRequest(payment, usd(1_000)))
        assert refused.value.field == "payment" and sb.request_count == sent
        # The sandbox let the hold go on its clock: a read shows the rest released.
        read = apply_update(payment, gw.get_payment(payment.id))
        assert (read.captured, read.voided, read.capturable) == (usd(1_000), usd(4_000), usd(0))
        assert read.refundable == usd(1_000)


def test_a_refund_after_six_calendar_months_is_refused_naming_the_deadline_before_any_request() -> None:
    sb = Sandbox(SandboxConfig(seed=4, webhook_secret=SECRET))
    with machine_gateway(sb) as gw:
        payment = gw.authorize(authorize_request(5_000, capture_mode=CaptureMode.AUTOMATIC))
        sb.approve(payment.id)
        payment = gw.get_payment(payment.id)
        assert payment.captured_at is not None
        deadline = add_months(payment.captured_at, 6)
        sb.clock.advance((deadline - sb.clock.now()).total_seconds() + 1)
        sent = sb.request_count
        with pytest.raises(ValidationError, match=deadline.isoformat().replace("+", r"\+")) as refused:
            gw.refund(RefundRequest(payment, usd(100)))
        assert refused.value.field == "payment.captured_at" and sb.request_count == sent
