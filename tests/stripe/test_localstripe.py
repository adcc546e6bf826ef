"""The stripe provider end to end against localstripe, a stateful Stripe fake others wrote."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import attrs
import httpx
import pytest

from psp_core import (
    CaptureMode,
    CaptureRequest,
    Consumer,
    DeclineCode,
    Gateway,
    MandateChargeRequest,
    MandateRequest,
    MandateStatus,
    Money,
    PaymentStatus,
    ProviderError,
    RefundRequest,
    Requirement,
    RetryPolicy,
    RevokeMandateRequest,
    ValidationError,
    VoidRequest,
)
from psp_localstripe import SECRET_KEY, LocalStripeSandbox

from .conftest import RETURN_URL, authorize_request

pytestmark = pytest.mark.loopback


def test_separate_capture_partial_capture_and_refunds(gateway: Gateway, sandbox: LocalStripeSandbox) -> None:
    token = sandbox.payment_method_token(authenticate=False)
    authorized = gateway.authorize(authorize_request(token, 2000))
    assert authorized.status is PaymentStatus.AUTHORIZED and authorized.authorized == Money(2000, "EUR")
    captured = gateway.capture(CaptureRequest(authorized))
    assert captured.status is PaymentStatus.CAPTURED and captured.captured == Money(2000, "EUR")
    first = gateway.refund(RefundRequest(captured, Money(500, "EUR")))
    second = gateway.refund(RefundRequest(first, Money(700, "EUR")))
    assert second.status is PaymentStatus.PARTIALLY_REFUNDED and second.refunded == Money(1200, "EUR")
    read = gateway.get_payment(captured.id)
    assert read.refunded == Money(1200, "EUR") and read.merchant_reference == "order-1"
    assert sandbox.effects(captured.id).refunds == 2


def test_void_cancels_the_intent_and_releases_the_hold(gateway: Gateway, sandbox: LocalStripeSandbox) -> None:
    authorized = gateway.authorize(authorize_request(sandbox.payment_method_token(authenticate=False)))
    voided = gateway.void(VoidRequest(authorized))
    assert voided.status is PaymentStatus.VOIDED and voided.voided == authorized.amount
    assert gateway.get_payment(authorized.id).provider_status == "canceled"


def test_three_d_secure_waits_for_the_consumer_then_authorizes_or_declines(
    gateway: Gateway, sandbox: LocalStripeSandbox
) -> None:
    waiting = gateway.authorize(authorize_request(sandbox.payment_method_token()))
    assert waiting.status is PaymentStatus.REQUIRES_ACTION
    sandbox.approve(waiting.id)
    assert gateway.get_payment(waiting.id).status is PaymentStatus.AUTHORIZED
    refused = gateway.authorize(
        authorize_request(sandbox.payment_method_token(), merchant_reference="order-2")
    )
    sandbox.decline(refused.id)
    declined = gateway.get_payment(refused.id)
    assert declined.status is PaymentStatus.DECLINED and declined.decline is not None
    assert declined.decline.code is DeclineCode.AUTHENTICATION_FAILED
    assert declined.decline.provider_code == "payment_intent_authentication_failure"


def test_a_card_decline_is_a_result_read_back_through_the_charge(gateway: Gateway) -> None:
    # localstripe's 402 names only the charge; the plugin reads its intent (Stripe's carries it).
    payment = gateway.authorize(authorize_request("pm_card_chargeCustomerFail"))
    assert payment.status is PaymentStatus.DECLINED and payment.decline is not None
    assert payment.decline.provider_code == "card_declined" and not payment.authorized


def test_a_sepa_debit_is_captured_once_it_settles(gateway: Gateway, sandbox: LocalStripeSandbox) -> None:
    token = sandbox.sepa_debit_token()
    payment = gateway.authorize(authorize_request(token, capture_mode=CaptureMode.AUTOMATIC))
    # Stripe answers "processing" until the debit settles; localstripe reports the intent
    # succeeded at once (docs/stripe.md records the difference). Both end CAPTURED.
    assert payment.status in (PaymentStatus.PROCESSING, PaymentStatus.CAPTURED)
    deadline = time.monotonic() + 20
    while payment.status is PaymentStatus.PROCESSING and time.monotonic() < deadline:
        time.sleep(0.2)  # localstripe settles a SEPA debit after half a second
        payment = gateway.get_payment(payment.id)
    assert payment.status is PaymentStatus.CAPTURED and payment.captured == Money(1000, "EUR")


def test_a_mandate_is_a_setup_intent_charged_off_session_until_revoked(
    gateway: Gateway, sandbox: LocalStripeSandbox
) -> None:
    request = MandateRequest(
        consumer=Consumer(country="DE", email="consumer@example.com", name="Erika Mustermann"),
        return_url=RETURN_URL,
        start=datetime.now(UTC),
        merchant_reference="subscription-1",
        payment_method_token=sandbox.sepa_debit_token(),
    )
    mandate = gateway.create_mandate(request)
    assert mandate.status is MandateStatus.ACTIVE and mandate.id.startswith("seti_")
    charge = gateway.charge_mandate(MandateChargeRequest(mandate.id, Money(990, "EUR"), "invoice-1"))
    assert charge.mandate_id == mandate.id and charge.status in (
        PaymentStatus.PROCESSING,
        PaymentStatus.CAPTURED,
    )
    revoked = gateway.revoke_mandate(RevokeMandateRequest(mandate.id))
    assert revoked.status is MandateStatus.REVOKED
    assert gateway.get_mandate(mandate.id).status is MandateStatus.REVOKED
    refused = gateway.charge_mandate(MandateChargeRequest(mandate.id, Money(990, "EUR"), "invoice-2"))
    assert refused.status is PaymentStatus.DECLINED and refused.decline is not None
    assert refused.decline.code is DeclineCode.MANDATE_REVOKED and not refused.authorized
    assert sandbox.payment_count("invoice-2") == 0


class _Counting(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.sent = inner, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return self.inner.handle_request(request)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payment_method_token": None}, "payment_method_token"),
        ({"payment_method_token": "pm_1\r\nX-Evil: 1"}, "payment_method_token"),
        ({"amount": Money(1005, "KWD")}, "amount.currency"),
        ({"labels": {"merchant_reference": "x"}}, "labels"),
        ({"labels": {"a[b]": "x"}}, "labels"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_sent(
    sandbox: LocalStripeSandbox, change: dict[str, object], field: str
) -> None:
    counting = _Counting(sandbox.transport())
    with (
        Gateway("stripe", options=dict(sandbox.options), transport=counting, environ={}) as gateway,
        pytest.raises(ValidationError) as refused,
    ):
        gateway.authorize(attrs.evolve(authorize_request("pm_card_visa"), **change))
    assert refused.value.field == field
    assert counting.sent == 0


def test_the_capability_says_a_token_is_required(gateway: Gateway) -> None:
    assert gateway.capabilities.payment_method_token is Requirement.REQUIRED


def test_secret_keys_never_reach_logs_reprs_or_errors(
    sandbox: LocalStripeSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    options = {**sandbox.options, "secret_key": SECRET_KEY + "_unknown_key"}
    with Gateway(
        "stripe", options=options, transport=sandbox.transport(), retry=RetryPolicy.no_wait(), environ={}
    ) as gateway:
        caplog.set_level(logging.DEBUG)
        with pytest.raises(ProviderError) as failed:
            gateway.get_payment("pi_missing")
        shown = " ".join([str(failed.value), repr(failed.value), repr(gateway), caplog.text])
    assert "sk_test" not in shown and "whsec_" not in shown


def test_psp_providers_lists_stripe_with_its_settings(capsys: pytest.CaptureFixture[str]) -> None:
    from psp_core._cli import main

    assert main(["providers"]) == 0
    shown = capsys.readouterr().out
    assert "stripe  Stripe (cards, SEPA Direct Debit)" in shown
    assert "STRIPE_SECRET_KEY" in shown


def test_a_mandate_set_up_with_an_initial_charge_charges_it_at_once(
    gateway: Gateway, sandbox: LocalStripeSandbox
) -> None:
    from psp_core import InitialCharge

    request = MandateRequest(
        consumer=Consumer(country="DE", email="consumer@example.com"),
        return_url=RETURN_URL,
        start=datetime.now(UTC),
        merchant_reference="subscription-2",
        payment_method_token=sandbox.payment_method_token(authenticate=False),
        initial_charge=InitialCharge(Money(1500, "EUR"), merchant_reference="first-month"),
    )
    mandate = gateway.create_mandate(request)
    assert mandate.status is MandateStatus.ACTIVE and mandate.initial_payment_id is not None
    first = gateway.get_payment(mandate.initial_payment_id)
    assert first.status is PaymentStatus.CAPTURED and first.captured == Money(1500, "EUR")
    assert first.mandate_id == mandate.id and first.merchant_reference == "first-month"
