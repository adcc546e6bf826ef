"""Every operation, decline and error answer through httpx.MockTransport, both gateways."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from psp_core import (
    AmountType,
    CaptureRequest,
    DeclineCode,
    Frequency,
    FrequencyUnit,
    IdempotencyConflictError,
    InitialCharge,
    MandateChargeRequest,
    MandateRequest,
    MandateStatus,
    Money,
    Payment,
    PaymentStatus,
    ProviderError,
    ProviderResponseError,
    RefundReason,
    RefundRequest,
    RevokeMandateRequest,
    TransportError,
    VoidRequest,
)
from psp_core import Consumer as PspConsumer

from .conftest import (
    API_KEY,
    RETURN_URL,
    Recorder,
    authorize_request,
    charge_json,
    failure_json,
    respond,
)

Call = Callable[..., Any]


def _authorized(call: Call, minor: int = 1000) -> Payment:
    payment: Payment = call(
        Recorder(respond(200, charge_json("CAPTURE_PENDING", amount=minor, authz="AUTHORIZED"))),
        "get_payment",
        "charge_1",
    )
    return payment


# -- authorize ------------------------------------------------------------------------------


def test_authorize_sends_ppro_request_and_returns_redirect(call: Call) -> None:
    ppro = Recorder(respond(200, charge_json()))
    payment = call(ppro, "authorize", authorize_request(webhook_url="https://shop.example/hooks"))
    sent = ppro.requests[0]
    assert sent.method == "POST" and sent.url == "https://ppro.test/v1/payment-charges"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["Merchant-Id"] == "merch_test"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Request-Idempotency-Key"]
    assert len(sent.headers["Request-Reference"]) == 32
    assert ppro.body() == {
        "paymentMethod": "AMAZON_PAY",
        "amount": {"value": 1000, "currency": "USD"},
        "consumer": {"country": "US", "name": "John Smith"},
        "authenticationSettings": [{"type": "REDIRECT", "settings": {"returnUrl": RETURN_URL}}],
        "merchantPaymentChargeReference": "order-1",
        "autoCapture": False,
        "webhooksUrl": "https://shop.example/hooks",
    }
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action is not None and payment.next_action.url == "https://pay.example/auth"
    assert payment.amount == Money(1000, "USD") and not payment.authorized
    assert payment.provider_status == "AUTHENTICATION_PENDING"
    assert payment.merchant_reference == "order-1"


def test_automatic_capture_mode_sends_auto_capture_true(call: Call) -> None:
    from psp_core import CaptureMode

    ppro = Recorder(respond(200, charge_json()))
    call(ppro, "authorize", authorize_request(capture_mode=CaptureMode.AUTOMATIC))
    assert ppro.body()["autoCapture"] is True


def test_without_separate_captures_capture_and_void_are_refused_before_any_request(call: Call) -> None:
    from psp_core import CaptureMode, UnsupportedOperationError, ValidationError

    ppro = Recorder(respond(200, charge_json()))
    with pytest.raises(ValidationError):
        call(ppro, "authorize", authorize_request(capture_mode=CaptureMode.SEPARATE), separate_captures=False)
    call(ppro, "authorize", authorize_request(capture_mode=CaptureMode.AUTOMATIC), separate_captures="false")
    assert ppro.body()["autoCapture"] is True
    payment = Payment.new(
        "amazon_pay", "charge_1", PaymentStatus.AUTHORIZED, Money(1000, "USD"), authorized=Money(1000, "USD")
    )
    with pytest.raises(UnsupportedOperationError):
        call(ppro, "capture", CaptureRequest(payment), separate_captures=False)
    with pytest.raises(UnsupportedOperationError):
        call(ppro, "void", VoidRequest(payment), separate_captures=False)
    assert len(ppro.requests) == 1


@pytest.mark.parametrize(
    ("code", "kind", "status", "normalized"),
    [
        ("INSUFFICIENT_FUNDS", "PROVIDER_DECLINE", PaymentStatus.DECLINED, DeclineCode.INSUFFICIENT_FUNDS),
        ("SUS_STOLEN", "PROVIDER_DECLINE", PaymentStatus.DECLINED, DeclineCode.SUSPECTED_FRAUD),
        (
            "AMOUNT_NOT_SUPPORTED",
            "INTERNAL_DECLINE",
            PaymentStatus.DECLINED,
            DeclineCode.AMOUNT_NOT_SUPPORTED,
        ),
        (
            "CANCELED_BY_CONSUMER",
            "PROVIDER_DECLINE",
            PaymentStatus.DECLINED,
            DeclineCode.CANCELLED_BY_CONSUMER,
        ),
        (
            "INTERNAL_SERVICE_UNAVAILABLE",
            "INTERNAL_ERROR",
            PaymentStatus.FAILED,
            DeclineCode.PROVIDER_UNAVAILABLE,
        ),
        ("PROVIDER_PROCESSING_ERROR", "PROVIDER_ERROR", PaymentStatus.FAILED, DeclineCode.PROCESSING_ERROR),
        ("BRAND_NEW_CODE", "PROVIDER_DECLINE", PaymentStatus.DECLINED, DeclineCode.GENERIC),
    ],
)
def test_in_band_failures_are_declined_payments_not_exceptions(
    call: Call, code: str, kind: str, status: PaymentStatus, normalized: DeclineCode
) -> None:
    failure = failure_json(code, kind, retryable=True)
    ppro = Recorder(respond(200, charge_json("FAILED", authz="FAILED", failure=failure)))
    payment = call(ppro, "authorize", authorize_request())
    assert payment.status is status
    assert payment.decline is not None
    assert payment.decline.code is normalized
    assert payment.decline.provider_code == code
    assert payment.decline.provider_type == kind
    assert payment.decline.message == f"{code} happened"
    assert payment.decline.retryable is True
    assert payment.next_action is None and not payment.authorized


@pytest.mark.parametrize(
    "body",
    [
        charge_json(amount=999),
        charge_json(currency="EUR"),
        charge_json(status="SOMETHING_NEW"),
        charge_json(captures=[2000], status="CAPTURED", authz="AUTHORIZED"),
        {"status": "CAPTURED"},
        {
            "id": "charge_1",
            "status": "FAILED",
            "authorizations": [{"id": "a", "amount": 10.0, "status": "FAILED"}],
        },
        {
            "id": "charge_1",
            "status": "FAILED",
            "authorizations": [{"id": "a", "amount": "1000", "status": "X"}],
        },
        [],
    ],
    ids=["amount", "currency", "status", "totals", "no-id", "float", "string-amount", "array"],
)
def test_contradicting_or_malformed_answers_to_a_write_are_unknown_outcomes(call: Call, body: object) -> None:
    # PPRO answered 200: the charge exists whatever the answer says, so the host resumes
    # with the key instead of authorizing again.
    with pytest.raises(TransportError) as caught:
        call(Recorder(respond(200, body)), "authorize", authorize_request(idempotency_key="k-1"))
    assert caught.value.outcome_unknown and caught.value.idempotency_key == "k-1"
    assert caught.value.request_id


def test_contradicting_or_malformed_answers_to_a_read_are_provider_response_errors(call: Call) -> None:
    with pytest.raises(ProviderResponseError) as caught:
        call(Recorder(respond(200, charge_json(amount=-1))), "get_payment", "charge_1")
    assert caught.value.request_id


def test_an_unknown_status_names_the_raw_value(call: Call) -> None:
    with pytest.raises(TransportError) as caught:
        call(Recorder(respond(200, charge_json(status="SOMETHING_NEW"))), "authorize", authorize_request())
    assert caught.value.outcome_unknown
    assert "SOMETHING_NEW" in str(caught.value)
    with pytest.raises(ProviderResponseError) as read:
        call(Recorder(respond(200, charge_json(status="SOMETHING_NEW"))), "get_payment", "charge_1")
    assert read.value.provider_code == "SOMETHING_NEW"


def test_a_non_json_success_to_a_write_is_an_unknown_outcome(call: Call) -> None:
    with pytest.raises(TransportError) as caught:
        call(Recorder(httpx.Response(200, content=b"<html>oops</html>")), "authorize", authorize_request())
    assert caught.value.outcome_unknown and caught.value.idempotency_key


# -- error answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (
            400,
            {"status": 400, "failureMessage": "amount.value is required", "timestamp": "x"},
            ProviderError,
            "amount.value is required",
        ),
        (401, {"message": "Unauthorized"}, ProviderError, "Unauthorized"),
        (404, {"status": 404, "failureMessage": "Payment charge not found"}, ProviderError, "not found"),
        (
            409,
            {
                "status": 409,
                "failureMessage": "Request-Idempotency-Key was already used with a different request body",
            },
            IdempotencyConflictError,
            "different",
        ),
        (422, {"status": 422, "failureMessage": "negative amount"}, ProviderError, "negative amount"),
        (415, "not json at all", ProviderError, "not json"),
    ],
)
def test_error_envelopes_become_the_core_error_tree(
    call: Call, status: int, body: object, error: type[ProviderError], text: str
) -> None:
    ppro = Recorder(respond(status, body))
    with pytest.raises(error) as caught:
        call(ppro, "get_payment", "charge_1")
    assert caught.value.http_status == status
    assert text in caught.value.message
    assert caught.value.request_id == ppro.requests[-1].headers["Request-Reference"]
    assert API_KEY not in str(caught.value)
    if status == 401:
        assert "PPRO_API_KEY" in caught.value.message


def test_in_flight_409_is_retried_with_the_same_key(call: Call) -> None:
    in_flight = respond(
        409,
        {
            "status": 409,
            "failureMessage": "A request with the same Request-Idempotency-Key is still in progress",
        },
    )
    ppro = Recorder(in_flight, respond(200, charge_json()))
    payment = call(ppro, "authorize", authorize_request(idempotency_key="host-key-1"))
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    keys = {r.headers["Request-Idempotency-Key"] for r in ppro.requests}
    assert len(ppro.requests) == 2 and len(keys) == 1


def test_5xx_is_retried_then_an_unknown_outcome(call: Call) -> None:
    ppro = Recorder(respond(503, {"status": 503, "failureMessage": "Service unavailable"}))
    with pytest.raises(TransportError) as caught:
        call(ppro, "authorize", authorize_request(idempotency_key="host-key-2"))
    assert caught.value.outcome_unknown
    assert len(ppro.requests) == 4


# -- reads -----------------------------------------------------------------------------------


def test_get_payment_reads_totals_from_sub_objects(call: Call) -> None:
    ppro = Recorder(respond(200, charge_json("CAPTURED", authz="AUTHORIZED", captures=[600], voids=[100])))
    payment = call(ppro, "get_payment", "charge_1")
    assert ppro.requests[0].method == "GET" and ppro.requests[0].url.path == "/v1/payment-charges/charge_1"
    assert "Request-Idempotency-Key" not in ppro.requests[0].headers
    # PPRO names the charge after its last operation; 300 are still capturable.
    assert payment.status is PaymentStatus.PARTIALLY_CAPTURED
    assert (payment.authorized.minor, payment.captured.minor, payment.voided.minor) == (1000, 600, 100)
    assert payment.captured_at == datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ppro_status", "kw", "expected"),
    [
        ("AUTHORIZATION_PROCESSING", {}, PaymentStatus.PENDING),
        ("AUTHORIZATION_ASYNC", {"authz": "PROVIDER_CONFIRMATION_PENDING"}, PaymentStatus.PROCESSING),
        ("CAPTURE_PENDING", {"authz": "AUTHORIZED"}, PaymentStatus.AUTHORIZED),
        ("CAPTURE_PROCESSING", {"authz": "AUTHORIZED"}, PaymentStatus.PROCESSING),
        ("CAPTURED", {"authz": "AUTHORIZED", "captures": [1000]}, PaymentStatus.CAPTURED),
        ("REFUND_PROCESSING", {"authz": "AUTHORIZED", "captures": [1000]}, PaymentStatus.CAPTURED),
        (
            "CAPTURED",
            {"authz": "AUTHORIZED", "captures": [1000], "refunds": [10]},
            PaymentStatus.PARTIALLY_REFUNDED,
        ),
        ("REFUNDED", {"authz": "AUTHORIZED", "captures": [1000], "refunds": [1000]}, PaymentStatus.REFUNDED),
        ("VOID_PROCESSING", {"authz": "AUTHORIZED"}, PaymentStatus.AUTHORIZED),
        ("VOIDED", {"authz": "AUTHORIZED", "voids": [400]}, PaymentStatus.AUTHORIZED),
        ("VOIDED", {"authz": "AUTHORIZED", "voids": [1000]}, PaymentStatus.VOIDED),
        ("DISCARD_PROCESSING", {}, PaymentStatus.PROCESSING),
        ("DISCARDED", {}, PaymentStatus.EXPIRED),
    ],
)
def test_every_charge_status_is_mapped_and_totals_decide(
    call: Call, ppro_status: str, kw: dict[str, Any], expected: PaymentStatus
) -> None:
    payment = call(Recorder(respond(200, charge_json(ppro_status, **kw))), "get_payment", "charge_1")
    assert payment.status is expected
    assert payment.provider_status == ppro_status


def test_find_payment_by_reference(call: Call) -> None:
    older = charge_json("FAILED", authz="FAILED", failure=failure_json("AUTHENTICATION_FAILED"))
    older.update(id="charge_0", createdAt="2026-01-15T11:00:00.000Z")
    ppro = Recorder(respond(200, {"data": [charge_json(), older]}), respond(200, {"data": []}))
    found = call(ppro, "find_payment", "order-1")
    assert ppro.requests[0].url.params["merchantPaymentChargeReference"] == "order-1"
    assert found is not None and found.id == "charge_1"
    assert call(ppro, "find_payment", "order-unknown") is None


def test_find_payment_reads_every_page_and_takes_the_newest_attempt(call: Call) -> None:
    newest = charge_json()
    newest.update(id="charge_9", createdAt="2026-01-15T13:00:00.000Z")
    ppro = Recorder(
        respond(200, {"data": [charge_json()], "nextPage": "p2"}),
        respond(200, {"data": [newest]}),
    )
    found = call(ppro, "find_payment", "order-1")
    assert [r.url.params.get("page") for r in ppro.requests] == [None, "p2"]
    assert found is not None and found.id == "charge_9"


# -- capture / void / refund ------------------------------------------------------------------


def _operation(prefix: str, amount: int, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{prefix}_new",
        "amount": amount,
        "status": status,
        "createdAt": "2026-01-15T12:30:00.000Z",
        **extra,
    }


def test_capture_twice_folds_each_answer_into_the_payment(call: Call) -> None:
    payment = _authorized(call)
    ppro = Recorder(respond(200, _operation("capture", 600, "CAPTURED")))
    payment = call(ppro, "capture", CaptureRequest(payment, Money(600, "USD"), merchant_reference="cap-1"))
    assert ppro.requests[0].url.path == "/v1/payment-charges/charge_1/captures"
    assert ppro.body() == {"amount": 600, "merchantCaptureReference": "cap-1"}
    assert payment.status is PaymentStatus.PARTIALLY_CAPTURED and payment.captured.minor == 600
    assert payment.captured_at == datetime(2026, 1, 15, 12, 30, tzinfo=UTC)
    ppro = Recorder(respond(200, {**_operation("capture", 400, "CAPTURED"), "id": "capture_two"}))
    payment = call(ppro, "capture", CaptureRequest(payment))
    assert ppro.body() == {"amount": 400}
    assert payment.status is PaymentStatus.CAPTURED and payment.captured.minor == 1000
    assert len(ppro.requests) == 1


def test_replayed_capture_answer_is_not_counted_twice(call: Call) -> None:
    payment = _authorized(call)
    answer = respond(200, _operation("capture", 500, "CAPTURED"))
    once = call(Recorder(answer), "capture", CaptureRequest(payment, Money(500, "USD")))
    twice = call(Recorder(answer), "capture", CaptureRequest(once, Money(500, "USD")))
    assert twice.captured.minor == 500


def test_void_always_sends_the_amount(call: Call) -> None:
    payment = _authorized(call)
    ppro = Recorder(respond(200, _operation("void", 1000, "VOIDED")))
    voided = call(ppro, "void", VoidRequest(payment))
    assert ppro.requests[0].url.path == "/v1/payment-charges/charge_1/voids"
    assert ppro.body() == {"amount": 1000}
    assert voided.status is PaymentStatus.VOIDED and voided.voided.minor == 1000
    partial = call(
        Recorder(respond(200, _operation("void", 300, "VOIDED"))),
        "void",
        VoidRequest(payment, Money(300, "USD")),
    )
    assert partial.status is PaymentStatus.AUTHORIZED and partial.capturable.minor == 700


def _captured(call: Call) -> Payment:
    payment = _authorized(call)
    result: Payment = call(
        Recorder(respond(200, _operation("capture", 1000, "CAPTURED"))), "capture", CaptureRequest(payment)
    )
    return result


@pytest.mark.parametrize(("reason", "wire"), [(r, r.name) for r in RefundReason])
def test_refund_maps_the_reason(call: Call, reason: RefundReason, wire: str) -> None:
    payment = _captured(call)
    ppro = Recorder(respond(200, _operation("refund", 300, "REFUNDED")))
    refunded = call(
        ppro, "refund", RefundRequest(payment, Money(300, "USD"), reason=reason, merchant_reference="ref-1")
    )
    assert ppro.body() == {"amount": 300, "merchantRefundReference": "ref-1", "refundReason": wire}
    assert refunded.status is PaymentStatus.PARTIALLY_REFUNDED and refunded.refunded.minor == 300


def test_refund_twice_to_fully_refunded(call: Call) -> None:
    payment = _captured(call)
    payment = call(
        Recorder(respond(200, _operation("refund", 300, "REFUNDED"))),
        "refund",
        RefundRequest(payment, Money(300, "USD")),
    )
    payment = call(
        Recorder(respond(200, {**_operation("refund", 700, "REFUNDED"), "id": "refund_2"})),
        "refund",
        RefundRequest(payment),
    )
    assert payment.status is PaymentStatus.REFUNDED and payment.refunded.minor == 1000


def test_pending_refund_is_not_counted(call: Call) -> None:
    payment = _captured(call)
    result = call(
        Recorder(respond(200, _operation("refund", 300, "PENDING"))),
        "refund",
        RefundRequest(payment, Money(300, "USD")),
    )
    assert result.refunded.minor == 0 and result.status is PaymentStatus.CAPTURED


def test_refund_refused_in_band_is_a_decline_with_totals_unchanged(call: Call) -> None:
    payment = _captured(call)
    answer = _operation("refund", 300, "FAILED", failure=failure_json("REFUND_PERIOD_EXPIRED"))
    result = call(Recorder(respond(200, answer)), "refund", RefundRequest(payment, Money(300, "USD")))
    assert result.decline is not None and result.decline.code is DeclineCode.REFUND_PERIOD_EXPIRED
    assert result.refunded.minor == 0 and result.status is PaymentStatus.CAPTURED


def test_operation_amount_mismatch_is_an_unknown_outcome(call: Call) -> None:
    # PPRO captured something: the host must not capture again with a new key.
    payment = _authorized(call)
    with pytest.raises(TransportError, match="outcome is unknown"):
        call(
            Recorder(respond(200, _operation("capture", 999, "CAPTURED"))),
            "capture",
            CaptureRequest(payment, Money(500, "USD")),
        )


# -- mandates --------------------------------------------------------------------------------

AGREEMENT = {
    "id": "agr_1",
    "status": "AUTHENTICATION_PENDING",
    "paymentMethod": "AMAZON_PAY",
    "merchantPaymentAgreementReference": "sub-1",
    "authenticationMethods": [
        {"type": "REDIRECT", "details": {"requestUrl": "https://pay.example/agr", "requestMethod": "GET"}}
    ],
    "initialPaymentChargeId": "charge_init",
    "createdAt": "2026-01-15T12:00:00.000Z",
}


def test_create_mandate_with_initial_charge(call: Call) -> None:
    ppro = Recorder(respond(200, AGREEMENT))
    request = MandateRequest(
        consumer=PspConsumer(country="US", name="John Smith", email="john@example.com"),
        return_url=RETURN_URL,
        start=datetime(2026, 2, 1, tzinfo=UTC),
        end=datetime(2027, 2, 1, 8, 30, 15, 123456, tzinfo=UTC),
        merchant_reference="sub-1",
        frequency=Frequency(FrequencyUnit.MONTHLY, 1),
        amount=Money(1000, "USD"),
        amount_type=AmountType.EXACT,
        description="Monthly box",
        initial_charge=InitialCharge(Money(1000, "USD"), merchant_reference="order-init"),
    )
    mandate = call(ppro, "create_mandate", request)
    assert ppro.requests[0].url.path == "/v1/payment-agreements"
    assert ppro.body() == {
        "paymentMethod": "AMAZON_PAY",
        "consumer": {"country": "US", "name": "John Smith", "email": "john@example.com"},
        "authenticationSettings": [{"type": "REDIRECT", "settings": {"returnUrl": RETURN_URL}}],
        "startDate": "2026-02-01T00:00:00.000Z",
        "merchantPaymentAgreementReference": "sub-1",
        "endDate": "2027-02-01T08:30:15.123Z",
        "frequency": {"type": "MONTHLY", "interval": 1},
        "amount": {"value": 1000, "currency": "USD"},
        "amountType": "EXACT",
        "description": "Monthly box",
        "initialPaymentCharge": {
            "amount": {"value": 1000, "currency": "USD"},
            "autoCapture": True,
            "merchantPaymentChargeReference": "order-init",
        },
    }
    assert mandate.status is MandateStatus.REQUIRES_ACTION
    assert mandate.next_action is not None and mandate.next_action.url == "https://pay.example/agr"
    assert mandate.initial_payment_id == "charge_init" and mandate.merchant_reference == "sub-1"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("INITIALIZING", MandateStatus.PENDING),
        ("AUTHORIZATION_PROCESSING", MandateStatus.PENDING),
        ("ACTIVE", MandateStatus.ACTIVE),
        ("FAILED", MandateStatus.FAILED),
        ("REVOKED_BY_CONSUMER", MandateStatus.REVOKED),
        ("REVOKED_BY_MERCHANT", MandateStatus.REVOKED),
        ("REVOKED_BY_PROVIDER", MandateStatus.REVOKED),
    ],
)
def test_get_mandate_maps_every_agreement_status(call: Call, raw: str, status: MandateStatus) -> None:
    ppro = Recorder(respond(200, {**AGREEMENT, "status": raw, "failure": failure_json("EXPIRED_SESSION")}))
    mandate = call(ppro, "get_mandate", "agr_1")
    assert ppro.requests[0].url.path == "/v1/payment-agreements/agr_1"
    assert mandate.status is status and mandate.next_action is None
    assert (mandate.decline is not None) is (status is MandateStatus.FAILED)


def test_unknown_agreement_status_is_a_provider_response_error(call: Call) -> None:
    with pytest.raises(ProviderResponseError):
        call(Recorder(respond(200, {**AGREEMENT, "status": "PAUSED"})), "get_mandate", "agr_1")


def test_charge_mandate(call: Call) -> None:
    charge = charge_json("CAPTURED", authz="AUTHORIZED", captures=[1500], amount=1500, agreementId="agr_1")
    ppro = Recorder(respond(200, charge))
    payment = call(ppro, "charge_mandate", MandateChargeRequest("agr_1", Money(1500, "USD"), "order-2"))
    assert ppro.requests[0].url.path == "/v1/payment-agreements/agr_1/payment-charges"
    assert ppro.body() == {
        "amount": {"value": 1500, "currency": "USD"},
        "merchantPaymentChargeReference": "order-2",
        "autoCapture": True,
    }
    assert payment.status is PaymentStatus.CAPTURED and payment.mandate_id == "agr_1"


@pytest.mark.parametrize(
    ("code", "normalized"),
    [
        ("AGREEMENT_INACTIVE", DeclineCode.MANDATE_INACTIVE),
        ("AGREEMENT_REVOKED", DeclineCode.MANDATE_REVOKED),
    ],
)
def test_charge_on_inactive_mandate_is_declined(call: Call, code: str, normalized: DeclineCode) -> None:
    charge = charge_json("FAILED", authz="FAILED", failure=failure_json(code, "INTERNAL_DECLINE"))
    payment = call(
        Recorder(respond(200, charge)),
        "charge_mandate",
        MandateChargeRequest("agr_1", Money(1000, "USD"), "order-3"),
    )
    assert payment.status is PaymentStatus.DECLINED
    assert payment.decline is not None and payment.decline.code is normalized


def test_revoke_mandate_posts_empty_body_then_reads_the_agreement(call: Call) -> None:
    ppro = Recorder(
        respond(200, {"status": "REVOKED"}), respond(200, {**AGREEMENT, "status": "REVOKED_BY_MERCHANT"})
    )
    mandate = call(ppro, "revoke_mandate", RevokeMandateRequest("agr_1"))
    assert [(r.method, r.url.path) for r in ppro.requests] == [
        ("POST", "/v1/payment-agreements/agr_1/revocations"),
        ("GET", "/v1/payment-agreements/agr_1"),
    ]
    assert ppro.requests[0].content == b"{}"
    assert mandate.status is MandateStatus.REVOKED


def test_failed_revocation_keeps_the_mandate_with_a_decline(call: Call) -> None:
    ppro = Recorder(
        respond(200, {"status": "FAILED", "failure": failure_json("GENERIC_DECLINE")}),
        respond(200, {**AGREEMENT, "status": "ACTIVE"}),
    )
    mandate = call(ppro, "revoke_mandate", RevokeMandateRequest("agr_1"))
    assert mandate.status is MandateStatus.ACTIVE
    assert mandate.decline is not None and mandate.decline.provider_code == "GENERIC_DECLINE"
