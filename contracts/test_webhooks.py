"""Webhooks: every event the PSP emits verifies and normalizes; forged, tampered, stale and
unsigned ones are rejected; late, duplicate and reordered events never move a payment back."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import (
    CaptureMode,
    CaptureRequest,
    EventKind,
    Money,
    Payment,
    PaymentStatus,
    RefundRequest,
    SandboxWebhook,
    WebhookEvent,
    WebhookOrder,
    WebhookVerificationError,
    apply_event,
    apply_update,
)

from ._harness import Contract, never_back

verifies = pytest.mark.psp_verifies


def a_payment_life(contract: Contract) -> list[Payment]:
    """Payments through approval, captures and refunds, and one declined by the consumer."""
    lives = []
    if contract.supports("capture_modes.separate") and contract.supports("partial_capture"):
        payment = contract.authorized()
        half = Money(payment.amount.minor // 2, payment.amount.currency)
        payment = contract.gateway.capture(CaptureRequest(payment, half))
        if contract.supports("multiple_captures"):
            payment = contract.gateway.capture(CaptureRequest(payment))
        lives.append(payment)
    else:
        lives.append(contract.captured())
    if contract.supports("refunds"):
        payment = contract.gateway.get_payment(lives[0].id)
        part = Money(max(1, payment.captured.minor // 3), payment.amount.currency)
        contract.gateway.refund(RefundRequest(payment, part if contract.supports("partial_refund") else None))
    declined = contract.pending(mode=CaptureMode.SEPARATE)
    contract.sandbox.decline(declined.id)
    lives.append(declined)
    return [contract.gateway.get_payment(p.id) for p in lives]


@verifies("webhooks")
def test_every_emitted_webhook_verifies_and_normalizes(contract: Contract) -> None:
    finals = a_payment_life(contract)
    hooks = contract.sandbox.deliver_webhooks()
    assert hooks, "the PSP emitted no webhook for a whole payment life"
    known = {p.id for p in finals}
    for hook in hooks:
        event = contract.gateway.parse_webhook(hook.headers, hook.body)
        assert event.provider == contract.provider and event.event_id
        assert event.kind is not EventKind.UNHANDLED, f"{event.provider_type} is the PSP's own event type"
        assert event.payment_id in known or event.mandate_id is not None


def _tampered(hook: SandboxWebhook) -> SandboxWebhook:
    # Flip one byte of the body; the signature no longer covers it.
    body = bytearray(hook.body)
    index = len(body) // 2
    body[index] = ord("0") if body[index] != ord("0") else ord("1")
    return attrs.evolve(hook, body=bytes(body))


@verifies("webhooks")
def test_forged_tampered_stale_and_unsigned_webhooks_are_rejected(contract: Contract) -> None:
    contract.approved()
    hooks = contract.sandbox.deliver_webhooks()
    assert hooks
    hook = hooks[-1]
    unsigned = SandboxWebhook({"Content-Type": "application/json"}, hook.body)
    for bad in (_tampered(hook), contract.sandbox.forge_webhook(hook), unsigned):
        with pytest.raises(WebhookVerificationError):
            contract.gateway.parse_webhook(bad.headers, bad.body)
    tolerance = contract.sandbox.webhook_tolerance
    if tolerance is not None:
        contract.advance(tolerance + timedelta(minutes=1))
        with pytest.raises(WebhookVerificationError):
            contract.gateway.parse_webhook(hook.headers, hook.body)


def _fold(stored: Payment, events: list[WebhookEvent]) -> Payment:
    for event in events:
        if event.payment_id != stored.id:
            continue
        before, stored = stored, apply_event(stored, event)
        assert never_back(before.status, stored.status), (
            f"{event.provider_type} moved {before.status.value} back to {stored.status.value}"
        )
        for total in ("authorized", "captured", "refunded", "voided"):
            assert getattr(stored, total) >= getattr(before, total), f"{event.provider_type} lowered {total}"
    return stored


@verifies("webhooks")
def test_late_duplicate_and_reordered_webhooks_never_move_a_payment_back(contract: Contract) -> None:
    finals = a_payment_life(contract)
    events = contract.webhook_events(WebhookOrder.DUPLICATED)
    # Delivery is a notification: it must not change what the PSP reports.
    for final in finals:
        assert contract.gateway.get_payment(final.id) == final

    @contract.hypothesis_settings
    @given(order=st.permutations(events))
    def check(order: list[WebhookEvent]) -> None:
        for final in finals:
            # A host that already stored the final state learns nothing older from any event.
            assert _fold(final, order).status is final.status
            # A host that only saw the first answer ends where the PSP is, in any order.
            start = Payment.new(final.provider, final.id, PaymentStatus.REQUIRES_ACTION, final.amount)
            folded = _fold(start, order)
            merged = apply_update(folded, final)
            assert merged.status is final.status
            assert (merged.captured, merged.refunded) == (final.captured, final.refunded)

    check()
    for final in finals:
        assert contract.gateway.get_payment(final.id) == final
