"""PPRO webhooks: signature verification on the raw body, then CloudEvents normalization.

The HMAC scheme (``PPRO-Signature: t=<unix>,s=<hex>``) is always accepted. The deprecated
``Webhook-Signature`` (a plain SHA-256 of body, ".", secret, with no timestamp, so replayable
forever) is accepted only when the host opts in, and never as a fallback for a failed HMAC:
that would let an attacker downgrade.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

import attrs

from psp_core import (
    ConfigurationError,
    EventKind,
    MandateStatus,
    Operation,
    OperationKind,
    OperationSource,
    OperationStatus,
    PaymentStatus,
    ProviderConfig,
    ProviderResponseError,
    WebhookEvent,
    WebhookVerificationError,
    signing,
)

from . import _mapping, _wire
from ._profile import MethodProfile
from ._settings import settings_of

SIGNATURE_HEADER = "PPRO-Signature"
LEGACY_SIGNATURE_HEADER = "Webhook-Signature"

_P = PaymentStatus
_M = MandateStatus


@attrs.frozen
class EventRule:
    """How one PPRO event type normalizes.

    ``status`` is used when ``data`` carries no status; ``reports_status`` is False for
    events about one pending or failed operation, which say nothing about the payment as a
    whole; ``operation_status`` is the status of the operation the event is about.
    """

    kind: EventKind
    status: PaymentStatus | MandateStatus | None = None
    operation: OperationKind | None = None
    reports_status: bool = True
    operation_status: OperationStatus = OperationStatus.SUCCEEDED


EVENT_TYPES: Mapping[str, EventRule] = {
    "PAYMENT_CHARGE_CREATED": EventRule(EventKind.PAYMENT_CREATED, _P.PENDING),
    "PAYMENT_CHARGE_AUTHENTICATION_PENDING": EventRule(EventKind.PAYMENT_REQUIRES_ACTION, _P.REQUIRES_ACTION),
    "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING": EventRule(EventKind.PAYMENT_PROCESSING, _P.PROCESSING),
    "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED": EventRule(
        EventKind.PAYMENT_AUTHORIZED, _P.AUTHORIZED, OperationKind.AUTHORIZATION
    ),
    "PAYMENT_CHARGE_AUTHORIZATION_FAILED": EventRule(EventKind.PAYMENT_DECLINED, _P.FAILED),
    "PAYMENT_CHARGE_CAPTURE_SUCCEEDED": EventRule(EventKind.PAYMENT_CAPTURED, None, OperationKind.CAPTURE),
    "PAYMENT_CHARGE_CAPTURE_FAILED": EventRule(
        EventKind.PAYMENT_CAPTURE_FAILED, None, OperationKind.CAPTURE, False, OperationStatus.FAILED
    ),
    "PAYMENT_CHARGE_VOID_SUCCEEDED": EventRule(EventKind.PAYMENT_VOIDED, None, OperationKind.VOID),
    "PAYMENT_CHARGE_VOID_FAILED": EventRule(
        EventKind.PAYMENT_VOID_FAILED, None, OperationKind.VOID, False, OperationStatus.FAILED
    ),
    "PAYMENT_CHARGE_REFUND_PENDING": EventRule(
        EventKind.PAYMENT_REFUND_PENDING, None, OperationKind.REFUND, False, OperationStatus.PENDING
    ),
    "PAYMENT_CHARGE_REFUND_SUCCEEDED": EventRule(EventKind.PAYMENT_REFUNDED, None, OperationKind.REFUND),
    "PAYMENT_CHARGE_REFUND_FAILED": EventRule(
        EventKind.PAYMENT_REFUND_FAILED, None, OperationKind.REFUND, False, OperationStatus.FAILED
    ),
    "PAYMENT_CHARGE_DISCARDED": EventRule(EventKind.PAYMENT_EXPIRED, _P.EXPIRED),
    # A failed discard changes nothing a host acts on, and the core has no kind for it
    # (decision): UNHANDLED, still naming the payment and carrying PPRO's failure.
    "PAYMENT_CHARGE_DISCARD_FAILED": EventRule(EventKind.UNHANDLED, reports_status=False),
    "CHARGEBACK_SUCCEEDED": EventRule(
        EventKind.PAYMENT_CHARGED_BACK, _P.CHARGED_BACK, OperationKind.CHARGEBACK
    ),
    "PAYMENT_AGREEMENT_CREATED": EventRule(EventKind.MANDATE_CREATED, _M.PENDING),
    "PAYMENT_AGREEMENT_AUTHENTICATION_PENDING": EventRule(
        EventKind.MANDATE_REQUIRES_ACTION, _M.REQUIRES_ACTION
    ),
    "PAYMENT_AGREEMENT_ACTIVE": EventRule(EventKind.MANDATE_ACTIVE, _M.ACTIVE),
    "PAYMENT_AGREEMENT_FAILED": EventRule(EventKind.MANDATE_FAILED, _M.FAILED),
    "PAYMENT_AGREEMENT_UPDATED": EventRule(EventKind.MANDATE_UPDATED),
    "PAYMENT_AGREEMENT_REVOKED_BY_CONSUMER": EventRule(EventKind.MANDATE_REVOKED, _M.REVOKED),
    "PAYMENT_AGREEMENT_REVOKED_BY_MERCHANT": EventRule(EventKind.MANDATE_REVOKED, _M.REVOKED),
    "PAYMENT_AGREEMENT_REVOKED_BY_PROVIDER": EventRule(EventKind.MANDATE_REVOKED, _M.REVOKED),
}
"""Every PPRO payment-charge, agreement and chargeback event type; others are UNHANDLED."""


def verify(
    config: ProviderConfig, profile: MethodProfile, headers: Mapping[str, str], body: bytes, now: datetime
) -> None:
    """Raise unless ``body`` carries a valid PPRO signature (constant time, fresh timestamp)."""
    if config.webhook_secret is None:
        raise ConfigurationError(
            f"{profile.provider}: no webhook secret is configured; set the option 'webhook_secret' or the "
            f"environment variable {profile.settings['webhook_secret']} to the signing secret PPRO gave you"
        )
    secret = config.webhook_secret.reveal()
    settings = settings_of(config, profile)
    header = signing.header_value(headers, SIGNATURE_HEADER)
    if header is not None:
        parts = signing.parse_signature_header(header)
        stamps, signatures = parts.get("t", []), parts.get("s", [])
        if len(stamps) != 1 or not signatures:
            raise WebhookVerificationError(
                "malformed_signature", f"{SIGNATURE_HEADER} needs one t= and at least one s="
            )
        signing.check_timestamp(stamps[0], now, settings.webhook_tolerance)
        expected = signing.hmac_sha256_hex(secret, f"{stamps[0]}.".encode() + body)
        if not signing.matches_any(expected, signatures):
            raise WebhookVerificationError("bad_signature", f"{SIGNATURE_HEADER} does not match the body")
        return
    legacy = signing.header_value(headers, LEGACY_SIGNATURE_HEADER)
    if legacy is not None and settings.legacy_webhook_signature:
        expected = hashlib.sha256(body + b"." + secret.encode()).hexdigest()
        if not signing.matches_any(expected, [legacy]):
            raise WebhookVerificationError(
                "bad_signature", f"{LEGACY_SIGNATURE_HEADER} does not match the body"
            )
        return
    hint = (
        f" ({LEGACY_SIGNATURE_HEADER} is accepted only with legacy_webhook_signature enabled)"
        if legacy is not None
        else ""
    )
    raise WebhookVerificationError("missing_signature", f"no {SIGNATURE_HEADER} header{hint}")


def _envelope(body: bytes) -> _wire.Envelope:
    try:
        raw = _wire.loads(body)
    except _wire.NestedTooDeeply:
        raise WebhookVerificationError("malformed_envelope", "the body is JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise WebhookVerificationError("malformed_envelope", "the body is not JSON") from None
    try:
        envelope = _wire.structure(raw, _wire.Envelope, "webhook")
    except ProviderResponseError as error:
        raise WebhookVerificationError("malformed_envelope", error.message) from None
    if not envelope.specversion.startswith("1.") or not envelope.id or not envelope.type:
        raise WebhookVerificationError(
            "malformed_envelope", "not a CloudEvents 1.x envelope with an id and a type"
        )
    return envelope


def _occurred_at(envelope: _wire.Envelope) -> datetime | None:
    try:
        return _mapping.timestamp(envelope.time)
    except ProviderResponseError as error:
        raise WebhookVerificationError("malformed_envelope", error.message) from None


def _operation(rule: EventRule, envelope: _wire.Envelope, data: _wire.EventData) -> Operation | None:
    if rule.operation is None or data.amount is None:
        return None
    op_id = {
        OperationKind.AUTHORIZATION: data.authorization_id,
        OperationKind.CAPTURE: data.capture_id,
        OperationKind.REFUND: data.refund_id,
        OperationKind.VOID: data.void_id,
        # PPRO's chargeback event names no chargeback id; the event id is unique per chargeback.
        OperationKind.CHARGEBACK: envelope.id,
    }[rule.operation]
    if op_id is None or data.amount.value <= 0:
        return None
    amount = _mapping.money(data.amount.value, data.amount.currency)
    failed = rule.operation_status is OperationStatus.FAILED
    return Operation(
        kind=rule.operation,
        id=op_id,
        amount=amount,
        at=_occurred_at(envelope),
        status=rule.operation_status,
        merchant_reference={
            OperationKind.CAPTURE: data.merchant_capture_reference,
            OperationKind.REFUND: data.merchant_refund_reference,
            OperationKind.VOID: data.merchant_void_reference,
        }.get(rule.operation),
        decline=_mapping.decline_of(data.failure or _wire.Failure(failure_code="UNKNOWN"))
        if failed
        else None,
        source=OperationSource.WEBHOOK,
    )


def _capture_in_flight(event_type: str, data: _wire.EventData) -> bool:
    return event_type == "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED" and (
        data.is_multi_step is False or data.payment_charge_status == "CAPTURE_PROCESSING"
    )


OTHER_METHOD = "other_payment_method"
"""The rejection reason for a signed event of another PPRO payment method (see route_webhook)."""


def parse_webhook(
    config: ProviderConfig, profile: MethodProfile, headers: Mapping[str, str], body: bytes, now: datetime
) -> WebhookEvent:
    verify(config, profile, headers, body, now)
    try:
        return _normalize(body, profile)
    except ProviderResponseError as error:
        # A signed envelope PPRO's schema does not allow (an unknown status, a lower-case
        # currency): the documented answer for any unacceptable webhook, so the host's one
        # handler rejects it with HTTP 400 and acts on nothing.
        raise WebhookVerificationError("malformed_envelope", error.message) from None


def _normalize(body: bytes, profile: MethodProfile) -> WebhookEvent:
    envelope = _envelope(body)
    method = envelope.data.payment_method if envelope.data is not None else None
    if method is not None and method != profile.payment_method:
        # One PPRO account sends the events of all its methods to one URL: this one belongs
        # to another method's provider, which must name it (psp_ppro.route_webhook picks it).
        raise WebhookVerificationError(
            OTHER_METHOD,
            f"a {envelope.type} event for paymentMethod {method}, not {profile.payment_method}; "
            f"parse it with the provider of {method} (psp_ppro.route_webhook does this for you)",
        )
    rule = EVENT_TYPES.get(envelope.type)
    event = WebhookEvent(
        provider=profile.provider,
        event_id=envelope.id,
        kind=EventKind.UNHANDLED,
        provider_type=envelope.type,
        occurred_at=_occurred_at(envelope),
    )
    if rule is None:
        return event
    if envelope.data is None:
        # Every event type we map carries flat data; without it we would have to guess.
        raise WebhookVerificationError("malformed_envelope", f"a {envelope.type} event without data")
    data = envelope.data
    amount = _mapping.money(data.amount.value, data.amount.currency) if data.amount is not None else None
    decline = _mapping.decline_of(data.failure)
    if rule.kind.value.startswith("mandate."):
        mandate_status = rule.status if isinstance(rule.status, MandateStatus) else None
        if data.payment_agreement_status is not None:
            mandate_status = _mapping.agreement_status(data.payment_agreement_status)
        return attrs.evolve(
            event,
            kind=rule.kind,
            mandate_id=data.payment_agreement_id or envelope.subject,
            mandate_status=mandate_status,
            merchant_reference=data.merchant_payment_agreement_reference,
            decline=decline,
            provider_status=data.payment_agreement_status,
        )
    # Read even where the event's own status is not used: a status PPRO never documented means
    # the envelope is not one we understand, whatever its type.
    charge_status = (
        _mapping.charge_status(data.payment_charge_status) if data.payment_charge_status is not None else None
    )
    payment_status: PaymentStatus | None = None
    if rule.reports_status:
        payment_status = rule.status if isinstance(rule.status, PaymentStatus) else None
        if charge_status is not None:
            payment_status = charge_status
        if payment_status is _P.FAILED:
            payment_status = _mapping.failed_status(data.failure)
        if rule.kind is EventKind.PAYMENT_CHARGED_BACK:
            payment_status = _P.CHARGED_BACK
    if envelope.type == "PAYMENT_CHARGE_DISCARDED":
        # The discard type says why no money moved: a timeout, or the merchant's own discard.
        decline = _mapping.discard_decline(data.discard_type)
        payment_status = _mapping.discard_status(decline)
    operation = _operation(rule, envelope, data)
    if operation is not None and _capture_in_flight(envelope.type, data):
        # An automatic capture follows this authorization at once: reporting the
        # authorization alone would make the payment look capturable while PPRO captures it.
        # The capture event (or a read) brings the money; until then it is processing.
        operation, payment_status = None, _P.PROCESSING
    elif rule.operation is not None and operation is None:
        # PPRO's schema makes the operation's id and amount optional. Without them the event
        # says money moved but not how much; its charge status (PPRO names a charge after
        # its last operation: REFUNDED after a partial refund) would then be a guess that
        # could lock a payment in a final state. The host reads the payment instead.
        payment_status = None
    return attrs.evolve(
        event,
        kind=rule.kind,
        payment_id=data.payment_charge_id or envelope.subject,
        payment_status=payment_status,
        operation=operation,
        amount=amount,
        merchant_reference=data.merchant_payment_charge_reference,
        decline=decline,
        provider_status=data.payment_charge_status,
    )
