"""Stripe webhooks: ``Stripe-Signature`` checked through ``psp_core.signing``, then normalized.

The header is ``t=<unix time>,v1=<hex>[,v1=<hex>...]`` (several ``v1`` while a secret is
being rolled) and the signed payload is ``<t>.<raw body>``, HMAC-SHA256 with the endpoint's
``whsec_`` secret (https://docs.stripe.com/webhooks#verify-manually). Other schemes
(``v0``) are ignored, as Stripe says to.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from psp_core import (
    EventKind,
    MandateStatus,
    OperationSource,
    ProviderConfig,
    ProviderResponseError,
    WebhookEvent,
    WebhookVerificationError,
    signing,
)

from . import _mapping, _wire
from ._settings import PROVIDER, settings_of

SIGNATURE_HEADER = "Stripe-Signature"

PAYMENT_EVENTS: Mapping[str, EventKind] = {
    "payment_intent.created": EventKind.PAYMENT_CREATED,
    "payment_intent.requires_action": EventKind.PAYMENT_REQUIRES_ACTION,
    "payment_intent.processing": EventKind.PAYMENT_PROCESSING,
    "payment_intent.amount_capturable_updated": EventKind.PAYMENT_AUTHORIZED,
    "payment_intent.succeeded": EventKind.PAYMENT_CAPTURED,
    "payment_intent.payment_failed": EventKind.PAYMENT_DECLINED,
    "payment_intent.canceled": EventKind.PAYMENT_VOIDED,
}
"""https://docs.stripe.com/api/events/types: events whose object is a PaymentIntent."""

REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})
"""Events whose object is a Refund; the kind follows the refund's status."""

MANDATE_EVENTS: Mapping[str, EventKind] = {
    "setup_intent.requires_action": EventKind.MANDATE_REQUIRES_ACTION,
    "setup_intent.succeeded": EventKind.MANDATE_ACTIVE,
    "setup_intent.setup_failed": EventKind.MANDATE_FAILED,
    "setup_intent.canceled": EventKind.MANDATE_FAILED,
}


def verify(config: ProviderConfig, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
    secret = config.webhook_secret
    if secret is None:
        raise WebhookVerificationError(
            "no_secret", "stripe: webhook_secret is not configured; set STRIPE_WEBHOOK_SECRET (whsec_...)"
        )
    header = signing.header_value(headers, SIGNATURE_HEADER)
    if header is None:
        raise WebhookVerificationError("missing_signature", f"no {SIGNATURE_HEADER} header")
    parts = signing.parse_signature_header(header)
    stamps = parts.get("t", [])
    if len(stamps) != 1:
        raise WebhookVerificationError("malformed_signature", f"{SIGNATURE_HEADER} needs exactly one t=")
    candidates = parts.get("v1", [])
    if not candidates:
        raise WebhookVerificationError("malformed_signature", f"{SIGNATURE_HEADER} has no v1= signature")
    expected = signing.hmac_sha256_hex(secret.reveal(), stamps[0].encode("ascii", "replace") + b"." + body)
    # The signature first, then the age: a forged header learns nothing from the clock check.
    if not signing.matches_any(expected, candidates):
        raise WebhookVerificationError("bad_signature", "no v1 signature matches the body and webhook_secret")
    signing.check_timestamp(stamps[0], now, settings_of(config).webhook_tolerance)


def parse_webhook(
    config: ProviderConfig, headers: Mapping[str, str], body: bytes, now: datetime
) -> WebhookEvent:
    verify(config, headers, body, now)
    try:
        event = _wire.from_json(body, _wire.Event, "webhook")
        return _normalize(event)
    except ProviderResponseError as error:
        raise WebhookVerificationError(
            "malformed_envelope", f"a signed event Stripe sends cannot be read: {error.message}"
        ) from None


def _normalize(event: _wire.Event) -> WebhookEvent:
    obj = event.data.object
    occurred = _mapping.timestamp(event.created)
    unhandled = WebhookEvent(
        provider=PROVIDER,
        event_id=event.id,
        kind=EventKind.UNHANDLED,
        provider_type=event.type,
        occurred_at=occurred,
    )
    if event.type in PAYMENT_EVENTS:
        intent = _wire.structure(obj, _wire.PaymentIntent, "webhook")
        payment = _mapping.payment_from_intent(intent, provider=PROVIDER, source=OperationSource.WEBHOOK)
        return _evolve(
            unhandled,
            kind=PAYMENT_EVENTS[event.type],
            payment_id=payment.id,
            payment_status=payment.status,
            amount=payment.amount,
            merchant_reference=payment.merchant_reference,
            decline=payment.decline,
            provider_status=intent.status,
        )
    if event.type in REFUND_EVENTS:
        refund = _wire.structure(obj, _wire.Refund, "webhook")
        if refund.payment_intent is None:
            return unhandled
        operation = _mapping.refund_operation(refund, refund.currency.upper(), OperationSource.WEBHOOK)
        kind = (
            EventKind.PAYMENT_REFUNDED
            if operation.counts
            else EventKind.PAYMENT_REFUND_PENDING
            if operation.pending
            else EventKind.PAYMENT_REFUND_FAILED
        )
        return _evolve(
            unhandled,
            kind=kind,
            payment_id=refund.payment_intent,
            operation=operation,
            amount=operation.amount,
            provider_status=refund.status,
            decline=operation.decline,
        )
    if event.type in MANDATE_EVENTS:
        setup = _wire.structure(obj, _wire.SetupIntent, "webhook")
        kind = MANDATE_EVENTS[event.type]
        status = {
            EventKind.MANDATE_ACTIVE: MandateStatus.ACTIVE,
            EventKind.MANDATE_FAILED: MandateStatus.FAILED,
            EventKind.MANDATE_REQUIRES_ACTION: MandateStatus.REQUIRES_ACTION,
        }[kind]
        return _evolve(
            unhandled,
            kind=kind,
            mandate_id=setup.id,
            mandate_status=status,
            merchant_reference=setup.metadata.get(_mapping.MERCHANT_REFERENCE_KEY),
            provider_status=setup.status,
        )
    return unhandled


def _evolve(event: WebhookEvent, **changes: Any) -> WebhookEvent:
    evolved: WebhookEvent = attrs.evolve(event, **changes)
    return evolved
