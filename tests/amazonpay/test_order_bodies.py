"""Order, consumer details and recurring-charge details: what is sent, what is refused, what is read.

Request bodies are checked against PPRO's published request schemas (read from the shared
reference folder, never copied here); bad input is refused with a ValidationError naming the
field and nothing is sent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psp_amazonpay import plugin
from psp_core import (
    Address,
    CaptureMode,
    ChargeInitiator,
    Consumer,
    DeclineCode,
    InitialCharge,
    LineItem,
    MandateChargeRequest,
    MandateRequest,
    Money,
    Order,
    PaymentStatus,
    ScheduleType,
    ShippingMethod,
    ValidationError,
)

from .conftest import (
    NOW,
    RETURN_URL,
    WEBHOOK_SECRET,
    Recorder,
    authorize_request,
    charge_json,
    gateway,
    respond,
)
from .test_properties import AGREEMENTS, CHARGES, CONFIG, first_request, request_validator, texts

# -- strategies ---------------------------------------------------------------------------------

phones = st.from_regex(r"\+1[0-9]{10}", fullmatch=True)
countries = st.sampled_from(["US", "CA", "GB", "DE"])
addresses = st.builds(
    Address,
    first_name=st.none() | texts,
    last_name=st.none() | texts,
    street=st.none() | texts,
    postal_code=st.none() | st.from_regex(r"[0-9]{5}", fullmatch=True),
    city=st.none() | texts,
    region=st.none() | texts,
    country=st.none() | countries,
    phone=st.none() | phones,
)
line_items = st.builds(
    LineItem,
    name=texts,
    quantity=st.integers(1, 2**31 - 1),
    unit_price=st.integers(0, 2_000_000).map(lambda minor: Money(minor, "USD")),
    sku=st.none() | texts,
    category=st.none() | texts,
    subcategory=st.none() | texts,
)
orders = st.builds(
    Order,
    items=st.lists(line_items, max_size=3).map(tuple),
    shipping_address=st.none() | addresses,
    shipping_method=st.none() | st.sampled_from(ShippingMethod),
    reference=st.none() | texts,
    tax=st.none() | st.integers(0, 100_000).map(lambda minor: Money(minor, "USD")),
)
consumers = st.builds(
    Consumer,
    country=st.just("US"),
    name=texts,
    email=st.none() | st.just("jo@example.com"),
    phone=st.none() | phones,
    billing_address=st.none() | addresses,
)
labels = st.dictionaries(
    st.text(min_size=1, max_size=50).filter(str.strip), st.text(max_size=200), max_size=5
)
hooks = st.none() | st.just("https://shop.example/hooks/charge-1")
initiators = st.none() | st.sampled_from(ChargeInitiator)
schedules = st.none() | st.sampled_from(ScheduleType)

psp_authorize = plugin.psp_authorize
psp_charge_mandate = plugin.psp_charge_mandate
psp_create_mandate = plugin.psp_create_mandate
psp_get_payment = plugin.psp_get_payment
psp_parse_webhook = plugin.psp_parse_webhook


def _body(flow: Any) -> Any:
    return json.loads(first_request(flow).content)


# -- bodies against PPRO's request schemas ------------------------------------------------------


@given(orders, consumers)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_authorize_bodies_with_order_and_consumer_match_ppros_schema(
    order: Order, consumer: Consumer
) -> None:
    body = _body(psp_authorize(CONFIG, authorize_request(consumer=consumer, order=order)))
    request_validator(CHARGES, "AuthorizationRequest").validate(body)
    sent = body["order"]
    assert [item["amount"] for item in sent.get("orderItems", [])] == [
        i.unit_price.minor for i in order.items
    ]
    assert sent.get("totalTaxAmount") == (order.tax.minor if order.tax is not None else None)
    if order.shipping_method is not None:
        assert sent["shippingMethod"] == order.shipping_method.name
    if consumer.billing_address is not None and consumer.billing_address.phone is not None:
        assert body["consumer"]["billingAddress"]["phoneNumber"] == consumer.billing_address.phone


@given(st.none() | orders, hooks, st.none() | texts, labels, initiators, schedules)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_mandate_charge_bodies_carry_every_agreement_charge_field(
    order: Order | None,
    hook: str | None,
    description: str | None,
    label_map: dict[str, str],
    initiator: ChargeInitiator | None,
    schedule: ScheduleType | None,
) -> None:
    request = MandateChargeRequest(
        "agr_1",
        Money(1000, "USD"),
        "order-9",
        webhook_url=hook,
        description=description,
        labels=label_map,
        order=order,
        initiator=initiator,
        schedule_type=schedule,
    )
    body = _body(psp_charge_mandate(CONFIG, request))
    request_validator(AGREEMENTS, "AgreementChargeRequest").validate(body)
    assert body["amount"] == {"value": 1000, "currency": "USD"}  # not the product page's amount.amount
    assert body.get("webhooksUrl") == hook and body.get("paymentDescriptor") == description
    assert body.get("labels", {}) == label_map
    assert body.get("initiator") == (initiator.name if initiator else None)
    assert body.get("scheduleType") == (schedule.name if schedule else None)


@given(st.none() | orders, hooks, st.none() | texts, labels, initiators, schedules)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_initial_charge_bodies_carry_every_payment_charge_field(
    order: Order | None,
    hook: str | None,
    description: str | None,
    label_map: dict[str, str],
    initiator: ChargeInitiator | None,
    schedule: ScheduleType | None,
) -> None:
    initial = InitialCharge(
        Money(1000, "USD"),
        "first-1",
        webhook_url=hook,
        description=description,
        labels=label_map,
        order=order,
        initiator=initiator,
        schedule_type=schedule,
    )
    request = MandateRequest(
        consumer=Consumer(
            country="US", name="John Smith", billing_address=Address(city="Austin", country="US")
        ),
        return_url=RETURN_URL,
        start=datetime(2026, 2, 1, tzinfo=UTC),
        merchant_reference="sub-1",
        initial_charge=initial,
    )
    body = _body(psp_create_mandate(CONFIG, request))
    request_validator(AGREEMENTS, "AgreementRequest").validate(body)
    sent = body["initialPaymentCharge"]
    # The reference sits beside the amount (PPRO's schema), not inside it (the product page).
    assert sent["merchantPaymentChargeReference"] == "first-1"
    assert sent["amount"] == {"value": 1000, "currency": "USD"}
    assert sent.get("webhooksUrl") == hook and sent.get("labels", {}) == label_map


# -- bad input: a typed error naming the field, and nothing sent ----------------------------------

ITEM = LineItem("Tea", 1, Money(300, "USD"))


def _authorize(**fields: Any) -> Any:
    return authorize_request(**fields)


def _bad_orders() -> list[tuple[str, Any]]:
    return [
        ("order", "not an order"),
        ("order.items", Order(items=[ITEM])),  # type: ignore[arg-type]
        ("order.items[0]", Order(items=("tea",))),  # type: ignore[arg-type]
        ("order.items[0].name", Order(items=(LineItem("  ", 1, Money(300, "USD")),))),
        ("order.items[0].name", Order(items=(LineItem("x" * 513, 1, Money(300, "USD")),))),
        ("order.items[0].quantity", Order(items=(LineItem("Tea", 0, Money(300, "USD")),))),
        ("order.items[0].quantity", Order(items=(LineItem("Tea", 2**31, Money(300, "USD")),))),
        ("order.items[0].quantity", Order(items=(LineItem("Tea", True, Money(300, "USD")),))),
        ("order.items[0].quantity", Order(items=(LineItem("Tea", 1.5, Money(300, "USD")),))),  # type: ignore[arg-type]
        ("order.items[0].unit_price", Order(items=(LineItem("Tea", 1, 3.0),))),  # type: ignore[arg-type]
        ("order.items[0].unit_price.currency", Order(items=(LineItem("Tea", 1, Money(300, "EUR")),))),
        ("order.items[0].unit_price.minor", Order(items=(LineItem("Tea", 1, Money(-1, "USD")),))),
        ("order.items[0].sku", Order(items=(attrs.evolve(ITEM, sku="s" * 513),))),
        ("order.tax", Order(tax=0.8)),  # type: ignore[arg-type]
        ("order.tax.currency", Order(tax=Money(80, "EUR"))),
        ("order.shipping_method", Order(shipping_method="VIRTUAL")),  # type: ignore[arg-type]
        ("order.shipping_address", Order(shipping_address="1 Main St")),  # type: ignore[arg-type]
        ("order.shipping_address.country", Order(shipping_address=Address(country="usa"))),
        ("order.shipping_address.city", Order(shipping_address=Address(city="c" * 513))),
        ("order.reference", Order(reference="r" * 513)),
    ]


def _bad_consumers() -> list[tuple[str, Any]]:
    base = Consumer(country="US", name="Jo")
    return [
        ("consumer.email", attrs.evolve(base, email="not-an-email")),
        ("consumer.email", attrs.evolve(base, email="jo @example.com")),
        ("consumer.email", attrs.evolve(base, email="jo@localhost")),
        ("consumer.phone", attrs.evolve(base, phone=12125550100)),
        ("consumer.phone", attrs.evolve(base, phone="1" * 513)),
        ("consumer.locale", attrs.evolve(base, locale="english")),
        ("consumer.billing_address", attrs.evolve(base, billing_address={"city": "Austin"})),
        ("consumer.billing_address.country", attrs.evolve(base, billing_address=Address(country="U"))),
        (
            "consumer.billing_address.postal_code",
            attrs.evolve(base, billing_address=Address(postal_code=10001)),
        ),
    ]


@pytest.mark.parametrize(
    ("field", "order"), _bad_orders(), ids=[f"{f}-{i}" for i, (f, _) in enumerate(_bad_orders())]
)
def test_a_bad_order_is_refused_before_any_request(field: str, order: Any) -> None:
    ppro = Recorder(respond(500, {}))
    with gateway(ppro) as gw, pytest.raises(ValidationError) as caught:
        gw.authorize(authorize_request(order=order))
    assert caught.value.field == field
    assert ppro.requests == []
    # The same order on a mandate charge is refused the same way.
    with gateway(ppro) as gw, pytest.raises(ValidationError) as caught:
        gw.charge_mandate(MandateChargeRequest("agr_1", Money(1000, "USD"), "o-1", order=order))
    assert caught.value.field == field
    assert ppro.requests == []


@pytest.mark.parametrize(
    ("field", "consumer"), _bad_consumers(), ids=[f"{f}-{i}" for i, (f, _) in enumerate(_bad_consumers())]
)
def test_bad_consumer_details_are_refused_before_any_request(field: str, consumer: Consumer) -> None:
    ppro = Recorder(respond(500, {}))
    with gateway(ppro) as gw, pytest.raises(ValidationError) as caught:
        gw.authorize(authorize_request(consumer=consumer))
    assert caught.value.field == field
    mandate = MandateRequest(consumer, RETURN_URL, datetime(2026, 2, 1, tzinfo=UTC), "sub-1")
    with gateway(ppro) as gw, pytest.raises(ValidationError) as caught:
        gw.create_mandate(mandate)
    assert caught.value.field == field
    assert ppro.requests == []


def _bad_charge_details() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("webhook_url", {"webhook_url": "http://shop.example/hooks"}),
        ("webhook_url", {"webhook_url": "hooks"}),
        ("description", {"description": "d" * 513}),
        ("description", {"description": 42}),
        ("labels", {"labels": {f"k{i}": "v" for i in range(51)}}),
        ("labels['k']", {"labels": {"k": "v" * 201}}),
        (f"labels[{'k' * 51!r}]", {"labels": {"k" * 51: "v"}}),
        ("labels['k']", {"labels": {"k": 1}}),
        ("labels", {"labels": [("k", "v")]}),
        ("initiator", {"initiator": "MERCHANT"}),
        ("schedule_type", {"schedule_type": "RECURRING"}),
        ("order.items[0].quantity", {"order": Order(items=(LineItem("Tea", -1, Money(1, "USD")),))}),
    ]


@pytest.mark.parametrize(
    ("field", "fields"),
    _bad_charge_details(),
    ids=[f"{f}-{i}" for i, (f, _) in enumerate(_bad_charge_details())],
)
def test_bad_recurring_charge_details_are_refused_before_any_request(
    field: str, fields: dict[str, Any]
) -> None:
    ppro = Recorder(respond(500, {}))
    with gateway(ppro) as gw, pytest.raises(ValidationError) as caught:
        gw.charge_mandate(MandateChargeRequest("agr_1", Money(1000, "USD"), "o-1", **fields))
    assert caught.value.field == field
    initial = InitialCharge(Money(1000, "USD"), **fields)
    mandate = MandateRequest(
        Consumer(country="US", name="Jo"),
        RETURN_URL,
        datetime(2026, 2, 1, tzinfo=UTC),
        "sub-1",
        initial_charge=initial,
    )
    with gateway(ppro) as gw, pytest.raises(ValidationError) as caught:
        gw.create_mandate(mandate)
    assert caught.value.field == f"initial_charge.{field}"
    assert ppro.requests == []


# -- what PPRO reports, onto the Payment --------------------------------------------------------


def _read(body: dict[str, Any]) -> Any:
    flow = psp_get_payment(CONFIG, "charge_1")
    next(flow)
    try:
        flow.send(httpx.Response(200, json=body, request=httpx.Request("GET", "https://ppro.test/x")))
    except StopIteration as done:
        return done.value
    raise AssertionError("a second request")


def test_the_consumer_and_order_ppro_reports_are_on_the_payment() -> None:
    body = charge_json(
        "CAPTURED",
        authz="AUTHORIZED",
        captures=[1000],
        consumer={
            "name": "Jo Doe",
            "email": "jo@amazon.example",
            "phone": "+12125550100",
            "country": "US",
            "billingAddress": {"firstName": "Jo", "city": "Seattle", "country": "US", "phoneNumber": "+1206"},
            "birthDate": "1990-01-01",
        },
        order={
            "orderItems": [{"name": "Tea", "quantity": 2, "amount": 300, "subCategory": "green"}],
            "shippingMethod": "LOCKER_PICKUP",
            "shippingAddress": {"street": "1 Main St", "country": "US"},
            "orderReferenceNumber": "inv-1",
            "totalTaxAmount": 40,
        },
    )
    payment = _read(body)
    assert payment.consumer == Consumer(
        country="US",
        name="Jo Doe",
        email="jo@amazon.example",
        phone="+12125550100",
        billing_address=Address(first_name="Jo", city="Seattle", country="US", phone="+1206"),
    )
    assert payment.order == Order(
        items=(LineItem("Tea", 2, Money(300, "USD"), subcategory="green"),),
        shipping_address=Address(street="1 Main St", country="US"),
        shipping_method=ShippingMethod.LOCKER_PICKUP,
        reference="inv-1",
        tax=Money(40, "USD"),
    )


def test_an_unknown_shipping_method_is_a_typed_error_not_a_guess() -> None:
    from psp_core import ProviderResponseError

    with pytest.raises(ProviderResponseError) as caught:
        _read(charge_json("CAPTURED", authz="AUTHORIZED", captures=[1000], order={"shippingMethod": "DRONE"}))
    assert caught.value.provider_code == "DRONE"


@pytest.mark.parametrize(
    ("discard_type", "status", "code"),
    [
        ("AUTHENTICATION_TIMEOUT", PaymentStatus.EXPIRED, DeclineCode.EXPIRED),
        ("PROVIDER_CONFIRMATION_TIMEOUT", PaymentStatus.EXPIRED, DeclineCode.EXPIRED),
        ("MERCHANT_INITIATED_DISCARD", PaymentStatus.FAILED, DeclineCode.CANCELLED_BY_MERCHANT),
        ("SOMETHING_NEW", PaymentStatus.EXPIRED, DeclineCode.EXPIRED),
    ],
)
def test_a_discarded_charge_keeps_why(discard_type: str, status: PaymentStatus, code: DeclineCode) -> None:
    discard = {"id": "discard_1", "status": "DISCARDED", "type": discard_type}
    payment = _read(charge_json("DISCARDED", discards=[discard]))
    assert payment.status is status and payment.decline is not None
    assert (payment.decline.code, payment.decline.provider_code) == (code, discard_type)


def test_a_merchant_discard_after_authorization_takes_no_money() -> None:
    discard = {"id": "discard_1", "status": "DISCARDED", "type": "MERCHANT_INITIATED_DISCARD"}
    payment = _read(charge_json("DISCARDED", authz="AUTHORIZED", discards=[discard]))
    assert payment.status is PaymentStatus.FAILED and not payment.capturable


def test_states_before_authorization_are_results() -> None:
    pending = _read(charge_json("AUTHORIZATION_PROCESSING", authorizations=[], authenticationMethods=[]))
    assert (pending.status, pending.amount) == (PaymentStatus.PENDING, Money(0, "USD"))
    waiting = _read(charge_json("AUTHORIZATION_ASYNC", authz="PROVIDER_CONFIRMATION_PENDING"))
    assert (waiting.status, waiting.amount, waiting.authorized) == (
        PaymentStatus.PROCESSING,
        Money(1000, "USD"),
        Money(0, "USD"),
    )
    capturing = _read(charge_json("CAPTURE_PROCESSING", authz="AUTHORIZED"))
    assert capturing.status is PaymentStatus.PROCESSING and not capturing.authorized
    # Folded into the stored payment, the read keeps it processing, never capturable.
    from psp_core import Payment, apply_update

    stored = Payment.new("amazon_pay", "charge_1", PaymentStatus.REQUIRES_ACTION, Money(1000, "USD"))
    folded = apply_update(stored, capturing)
    assert folded.status is PaymentStatus.PROCESSING and not folded.capturable


# -- webhooks ----------------------------------------------------------------------------------


def _event(event_type: str, **data: Any) -> tuple[dict[str, str], bytes]:
    from psp_ppro.sandbox import sign

    envelope = {
        "specversion": "1.0.2",
        "id": f"evt-{event_type}",
        "type": event_type,
        "subject": "charge_1",
        "time": "2026-01-15T12:00:00.000Z",
        "data": {"paymentChargeId": "charge_1", "type": event_type, **data},
    }
    body = json.dumps(envelope).encode()
    return sign(body, WEBHOOK_SECRET, int(NOW.timestamp()), False), body


@pytest.mark.parametrize(
    ("discard_type", "status"),
    [("AUTHENTICATION_TIMEOUT", PaymentStatus.EXPIRED), ("MERCHANT_INITIATED_DISCARD", PaymentStatus.FAILED)],
)
def test_a_discard_event_keeps_why(discard_type: str, status: PaymentStatus) -> None:
    headers, body = _event(
        "PAYMENT_CHARGE_DISCARDED", paymentChargeStatus="DISCARDED", discardType=discard_type
    )
    event = psp_parse_webhook(CONFIG, headers, body, NOW)
    assert event.payment_status is status and event.decline is not None
    assert event.decline.provider_code == discard_type


def test_an_automatic_capture_authorization_event_is_processing() -> None:
    amount = {"value": 1000, "currency": "USD"}
    for extra in ({"isMultiStep": False}, {"paymentChargeStatus": "CAPTURE_PROCESSING"}):
        headers, body = _event(
            "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED", authorizationId="authz_1", amount=amount, **extra
        )
        event = psp_parse_webhook(CONFIG, headers, body, NOW)
        assert event.payment_status is PaymentStatus.PROCESSING and event.operation is None
    headers, body = _event(
        "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED",
        authorizationId="authz_1",
        amount=amount,
        isMultiStep=True,
        paymentChargeStatus="CAPTURE_PENDING",
    )
    event = psp_parse_webhook(CONFIG, headers, body, NOW)
    assert event.operation is not None and event.operation.amount == Money(1000, "USD")


def test_capture_mode_is_unchanged_by_the_new_fields() -> None:
    body = _body(psp_authorize(CONFIG, authorize_request(capture_mode=CaptureMode.SEPARATE, order=Order())))
    assert body["autoCapture"] is False and body["order"] == {}


def _schema_strategy(name: str) -> st.SearchStrategy[Any]:
    from .test_properties import _inline, _strategy, spec

    components = spec(CHARGES)["components"]["schemas"]
    return _strategy(_inline(components[name], components))


def test_schema_generated_consumers_and_orders_give_a_result_or_a_typed_error() -> None:
    from psp_core import PspError

    @given(_schema_strategy("Consumer"), _schema_strategy("Order"))
    @settings(max_examples=40, suppress_health_check=list(HealthCheck))
    def check(consumer: Any, order: Any) -> None:
        try:
            payment = _read(
                charge_json("CAPTURED", authz="AUTHORIZED", captures=[1000], consumer=consumer, order=order)
            )
        except PspError:
            return
        assert payment.order is not None and payment.consumer is not None
        sent_items = order.get("orderItems", [])
        assert [(i.name, i.quantity, i.unit_price.minor) for i in payment.order.items] == [
            (i["name"], i["quantity"], i["amount"]) for i in sent_items
        ]
        assert payment.consumer.country == consumer["country"]

    check()
