"""Every declared capability is honoured, and everything not declared is refused before any I/O.

A capability the provider declares must work end to end at its PSP; one it does not declare
must be refused by the gateway with ``UnsupportedOperationError`` (or ``ValidationError`` for
values), with nothing sent.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from psp_core import (
    TERMINAL_PAYMENT_STATUSES,
    CaptureMode,
    CaptureRequest,
    Money,
    PaymentStatus,
    PspError,
    RefundRequest,
    UnsupportedOperationError,
    ValidationError,
    VoidRequest,
    WebhookOrder,
    apply_event,
    apply_update,
    authorization_deadline,
    refund_deadline,
)

from ._harness import COUNTRIES_ELSEWHERE, OFFERED_ELSEWHERE, Contract

verifies = pytest.mark.psp_verifies


# -- currencies, countries, limits ----------------------------------------------------------------


@verifies("currencies")
@pytest.mark.psp_live
def test_every_declared_currency_round_trips_its_amount(contract: Contract) -> None:
    for currency in contract.currencies:
        amount = contract.ordinary_amount(currency)
        created = contract.gateway.authorize(contract.authorize_request(amount))
        read = contract.gateway.get_payment(created.id)
        assert created.amount == read.amount == amount
        assert read.status in (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)
        assert read.next_action is not None, "a payment waiting for the consumer says where to send them"


@verifies("currencies")
def test_an_undeclared_currency_is_refused_before_anything_is_sent(contract: Contract) -> None:
    currency = next(c for c in OFFERED_ELSEWHERE if c not in contract.capabilities.currencies)
    request = contract.authorize_request(Money(1000, currency))
    with pytest.raises(ValidationError) as refused:
        contract.gateway.authorize(request)
    assert refused.value.field == "amount.currency"
    assert contract.sandbox.payment_count(request.merchant_reference) == 0


@verifies("countries")
def test_every_declared_country_is_accepted_and_others_are_refused(contract: Contract) -> None:
    for country in sorted(contract.capabilities.countries):
        request = attrs.evolve(
            contract.authorize_request(contract.ordinary_amount()),
            consumer=attrs.evolve(contract.consumer(), country=country),
        )
        assert contract.gateway.authorize(request).amount == request.amount
    elsewhere = next(c for c in COUNTRIES_ELSEWHERE if c not in contract.capabilities.countries)
    request = attrs.evolve(
        contract.authorize_request(contract.ordinary_amount()),
        consumer=attrs.evolve(contract.consumer(), country=elsewhere),
    )
    with pytest.raises(ValidationError) as refused:
        contract.gateway.authorize(request)
    assert refused.value.field == "consumer.country"
    assert contract.sandbox.payment_count(request.merchant_reference) == 0


@verifies("amount_limits")
def test_amounts_at_each_declared_limit_are_authorized_by_the_psp(contract: Contract) -> None:
    contract.require("amount_limits")
    for currency, limits in sorted(contract.capabilities.amount_limits.items()):
        for amount in (limits.minimum, limits.maximum):
            payment = contract.approved(amount)
            if contract.declines(amount):
                assert payment.status is PaymentStatus.DECLINED
                continue
            assert payment.status in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED), (
                f"{amount} is within the declared limits {limits.minimum}..{limits.maximum} of "
                f"{currency}, but the PSP answered {payment.status.value} ({payment.decline})"
            )
            assert payment.authorized == amount


@verifies("amount_limits")
def test_one_minor_unit_outside_each_declared_limit_is_refused_before_anything_is_sent(
    contract: Contract,
) -> None:
    contract.require("amount_limits")
    for limits in contract.capabilities.amount_limits.values():
        outside = [limits.maximum + Money(1, limits.maximum.currency)]
        if limits.minimum.minor > 1:
            outside.append(limits.minimum - Money(1, limits.minimum.currency))
        for amount in outside:
            request = contract.authorize_request(amount)
            with pytest.raises(ValidationError) as refused:
                contract.gateway.authorize(request)
            assert refused.value.field == "amount"
            assert contract.sandbox.payment_count(request.merchant_reference) == 0


@verifies("requires_consumer_name")
def test_the_consumer_name_is_required_exactly_when_declared(contract: Contract) -> None:
    request = contract.authorize_request(contract.ordinary_amount(), consumer=contract.consumer(name=None))
    if contract.supports("requires_consumer_name"):
        with pytest.raises(ValidationError) as refused:
            contract.gateway.authorize(request)
        assert refused.value.field == "consumer.name"
        assert contract.sandbox.payment_count(request.merchant_reference) == 0
        return
    payment = contract.gateway.authorize(request)
    contract.sandbox.approve(payment.id)
    approved = contract.gateway.get_payment(payment.id)
    assert approved.status in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED)


# -- declared text and label limits --------------------------------------------------------------


@verifies("max_text")
def test_a_reference_as_long_as_the_declared_text_limit_reaches_the_psp_and_a_longer_one_is_refused(
    contract: Contract,
) -> None:
    contract.require("max_text")
    limit = contract.capabilities.max_text
    assert limit is not None
    base = contract.reference()[:limit]
    longest = base + "r" * (limit - len(base))
    request = contract.authorize_request(contract.ordinary_amount(), reference=longest)
    payment = contract.gateway.authorize(request)
    assert payment.merchant_reference == longest
    assert contract.sandbox.payment_count(longest) == 1
    too_long = contract.reference() + "r" * limit
    with pytest.raises(ValidationError) as refused:
        contract.gateway.authorize(attrs.evolve(request, merchant_reference=too_long))
    assert refused.value.field == "merchant_reference"
    assert contract.sandbox.payment_count(too_long) == 0


@verifies("max_labels")
def test_the_declared_labels_reach_the_psp_and_one_more_is_refused(contract: Contract) -> None:
    caps = contract.capabilities
    request = contract.authorize_request(contract.ordinary_amount())
    if caps.max_labels == 0:
        with pytest.raises(ValidationError) as refused:
            contract.gateway.authorize(attrs.evolve(request, labels={"campaign": "spring"}))
        assert refused.value.field == "labels"
        assert contract.sandbox.payment_count(request.merchant_reference) == 0
        return
    # Every label at its longest: zero-padded keys stay distinct.
    key_length = max(caps.max_label_key or caps.max_text or 16, len(str(caps.max_labels)))
    value = "v" * (caps.max_label_value or caps.max_text or 16)
    labels = {f"{i:0{key_length}d}": value for i in range(caps.max_labels)}
    contract.gateway.authorize(attrs.evolve(request, labels=labels))
    assert contract.sandbox.payment_count(request.merchant_reference) == 1
    one_more = contract.authorize_request(contract.ordinary_amount())
    with pytest.raises(ValidationError) as refused:
        contract.gateway.authorize(attrs.evolve(one_more, labels={**labels, "x": "y"}))
    assert refused.value.field == "labels"
    assert contract.sandbox.payment_count(one_more.merchant_reference) == 0


# -- capture modes and captures -------------------------------------------------------------------


@verifies("capture_modes.automatic")
def test_automatic_capture_captures_the_whole_amount_on_approval(contract: Contract) -> None:
    amount = contract.ordinary_amount()
    if not contract.supports("capture_modes.automatic"):
        with pytest.raises(ValidationError):
            contract.gateway.authorize(
                attrs.evolve(contract.authorize_request(amount), capture_mode=CaptureMode.AUTOMATIC)
            )
        return
    payment = contract.approved(amount, CaptureMode.AUTOMATIC)
    assert payment.status is PaymentStatus.CAPTURED
    assert payment.authorized == payment.captured == amount
    assert contract.sandbox.effects(payment.id).captures == 1


@verifies("capture_modes.separate")
def test_separate_capture_waits_for_the_merchant(contract: Contract) -> None:
    amount = contract.ordinary_amount()
    if not contract.supports("capture_modes.separate"):
        captured = contract.captured(amount)
        with pytest.raises(UnsupportedOperationError):
            contract.gateway.capture(CaptureRequest(captured))
        return
    payment = contract.authorized(amount)
    assert payment.authorized == payment.capturable == amount and not payment.captured
    assert contract.sandbox.effects(payment.id).captures == 0
    captured = contract.gateway.capture(CaptureRequest(payment))
    assert captured.status is PaymentStatus.CAPTURED and captured.captured == amount
    assert contract.gateway.get_payment(payment.id).captured == amount
    assert contract.sandbox.effects(payment.id).captures == 1


@verifies("partial_capture")
def test_partial_capture(contract: Contract) -> None:
    contract.require("capture_modes.separate")
    payment = contract.authorized()
    part = Money(payment.amount.minor // 2, payment.amount.currency)
    if not contract.supports("partial_capture"):
        with pytest.raises(UnsupportedOperationError):
            contract.gateway.capture(CaptureRequest(payment, part))
        assert contract.sandbox.effects(payment.id).captures == 0
        return
    captured = contract.gateway.capture(CaptureRequest(payment, part))
    read = contract.gateway.get_payment(payment.id)
    assert captured.captured == read.captured == part
    assert read.status is PaymentStatus.PARTIALLY_CAPTURED
    assert read.capturable == payment.amount - part


@verifies("multiple_captures")
def test_multiple_captures_add_up(contract: Contract) -> None:
    contract.require("capture_modes.separate", "partial_capture")
    payment = contract.authorized()
    first = Money(payment.amount.minor // 3, payment.amount.currency)
    after_first = contract.gateway.capture(CaptureRequest(payment, first))
    if not contract.supports("multiple_captures"):
        with pytest.raises(UnsupportedOperationError):
            contract.gateway.capture(CaptureRequest(after_first))
        assert contract.sandbox.effects(payment.id).captures == 1
        return
    contract.gateway.capture(CaptureRequest(after_first))
    read = contract.gateway.get_payment(payment.id)
    assert read.captured == payment.amount and read.status is PaymentStatus.CAPTURED
    assert contract.sandbox.effects(payment.id).captures == 2


# -- voids ------------------------------------------------------------------------------------------


@verifies("void")
def test_void_releases_the_authorization(contract: Contract) -> None:
    contract.require("capture_modes.separate")
    payment = contract.authorized()
    if not contract.supports("void"):
        with pytest.raises(UnsupportedOperationError):
            contract.gateway.void(VoidRequest(payment))
        return
    contract.gateway.void(VoidRequest(payment))
    read = contract.gateway.get_payment(payment.id)
    assert read.status is PaymentStatus.VOIDED and read.voided == payment.amount and not read.captured
    assert contract.sandbox.effects(payment.id).voids == 1


@verifies("partial_void")
def test_partial_void_leaves_the_rest_capturable(contract: Contract) -> None:
    contract.require("capture_modes.separate", "void")
    payment = contract.authorized()
    part = Money(payment.amount.minor // 2, payment.amount.currency)
    if not contract.supports("partial_void"):
        with pytest.raises(UnsupportedOperationError):
            contract.gateway.void(VoidRequest(payment, part))
        return
    after = contract.gateway.void(VoidRequest(payment, part))
    read = contract.gateway.get_payment(payment.id)
    assert after.voided == read.voided == part
    assert read.capturable == payment.amount - part
    contract.gateway.capture(CaptureRequest(read))
    final = contract.gateway.get_payment(payment.id)
    assert final.captured == payment.amount - part and final.status is PaymentStatus.CAPTURED


# -- refunds ----------------------------------------------------------------------------------------


@verifies("refunds")
def test_full_refund(contract: Contract) -> None:
    payment = contract.captured()
    if not contract.supports("refunds"):
        with pytest.raises(UnsupportedOperationError):
            contract.gateway.refund(RefundRequest(payment))
        return
    answer = contract.gateway.refund(RefundRequest(payment))
    # Refunded, or pending and reserving the whole amount until the PSP settles it.
    assert answer.refunded + answer.refund_pending == payment.captured and not answer.refundable
    read = contract.settled(contract.gateway.get_payment(payment.id))
    assert read.status is PaymentStatus.REFUNDED and read.refunded == payment.captured
    assert contract.sandbox.effects(payment.id).refunds == 1


@verifies("partial_refund", "multiple_refunds")
def test_partial_and_multiple_refunds(contract: Contract) -> None:
    contract.require("refunds")
    payment = contract.captured()
    part = Money(payment.captured.minor // 3, payment.amount.currency)
    if not contract.supports("partial_refund"):
        with pytest.raises(UnsupportedOperationError):
            contract.gateway.refund(RefundRequest(payment, part))
        return
    after = contract.gateway.refund(RefundRequest(payment, part))
    assert after.refundable == payment.captured - part
    after = contract.settled(after)
    assert contract.gateway.get_payment(payment.id).status is PaymentStatus.PARTIALLY_REFUNDED
    if not contract.supports("multiple_refunds"):
        with pytest.raises(UnsupportedOperationError):
            contract.gateway.refund(RefundRequest(after))
        return
    contract.settled(contract.gateway.refund(RefundRequest(after)))
    read = contract.gateway.get_payment(payment.id)
    assert read.refunded == payment.captured and read.status is PaymentStatus.REFUNDED
    assert contract.sandbox.effects(payment.id).refunds == 2


@verifies("refund_window")
def test_refunds_work_inside_the_declared_window_and_are_refused_after_it(contract: Contract) -> None:
    contract.require("refunds", "partial_refund", "multiple_refunds", "refund_window")
    payment = contract.captured()
    deadline = refund_deadline(contract.capabilities, payment.captured_at)
    assert deadline is not None, "a payment captured by a provider with a refund window says when"
    part = Money(max(1, payment.captured.minor // 4), payment.amount.currency)
    contract.advance(deadline - contract.now() - timedelta(hours=1))
    inside = contract.settled(contract.gateway.refund(RefundRequest(payment, part)))
    assert inside.refunded == part, "a refund inside the declared window must go through"
    contract.advance(timedelta(hours=2))
    with pytest.raises(ValidationError):
        contract.gateway.refund(RefundRequest(contract.gateway.get_payment(payment.id), part))
    # A host that lost the capture date gets past the gateway; the PSP must still refuse.
    unaware = attrs.evolve(contract.gateway.get_payment(payment.id), captured_at=None)
    effects = contract.sandbox.effects(payment.id)
    try:
        answer = contract.gateway.refund(RefundRequest(unaware, part))
    except PspError:
        pass  # a typed refusal
    else:
        assert answer.decline is not None and answer.refunded == part, answer
        assert not answer.refund_pending, answer
    assert contract.sandbox.effects(payment.id) == effects
    assert contract.gateway.get_payment(payment.id).refunded == part


# -- chargebacks ------------------------------------------------------------------------------------


@verifies("chargebacks")
def test_a_chargeback_is_reported_by_webhook_and_is_final(contract: Contract) -> None:
    contract.require("chargebacks")
    payment = contract.captured()
    contract.sandbox.deliver_webhooks()
    contract.sandbox.chargeback(payment.id)
    stored = payment
    for event in contract.webhook_events(WebhookOrder.DUPLICATED):
        if event.payment_id == payment.id:
            stored = apply_event(stored, event)
    assert stored.status is PaymentStatus.CHARGED_BACK
    assert stored.charged_back == payment.captured
    # A later read (a PSP may show no chargeback status) never undoes what the webhook said.
    assert apply_update(stored, contract.gateway.get_payment(payment.id)).status is PaymentStatus.CHARGED_BACK


@verifies("partial_chargebacks")
def test_a_partial_chargeback_leaves_the_rest_refundable_and_nothing_more(contract: Contract) -> None:
    contract.require("chargebacks", "partial_chargebacks", "refunds", "partial_refund")
    payment = contract.captured()
    contract.sandbox.deliver_webhooks()
    disputed = Money(payment.captured.minor // 4, payment.amount.currency)
    contract.sandbox.chargeback(payment.id, disputed)
    stored = payment
    for event in contract.webhook_events(WebhookOrder.DUPLICATED):
        if event.payment_id == payment.id:
            stored = apply_event(stored, event)
    assert stored.charged_back == disputed, "a partial chargeback is recorded, counted once"
    assert stored.status not in TERMINAL_PAYMENT_STATUSES, "only a chargeback of everything is final"
    assert stored.refundable == payment.captured - disputed
    stored = apply_update(stored, contract.gateway.get_payment(payment.id))
    assert stored.charged_back == disputed
    # The gateway refuses more than is left before any request; the PSP takes exactly what is.
    with pytest.raises(ValidationError):
        contract.gateway.refund(RefundRequest(stored, stored.refundable + Money(1, stored.amount.currency)))
    rest = contract.settled(contract.gateway.refund(RefundRequest(stored)))
    final = apply_update(stored, rest)
    assert final.refunded + final.charged_back == payment.captured
    assert final.status is PaymentStatus.CHARGED_BACK and not final.refundable


# -- pending refunds ---------------------------------------------------------------------------------


@verifies("pending_refunds")
def test_a_pending_refund_reserves_its_amount_until_it_settles_either_way(contract: Contract) -> None:
    contract.require("refunds", "partial_refund", "multiple_refunds", "pending_refunds")
    payment = contract.captured()
    half = Money(payment.captured.minor // 2, payment.amount.currency)
    answer = contract.gateway.refund(RefundRequest(payment, half))
    assert answer.refunded + answer.refund_pending == half
    if not answer.refund_pending:
        pytest.skip("this sandbox settled the refund in its answer; nothing stayed pending")
    assert [op.amount for op in answer.pending_refunds] == [half]
    read = contract.gateway.get_payment(payment.id)
    assert read.refund_pending == half, "a read keeps the pending refund"
    over = payment.captured - half + Money(1, payment.amount.currency)
    requests = contract.sandbox.effects(payment.id)
    with pytest.raises(ValidationError, match=answer.pending_refunds[0].id):
        contract.gateway.refund(RefundRequest(read, over))
    assert contract.sandbox.effects(payment.id) == requests
    failed = contract.settled(read, succeed=False)
    assert (failed.refunded, failed.refund_pending, failed.refundable) == (
        Money.zero(payment.amount.currency),
        Money.zero(payment.amount.currency),
        payment.captured,
    ), "a failed refund releases its reservation"
    second = contract.settled(contract.gateway.refund(RefundRequest(failed, half)))
    assert (second.refunded, second.refund_pending) == (half, Money.zero(payment.amount.currency))
    stored = payment
    for event in contract.webhook_events(WebhookOrder.REVERSED):
        if event.payment_id == payment.id:
            stored = apply_event(apply_event(stored, event), event)
    assert (stored.refunded, stored.refund_pending) == (half, Money.zero(payment.amount.currency))


# -- authorization expiry -----------------------------------------------------------------------------


@verifies("authorization_validity")
def test_a_capture_after_the_authorization_expired_is_refused_before_any_request(contract: Contract) -> None:
    contract.require("capture_modes.separate", "authorization_validity")
    payment = contract.authorized()
    deadline = authorization_deadline(contract.capabilities, payment)
    assert deadline is not None, "the payment says when it was authorized"
    contract.advance(deadline - contract.now() + timedelta(seconds=1))
    requests = contract.sandbox.effects(payment.id)
    with pytest.raises(ValidationError, match="expired"):
        contract.gateway.capture(CaptureRequest(payment))
    assert contract.sandbox.effects(payment.id) == requests
    # The PSP lets the hold go too: a host that ignores the deadline captures nothing.
    late = contract.gateway.get_payment(payment.id)
    assert not late.captured and not late.capturable
