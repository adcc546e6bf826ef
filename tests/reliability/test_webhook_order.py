"""Webhooks in any order, duplicated, racing the consumer's return: a payment only moves forward.

The events are the sandbox's real signed webhooks for real payment lives, verified and
parsed by the gateway; the reducer starts from what ``authorize`` returned, exactly as a
host's database would.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import (
    PAYMENT_RANK,
    CaptureRequest,
    EventKind,
    Gateway,
    Money,
    Payment,
    PaymentStatus,
    RefundRequest,
    VoidRequest,
    WebhookEvent,
    apply_event,
    apply_update,
)
from psp_ppro.sandbox import Sandbox

from .conftest import authorize_request, new_sandbox, sandbox_gateway


@attrs.frozen
class Life:
    """One payment's life: what authorize returned, every webhook, and a read after each step."""

    start: Payment
    events: tuple[WebhookEvent, ...]
    reads: tuple[Payment, ...]
    final_read: Payment


def _events(sb: Sandbox, gw: Gateway) -> tuple[WebhookEvent, ...]:
    return tuple(gw.parse_webhook(d.headers, d.body) for d in sb.pending_webhooks())


def capture_and_refund_twice(chargeback: bool) -> Life:
    sb = new_sandbox()
    with sandbox_gateway(sb) as gw:
        start = gw.authorize(authorize_request(10_000))
        reads = [gw.get_payment(start.id)]
        sb.approve(start.id)
        payment = gw.get_payment(start.id)
        reads.append(payment)
        steps: list[Callable[[Payment], Payment]] = [
            lambda p: gw.capture(CaptureRequest(payment=p, amount=Money(6_000, "USD"))),
            lambda p: gw.capture(CaptureRequest(payment=p)),
            lambda p: gw.refund(RefundRequest(payment=p, amount=Money(1_000, "USD"))),
            lambda p: gw.refund(RefundRequest(payment=p, amount=Money(2_000, "USD"))),
        ]
        for step in steps:
            payment = step(payment)
            reads.append(gw.get_payment(start.id))
            if payment.refund_pending:
                # PPRO answers a refund PENDING; the sandbox settles it (REFUND_SUCCEEDED).
                sb.settle_refunds(start.id)
                reads.append(gw.get_payment(start.id))
        if chargeback:
            sb.chargeback(start.id)
        return Life(start, _events(sb, gw), tuple(reads), gw.get_payment(start.id))


def capture_void_refund_chargeback() -> Life:
    sb = new_sandbox()
    with sandbox_gateway(sb) as gw:
        start = gw.authorize(authorize_request(10_000))
        sb.approve(start.id)
        payment = gw.get_payment(start.id)
        reads = [payment]
        payment = gw.capture(CaptureRequest(payment=payment, amount=Money(7_000, "USD")))
        reads.append(gw.get_payment(start.id))
        payment = gw.void(VoidRequest(payment=payment))
        reads.append(gw.get_payment(start.id))
        payment = gw.refund(RefundRequest(payment=payment, amount=Money(500, "USD")))
        reads.append(gw.get_payment(start.id))
        sb.settle_refunds(start.id)
        sb.chargeback(start.id, 6_500)
        return Life(start, _events(sb, gw), tuple(reads), gw.get_payment(start.id))


def fold(start: Payment, events: Iterable[WebhookEvent]) -> list[Payment]:
    """Every state the stored payment passes through."""
    states = [start]
    for event in events:
        states.append(apply_event(states[-1], event))
    return states


def assert_never_backwards(states: Sequence[Payment]) -> None:
    for before, after in itertools.pairwise(states):
        assert PAYMENT_RANK[after.status] >= PAYMENT_RANK[before.status], (before.status, after.status)
        for total in ("authorized", "captured", "refunded", "voided", "charged_back"):
            assert getattr(after, total).minor >= getattr(before, total).minor, total


def comparable(payment: Payment) -> tuple[object, ...]:
    return (
        payment.status,
        payment.authorized,
        payment.captured,
        payment.refunded,
        payment.voided,
        payment.charged_back,
        frozenset((op.kind, op.id, op.amount) for op in payment.operations),
    )


@pytest.fixture(scope="module")
def plain_life() -> Life:
    return capture_and_refund_twice(chargeback=False)


@pytest.fixture(scope="module")
def disputed_life() -> Life:
    return capture_and_refund_twice(chargeback=True)


@pytest.fixture(scope="module")
def voided_life() -> Life:
    return capture_void_refund_chargeback()


def test_the_lives_emit_the_expected_webhooks(
    plain_life: Life, disputed_life: Life, voided_life: Life
) -> None:
    assert [e.kind for e in plain_life.events] == [
        EventKind.PAYMENT_CREATED,
        EventKind.PAYMENT_REQUIRES_ACTION,
        EventKind.PAYMENT_AUTHORIZED,
        EventKind.PAYMENT_CAPTURED,
        EventKind.PAYMENT_CAPTURED,
        EventKind.PAYMENT_REFUND_PENDING,
        EventKind.PAYMENT_REFUNDED,
        EventKind.PAYMENT_REFUND_PENDING,
        EventKind.PAYMENT_REFUNDED,
    ]
    assert disputed_life.events[-1].kind is EventKind.PAYMENT_CHARGED_BACK
    assert [e.kind for e in voided_life.events][-5:] == [
        EventKind.PAYMENT_CAPTURED,
        EventKind.PAYMENT_VOIDED,
        EventKind.PAYMENT_REFUND_PENDING,
        EventKind.PAYMENT_REFUNDED,
        EventKind.PAYMENT_CHARGED_BACK,
    ]
    in_order = fold(plain_life.start, plain_life.events)[-1]
    assert in_order.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (in_order.captured.minor, in_order.refunded.minor) == (10_000, 3_000)
    # The webhooks tell the same story as PPRO's own read of the charge.
    for total in ("authorized", "captured", "refunded", "voided"):
        assert getattr(in_order, total) == getattr(plain_life.final_read, total)
    assert fold(disputed_life.start, disputed_life.events)[-1].status is PaymentStatus.CHARGED_BACK
    assert fold(voided_life.start, voided_life.events)[-1].status is PaymentStatus.CHARGED_BACK


def _six(life: Life) -> tuple[WebhookEvent, ...]:
    # The six events that move the payment; CREATED and REQUIRES_ACTION are covered by hypothesis.
    moving = tuple(e for e in life.events if e.kind not in (EventKind.PAYMENT_CREATED,))
    return moving[-6:]


# Found by this suite: refunds delivered after the chargeback webhook used to be dropped,
# because a terminal payment froze its totals; terminal absorbs the status, not earlier money.


@pytest.mark.parametrize("which", ["plain", "voided"])
def test_every_permutation_of_six_real_webhooks_ends_in_the_in_order_state(
    which: str, plain_life: Life, voided_life: Life
) -> None:
    life = plain_life if which == "plain" else voided_life
    events = _six(life)
    assert len(events) == 6
    expected = comparable(fold(life.start, life.events)[-1])
    orders = 0
    for order in itertools.permutations(events):
        states = fold(life.start, order)
        assert_never_backwards(states)
        assert comparable(states[-1]) == expected
        # Delivered twice over (PPRO retries; the host cannot tell a retry from a duplicate).
        twice = fold(states[-1], order)
        assert_never_backwards(twice)
        assert comparable(twice[-1]) == expected
        orders += 1
    assert orders == 720


def _random_delivery(data: st.DataObject, life: Life) -> list[WebhookEvent]:
    order = data.draw(st.permutations(life.events))
    duplicates = data.draw(st.lists(st.sampled_from(life.events), max_size=6))
    positions = data.draw(
        st.lists(st.integers(0, len(order)), min_size=len(duplicates), max_size=len(duplicates))
    )
    delivered = list(order)
    for event, position in zip(duplicates, positions, strict=True):
        delivered.insert(position, event)
    return delivered


@settings(max_examples=60)
@given(data=st.data())
def test_random_orders_with_duplicates_of_a_whole_life(data: st.DataObject) -> None:
    life = _PLAIN
    states = fold(life.start, _random_delivery(data, life))
    assert_never_backwards(states)
    assert comparable(states[-1]) == comparable(fold(life.start, life.events)[-1])
    assert states[-1].status is PaymentStatus.PARTIALLY_REFUNDED


def test_a_refund_webhook_after_the_chargeback_webhook_still_counts(disputed_life: Life) -> None:
    *before, pending_1, refund_1, pending_2, refund_2, chargeback = disputed_life.events
    assert chargeback.kind is EventKind.PAYMENT_CHARGED_BACK
    late = fold(disputed_life.start, [*before, chargeback, refund_1, pending_2, refund_2, pending_1])[-1]
    assert late.status is PaymentStatus.CHARGED_BACK
    assert late.refunded.minor == 3_000


@settings(max_examples=60)
@given(data=st.data())
def test_random_orders_with_duplicates_of_a_whole_disputed_life(data: st.DataObject) -> None:
    life = _DISPUTED
    order = data.draw(st.permutations(life.events))
    duplicates = data.draw(st.lists(st.sampled_from(life.events), max_size=6))
    positions = data.draw(
        st.lists(st.integers(0, len(order)), min_size=len(duplicates), max_size=len(duplicates))
    )
    delivered = list(order)
    for event, position in zip(duplicates, positions, strict=True):
        delivered.insert(position, event)
    states = fold(life.start, delivered)
    assert_never_backwards(states)
    assert comparable(states[-1]) == comparable(fold(life.start, life.events)[-1])
    assert states[-1].status is PaymentStatus.CHARGED_BACK


def _rank_of(report: Payment | WebhookEvent, start: Payment) -> int:
    alone = apply_update(start, report) if isinstance(report, Payment) else apply_event(start, report)
    return PAYMENT_RANK[alone.status]


@settings(max_examples=60)
@given(data=st.data())
def test_the_consumer_return_racing_the_webhooks_never_leaves_a_payment_older_than_either(
    data: st.DataObject,
) -> None:
    # The host's return handler reads the payment (get_payment, then apply_update) while the
    # webhook handler applies events; both write the same row, in any interleaving.
    life = _PLAIN
    reports: list[Payment | WebhookEvent] = [*life.reads, *life.events]
    order = data.draw(st.permutations(reports))
    state = life.start
    furthest = PAYMENT_RANK[state.status]
    captured = refunded = 0
    for report in order:
        previous = state
        if isinstance(report, Payment):
            state = apply_update(state, report)
            captured, refunded = max(captured, report.captured.minor), max(refunded, report.refunded.minor)
        else:
            state = apply_event(state, report)
        assert_never_backwards([previous, state])
        furthest = max(furthest, _rank_of(report, life.start))
        assert PAYMENT_RANK[state.status] >= furthest
        assert state.captured.minor >= captured and state.refunded.minor >= refunded
    everything_in_order = life.start
    for report in reports:
        if isinstance(report, Payment):
            everything_in_order = apply_update(everything_in_order, report)
        else:
            everything_in_order = apply_event(everything_in_order, report)
    assert comparable(state)[:6] == comparable(everything_in_order)[:6]
    assert state.status is PaymentStatus.PARTIALLY_REFUNDED


def test_every_read_interleaved_at_every_point_of_the_in_order_webhooks(plain_life: Life) -> None:
    # Exhaustive for one read: a stale or fresh read landing anywhere never moves the row back.
    checked = 0
    final = comparable(fold(plain_life.start, plain_life.events)[-1])
    for read in plain_life.reads:
        for position in range(len(plain_life.events) + 1):
            before = fold(plain_life.start, plain_life.events[:position])
            states = [*before, apply_update(before[-1], read)]
            states += fold(states[-1], plain_life.events[position:])[1:]
            assert_never_backwards(states)
            assert PAYMENT_RANK[states[-1].status] >= PAYMENT_RANK[read.status]
            assert comparable(states[-1]) == final
            checked += 1
    assert checked == len(plain_life.reads) * (len(plain_life.events) + 1) == 8 * 10


# Built once at import: hypothesis examples must not rebuild the sandbox lives.
_PLAIN = capture_and_refund_twice(chargeback=False)
_DISPUTED = capture_and_refund_twice(chargeback=True)
