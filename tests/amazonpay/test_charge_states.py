"""Every charge state PPRO documents, produced by the sandbox and read through both gateways.

The sandbox's scenario knobs make it produce the states (see ``psp_ppro.sandbox._scenarios``);
each test drives the plugin through the sync and the async gateway and checks what a host sees.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psp_core import (
    Address,
    AsyncGateway,
    CaptureMode,
    CaptureRequest,
    ChargeInitiator,
    Consumer,
    DeclineCode,
    EventKind,
    Gateway,
    InitialCharge,
    LineItem,
    MandateChargeRequest,
    MandateRequest,
    Money,
    Order,
    Payment,
    PaymentStatus,
    RetryPolicy,
    ScheduleType,
    ShippingMethod,
    ValidationError,
    VoidRequest,
    apply_event,
    apply_update,
    can_transition,
)
from psp_ppro.sandbox import Sandbox, SandboxConfig, SandboxStateError, sign

from .conftest import RETURN_URL, authorize_request, run

SECRET = "whsec_states_secret"
ACCOUNT_HOOKS = "https://merchant.example/account-hooks"

Call = Callable[..., Any]


def make_sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(seed=11, webhook_secret=SECRET, default_webhooks_url=ACCOUNT_HOOKS))


def _options() -> dict[str, object]:
    return {
        "api_key": "key_sandbox_states",
        "merchant_id": "merch_states",
        "base_url": "https://sandbox.local",
        "webhook_secret": SECRET,
    }


@pytest.fixture
def sb() -> Sandbox:
    return make_sandbox()


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, sb: Sandbox) -> Call:
    """``call("method", *args)`` through the sync or the async gateway, against ``sb``."""

    def sync(method: str, *args: Any) -> Any:
        with Gateway(
            "amazon_pay",
            options=_options(),
            environ={},
            transport=sb.transport(),
            retry=RetryPolicy.no_wait(),
            clock=sb.clock.now,
        ) as gw:
            return getattr(gw, method)(*args)

    def asynchronous(method: str, *args: Any) -> Any:
        async def go() -> Any:
            async with AsyncGateway(
                "amazon_pay",
                options=_options(),
                environ={},
                transport=sb.transport(),
                retry=RetryPolicy.no_wait(),
                clock=sb.clock.now,
            ) as gw:
                return await getattr(gw, method)(*args)

        return run(go())

    return sync if request.param == "sync" else asynchronous


def admin(sb: Sandbox, path: str, body: dict[str, Any] | None = None) -> Any:
    with httpx.Client(transport=sb.transport(), base_url="http://sandbox.local") as client:
        answer = client.post(f"/__sandbox__/{path}", json=body or {})
    assert answer.status_code == 200, answer.text
    return answer.json()


def events_of(sb: Sandbox, charge_id: str) -> list[str]:
    return [e.event_type for e in sb.events if e.subject == charge_id]


# -- AUTHORIZATION_PROCESSING: a charge read before it has any authorization ---------------------


def test_a_charge_read_before_any_authorization_is_a_pending_result(sb: Sandbox, call: Call) -> None:
    admin(sb, "scenarios", {"authorization_processing_s": 5})
    created: Payment = call("authorize", authorize_request(1000))
    assert created.status is PaymentStatus.PENDING and created.amount == Money(1000, "USD")
    read: Payment = call("get_payment", created.id)
    # PPRO's charge has no top-level amount: without an authorization the amount is unknown.
    assert (read.status, read.provider_status, read.amount) == (
        PaymentStatus.PENDING,
        "AUTHORIZATION_PROCESSING",
        Money(0, "USD"),
    )
    found = call("find_payment", "order-1")
    assert found is not None and found.status is PaymentStatus.PENDING
    sb.clock.advance(5)
    ready: Payment = call("get_payment", created.id)
    assert ready.status is PaymentStatus.REQUIRES_ACTION and ready.amount == Money(1000, "USD")
    assert ready.next_action is not None


# -- AUTHORIZATION_ASYNC with a PROVIDER_CONFIRMATION_PENDING authorization -----------------------


@pytest.mark.parametrize(
    ("outcome", "status", "provider_status"),
    [
        ("approve", PaymentStatus.AUTHORIZED, "CAPTURE_PENDING"),
        ("decline", PaymentStatus.DECLINED, "FAILED"),
        ("timeout", PaymentStatus.EXPIRED, "DISCARDED"),
    ],
)
def test_an_asynchronous_authorization_is_processing_until_the_provider_answers(
    sb: Sandbox, call: Call, outcome: str, status: PaymentStatus, provider_status: str
) -> None:
    admin(sb, "scenarios", {"provider_confirmation": True, "provider_confirmation_delay_s": None})
    created: Payment = call("authorize", authorize_request(1000, capture_mode=CaptureMode.SEPARATE))
    sb.approve(created.id)
    waiting: Payment = call("get_payment", created.id)
    assert (waiting.status, waiting.provider_status) == (PaymentStatus.PROCESSING, "AUTHORIZATION_ASYNC")
    assert waiting.amount == Money(1000, "USD") and not waiting.authorized
    assert sb.charge(created.id)["authorizations"][-1]["status"] == "PROVIDER_CONFIRMATION_PENDING"
    before = sb.request_count
    with pytest.raises(ValidationError) as refused:
        call("capture", CaptureRequest(waiting))
    assert refused.value.field == "payment.status" and "get_payment" in str(refused.value)
    assert sb.request_count == before
    admin(sb, f"charges/{created.id}/provider-confirmation", {"outcome": outcome})
    settled: Payment = call("get_payment", created.id)
    assert (settled.status, settled.provider_status) == (status, provider_status)
    if outcome == "timeout":
        assert (
            settled.decline is not None and settled.decline.provider_code == "PROVIDER_CONFIRMATION_TIMEOUT"
        )
        assert settled.decline.code is DeclineCode.EXPIRED
    assert "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING" in events_of(sb, created.id)


def test_the_provider_confirms_on_the_sandbox_clock(sb: Sandbox, call: Call) -> None:
    admin(sb, "scenarios", {"provider_confirmation": True, "provider_confirmation_delay_s": 10})
    created: Payment = call("authorize", authorize_request(1000, capture_mode=CaptureMode.AUTOMATIC))
    sb.approve(created.id)
    sb.clock.advance(9)
    assert call("get_payment", created.id).status is PaymentStatus.PROCESSING
    sb.clock.advance(1)
    done: Payment = call("get_payment", created.id)
    assert done.status is PaymentStatus.CAPTURED and done.captured == Money(1000, "USD")


def test_an_agreement_charge_can_wait_for_the_provider(sb: Sandbox, call: Call) -> None:
    mandate = call("create_mandate", _mandate_request())
    sb.approve(mandate.id)
    admin(sb, "scenarios", {"provider_confirmation": True, "provider_confirmation_delay_s": None})
    charge: Payment = call("charge_mandate", MandateChargeRequest(mandate.id, Money(700, "USD"), "m-async"))
    assert (charge.status, charge.provider_status) == (PaymentStatus.PROCESSING, "AUTHORIZATION_ASYNC")
    admin(sb, f"charges/{charge.id}/provider-confirmation", {"outcome": "approve"})
    assert call("get_payment", charge.id).status is PaymentStatus.CAPTURED


def test_provider_confirmation_webhooks_fold_to_processing_then_authorized(sb: Sandbox) -> None:
    admin(sb, "scenarios", {"provider_confirmation": True, "provider_confirmation_delay_s": None})
    with Gateway(
        "amazon_pay", options=_options(), environ={}, transport=sb.transport(), clock=sb.clock.now
    ) as gw:
        stored = gw.authorize(authorize_request(1000, capture_mode=CaptureMode.SEPARATE))
        sb.approve(stored.id)
        now = int(sb.clock.now().timestamp())

        def fold(payment: Payment) -> Payment:
            for event in [e for e in sb.events if e.subject == stored.id]:
                parsed = gw.parse_webhook(sign(event.body, SECRET, now, False), event.body)
                payment = apply_event(payment, parsed)
            return payment

        waiting = fold(stored)
        assert waiting.status is PaymentStatus.PROCESSING and not waiting.capturable
        kinds = [e.event_type for e in sb.events if e.subject == stored.id]
        assert kinds[-1] == "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING"
        admin(sb, f"charges/{stored.id}/provider-confirmation", {"outcome": "approve"})
        confirmed = fold(waiting)
        assert confirmed.status is PaymentStatus.AUTHORIZED and confirmed.capturable == Money(1000, "USD")


# -- CAPTURE_PROCESSING on an automatic capture ------------------------------------------------


def test_an_automatic_capture_in_flight_is_neither_capturable_nor_voidable(sb: Sandbox, call: Call) -> None:
    admin(sb, "scenarios", {"capture_processing_s": 30})
    created: Payment = call("authorize", authorize_request(1000, capture_mode=CaptureMode.AUTOMATIC))
    sb.approve(created.id)
    capturing: Payment = call("get_payment", created.id)
    assert (capturing.status, capturing.provider_status) == (PaymentStatus.PROCESSING, "CAPTURE_PROCESSING")
    assert not capturing.authorized and not capturing.captured  # the capture brings the money
    assert not capturing.capturable
    before = sb.request_count
    for request, verb in ((CaptureRequest(capturing), "captured"), (VoidRequest(capturing), "voided")):
        method = "capture" if isinstance(request, CaptureRequest) else "void"
        with pytest.raises(ValidationError) as refused:
            call(method, request)
        assert refused.value.field == "payment.status"
        assert f"nothing can be {verb}" in str(refused.value) and "CAPTURE_PROCESSING" in str(refused.value)
    assert sb.request_count == before
    sb.clock.advance(30)
    captured: Payment = call("get_payment", created.id)
    assert captured.status is PaymentStatus.CAPTURED and captured.captured == Money(1000, "USD")


def test_the_sandbox_itself_refuses_a_capture_during_capture_processing(sb: Sandbox) -> None:
    admin(sb, "scenarios", {"capture_processing_s": None})
    with httpx.Client(
        transport=sb.transport(),
        base_url="http://sandbox.local",
        headers={"Authorization": "Bearer k", "Merchant-Id": "m"},
    ) as client:
        body = {
            "paymentMethod": "AMAZON_PAY",
            "amount": {"value": 1000, "currency": "USD"},
            "consumer": {"name": "Jo", "country": "US"},
            "authenticationSettings": [{"type": "REDIRECT", "settings": {"returnUrl": RETURN_URL}}],
            "autoCapture": True,
        }
        charge_id = client.post("/v1/payment-charges", json=body).json()["id"]
        sb.approve(charge_id)
        refused = client.post(f"/v1/payment-charges/{charge_id}/captures", json={"amount": 100})
        assert refused.status_code == 400 and "automatic capture" in refused.json()["failureMessage"]
        admin(sb, f"charges/{charge_id}/release")
        assert client.get(f"/v1/payment-charges/{charge_id}").json()["status"] == "CAPTURED"


def test_webhooks_of_an_automatic_capture_never_make_it_capturable(sb: Sandbox) -> None:
    admin(sb, "scenarios", {"capture_processing_s": 30})
    with Gateway(
        "amazon_pay", options=_options(), environ={}, transport=sb.transport(), clock=sb.clock.now
    ) as gw:
        stored = gw.authorize(authorize_request(1000, capture_mode=CaptureMode.AUTOMATIC))
        sb.approve(stored.id)
        now = int(sb.clock.now().timestamp())
        for event in [e for e in sb.events if e.subject == stored.id]:
            stored = apply_event(stored, gw.parse_webhook(sign(event.body, SECRET, now, False), event.body))
        assert stored.status is PaymentStatus.PROCESSING and not stored.capturable
        sb.clock.advance(30)
        sb.expire_pending()
        for event in [e for e in sb.events if e.event_type == "PAYMENT_CHARGE_CAPTURE_SUCCEEDED"]:
            stored = apply_event(stored, gw.parse_webhook(sign(event.body, SECRET, now, False), event.body))
        assert stored.status is PaymentStatus.CAPTURED and stored.captured == Money(1000, "USD")


# -- DISCARDED, with the reason kept -------------------------------------------------------------


def test_a_consumer_timeout_and_a_merchant_discard_are_told_apart(sb: Sandbox, call: Call) -> None:
    timed_out: Payment = call("authorize", authorize_request(merchant_reference="o-timeout"))
    discarded: Payment = call("authorize", authorize_request(merchant_reference="o-discard"))
    admin(sb, f"charges/{discarded.id}/discard", {"merchantDiscardReference": "cancel-1"})
    sb.clock.advance(3600)
    expired: Payment = call("get_payment", timed_out.id)
    assert (expired.status, expired.provider_status) == (PaymentStatus.EXPIRED, "DISCARDED")
    assert expired.decline is not None
    assert (expired.decline.code, expired.decline.provider_code) == (
        DeclineCode.EXPIRED,
        "AUTHENTICATION_TIMEOUT",
    )
    cancelled: Payment = call("get_payment", discarded.id)
    assert (cancelled.status, cancelled.provider_status) == (PaymentStatus.FAILED, "DISCARDED")
    assert cancelled.decline is not None
    assert (cancelled.decline.code, cancelled.decline.provider_code) == (
        DeclineCode.CANCELLED_BY_MERCHANT,
        "MERCHANT_INITIATED_DISCARD",
    )
    assert sb.charge(discarded.id)["discards"][-1]["merchantDiscardReference"] == "cancel-1"


def test_discard_webhooks_keep_the_reason(sb: Sandbox) -> None:
    with Gateway(
        "amazon_pay", options=_options(), environ={}, transport=sb.transport(), clock=sb.clock.now
    ) as gw:
        timed_out = gw.authorize(authorize_request(merchant_reference="w-timeout"))
        discarded = gw.authorize(authorize_request(merchant_reference="w-discard"))
        admin(sb, f"charges/{discarded.id}/discard")
        sb.clock.advance(3600)
        sb.expire_pending()
        now = int(sb.clock.now().timestamp())
        reasons = {}
        for event in [e for e in sb.events if e.event_type == "PAYMENT_CHARGE_DISCARDED"]:
            parsed = gw.parse_webhook(sign(event.body, SECRET, now, False), event.body)
            assert parsed.kind is EventKind.PAYMENT_EXPIRED and parsed.decline is not None
            reasons[parsed.payment_id] = (parsed.payment_status, parsed.decline.provider_code)
        assert reasons == {
            timed_out.id: (PaymentStatus.EXPIRED, "AUTHENTICATION_TIMEOUT"),
            discarded.id: (PaymentStatus.FAILED, "MERCHANT_INITIATED_DISCARD"),
        }


# -- order, consumer and the details of recurring charges, end to end ---------------------------

SHIP_TO = Address(
    first_name="Jo",
    last_name="Doe",
    street="1 Main St",
    postal_code="10001",
    city="New York",
    region="NY",
    country="US",
    phone="+12125550100",
)
ORDER = Order(
    items=(LineItem("Tea", 2, Money(300, "USD"), sku="T-1"), LineItem("Mug", 1, Money(400, "USD"))),
    shipping_address=SHIP_TO,
    shipping_method=ShippingMethod.TRACKED_DELIVERY,
    reference="inv-77",
    tax=Money(80, "USD"),
)


def _mandate_request(**initial: Any) -> MandateRequest:
    return MandateRequest(
        consumer=Consumer(country="US", name="John Smith", email="john@example.com"),
        return_url=RETURN_URL,
        start=datetime(2026, 2, 1, tzinfo=UTC),
        merchant_reference="sub-states",
        webhook_url="https://merchant.example/agreement-hooks",
        initial_charge=InitialCharge(Money(1000, "USD"), **initial) if initial else None,
    )


def test_order_and_consumer_go_out_and_the_amazon_details_come_back(sb: Sandbox, call: Call) -> None:
    consumer = Consumer(country="US", name="Jo Doe", phone="+12125550100")
    created: Payment = call(
        "authorize",
        authorize_request(1080, consumer=consumer, order=ORDER, capture_mode=CaptureMode.AUTOMATIC),
    )
    stored = sb.charge(created.id)
    assert stored["order"]["orderItems"][0] == {"name": "Tea", "quantity": 2, "amount": 300, "sku": "T-1"}
    assert (
        stored["order"]["orderReferenceNumber"] == "inv-77" and stored["consumer"]["phone"] == "+12125550100"
    )
    sb.approve(created.id)
    paid: Payment = call("get_payment", created.id)
    assert paid.order == ORDER  # the merchant's order, shipping address included, comes back intact
    assert paid.consumer is not None
    # Amazon Pay buyers pay with what is saved at Amazon: the sandbox's buyer fills the gaps.
    assert paid.consumer.email == "buyer@amazon-sandbox.example" and paid.consumer.phone == "+12125550100"
    assert paid.consumer.billing_address is not None and paid.consumer.billing_address.city == "Seattle"


def test_a_virtual_order_gets_no_shipping_address(sb: Sandbox, call: Call) -> None:
    order = Order(items=(LineItem("E-book", 1, Money(1000, "USD")),), shipping_method=ShippingMethod.VIRTUAL)
    created: Payment = call("authorize", authorize_request(1000, order=order))
    sb.approve(created.id)
    paid: Payment = call("get_payment", created.id)
    assert paid.order == order and paid.order is not None and paid.order.shipping_address is None


def test_recurring_charges_carry_their_details_and_their_own_webhook_url(sb: Sandbox, call: Call) -> None:
    own = "https://merchant.example/initial-hooks"
    mandate = call(
        "create_mandate",
        _mandate_request(
            merchant_reference="first",
            webhook_url=own,
            description="ACME*SUB",
            order=ORDER,
            labels={"plan": "gold"},
            initiator=ChargeInitiator.CONSUMER,
            schedule_type=ScheduleType.SCHEDULED,
        ),
    )
    sb.approve(mandate.id)
    initial = sb.charge(mandate.initial_payment_id)
    assert (initial["paymentDescriptor"], initial["labels"], initial["initiator"]) == (
        "ACME*SUB",
        {"plan": "gold"},
        "CONSUMER",
    )
    targets = {e.event_type: e.url for e in sb.events if e.subject == mandate.initial_payment_id}
    assert set(targets.values()) == {own}
    agreement_targets = {e.url for e in sb.events if e.subject == mandate.id}
    assert agreement_targets == {"https://merchant.example/agreement-hooks"}

    later = "https://merchant.example/charge-hooks"
    charge: Payment = call(
        "charge_mandate",
        MandateChargeRequest(
            mandate.id,
            Money(1080, "USD"),
            "second",
            webhook_url=later,
            description="ACME*MAR",
            labels={"cycle": "3"},
            order=ORDER,
            initiator=ChargeInitiator.MERCHANT,
            schedule_type=ScheduleType.SCHEDULED_RETRY,
        ),
    )
    assert charge.status is PaymentStatus.CAPTURED and charge.order == ORDER
    stored = sb.charge(charge.id)
    assert (stored["paymentDescriptor"], stored["labels"]) == ("ACME*MAR", {"cycle": "3"})
    assert {e.url for e in sb.events if e.subject == charge.id} == {later}

    # Without its own URL a charge's events go to the account's default, not to the agreement's.
    plain: Payment = call("charge_mandate", MandateChargeRequest(mandate.id, Money(500, "USD"), "third"))
    assert {e.url for e in sb.events if e.subject == plain.id} == {ACCOUNT_HOOKS}


# -- any interleaving of the scenarios: reads only move forward ------------------------------------

scenario_settings = st.fixed_dictionaries(
    {
        "authorization_processing_s": st.sampled_from([0, 5, None]),
        "provider_confirmation": st.booleans(),
        "provider_confirmation_delay_s": st.sampled_from([5, None]),
        "capture_processing_s": st.sampled_from([0, 5, None]),
    }
)
actions = st.lists(
    st.sampled_from(
        [
            "approve",
            "decline",
            "advance-5",
            "advance-3600",
            "release",
            "confirm-approve",
            "confirm-decline",
            "confirm-timeout",
            "discard",
            "capture",
            "void",
        ]
    ),
    max_size=8,
)


@given(scenario_settings, st.sampled_from(CaptureMode), actions)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_interleaving_of_states_reads_forward_and_refuses_early_captures(
    knobs: dict[str, Any], mode: CaptureMode, steps: list[str]
) -> None:
    sb = make_sandbox()
    admin(sb, "scenarios", knobs)
    with (
        httpx.Client(transport=sb.transport(), base_url="http://sandbox.local") as control,
        Gateway(
            "amazon_pay",
            options=_options(),
            environ={},
            transport=sb.transport(),
            retry=RetryPolicy.no_wait(),
            clock=sb.clock.now,
        ) as gw,
    ):
        payment = gw.authorize(authorize_request(1000, capture_mode=mode))
        for step in steps:
            if step in ("approve", "decline"):
                with contextlib.suppress(SandboxStateError):
                    getattr(sb, step)(payment.id)
            elif step.startswith("advance-"):
                sb.clock.advance(int(step.split("-")[1]))
            elif step in ("release", "discard"):
                control.post(f"/__sandbox__/charges/{payment.id}/{step}", json={})
            elif step.startswith("confirm-"):
                control.post(
                    f"/__sandbox__/charges/{payment.id}/provider-confirmation",
                    json={"outcome": step.split("-")[1]},
                )
            else:
                request = CaptureRequest(payment) if step == "capture" else VoidRequest(payment)
                if payment.status is PaymentStatus.PROCESSING or not payment.capturable:
                    before = sb.request_count
                    with pytest.raises(ValidationError):
                        getattr(gw, step)(request)
                    assert sb.request_count == before
                else:
                    payment = getattr(gw, step)(request)
            read = gw.get_payment(payment.id)
            assert can_transition(payment.status, read.status), (payment.status, read.status, step)
            assert read.captured + read.voided <= read.authorized
            assert read.authorized.minor in (0, 1000) and read.amount.minor in (0, 1000)
            if read.provider_status in ("AUTHORIZATION_ASYNC", "CAPTURE_PROCESSING"):
                assert read.status is PaymentStatus.PROCESSING and not read.capturable
            if read.provider_status == "DISCARDED":
                assert read.decline is not None and read.decline.provider_type == "DISCARD"
            payment = apply_update(payment, read)
