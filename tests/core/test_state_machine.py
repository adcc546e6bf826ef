"""The transition table and the reducer: forward only, invariants always, order-independent."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import (
    MANDATE_TRANSITIONS,
    NO_MONEY_OUTCOMES,
    PAYMENT_RANK,
    PAYMENT_TRANSITIONS,
    TERMINAL_PAYMENT_STATUSES,
    Address,
    Consumer,
    EventKind,
    Mandate,
    MandateStatus,
    Money,
    Operation,
    OperationKind,
    Payment,
    PaymentStatus,
    ProviderResponseError,
    WebhookEvent,
    apply_event,
    apply_mandate_update,
    apply_update,
    can_transition,
)

USD = "USD"


def pending(amount: int = 10_000) -> Payment:
    return Payment.new("fakepay", "ch_1", PaymentStatus.REQUIRES_ACTION, Money(amount, USD))


def op_event(n: int, kind: OperationKind, op_id: str, amount: int) -> WebhookEvent:
    return WebhookEvent(
        provider="fakepay",
        event_id=f"ev_{n}",
        kind=EventKind.PAYMENT_CAPTURED,
        provider_type="TEST",
        payment_id="ch_1",
        operation=Operation(kind, op_id, Money(amount, USD)),
    )


def status_event(n: int, status: PaymentStatus) -> WebhookEvent:
    return WebhookEvent(
        provider="fakepay",
        event_id=f"ev_{n}",
        kind=EventKind.PAYMENT_PROCESSING,
        provider_type="TEST",
        payment_id="ch_1",
        payment_status=status,
    )


def assert_invariants(payment: Payment) -> None:
    assert payment.captured.minor + payment.voided.minor <= payment.authorized.minor
    assert payment.refunded.minor <= payment.captured.minor
    assert min(m.minor for m in (payment.authorized, payment.captured, payment.refunded, payment.voided)) >= 0


def test_every_allowed_transition_moves_forward_in_rank() -> None:
    for source, targets in PAYMENT_TRANSITIONS.items():
        for target in targets:
            assert PAYMENT_RANK[target] > PAYMENT_RANK[source], (source, target)


def test_terminal_states_are_absorbing_and_named() -> None:
    assert {
        PaymentStatus.REFUNDED,
        PaymentStatus.VOIDED,
        PaymentStatus.CHARGED_BACK,
    } == TERMINAL_PAYMENT_STATUSES
    for terminal in TERMINAL_PAYMENT_STATUSES:
        assert [s for s in PaymentStatus if can_transition(terminal, s)] == [terminal]
    assert MANDATE_TRANSITIONS[MandateStatus.REVOKED] == frozenset()


def test_no_money_outcomes_are_left_only_when_money_is_reported() -> None:
    money_reported = {
        PaymentStatus.VOIDED,
        PaymentStatus.PARTIALLY_CAPTURED,
        PaymentStatus.CAPTURED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.CHARGED_BACK,
    }
    # A failure may be refined to an expiry or a decline, an expiry to a decline: the more
    # specific word wins, so two outcomes reported in either order end alike.
    refinements = {
        PaymentStatus.FAILED: {PaymentStatus.EXPIRED, PaymentStatus.DECLINED},
        PaymentStatus.EXPIRED: {PaymentStatus.DECLINED},
        PaymentStatus.DECLINED: set(),
    }
    for outcome in NO_MONEY_OUTCOMES:
        assert {s for s in PaymentStatus if can_transition(outcome, s)} - {outcome} == (
            money_reported | refinements[outcome]
        )


def test_no_two_statuses_share_a_rank_and_captured_never_becomes_voided() -> None:
    assert len(set(PAYMENT_RANK.values())) == len(PaymentStatus)
    assert not can_transition(PaymentStatus.CAPTURED, PaymentStatus.VOIDED)
    assert not can_transition(PaymentStatus.DECLINED, PaymentStatus.FAILED)
    assert not can_transition(PaymentStatus.REFUNDED, PaymentStatus.CHARGED_BACK)


def test_every_status_is_reachable_from_pending() -> None:
    reached = {PaymentStatus.PENDING}
    frontier = [PaymentStatus.PENDING]
    while frontier:
        for target in PAYMENT_TRANSITIONS[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(PaymentStatus)


def test_the_model_refuses_a_payment_that_breaks_an_invariant() -> None:
    with pytest.raises(ValueError, match="exceed authorized"):
        Payment.new(
            "p",
            "x",
            PaymentStatus.CAPTURED,
            Money(100, USD),
            authorized=Money(100, USD),
            captured=Money(101, USD),
        )
    with pytest.raises(ValueError, match="refunded"):
        Payment.new(
            "p",
            "x",
            PaymentStatus.CAPTURED,
            Money(100, USD),
            authorized=Money(100, USD),
            captured=Money(50, USD),
            refunded=Money(51, USD),
        )
    with pytest.raises(ValueError, match="EUR"):
        Payment.new("p", "x", PaymentStatus.AUTHORIZED, Money(100, USD), authorized=Money(100, "EUR"))


# A payment's life as the provider would report it: each step is a webhook event.
@st.composite
def lives(draw: st.DrawFn) -> list[WebhookEvent]:
    total = draw(st.integers(min_value=2, max_value=100_000))
    events = [
        status_event(0, PaymentStatus.PROCESSING),
        op_event(1, OperationKind.AUTHORIZATION, "au_1", total),
    ]
    remaining, n = total, 2
    captured = 0
    for _ in range(draw(st.integers(0, 3))):
        if remaining <= 0:
            break
        amount = draw(st.integers(1, remaining))
        kind = draw(st.sampled_from([OperationKind.CAPTURE, OperationKind.VOID]))
        events.append(op_event(n, kind, f"op_{n}", amount))
        remaining -= amount
        captured += amount if kind is OperationKind.CAPTURE else 0
        n += 1
    refundable = captured
    for _ in range(draw(st.integers(0, 3))):
        if refundable <= 0:
            break
        amount = draw(st.integers(1, refundable))
        events.append(op_event(n, OperationKind.REFUND, f"op_{n}", amount))
        refundable -= amount
        n += 1
    return events


@st.composite
def flapping_lives(draw: st.DrawFn) -> list[WebhookEvent]:
    """A life with a no-money outcome reported before, between or after its money moved."""
    events = draw(lives())
    outcome = draw(st.sampled_from(sorted(NO_MONEY_OUTCOMES, key=lambda s: s.value)))
    position = draw(st.integers(0, len(events)))
    return [*events[:position], status_event(99, outcome), *events[position:]]


def fold(events: list[WebhookEvent]) -> list[Payment]:
    authorization = next(
        e.operation for e in events if e.operation and e.operation.kind is OperationKind.AUTHORIZATION
    )
    states = [pending(authorization.amount.minor)]
    for event in events:
        states.append(apply_event(states[-1], event))
    return states


@given(lives())
def test_a_random_walk_through_a_payment_life_keeps_every_invariant_and_only_moves_forward(
    events: list[WebhookEvent],
) -> None:
    states = fold(events)
    for before, after in itertools.pairwise(states):
        assert_invariants(after)
        assert can_transition(before.status, after.status), (before.status, after.status)


@given(lives(), st.randoms(use_true_random=False))
def test_the_reducer_reaches_the_same_state_for_any_order_and_duplicates(
    events: list[WebhookEvent], rnd: object
) -> None:
    import random

    assert isinstance(rnd, random.Random)
    in_order = fold(events)[-1]
    shuffled = events + rnd.sample(events, k=min(3, len(events)))  # duplicates too
    rnd.shuffle(shuffled)
    states = fold(shuffled)
    assert states[-1] == in_order
    for before, after in itertools.pairwise(states):
        assert_invariants(after)
        assert PAYMENT_RANK[after.status] >= PAYMENT_RANK[before.status]


@given(flapping_lives(), st.randoms(use_true_random=False))
def test_a_failure_reported_around_captured_money_never_hides_the_money(
    events: list[WebhookEvent], rnd: random.Random
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    states = fold(shuffled)
    final = states[-1]
    assert final == fold(events)[-1]
    if final.captured:
        assert final.status not in NO_MONEY_OUTCOMES
        assert (
            final.refundable == final.captured - final.refunded or final.status in TERMINAL_PAYMENT_STATUSES
        )
    for before, after in itertools.pairwise(states):
        assert can_transition(before.status, after.status), (before.status, after.status)
        assert_invariants(after)


def test_a_late_pending_event_never_moves_a_captured_payment_back() -> None:
    captured = fold(
        [op_event(1, OperationKind.AUTHORIZATION, "au", 500), op_event(2, OperationKind.CAPTURE, "cp", 500)]
    )[-1]
    assert captured.status is PaymentStatus.CAPTURED
    late = apply_event(captured, status_event(9, PaymentStatus.REQUIRES_ACTION))
    assert late == captured


def test_a_duplicate_capture_event_is_counted_once() -> None:
    event = op_event(1, OperationKind.CAPTURE, "cp_1", 300)
    once = apply_event(pending(300), event)
    twice = apply_event(once, event)
    assert twice.captured == Money(300, USD) == once.captured


def test_partial_operations_give_partial_statuses() -> None:
    states = fold(
        [
            op_event(1, OperationKind.AUTHORIZATION, "au", 1000),
            op_event(2, OperationKind.CAPTURE, "c1", 400),
            op_event(3, OperationKind.CAPTURE, "c2", 600),
            op_event(4, OperationKind.REFUND, "r1", 100),
            op_event(5, OperationKind.REFUND, "r2", 900),
        ]
    )
    assert [s.status for s in states[1:]] == [
        PaymentStatus.AUTHORIZED,
        PaymentStatus.PARTIALLY_CAPTURED,
        PaymentStatus.CAPTURED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    ]


def test_a_partial_void_leaves_the_rest_authorized_and_a_capture_of_the_rest_completes_it() -> None:
    states = fold(
        [
            op_event(1, OperationKind.AUTHORIZATION, "au", 1000),
            op_event(2, OperationKind.VOID, "v1", 300),
            op_event(3, OperationKind.CAPTURE, "c1", 700),
        ]
    )
    assert [s.status for s in states[2:]] == [PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED]


def test_terminal_states_absorb_any_status_but_still_count_money_reported_late() -> None:
    declined = apply_event(pending(), status_event(1, PaymentStatus.DECLINED))
    assert declined.status is PaymentStatus.DECLINED
    assert apply_event(declined, status_event(2, PaymentStatus.AUTHORIZED)) == declined
    charged_back = apply_event(
        fold(
            [
                op_event(1, OperationKind.AUTHORIZATION, "au", 1000),
                op_event(2, OperationKind.CAPTURE, "cp", 1000),
            ]
        )[-1],
        WebhookEvent(
            provider="fakepay",
            event_id="cb",
            kind=EventKind.PAYMENT_CHARGED_BACK,
            provider_type="TEST",
            payment_id="ch_1",
            payment_status=PaymentStatus.CHARGED_BACK,
            operation=Operation(OperationKind.CHARGEBACK, "cb_1", Money(1000, USD)),
        ),
    )
    assert charged_back.status is PaymentStatus.CHARGED_BACK
    assert charged_back.refundable == Money(0, USD)
    # Everything captured was charged back: a refund on top would return more than was taken.
    with pytest.raises(ProviderResponseError, match="more than is possible"):
        apply_event(charged_back, op_event(3, OperationKind.REFUND, "rf", 200))


def test_apply_update_refuses_another_payment() -> None:
    other = Payment.new("fakepay", "ch_2", PaymentStatus.PENDING, Money(1, USD))
    with pytest.raises(ValueError, match="ch_2"):
        apply_update(pending(), other)


def test_the_same_id_at_another_provider_is_another_payment() -> None:
    # Two providers of one PSP share its id space: an id alone does not make the same payment.
    stored = pending()
    namesake = Payment.new("otherpay", stored.id, PaymentStatus.CAPTURED, Money(500, USD))
    with pytest.raises(ValueError, match="otherpay payment 'ch_1', not fakepay payment 'ch_1'"):
        apply_update(stored, namesake)
    chargeback = WebhookEvent("otherpay", "e1", EventKind.PAYMENT_CHARGED_BACK, "T", payment_id=stored.id)
    with pytest.raises(ValueError, match="otherpay payment"):
        apply_event(stored, chargeback)


def test_a_fresh_read_behind_the_stored_state_does_not_regress_it() -> None:
    stored = fold(
        [op_event(1, OperationKind.AUTHORIZATION, "au", 500), op_event(2, OperationKind.CAPTURE, "cp", 500)]
    )[-1]
    stale_read = Payment.new(
        "fakepay", "ch_1", PaymentStatus.AUTHORIZED, Money(500, USD), authorized=Money(500, USD)
    )
    assert apply_update(stored, stale_read).status is PaymentStatus.CAPTURED


def test_a_read_brings_the_amount_a_payment_read_too_early_lacked_and_the_consumer_it_reports() -> None:
    # PPRO's charge has no amount of its own: read before any authorization, the payment has none.
    too_early = Payment.new("fakepay", "ch_1", PaymentStatus.PENDING, Money(0, USD))
    buyer = Consumer(country="US", name="Ada", billing_address=Address(city="Seattle", country="US"))
    read = Payment.new(
        "fakepay",
        "ch_1",
        PaymentStatus.AUTHORIZED,
        Money(500, USD),
        authorized=Money(500, USD),
        consumer=buyer,
    )
    for folded in (apply_update(too_early, read), apply_update(apply_update(read, too_early), read)):
        assert (folded.amount, folded.authorized, folded.status) == (
            Money(500, USD),
            Money(500, USD),
            PaymentStatus.AUTHORIZED,
        )
        assert folded.consumer == buyer
    # An older read that knew no consumer never erases the one a newer read reported.
    assert apply_update(apply_update(too_early, read), too_early).consumer == buyer


@given(
    st.permutations(
        [MandateStatus.PENDING, MandateStatus.REQUIRES_ACTION, MandateStatus.ACTIVE, MandateStatus.REVOKED]
    )
)
def test_mandates_end_revoked_whatever_the_order(order: list[MandateStatus]) -> None:
    mandate = Mandate(provider="p", id="agr_1", status=MandateStatus.PENDING)
    for status in order:
        mandate = apply_mandate_update(mandate, Mandate(provider="p", id="agr_1", status=status))
    assert mandate.status is MandateStatus.REVOKED


LIFE_OF_SIX = [
    status_event(0, PaymentStatus.PROCESSING),
    op_event(1, OperationKind.AUTHORIZATION, "au", 1_000),
    op_event(2, OperationKind.CAPTURE, "c1", 300),
    op_event(3, OperationKind.CAPTURE, "c2", 700),
    op_event(4, OperationKind.REFUND, "r1", 250),
    op_event(5, OperationKind.REFUND, "r2", 750),
]


def test_every_permutation_of_a_six_event_life_ends_in_the_in_order_state_and_never_goes_back() -> None:
    expected = fold(LIFE_OF_SIX)[-1]
    assert expected.status is PaymentStatus.REFUNDED
    permutations = 0
    for order in itertools.permutations(LIFE_OF_SIX):
        states = fold(list(order))
        assert states[-1] == expected
        for before, after in itertools.pairwise(states):
            assert PAYMENT_RANK[after.status] >= PAYMENT_RANK[before.status]
        permutations += 1
    assert permutations == 720


def test_a_status_read_and_a_webhook_racing_leave_the_newer_of_the_two() -> None:
    """The consumer's return (a read) and the webhook may land in either order."""
    authorized = fold([op_event(1, OperationKind.AUTHORIZATION, "au", 1_000)])
    read_after_capture = Payment.new(
        "fakepay",
        "ch_1",
        PaymentStatus.CAPTURED,
        Money(1_000, USD),
        authorized=Money(1_000, USD),
        captured=Money(1_000, USD),
        operations=(Operation(OperationKind.CAPTURE, "cp", Money(1_000, USD)),),
    )
    webhook_authorized = status_event(7, PaymentStatus.AUTHORIZED)
    start = authorized[-1]
    first = apply_event(apply_update(start, read_after_capture), webhook_authorized)
    second = apply_update(apply_event(start, webhook_authorized), read_after_capture)
    assert first.status is second.status is PaymentStatus.CAPTURED
    assert first.captured == second.captured == Money(1_000, USD)


def test_an_operation_answer_is_folded_once_and_an_impossible_one_is_refused() -> None:
    from datetime import UTC, datetime

    from psp_core import apply_operation

    authorized = fold([op_event(1, OperationKind.AUTHORIZATION, "au", 1_000)])[-1]
    at = datetime(2026, 3, 1, tzinfo=UTC)
    captured = apply_operation(authorized, Operation(OperationKind.CAPTURE, "cp_1", Money(400, USD), at))
    assert (captured.status, captured.captured, captured.captured_at) == (
        PaymentStatus.PARTIALLY_CAPTURED,
        Money(400, USD),
        at,
    )
    assert apply_operation(captured, Operation(OperationKind.CAPTURE, "cp_1", Money(400, USD))) == captured
    with pytest.raises(ProviderResponseError, match="exceed"):
        apply_operation(captured, Operation(OperationKind.CAPTURE, "cp_2", Money(601, USD)))
    with pytest.raises(ProviderResponseError, match="exceed"):
        apply_operation(captured, Operation(OperationKind.REFUND, "rf_1", Money(401, USD)))
