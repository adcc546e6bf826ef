"""The Stripe mapping as properties: PaymentIntents of any documented state and amounts become
payments whose totals add up, whose status follows Stripe's, and which only move forward."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import (
    PAYMENT_RANK,
    DeclineCode,
    MandateStatus,
    OperationSource,
    OperationStatus,
    PaymentStatus,
    ProviderResponseError,
    apply_update,
    can_transition,
)
from psp_stripe import DECLINE_CODES, INTENT_STATUSES, REFUND_STATUSES
from psp_stripe._mapping import mandate_from_setup, payment_from_intent
from psp_stripe._wire import (
    Charge,
    NextAction,
    PaymentError,
    PaymentIntent,
    PaymentMethodRef,
    RedirectToUrl,
    Refund,
    RefundList,
    SetupIntent,
)

amounts = st.integers(1, 99_999_999)
refund_statuses = st.sampled_from(sorted(REFUND_STATUSES))


@st.composite
def refunds(draw: st.DrawFn, captured: int) -> list[Refund]:
    """Refunds Stripe could report: succeeded and pending ones within what was captured."""
    left, made = captured, []
    for index in range(draw(st.integers(0, 4))):
        if left <= 0:
            break
        status = draw(refund_statuses)
        amount = draw(st.integers(1, left))
        if status in ("succeeded", "pending", "requires_action"):
            left -= amount
        made.append(Refund(id=f"re_{index}", amount=amount, currency="eur", status=status))
    return made


@st.composite
def intents(draw: st.DrawFn) -> PaymentIntent:
    amount = draw(amounts)
    status = draw(st.sampled_from(sorted(INTENT_STATUSES)))
    charge = None
    fields: dict[str, object] = {}
    if status == "requires_capture":
        charge = Charge(id="ch_1", amount=amount, status="succeeded", captured=False)
        fields["amount_capturable"] = amount
    elif status == "succeeded":
        captured = draw(st.integers(1, amount))
        charge = Charge(
            id="ch_1",
            amount=amount,
            status="succeeded",
            captured=True,
            amount_captured=captured,
            refunds=RefundList(data=tuple(draw(refunds(captured)))),
        )
    elif status == "canceled" and draw(st.booleans()):
        charge = Charge(id="ch_1", amount=amount, status="succeeded", captured=False)
    elif status == "requires_payment_method" and draw(st.booleans()):
        fields["last_payment_error"] = PaymentError(
            type="card_error", code="card_declined", decline_code="do_not_honor"
        )
    elif status == "requires_action":
        fields["next_action"] = NextAction(
            type="redirect_to_url", redirect_to_url=RedirectToUrl(url="https://hooks.stripe.com/3ds/x")
        )
    return PaymentIntent(
        id="pi_1",
        amount=amount,
        currency="eur",
        status=status,
        latest_charge=charge,
        created=1_700_000_000,
        **fields,
    )  # type: ignore[arg-type]


@given(intent=intents())
def test_every_documented_intent_maps_to_a_payment_whose_totals_add_up(intent: PaymentIntent) -> None:
    payment = payment_from_intent(intent, provider="stripe", source=OperationSource.READ)
    assert payment.amount.minor == intent.amount and payment.provider_status == intent.status
    succeeded = [op for op in payment.operations if op.status is OperationStatus.SUCCEEDED]
    for kind, total in (("authorization", payment.authorized), ("capture", payment.captured)):
        assert sum(op.amount.minor for op in succeeded if op.kind.value == kind) == total.minor
    assert payment.refunded.minor == sum(op.amount.minor for op in succeeded if op.kind.value == "refund")
    expected = {
        "requires_action": PaymentStatus.REQUIRES_ACTION,
        "processing": PaymentStatus.PROCESSING,
        "requires_capture": PaymentStatus.AUTHORIZED,
        "requires_confirmation": PaymentStatus.PENDING,
    }
    if intent.status in expected:
        assert payment.status is expected[intent.status]
    if intent.status == "succeeded":
        assert intent.latest_charge is not None
        assert payment.captured.minor == intent.latest_charge.amount_captured
        # The uncaptured rest of a partial capture is released: a void, never capturable later.
        assert payment.voided.minor == intent.amount - payment.captured.minor
        assert not payment.capturable
    if intent.status == "requires_action":
        assert payment.next_action is not None and payment.next_action.url.startswith("https://")
    if intent.status == "requires_payment_method":
        assert payment.status is (
            PaymentStatus.DECLINED if intent.last_payment_error else PaymentStatus.PENDING
        )


@given(amount=amounts, data=st.data())
def test_reads_along_stripes_lifecycle_only_move_the_payment_forward(
    amount: int, data: st.DataObject
) -> None:
    captured = data.draw(st.integers(1, amount))
    made = data.draw(refunds(captured))
    steps = [
        PaymentIntent(id="pi_1", amount=amount, currency="eur", status="requires_action"),
        PaymentIntent(
            id="pi_1",
            amount=amount,
            currency="eur",
            status="requires_capture",
            amount_capturable=amount,
            latest_charge=Charge(id="ch_1", amount=amount, status="succeeded"),
        ),
        PaymentIntent(
            id="pi_1",
            amount=amount,
            currency="eur",
            status="succeeded",
            latest_charge=Charge(
                id="ch_1", amount=amount, status="succeeded", captured=True, amount_captured=captured
            ),
        ),
    ]
    steps += [
        PaymentIntent(
            id="pi_1",
            amount=amount,
            currency="eur",
            status="succeeded",
            latest_charge=Charge(
                id="ch_1",
                amount=amount,
                status="succeeded",
                captured=True,
                amount_captured=captured,
                refunds=RefundList(data=tuple(made[: n + 1])),
            ),
        )
        for n in range(len(made))
    ]
    payments = [payment_from_intent(i, provider="stripe", source=OperationSource.READ) for i in steps]
    stored = payments[0]
    for later in payments[1:]:
        folded = apply_update(stored, later)
        assert folded.status is stored.status or can_transition(stored.status, folded.status)
        assert PAYMENT_RANK[folded.status] >= PAYMENT_RANK[stored.status]
        # A stale read arriving late never moves the stored payment back.
        assert apply_update(folded, stored).status is folded.status
        stored = folded


@given(
    code=st.text(st.characters(min_codepoint=97, max_codepoint=122) | st.just("_"), min_size=1, max_size=40)
)
def test_a_decline_keeps_stripes_code_raw_beside_the_normalized_one(code: str) -> None:
    intent = PaymentIntent(
        id="pi_1",
        amount=1000,
        currency="eur",
        status="requires_payment_method",
        last_payment_error=PaymentError(
            type="card_error", code="card_declined", decline_code=code, message="no"
        ),
    )
    payment = payment_from_intent(intent, provider="stripe", source=OperationSource.ANSWER)
    assert payment.status is PaymentStatus.DECLINED and payment.decline is not None
    assert payment.decline.provider_code == code and payment.decline.provider_type == "card_error"
    assert payment.decline.code is DECLINE_CODES.get(code, DeclineCode.GENERIC)


def test_the_documented_decline_codes_map_to_their_meaning() -> None:
    assert DECLINE_CODES["insufficient_funds"] is DeclineCode.INSUFFICIENT_FUNDS
    assert DECLINE_CODES["fraudulent"] is DeclineCode.SUSPECTED_FRAUD
    assert DECLINE_CODES["authentication_required"] is DeclineCode.AUTHENTICATION_FAILED


@given(status=st.text(min_size=1, max_size=20).filter(lambda s: s not in INTENT_STATUSES))
def test_an_undocumented_status_is_a_response_error_never_a_guess(status: str) -> None:
    with pytest.raises(ProviderResponseError):
        payment_from_intent(
            PaymentIntent(id="pi_1", amount=100, currency="eur", status=status),
            provider="stripe",
            source=OperationSource.READ,
        )


def test_a_use_stripe_sdk_action_waits_without_a_redirect() -> None:
    intent = PaymentIntent(
        id="pi_1",
        amount=100,
        currency="eur",
        status="requires_action",
        next_action=NextAction(type="use_stripe_sdk"),
    )
    payment = payment_from_intent(intent, provider="stripe", source=OperationSource.ANSWER)
    assert payment.status is PaymentStatus.REQUIRES_ACTION and payment.next_action is None


@pytest.mark.parametrize(
    ("status", "method", "metadata", "expected"),
    [
        ("succeeded", PaymentMethodRef("pm_1", "card", "cus_1"), {}, MandateStatus.ACTIVE),
        ("succeeded", PaymentMethodRef("pm_1", "card", None), {"psp_revoked": "true"}, MandateStatus.REVOKED),
        ("succeeded", PaymentMethodRef("pm_1", "card", "cus_other"), {}, MandateStatus.REVOKED),
        ("requires_action", PaymentMethodRef("pm_1", "card", None), {}, MandateStatus.REQUIRES_ACTION),
        ("processing", PaymentMethodRef("pm_1", "sepa_debit", None), {}, MandateStatus.PENDING),
        ("canceled", None, {}, MandateStatus.FAILED),
    ],
)
def test_a_setup_intent_maps_to_a_mandate(
    status: str, method: PaymentMethodRef | None, metadata: dict[str, str], expected: MandateStatus
) -> None:
    setup = SetupIntent(
        id="seti_1", status=status, customer="cus_1", payment_method=method, metadata=metadata
    )
    assert mandate_from_setup(setup, provider="stripe").status is expected
