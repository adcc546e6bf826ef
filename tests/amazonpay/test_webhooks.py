"""Webhook verification (HMAC, legacy, tolerance) and normalization of every PPRO event type."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from psp_amazonpay import EVENT_TYPES
from psp_core import (
    ConfigurationError,
    DeclineCode,
    EventKind,
    MandateStatus,
    Money,
    OperationKind,
    OperationSource,
    OperationStatus,
    PaymentStatus,
    WebhookVerificationError,
)

from .conftest import NOW, WEBHOOK_SECRET, Recorder, gateway, respond

T = int(NOW.timestamp())


def envelope(event_type: str, data: dict[str, Any] | None = None, **extra: Any) -> bytes:
    body = {
        "specversion": "1.0.2",
        "source": "https://www.ppro.com",
        "datacontenttype": "application/json",
        "id": "evt_1",
        "type": event_type,
        "subject": "charge_1",
        "time": "2026-01-15T11:59:00.000Z",
        "data": {"type": event_type, **(data or {})},
        **extra,
    }
    return json.dumps(body).encode()


def signed(body: bytes, t: int = T, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"ppro-signature": f"t={t},s={digest}", "Content-Type": "application/json"}


def parse(body: bytes, headers: dict[str, str] | None = None, **options: object) -> Any:
    with gateway(Recorder(respond(500, {})), **options) as gw:
        return gw.parse_webhook(signed(body) if headers is None else headers, body)


# -- verification ---------------------------------------------------------------------------


def test_valid_hmac_signature_verifies() -> None:
    event = parse(envelope("PAYMENT_CHARGE_CREATED", {"paymentChargeId": "charge_1"}))
    assert event.event_id == "evt_1" and event.kind is EventKind.PAYMENT_CREATED


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b, h: (b + b" ", h), "bad_signature"),
        (lambda b, h: (b, signed(b, secret="other")), "bad_signature"),
        (lambda b, h: (b, {}), "missing_signature"),
        (lambda b, h: (b, {"PPRO-Signature": "garbage"}), "malformed_signature"),
        (lambda b, h: (b, {"PPRO-Signature": "s=abcd"}), "malformed_signature"),
        (lambda b, h: (b, signed(b, t=T - 301)), "stale_timestamp"),
        (lambda b, h: (b, signed(b, t=T + 301)), "future_timestamp"),
    ],
    ids=["body-changed", "wrong-secret", "missing", "garbage", "no-timestamp", "stale", "future"],
)
def test_bad_signatures_are_rejected_before_parsing(mutate: Any, reason: str) -> None:
    body = envelope("PAYMENT_CHARGE_CREATED")
    body, headers = mutate(body, signed(body))
    with pytest.raises(WebhookVerificationError) as caught:
        parse(body, headers)
    assert caught.value.reason == reason


def test_tolerance_is_inclusive_at_the_edge_and_configurable() -> None:
    body = envelope("PAYMENT_CHARGE_CREATED")
    assert parse(body, signed(body, t=T - 300)).kind is EventKind.PAYMENT_CREATED
    assert parse(body, signed(body, t=T - 900), webhook_tolerance_s=1000).kind is EventKind.PAYMENT_CREATED
    with pytest.raises(WebhookVerificationError):
        parse(body, signed(body, t=T - 11), webhook_tolerance_s="10")


def test_legacy_signature_only_when_enabled() -> None:
    body = envelope("PAYMENT_CHARGE_CREATED")
    legacy = {"Webhook-Signature": hashlib.sha256(body + b"." + WEBHOOK_SECRET.encode()).hexdigest()}
    with pytest.raises(WebhookVerificationError) as caught:
        parse(body, legacy)
    assert "legacy_webhook_signature" in str(caught.value)
    assert parse(body, legacy, legacy_webhook_signature=True).kind is EventKind.PAYMENT_CREATED
    with pytest.raises(WebhookVerificationError):
        parse(body, {"Webhook-Signature": "0" * 64}, legacy_webhook_signature=True)


def test_a_bad_hmac_never_falls_back_to_the_legacy_header() -> None:
    body = envelope("PAYMENT_CHARGE_CREATED")
    headers = {
        "PPRO-Signature": f"t={T},s={'0' * 64}",
        "Webhook-Signature": hashlib.sha256(body + b"." + WEBHOOK_SECRET.encode()).hexdigest(),
    }
    with pytest.raises(WebhookVerificationError):
        parse(body, headers, legacy_webhook_signature=True)


def test_missing_webhook_secret_is_a_configuration_error_naming_the_setting() -> None:
    body = envelope("PAYMENT_CHARGE_CREATED")
    with pytest.raises(ConfigurationError) as caught:
        parse(body, webhook_secret=None)
    assert "PPRO_WEBHOOK_SECRET" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"id": "x"}',
        b'{"specversion": "1.0", "id": "x", "type": "T", "data": 5}',
        b'{"specversion": "0.3", "id": "x", "type": "T"}',
        b'{"specversion": "1.0", "id": "", "type": "T"}',
    ],
)
def test_malformed_envelopes_are_rejected(body: bytes) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        parse(body)
    assert caught.value.reason == "malformed_envelope"


def test_unknown_event_types_are_unhandled_not_guessed() -> None:
    for event_type in ("FUNDS_STATE_CHANGED", "PAYMENT_INSTRUMENT_CREATED", "REPORT_PROCESSED", "BRAND_NEW"):
        event = parse(envelope(event_type, {"paymentChargeId": "charge_1"}))
        assert event.kind is EventKind.UNHANDLED and event.provider_type == event_type
        assert event.payment_id is None and event.payment_status is None


# -- normalization of every mapped type -------------------------------------------------------

MONEY = {"value": 700, "currency": "USD"}
FAILURE = {"failureType": "PROVIDER_DECLINE", "failureCode": "INSUFFICIENT_FUNDS", "failureMessage": "no"}

CHARGE_EVENTS: list[tuple[str, dict[str, Any], EventKind, PaymentStatus | None, OperationKind | None]] = [
    (
        "PAYMENT_CHARGE_CREATED",
        {"paymentChargeStatus": "AUTHORIZATION_PROCESSING", "amount": MONEY},
        EventKind.PAYMENT_CREATED,
        PaymentStatus.PENDING,
        None,
    ),
    (
        "PAYMENT_CHARGE_AUTHENTICATION_PENDING",
        {"paymentChargeStatus": "AUTHENTICATION_PENDING"},
        EventKind.PAYMENT_REQUIRES_ACTION,
        PaymentStatus.REQUIRES_ACTION,
        None,
    ),
    (
        "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING",
        {"paymentChargeStatus": "AUTHORIZATION_ASYNC"},
        EventKind.PAYMENT_PROCESSING,
        PaymentStatus.PROCESSING,
        None,
    ),
    (
        "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED",
        {
            "paymentChargeStatus": "CAPTURE_PENDING",
            "authorizationId": "authz_1",
            "amount": MONEY,
            "isMultiStep": True,
        },
        EventKind.PAYMENT_AUTHORIZED,
        PaymentStatus.AUTHORIZED,
        OperationKind.AUTHORIZATION,
    ),
    (
        "PAYMENT_CHARGE_AUTHORIZATION_FAILED",
        {"paymentChargeStatus": "FAILED", "failure": FAILURE},
        EventKind.PAYMENT_DECLINED,
        PaymentStatus.DECLINED,
        None,
    ),
    (
        "PAYMENT_CHARGE_CAPTURE_SUCCEEDED",
        {"paymentChargeStatus": "CAPTURED", "captureId": "capture_1", "amount": MONEY},
        EventKind.PAYMENT_CAPTURED,
        PaymentStatus.CAPTURED,
        OperationKind.CAPTURE,
    ),
    (
        "PAYMENT_CHARGE_CAPTURE_FAILED",
        {"paymentChargeStatus": "CAPTURE_PENDING", "failure": FAILURE},
        EventKind.PAYMENT_CAPTURE_FAILED,
        None,
        None,
    ),
    (
        "PAYMENT_CHARGE_VOID_SUCCEEDED",
        {"paymentChargeStatus": "VOIDED", "voidId": "void_1", "amount": MONEY},
        EventKind.PAYMENT_VOIDED,
        PaymentStatus.VOIDED,
        OperationKind.VOID,
    ),
    ("PAYMENT_CHARGE_VOID_FAILED", {"failure": FAILURE}, EventKind.PAYMENT_VOID_FAILED, None, None),
    (
        "PAYMENT_CHARGE_REFUND_PENDING",
        {"refundId": "refund_1", "amount": MONEY},
        EventKind.PAYMENT_REFUND_PENDING,
        None,
        OperationKind.REFUND,
    ),
    (
        "PAYMENT_CHARGE_REFUND_SUCCEEDED",
        {"paymentChargeStatus": "REFUNDED", "refundId": "refund_1", "amount": MONEY},
        EventKind.PAYMENT_REFUNDED,
        PaymentStatus.REFUNDED,
        OperationKind.REFUND,
    ),
    (
        "PAYMENT_CHARGE_REFUND_FAILED",
        {"paymentChargeStatus": "CAPTURED", "failure": FAILURE},
        EventKind.PAYMENT_REFUND_FAILED,
        None,
        None,
    ),
    (
        "PAYMENT_CHARGE_DISCARDED",
        {"paymentChargeStatus": "DISCARDED", "discardType": "AUTHENTICATION_TIMEOUT"},
        EventKind.PAYMENT_EXPIRED,
        PaymentStatus.EXPIRED,
        None,
    ),
    ("PAYMENT_CHARGE_DISCARD_FAILED", {"failure": FAILURE}, EventKind.UNHANDLED, None, None),
    (
        "CHARGEBACK_SUCCEEDED",
        {"amount": MONEY},
        EventKind.PAYMENT_CHARGED_BACK,
        PaymentStatus.CHARGED_BACK,
        OperationKind.CHARGEBACK,
    ),
]

AGREEMENT_EVENTS: list[tuple[str, dict[str, Any], EventKind, MandateStatus | None]] = [
    (
        "PAYMENT_AGREEMENT_CREATED",
        {"paymentAgreementStatus": "INITIALIZING"},
        EventKind.MANDATE_CREATED,
        MandateStatus.PENDING,
    ),
    (
        "PAYMENT_AGREEMENT_AUTHENTICATION_PENDING",
        {"paymentAgreementStatus": "AUTHENTICATION_PENDING"},
        EventKind.MANDATE_REQUIRES_ACTION,
        MandateStatus.REQUIRES_ACTION,
    ),
    (
        "PAYMENT_AGREEMENT_ACTIVE",
        {"paymentAgreementStatus": "ACTIVE"},
        EventKind.MANDATE_ACTIVE,
        MandateStatus.ACTIVE,
    ),
    (
        "PAYMENT_AGREEMENT_FAILED",
        {"paymentAgreementStatus": "FAILED", "failure": FAILURE},
        EventKind.MANDATE_FAILED,
        MandateStatus.FAILED,
    ),
    ("PAYMENT_AGREEMENT_UPDATED", {}, EventKind.MANDATE_UPDATED, None),
    ("PAYMENT_AGREEMENT_REVOKED_BY_CONSUMER", {}, EventKind.MANDATE_REVOKED, MandateStatus.REVOKED),
    (
        "PAYMENT_AGREEMENT_REVOKED_BY_MERCHANT",
        {"paymentAgreementStatus": "REVOKED_BY_MERCHANT"},
        EventKind.MANDATE_REVOKED,
        MandateStatus.REVOKED,
    ),
    ("PAYMENT_AGREEMENT_REVOKED_BY_PROVIDER", {}, EventKind.MANDATE_REVOKED, MandateStatus.REVOKED),
]


def test_the_tables_cover_exactly_the_mapped_types() -> None:
    assert {t for t, *_ in CHARGE_EVENTS} | {t for t, *_ in AGREEMENT_EVENTS} == set(EVENT_TYPES)


@pytest.mark.parametrize(
    ("event_type", "data", "kind", "status", "op"), CHARGE_EVENTS, ids=[t for t, *_ in CHARGE_EVENTS]
)
def test_charge_events(
    event_type: str,
    data: dict[str, Any],
    kind: EventKind,
    status: PaymentStatus | None,
    op: OperationKind | None,
) -> None:
    data = {"paymentChargeId": "charge_1", "merchantPaymentChargeReference": "order-1", **data}
    event = parse(envelope(event_type, data))
    assert event.kind is kind and event.payment_status is status
    assert event.payment_id == "charge_1" and event.mandate_id is None
    assert event.provider_type == event_type and event.event_id == "evt_1"
    assert event.occurred_at is not None and event.occurred_at.isoformat() == "2026-01-15T11:59:00+00:00"
    if "amount" in data:
        assert event.amount == Money(700, "USD")
    if op is None:
        assert event.operation is None
    else:
        assert event.operation is not None
        assert event.operation.kind is op and event.operation.amount == Money(700, "USD")
        expected = OperationStatus.PENDING if event_type.endswith("_PENDING") else OperationStatus.SUCCEEDED
        assert event.operation.status is expected
        assert event.operation.source is OperationSource.WEBHOOK
    if "failure" in data:
        assert event.decline is not None and event.decline.code is DeclineCode.INSUFFICIENT_FUNDS


@pytest.mark.parametrize(
    ("event_type", "data", "kind", "status"), AGREEMENT_EVENTS, ids=[t for t, *_ in AGREEMENT_EVENTS]
)
def test_agreement_events(
    event_type: str, data: dict[str, Any], kind: EventKind, status: MandateStatus | None
) -> None:
    data = {"paymentAgreementId": "agr_1", "merchantPaymentAgreementReference": "sub-1", **data}
    event = parse(envelope(event_type, data, subject="agr_1"))
    assert event.kind is kind and event.mandate_status is status
    assert event.mandate_id == "agr_1" and event.payment_id is None
    assert event.merchant_reference == "sub-1"
    assert (event.decline is not None) is ("failure" in data)


def test_event_with_unknown_charge_status_is_the_documented_webhook_error() -> None:
    # The one error the documented handler answers with HTTP 400 (issue #12, finding 7).
    with pytest.raises(WebhookVerificationError, match="NEW_THING") as caught:
        parse(envelope("PAYMENT_CHARGE_CREATED", {"paymentChargeStatus": "NEW_THING"}))
    assert caught.value.reason == "malformed_envelope"


def test_operation_event_without_amount_has_no_operation() -> None:
    event = parse(envelope("PAYMENT_CHARGE_CAPTURE_SUCCEEDED", {"captureId": "capture_1"}))
    assert event.kind is EventKind.PAYMENT_CAPTURED and event.operation is None


@pytest.mark.parametrize(
    ("event_type", "kind", "id_key"),
    [
        ("PAYMENT_CHARGE_REFUND_FAILED", OperationKind.REFUND, "refundId"),
        ("PAYMENT_CHARGE_CAPTURE_FAILED", OperationKind.CAPTURE, "captureId"),
        ("PAYMENT_CHARGE_VOID_FAILED", OperationKind.VOID, "voidId"),
    ],
)
def test_a_failed_operation_event_with_its_id_and_amount_carries_the_failed_operation(
    event_type: str, kind: OperationKind, id_key: str
) -> None:
    data = {
        "paymentChargeId": "charge_1",
        "paymentChargeStatus": "CAPTURED",
        id_key: "op_1",
        "amount": MONEY,
        "failure": FAILURE,
        "merchantRefundReference": "rf-1",
    }
    event = parse(envelope(event_type, data))
    assert event.payment_status is None, "one failed operation says nothing of the payment"
    assert event.operation is not None
    assert (event.operation.kind, event.operation.id, event.operation.status) == (
        kind,
        "op_1",
        OperationStatus.FAILED,
    )
    assert event.operation.decline is not None
    assert event.operation.decline.code is DeclineCode.INSUFFICIENT_FUNDS
    if kind is OperationKind.REFUND:
        assert event.operation.merchant_reference == "rf-1"
