"""Webhooks delivered to several processes at once, shuffled and duplicated, on SQLite and on
PostgreSQL: no update is lost, nothing counts twice, and every payment ends as one in-order fold
of its events would leave it."""

from __future__ import annotations

import functools
import multiprocessing
import tempfile
import threading
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psp_core import (
    CaptureMode,
    Gateway,
    Money,
    OperationKind,
    Payment,
    RefundRequest,
    WebhookEvent,
    apply_event,
)
from psp_ppro.sandbox import Sandbox
from psp_store import Store
from psp_store import _store as store_module

from ._ingest_worker import ingest_all
from .conftest import OPTIONS, authorize_request, gateway_for, make_sandbox

PROCESSES = 4
PAYMENTS = 2
REFUNDS = 6


def drain(sandbox: Sandbox) -> list[tuple[dict[str, str], bytes]]:
    deliveries: list[tuple[dict[str, str], bytes]] = []
    sandbox.drain_webhooks(lambda delivery: (deliveries.append((delivery.headers, delivery.body)), 200)[1])
    return deliveries


def busy_payments(sandbox: Sandbox, store: Store, count: int = PAYMENTS) -> list[Payment]:
    """Payments with many events each: captured, refunded six times (every other refund settles,
    the others fail), some charged back. Only their authorize answers are stored, as a host stores them."""
    gateway = gateway_for(sandbox)
    authorized = []
    for number in range(count):
        payment = gateway.authorize(
            authorize_request(f"busy-{number}", minor=20000, capture_mode=CaptureMode.AUTOMATIC)
        )
        store.save(payment)
        authorized.append(payment)
        sandbox.approve(payment.id)
        paid = gateway.get_payment(payment.id)
        for refund in range(REFUNDS):
            paid = gateway.refund(RefundRequest(paid, Money(1000 + number + refund, "USD")))
        for index, refund_id in enumerate(r["id"] for r in sandbox.charge(payment.id)["refunds"]):
            sandbox.settle_refund(payment.id, refund_id, succeed=index % 2 == 0)
        if number % 2 == 0:
            sandbox.chargeback(payment.id, 500 + number)
    gateway.close()
    return authorized


def test_concurrent_shuffled_duplicated_webhooks_fold_to_the_in_order_result(store_url: str) -> None:
    sandbox = make_sandbox(refund_settlement_s=None)
    with Store(store_url) as store:
        authorized = busy_payments(sandbox, store)
        deliveries = drain(sandbox)
        now = sandbox.clock.now()

        # What one process folding the events in delivery order would store.
        verifier = gateway_for(sandbox)
        events: list[WebhookEvent] = [verifier.parse_webhook(headers, body) for headers, body in deliveries]
        expected = {payment.id: payment for payment in authorized}
        for event in events:
            assert event.payment_id in expected
            expected[event.payment_id] = apply_event(expected[event.payment_id], event)
        verifier.close()

        context = multiprocessing.get_context("spawn")
        start, results = context.Barrier(PROCESSES + 1), context.Queue()
        workers = [
            context.Process(target=ingest_all, args=(store_url, deliveries, now, seed, start, results))
            for seed in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        start.wait(timeout=300)
        reports = [results.get(timeout=300) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
        assert all(isinstance(count, int) for _, count in reports), reports
        assert sum(count for _, count in reports) == PROCESSES * 2 * len(deliveries)

        assert len({event.event_id for event in events}) == len(events) >= PAYMENTS * (3 + 2 * REFUNDS)
        assert store.inbox_outcomes() == {"folded": len(events)}  # each event folded exactly once
        for payment_id, want in expected.items():
            got = store.get_payment(payment_id)
            assert got == want
            assert got.refunded == want.refunded and got.charged_back == want.charged_back
        # The in-order fold is the sandbox's own truth, too.
        assert {p.id: (p.refunded, p.charged_back) for p in expected.values()} == {
            p.id: (
                Money(sum(1000 + n + r for r in range(0, REFUNDS, 2)), "USD"),
                Money(500 + n if n % 2 == 0 else 0, "USD"),
            )
            for n, p in enumerate(authorized)
        }


def test_a_fold_waits_for_the_fold_in_progress_on_the_same_payment(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving a lost update needs, forced: fold A has read the payment and is paused
    inside its transaction while fold B of another event starts. B must wait for A's row lock
    (FOR UPDATE / BEGIN IMMEDIATE) and then fold into A's result, whenever A is let go."""
    sandbox = make_sandbox(refund_settlement_s=None)
    with Store(store_url, busy_timeout_s=60) as store:
        (payment,) = busy_payments(sandbox, store, count=1)
        verifier = gateway_for(sandbox)
        events = [verifier.parse_webhook(h, b) for h, b in drain(sandbox)]
        capture = next(
            e for e in events if e.operation is not None and e.operation.kind is OperationKind.CAPTURE
        )
        refund = next(
            e for e in events if e.operation is not None and e.operation.kind is OperationKind.REFUND
        )
        expected = apply_event(apply_event(payment, capture), refund)

        paused, release = threading.Event(), threading.Event()
        real_apply = store_module.apply_event

        def slow_apply(current: Payment, event: WebhookEvent) -> Payment:
            if event is capture:
                paused.set()
                release.wait(timeout=60)
            return real_apply(current, event)

        monkeypatch.setattr(store_module, "apply_event", slow_apply)
        fold_a = threading.Thread(target=store._fold_event, args=(capture, None, None))
        fold_a.start()
        assert paused.wait(timeout=60)
        fold_b = threading.Thread(target=store._fold_event, args=(refund, None, None))
        fold_b.start()
        fold_b.join(timeout=0.5)  # without the lock B would be done by now, and A would overwrite it
        release.set()
        fold_a.join(timeout=60)
        fold_b.join(timeout=60)
        assert store.get_payment(payment.id) == expected
        verifier.close()


@functools.cache
def _one_busy_payment() -> tuple[
    Payment, tuple[tuple[tuple[tuple[str, str], ...], bytes], ...], Payment, datetime
]:
    """A payment's authorize answer, its signed webhooks, their in-order fold, and the time
    they were signed at (made once)."""
    sandbox = make_sandbox(refund_settlement_s=None)
    with tempfile.TemporaryDirectory() as scratch, Store(Path(scratch) / "s.sqlite3") as store:
        (payment,) = busy_payments(sandbox, store, count=1)
    deliveries = tuple((tuple(sorted(headers.items())), body) for headers, body in drain(sandbox))
    verifier = gateway_for(sandbox)
    folded = payment
    for headers, body in deliveries:
        folded = apply_event(folded, verifier.parse_webhook(dict(headers), body))
    verifier.close()
    return payment, deliveries, folded, sandbox.clock.now()


@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_order_with_any_duplicates_folds_to_the_in_order_result(data: st.DataObject) -> None:
    payment, deliveries, folded, signed_at = _one_busy_payment()
    order = data.draw(st.permutations(range(len(deliveries))))
    again = data.draw(st.lists(st.sampled_from(range(len(deliveries))), max_size=len(deliveries)))
    with tempfile.TemporaryDirectory() as scratch, Store(Path(scratch) / "s.sqlite3") as store:
        store.save(payment)
        gateway = Gateway("amazon_pay", options=OPTIONS, environ={}, clock=lambda: signed_at)
        for index in [*order, *again]:
            headers, body = deliveries[index]
            store.ingest(dict(headers), body, gateway=gateway)
        gateway.close()
        assert store.get_payment(payment.id) == folded
        assert store.inbox_outcomes() == {"folded": len(deliveries)}
