"""Pending and failed operations, partial chargebacks and one final payment for any order.

A payment's true life is generated under PPRO's balance rules (captures and voids within the
authorization; refunds, pending refunds and chargebacks within the captures), then told to
the reducer the way a provider tells it: an event per operation per status (a refund
PENDING, later REFUNDED or FAILED), status-only events, and reads taken at any point of the
life (reads carry no chargebacks, as PPRO's charge does not). Every permutation of every such
set of updates, with duplicates, must fold to one payment: the truth.
"""

from __future__ import annotations

import itertools
import random
import re
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import (
    PAYMENT_TRANSITIONS,
    Capabilities,
    CaptureMode,
    CaptureRequest,
    EventKind,
    Money,
    Operation,
    OperationKind,
    OperationStatus,
    Payment,
    PaymentStatus,
    ProviderResponseError,
    RefundRequest,
    ValidationError,
    WebhookEvent,
    add_months,
    apply_event,
    apply_operation,
    apply_update,
    can_transition,
    merge_operation,
    refund_deadline,
    status_from_totals,
)
from psp_core._capabilities import check_capture, check_refund

USD = "USD"
K = OperationKind
S = OperationStatus
T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def usd(minor: int) -> Money:
    return Money(minor, USD)


@attrs.frozen
class Step:
    """One thing that happened at the provider: an operation reaching a status."""

    kind: OperationKind
    id: str
    amount: int
    status: OperationStatus


@st.composite
def true_lives(draw: st.DrawFn) -> tuple[int, list[Step]]:
    """A life that PPRO's balance rules allow, in the order it happened."""
    amount = draw(st.integers(min_value=2, max_value=50_000))
    steps = [Step(K.AUTHORIZATION, "au", amount, S.SUCCEEDED)]
    left, captured, returned = amount, 0, 0  # returned: refunded + pending refunds + charged back
    pending: list[Step] = []
    for n in range(draw(st.integers(1, 9))):
        choice = draw(st.sampled_from(["capture", "void", "refund", "settle", "chargeback", "fail_capture"]))
        if choice in ("capture", "void", "fail_capture") and left > 0:
            value = draw(st.integers(1, left))
            kind = K.VOID if choice == "void" else K.CAPTURE
            status = S.FAILED if choice == "fail_capture" else S.SUCCEEDED
            steps.append(Step(kind, f"{kind.value}_{n}", value, status))
            if status is S.SUCCEEDED:
                left -= value
                captured += value if kind is K.CAPTURE else 0
        elif choice == "refund" and captured - returned > 0:
            step = Step(K.REFUND, f"refund_{n}", draw(st.integers(1, captured - returned)), S.PENDING)
            steps.append(step)
            pending.append(step)
            returned += step.amount
        elif choice == "settle" and pending:
            step = pending.pop(draw(st.integers(0, len(pending) - 1)))
            outcome = draw(st.sampled_from([S.SUCCEEDED, S.FAILED]))
            steps.append(attrs.evolve(step, status=outcome))
            if outcome is S.FAILED:
                returned -= step.amount
        elif choice == "chargeback" and captured - returned > 0:
            # Partial or everything still held: never more than captured - refunded - pending.
            value = draw(st.sampled_from([captured - returned, draw(st.integers(1, captured - returned))]))
            steps.append(Step(K.CHARGEBACK, f"cb_{n}", value, S.SUCCEEDED))
            returned += value
    return amount, steps


def truth(amount: int, steps: list[Step]) -> dict[str, int]:
    final = {(s.kind, s.id): s for s in steps}
    totals = dict.fromkeys(K, 0)
    for step in final.values():
        if step.status is S.SUCCEEDED:
            totals[step.kind] += step.amount
    return {
        "authorized": totals[K.AUTHORIZATION],
        "captured": totals[K.CAPTURE],
        "voided": totals[K.VOID],
        "refunded": totals[K.REFUND],
        "charged_back": totals[K.CHARGEBACK],
        "pending": sum(s.amount for s in final.values() if s.status is S.PENDING),
    }


def event(n: int, step: Step) -> WebhookEvent:
    return WebhookEvent(
        provider="fakepay",
        event_id=f"ev_{n}",
        kind=EventKind.PAYMENT_REFUND_PENDING if step.status is S.PENDING else EventKind.PAYMENT_CAPTURED,
        provider_type="TEST",
        payment_id="ch_1",
        operation=Operation(step.kind, step.id, usd(step.amount), status=step.status),
    )


def read_at(amount: int, steps: list[Step]) -> Payment:
    """What a read of the charge says after ``steps``: every operation but chargebacks."""
    latest = {(s.kind, s.id): s for s in steps if s.kind is not K.CHARGEBACK}
    ops = tuple(Operation(s.kind, s.id, usd(s.amount), status=s.status) for s in latest.values())
    t = truth(amount, [s for s in steps if s.kind is not K.CHARGEBACK])
    zero = usd(0)
    implied = status_from_totals(
        usd(t["authorized"]), usd(t["captured"]), usd(t["refunded"]), usd(t["voided"]), zero
    )
    return Payment.new(
        "fakepay",
        "ch_1",
        implied or PaymentStatus.PROCESSING,
        usd(amount),
        authorized=usd(t["authorized"]),
        captured=usd(t["captured"]),
        refunded=usd(t["refunded"]),
        voided=usd(t["voided"]),
        operations=ops,
    )


Update = WebhookEvent | Payment


@st.composite
def update_sets(draw: st.DrawFn) -> tuple[int, list[Step], list[Update]]:
    amount, steps = draw(true_lives())
    updates: list[Update] = [event(n, step) for n, step in enumerate(steps)]
    for cut in draw(st.lists(st.integers(1, len(steps)), max_size=3)):
        updates.append(read_at(amount, steps[:cut]))
    updates.append(
        WebhookEvent(
            provider="fakepay",
            event_id="ev_status",
            kind=EventKind.PAYMENT_PROCESSING,
            provider_type="TEST",
            payment_id="ch_1",
            payment_status=draw(
                st.sampled_from([PaymentStatus.PROCESSING, PaymentStatus.AUTHORIZED, PaymentStatus.FAILED])
            ),
        )
    )
    return amount, steps, updates


def start(amount: int) -> Payment:
    return Payment.new("fakepay", "ch_1", PaymentStatus.REQUIRES_ACTION, usd(amount))


def fold(amount: int, updates: list[Update]) -> list[Payment]:
    states = [start(amount)]
    for update in updates:
        folded = apply_update if isinstance(update, Payment) else apply_event
        states.append(folded(states[-1], update))  # type: ignore[arg-type]
    return states


def assert_invariants(payment: Payment) -> None:
    assert payment.captured.minor + payment.voided.minor <= payment.authorized.minor <= payment.amount.minor
    returned = payment.refunded + payment.refund_pending + payment.charged_back
    assert returned.minor <= payment.captured.minor or payment.refund_pending.minor > 0
    assert payment.refundable.minor >= 0


@given(update_sets(), st.randoms(use_true_random=False))
def test_any_order_of_any_set_of_updates_folds_to_the_one_true_payment(
    generated: tuple[int, list[Step], list[Update]], rnd: random.Random
) -> None:
    amount, steps, updates = generated
    shuffled = updates + rnd.sample(updates, k=min(3, len(updates)))  # duplicates too
    rnd.shuffle(shuffled)
    states = fold(amount, shuffled)
    final = states[-1]
    assert final == fold(amount, updates)[-1] == fold(amount, list(reversed(updates)))[-1]
    t = truth(amount, steps)
    # Every amount counted exactly once, and only once settled.
    assert (final.captured.minor, final.voided.minor) == (t["captured"], t["voided"])
    assert (final.refunded.minor, final.charged_back.minor) == (t["refunded"], t["charged_back"])
    assert final.refund_pending.minor == t["pending"]
    assert final.refunded + final.refund_pending + final.charged_back <= final.captured
    for before, after in itertools.pairwise(states):
        assert can_transition(before.status, after.status), (before.status, after.status)
        assert_invariants(after)
        for name in ("authorized", "captured", "refunded", "voided", "charged_back"):
            assert getattr(after, name) >= getattr(before, name), name


@given(true_lives())
def test_every_permutation_of_a_small_life_gives_one_final_payment(life: tuple[int, list[Step]]) -> None:
    amount, steps = life
    updates = [event(n, step) for n, step in enumerate(steps[:6])]
    finals = {fold(amount, list(order))[-1] for order in itertools.permutations(updates)}
    assert len(finals) == 1


def test_status_moves_between_equal_words_never_happen() -> None:
    """Issue 12 finding 3: DECLINED and FAILED, CAPTURED and VOIDED are never moved between."""
    for source, targets in PAYMENT_TRANSITIONS.items():
        assert source not in targets
    declined_then_failed = fold(
        100,
        [
            WebhookEvent(
                "fakepay", "e1", EventKind.PAYMENT_DECLINED, "T", payment_id="ch_1", payment_status=status
            )
            for status in (PaymentStatus.DECLINED, PaymentStatus.FAILED)
        ],
    )
    assert [s.status for s in declined_then_failed[1:]] == [PaymentStatus.DECLINED, PaymentStatus.DECLINED]
    failed_then_declined = fold(
        100,
        [
            WebhookEvent(
                "fakepay", "e1", EventKind.PAYMENT_DECLINED, "T", payment_id="ch_1", payment_status=status
            )
            for status in (PaymentStatus.FAILED, PaymentStatus.DECLINED)
        ],
    )
    assert failed_then_declined[-1].status is PaymentStatus.DECLINED


def captured_payment(amount: int = 1_000, captured: int = 1_000) -> Payment:
    return fold(
        amount,
        [
            event(1, Step(K.AUTHORIZATION, "au", amount, S.SUCCEEDED)),
            event(2, Step(K.CAPTURE, "cp", captured, S.SUCCEEDED)),
        ],
    )[-1]


def test_a_pending_refund_reserves_its_amount_and_settles_once() -> None:
    payment = captured_payment()
    pending = apply_operation(payment, Operation(K.REFUND, "rf_1", usd(600), status=S.PENDING))
    assert (pending.refunded, pending.refund_pending, pending.refundable) == (usd(0), usd(600), usd(400))
    assert pending.status is PaymentStatus.CAPTURED
    assert [op.id for op in pending.pending_refunds] == ["rf_1"]
    settled = apply_event(pending, event(3, Step(K.REFUND, "rf_1", 600, S.SUCCEEDED)))
    assert (settled.refunded, settled.refund_pending, settled.refundable) == (usd(600), usd(0), usd(400))
    assert settled.status is PaymentStatus.PARTIALLY_REFUNDED
    # A late or duplicate PENDING report never reopens it; the success is counted once.
    again = apply_event(settled, event(4, Step(K.REFUND, "rf_1", 600, S.PENDING)))
    assert apply_event(again, event(5, Step(K.REFUND, "rf_1", 600, S.SUCCEEDED))) == settled == again


def test_a_failed_pending_refund_releases_its_reservation() -> None:
    pending = apply_operation(captured_payment(), Operation(K.REFUND, "rf_1", usd(600), status=S.PENDING))
    failed = apply_event(pending, event(3, Step(K.REFUND, "rf_1", 600, S.FAILED)))
    assert (failed.refunded, failed.refund_pending, failed.refundable) == (usd(0), usd(0), usd(1_000))
    assert failed.operations_of(K.REFUND)[0].status is S.FAILED
    assert failed.status is PaymentStatus.CAPTURED


CAPS = Capabilities(
    currencies=frozenset({USD}),
    countries=frozenset({"US"}),
    capture_modes=frozenset({CaptureMode.AUTOMATIC, CaptureMode.SEPARATE}),
    partial_capture=True,
    multiple_captures=True,
    void=True,
    partial_void=True,
    refund_window_months=6,
    authorization_validity=timedelta(days=30),
)


def test_a_refund_beyond_what_pending_refunds_leave_is_refused_naming_them() -> None:
    pending = apply_operation(captured_payment(), Operation(K.REFUND, "rf_1", usd(600), status=S.PENDING))
    with pytest.raises(ValidationError, match="rf_1") as caught:
        check_refund(RefundRequest(pending, usd(401)), CAPS, T0)
    assert caught.value.field == "amount"
    assert "pending" in str(caught.value)
    assert check_refund(RefundRequest(pending, usd(400)), CAPS, T0) == usd(400)
    assert check_refund(RefundRequest(pending), CAPS, T0) == usd(400)


def chargeback(n: int, amount: int) -> WebhookEvent:
    return WebhookEvent(
        provider="fakepay",
        event_id=f"cb_{n}",
        kind=EventKind.PAYMENT_CHARGED_BACK,
        provider_type="TEST",
        payment_id="ch_1",
        payment_status=PaymentStatus.CHARGED_BACK,
        operation=Operation(K.CHARGEBACK, f"cb_{n}", usd(amount)),
    )


def test_a_partial_chargeback_is_recorded_and_leaves_the_rest_refundable() -> None:
    partly = apply_event(captured_payment(), chargeback(1, 300))
    assert (partly.status, partly.charged_back, partly.refundable) == (
        PaymentStatus.CAPTURED,
        usd(300),
        usd(700),
    )
    refunded = apply_operation(partly, Operation(K.REFUND, "rf", usd(700)))
    # Refunds and chargebacks together took back everything: the combined status is CHARGED_BACK.
    assert (refunded.status, refunded.refundable) == (PaymentStatus.CHARGED_BACK, usd(0))
    with pytest.raises(ProviderResponseError, match="exceed"):
        apply_operation(partly, Operation(K.REFUND, "rf_2", usd(701)))


def test_a_chargeback_of_everything_captured_is_terminal_but_the_uncaptured_rest_stays_capturable() -> None:
    partial_capture = captured_payment(1_000, 400)
    disputed = apply_event(partial_capture, chargeback(1, 400))
    # PPRO documents nothing that ends the authorization on a chargeback: the rest stays usable.
    assert (disputed.status, disputed.capturable, disputed.refundable) == (
        PaymentStatus.PARTIALLY_CAPTURED,
        usd(600),
        usd(0),
    )
    whole = apply_event(captured_payment(), chargeback(1, 1_000))
    assert (whole.status, whole.refundable, whole.capturable) == (PaymentStatus.CHARGED_BACK, usd(0), usd(0))


def test_refunded_and_charged_back_money_folds_to_charged_back_in_either_order() -> None:
    refund = event(3, Step(K.REFUND, "rf", 400, S.SUCCEEDED))
    base = captured_payment()
    one = apply_event(apply_event(base, refund), chargeback(1, 600))
    other = apply_event(apply_event(base, chargeback(1, 600)), refund)
    assert one == other
    assert one.status is PaymentStatus.CHARGED_BACK


def test_totals_beyond_the_payment_amount_are_an_error_not_a_new_truth() -> None:
    base = captured_payment()
    with pytest.raises(ProviderResponseError, match="more than is possible"):
        apply_event(apply_event(base, chargeback(1, 600)), chargeback(2, 600))
    with pytest.raises(ProviderResponseError):
        apply_event(base, event(3, Step(K.CAPTURE, "cp_2", 1, S.SUCCEEDED)))
    refunded = apply_event(base, event(3, Step(K.REFUND, "rf", 1_000, S.SUCCEEDED)))
    with pytest.raises(ProviderResponseError):
        apply_event(refunded, chargeback(1, 1))


def test_two_reports_of_one_operation_merge_to_the_settled_one() -> None:
    pending = Operation(K.REFUND, "rf", usd(5), status=S.PENDING, merchant_reference="r-1")
    done = Operation(K.REFUND, "rf", usd(5), status=S.SUCCEEDED, at=T0)
    assert merge_operation(pending, done) == merge_operation(done, pending)
    merged = merge_operation(pending, done)
    assert (merged.status, merged.merchant_reference, merged.at) == (S.SUCCEEDED, "r-1", T0)
    with pytest.raises(ProviderResponseError, match="as"):
        merge_operation(pending, attrs.evolve(done, amount=usd(6)))


@pytest.mark.parametrize(
    ("captured", "deadline"),
    [
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2027, 1, 1, 12, 0, tzinfo=UTC)),
        (datetime(2026, 8, 31, 9, 30, tzinfo=UTC), datetime(2027, 2, 28, 9, 30, tzinfo=UTC)),
        (datetime(2027, 8, 31, 9, 30, tzinfo=UTC), datetime(2028, 2, 29, 9, 30, tzinfo=UTC)),
        (datetime(2026, 12, 15, 0, 0, tzinfo=UTC), datetime(2027, 6, 15, 0, 0, tzinfo=UTC)),
    ],
)
def test_the_refund_window_is_six_calendar_months_after_the_first_capture(
    captured: datetime, deadline: datetime
) -> None:
    assert refund_deadline(CAPS, captured) == deadline
    payment = attrs.evolve(captured_payment(), captured_at=captured)
    assert check_refund(RefundRequest(payment, usd(1)), CAPS, deadline) == usd(1)
    with pytest.raises(ValidationError, match=re.escape(deadline.isoformat())) as caught:
        check_refund(RefundRequest(payment, usd(1)), CAPS, deadline + timedelta(seconds=1))
    assert caught.value.field == "payment.captured_at"


def test_a_shorter_fixed_window_wins_over_the_months() -> None:
    shorter = attrs.evolve(CAPS, refund_window=timedelta(days=30))
    assert refund_deadline(shorter, T0) == T0 + timedelta(days=30)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)), st.integers(0, 120))
def test_adding_calendar_months_keeps_the_time_and_never_overflows_the_month(
    at: datetime, months: int
) -> None:
    moved = add_months(at, months)
    assert (moved.year * 12 + moved.month) - (at.year * 12 + at.month) == months
    assert moved.time() == at.time()
    assert moved.day == at.day or moved.day < at.day


def test_a_capture_after_the_authorization_expired_is_refused_before_any_request() -> None:
    authorized = fold(1_000, [event(1, Step(K.AUTHORIZATION, "au", 1_000, S.SUCCEEDED))])[-1]
    authorized = attrs.evolve(
        authorized,
        operations=tuple(attrs.evolve(op, at=T0) for op in authorized.operations),
    )
    last = T0 + timedelta(days=30)
    assert check_capture(CaptureRequest(authorized), CAPS, last) == usd(1_000)
    with pytest.raises(ValidationError, match="expired") as caught:
        check_capture(CaptureRequest(authorized), CAPS, last + timedelta(seconds=1))
    assert caught.value.field == "payment"
    assert last.isoformat() in str(caught.value)


def test_pending_captures_and_voids_reserve_the_authorization() -> None:
    authorized = fold(1_000, [event(1, Step(K.AUTHORIZATION, "au", 1_000, S.SUCCEEDED))])[-1]
    pending = apply_operation(authorized, Operation(K.CAPTURE, "cp", usd(700), status=S.PENDING))
    assert pending.capturable == usd(300)
    with pytest.raises(ValidationError, match="cp"):
        check_capture(CaptureRequest(pending, usd(301)), CAPS, T0)


def test_a_pending_refund_counts_as_the_one_refund_a_single_refund_provider_allows() -> None:
    single = attrs.evolve(CAPS, multiple_refunds=False)
    pending = apply_operation(captured_payment(), Operation(K.REFUND, "rf_1", usd(600), status=S.PENDING))
    with pytest.raises(ValidationError, match="one refund"):
        check_refund(RefundRequest(pending, usd(100)), single, T0)
