"""End to end through the in-process PPRO sandbox: payments, mandates, webhooks, configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from psp_core import (
    AsyncGateway,
    CaptureMode,
    CaptureRequest,
    ConfigurationError,
    DeclineCode,
    EventKind,
    Gateway,
    InitialCharge,
    MandateChargeRequest,
    MandateRequest,
    MandateStatus,
    Money,
    OperationSource,
    PaymentStatus,
    ProviderError,
    RefundReason,
    RefundRequest,
    RetryPolicy,
    RevokeMandateRequest,
    apply_event,
    apply_update,
)
from psp_core import Consumer as PspConsumer
from psp_ppro.sandbox import Sandbox, SandboxConfig, sign

from .conftest import RETURN_URL, authorize_request, run

SECRET = "whsec_e2e_secret"


def sandbox(**config: object) -> Sandbox:
    return Sandbox(SandboxConfig(seed=7, webhook_secret=SECRET, **config))  # type: ignore[arg-type]


def gateway_for(sb: Sandbox, **options: object) -> Gateway:
    return Gateway(
        "amazon_pay",
        options={
            "api_key": "key_sandbox_e2e",
            "merchant_id": "merch_e2e",
            "base_url": "https://sandbox.local",
            "webhook_secret": SECRET,
            **options,
        },
        environ={},
        transport=sb.transport(),
        retry=RetryPolicy.no_wait(),
        clock=lambda: sb.clock.now(),
    )


def test_authorize_approve_capture_twice_refund_twice() -> None:
    sb = sandbox()
    with gateway_for(sb) as gw:
        payment = gw.authorize(authorize_request(1000, capture_mode=CaptureMode.SEPARATE))
        assert payment.status is PaymentStatus.REQUIRES_ACTION
        assert payment.next_action is not None and payment.id in payment.next_action.url
        assert sb.approve(payment.id) == "CAPTURE_PENDING"
        payment = apply_update(payment, gw.get_payment(payment.id))
        assert payment.status is PaymentStatus.AUTHORIZED and payment.capturable == Money(1000, "USD")
        payment = gw.capture(CaptureRequest(payment, Money(600, "USD")))
        assert payment.status is PaymentStatus.PARTIALLY_CAPTURED
        payment = gw.capture(CaptureRequest(payment))
        assert payment.status is PaymentStatus.CAPTURED and payment.captured == Money(1000, "USD")
        payment = gw.refund(RefundRequest(payment, Money(300, "USD"), reason=RefundReason.RETURN))
        # PPRO answers the refund PENDING: on the payment, reserved, not yet counted.
        (pending,) = payment.pending_refunds
        assert (pending.amount, pending.reason, pending.source) == (
            Money(300, "USD"),
            RefundReason.RETURN,
            OperationSource.ANSWER,
        )
        assert (payment.status, payment.refunded, payment.refundable) == (
            PaymentStatus.CAPTURED,
            Money(0, "USD"),
            Money(700, "USD"),
        )
        assert gw.get_payment(payment.id).pending_refunds == (pending,), "a read keeps it"
        sb.clock.advance(sb.config.refund_settlement_s or 0)
        payment = apply_update(payment, gw.get_payment(payment.id))
        assert payment.status is PaymentStatus.PARTIALLY_REFUNDED and not payment.refund_pending
        payment = gw.refund(RefundRequest(payment))
        sb.settle_refunds(payment.id)
        payment = apply_update(payment, gw.get_payment(payment.id))
        assert payment.status is PaymentStatus.REFUNDED
        # Folding the answers gives the same money picture as PPRO's own view.
        fresh = gw.get_payment(payment.id)
        assert (fresh.status, fresh.captured, fresh.refunded) == (
            payment.status,
            payment.captured,
            payment.refunded,
        )
        assert {op.id for op in fresh.operations} == {op.id for op in payment.operations}
        assert sb.effects(payment.id).captures == 2 and sb.effects(payment.id).refunds == 2


def test_async_gateway_against_the_sandbox() -> None:
    sb = sandbox()

    async def go() -> None:
        async with AsyncGateway(
            "amazon_pay",
            options={"api_key": "k_async_1", "merchant_id": "m", "base_url": "https://sandbox.local"},
            environ={},
            transport=sb.transport(),
            retry=RetryPolicy.no_wait(),
        ) as gw:
            payment = await gw.authorize(authorize_request(2500, capture_mode=CaptureMode.AUTOMATIC))
            sb.approve(payment.id)
            payment = await gw.get_payment(payment.id)
            assert payment.status is PaymentStatus.CAPTURED and payment.captured == Money(2500, "USD")
            found = await gw.find_payment("order-1")
            assert found is not None and found.id == payment.id

    run(go())


def test_consumer_decline_and_timeout() -> None:
    sb = sandbox()
    with gateway_for(sb) as gw:
        declined = gw.authorize(authorize_request(merchant_reference="o-declined"))
        sb.decline(declined.id)
        result = gw.get_payment(declined.id)
        assert result.status is PaymentStatus.DECLINED
        assert result.decline is not None and result.decline.code is DeclineCode.AUTHENTICATION_FAILED
        expired = gw.authorize(authorize_request(merchant_reference="o-expired"))
        sb.clock.advance(3601)
        assert gw.get_payment(expired.id).status is PaymentStatus.EXPIRED


def test_refund_after_the_window_is_refused_by_the_gateway_or_in_band() -> None:
    sb = sandbox()
    with gateway_for(sb) as gw:
        payment = gw.authorize(authorize_request(capture_mode=CaptureMode.AUTOMATIC))
        sb.approve(payment.id)
        payment = gw.get_payment(payment.id)
        sb.clock.advance(184 * 24 * 3600)
        from psp_core import ValidationError

        with pytest.raises(ValidationError):
            gw.refund(RefundRequest(payment))
        # A host that lost captured_at gets PPRO's own in-band refusal: a decline, not an error.
        import attrs

        blind = attrs.evolve(payment, captured_at=None)
        refused = gw.refund(RefundRequest(blind, Money(100, "USD")))
        assert refused.decline is not None and refused.decline.code is DeclineCode.REFUND_PERIOD_EXPIRED
        assert refused.refunded == Money(0, "USD")


def test_mandate_lifecycle() -> None:
    sb = sandbox()
    with gateway_for(sb) as gw:
        mandate = gw.create_mandate(
            MandateRequest(
                consumer=PspConsumer(country="US", name="John Smith"),
                return_url=RETURN_URL,
                start=datetime(2026, 2, 1, tzinfo=UTC),
                merchant_reference="sub-1",
                initial_charge=InitialCharge(Money(1000, "USD"), merchant_reference="sub-1-first"),
            )
        )
        assert mandate.status is MandateStatus.REQUIRES_ACTION and mandate.next_action is not None
        assert mandate.initial_payment_id is not None
        sb.approve(mandate.id)
        assert gw.get_mandate(mandate.id).status is MandateStatus.ACTIVE
        assert gw.get_payment(mandate.initial_payment_id).status is PaymentStatus.CAPTURED
        charge = gw.charge_mandate(MandateChargeRequest(mandate.id, Money(1500, "USD"), "sub-1-second"))
        assert charge.status is PaymentStatus.CAPTURED and charge.mandate_id == mandate.id
        revoked = gw.revoke_mandate(RevokeMandateRequest(mandate.id))
        assert revoked.status is MandateStatus.REVOKED and revoked.provider_status == "REVOKED_BY_MERCHANT"
        refused = gw.charge_mandate(MandateChargeRequest(mandate.id, Money(1500, "USD"), "sub-1-third"))
        assert refused.status is PaymentStatus.DECLINED
        assert refused.decline is not None and refused.decline.code is DeclineCode.MANDATE_REVOKED
        with pytest.raises(ProviderError) as caught:
            gw.revoke_mandate(RevokeMandateRequest(mandate.id))
        assert caught.value.http_status == 400


def test_charge_on_a_pending_mandate_is_declined_inactive() -> None:
    sb = sandbox()
    with gateway_for(sb) as gw:
        mandate = gw.create_mandate(
            MandateRequest(
                consumer=PspConsumer(country="US", name="John Smith"),
                return_url=RETURN_URL,
                start=datetime(2026, 2, 1, tzinfo=UTC),
                merchant_reference="sub-2",
            )
        )
        refused = gw.charge_mandate(MandateChargeRequest(mandate.id, Money(1000, "USD"), "sub-2-a"))
        assert refused.decline is not None and refused.decline.code is DeclineCode.MANDATE_INACTIVE


def test_every_sandbox_webhook_verifies_normalizes_and_reduces() -> None:
    sb = sandbox()
    with gateway_for(sb) as gw:
        stored = gw.authorize(authorize_request(1000, capture_mode=CaptureMode.SEPARATE))
        sb.approve(stored.id)
        current = gw.get_payment(stored.id)
        current = gw.capture(CaptureRequest(current, Money(400, "USD")))
        current = gw.refund(RefundRequest(current, Money(100, "USD")))
        sb.chargeback(stored.id, 200)
        now = int(sb.clock.now().timestamp())
        kinds = []
        for event in [e for e in sb.events if e.subject == stored.id]:
            parsed = gw.parse_webhook(sign(event.body, SECRET, now, False), event.body)
            assert parsed.event_id == event.event_id and parsed.payment_id == stored.id
            kinds.append(parsed.kind)
            # Events arrive in any order and twice: the reducer never goes backwards.
            stored = apply_event(apply_event(stored, parsed), parsed)
        assert kinds == [
            EventKind.PAYMENT_CREATED,
            EventKind.PAYMENT_REQUIRES_ACTION,
            EventKind.PAYMENT_AUTHORIZED,
            EventKind.PAYMENT_CAPTURED,
            EventKind.PAYMENT_REFUND_PENDING,
            EventKind.PAYMENT_CHARGED_BACK,
        ]
        # A partial chargeback of a partial capture: recorded, and the rest stays usable.
        assert stored.status is PaymentStatus.PARTIALLY_CAPTURED
        assert (stored.captured.minor, stored.refund_pending.minor, stored.charged_back.minor) == (
            400,
            100,
            200,
        )
        assert (stored.refundable.minor, stored.capturable.minor) == (100, 600)


def test_legacy_sandbox_signatures_need_the_opt_in() -> None:
    sb = sandbox(legacy_signature=True)
    with gateway_for(sb, legacy_webhook_signature=True) as gw:
        gw.authorize(authorize_request())
        event = sb.events[0]
        headers = sign(event.body, SECRET, 0, True)
        del headers["PPRO-Signature"]
        assert gw.parse_webhook(headers, event.body).kind is EventKind.PAYMENT_CREATED


def test_wrong_credentials_are_a_401_provider_error() -> None:
    sb = Sandbox(SandboxConfig(api_key="right_key", merchant_id="m"))
    with gateway_for(sb, api_key="wrong_key", merchant_id="m") as gw, pytest.raises(ProviderError) as caught:
        gw.get_payment("charge_x")
    assert caught.value.http_status == 401
    assert "wrong_key" not in str(caught.value)


@pytest.mark.parametrize("fault", ["503", "409_in_flight", "drop_after_store", "429"])
def test_faults_are_retried_with_one_effect(fault: str) -> None:
    sb = sandbox()
    with gateway_for(sb) as gw:
        sb.faults.inject_next(fault, 1)
        payment = gw.authorize(authorize_request(idempotency_key="k-faulty"))
        assert sb.charge_count("order-1") == 1 and payment.status is PaymentStatus.REQUIRES_ACTION


# -- configuration ----------------------------------------------------------------------------


def test_options_win_over_environment_and_presets_resolve() -> None:
    env = {
        "PPRO_API_KEY": "env_key_1",
        "PPRO_MERCHANT_ID": "env_merchant",
        "PPRO_BASE_URL": "live",
        "PPRO_TIMEOUT_S": "12.5",
        "PPRO_WEBHOOK_TOLERANCE_S": "60",
    }
    with Gateway("amazon_pay", environ=env) as gw:
        assert gw.config.base_url == "https://api.eu.ppro.com"
        assert gw.config.headers["Merchant-Id"] == "env_merchant"
        assert gw.config.secret_headers["Authorization"].reveal() == "Bearer env_key_1"
        assert gw.config.timeout_s == 12.5
        assert gw.config.idempotency_header == "Request-Idempotency-Key"
        assert "env_key_1" not in repr(gw.config)
    with Gateway(
        "amazon_pay", environ=env, options={"merchant_id": "opt_merchant", "base_url": "sandbox"}
    ) as gw:
        assert gw.config.headers["Merchant-Id"] == "opt_merchant"
        assert gw.config.base_url == "https://api.sandbox.eu.ppro.com"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({}, "PPRO_API_KEY"),
        ({"api_key": "k_1234"}, "PPRO_MERCHANT_ID"),
        ({"api_key": "k_1234", "merchant_id": "m", "timeout_s": "soon"}, "PPRO_TIMEOUT_S"),
        ({"api_key": "k_1234", "merchant_id": "m", "separate_captures": "maybe"}, "PPRO_SEPARATE_CAPTURES"),
        ({"api_key": "k_1234", "merchant_id": "m", "base_url": "ftp://x"}, "PPRO_BASE_URL"),
    ],
)
def test_missing_or_invalid_settings_name_option_and_variable(options: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Gateway("amazon_pay", options=options, environ={})
    assert named in str(caught.value)


def test_default_profile_is_the_product_page() -> None:
    with Gateway("amazon_pay", options={"api_key": "k_1234", "merchant_id": "m"}, environ={}) as gw:
        caps = gw.capabilities
        assert caps.currencies == {"USD"} and caps.countries == {"US"}
        limits = caps.amount_limits["USD"]
        assert (limits.minimum.minor, limits.maximum.minor) == (50, 2_000_000)
        assert caps.capture_modes == {CaptureMode.AUTOMATIC, CaptureMode.SEPARATE}
        assert caps.partial_capture and caps.multiple_captures and caps.void and caps.partial_void
        assert caps.refund_window is None and caps.refund_window_months == 6
        assert caps.authorization_validity == timedelta(days=30)
        assert caps.pending_refunds and caps.partial_chargebacks
        assert (
            caps.sources["refund_window_months"] == "https://developerhub.ppro.com/global-api/docs/amazon-pay"
        )
        assert caps.recurring and caps.chargebacks and caps.requires_consumer_name
        assert gw.info.name == "amazon_pay" and "PPRO_API_KEY" in gw.info.settings.values()
