"""The sandbox produces every charge state PPRO documents, and answers in PPRO's published shapes.

Scenario knobs hold a charge in AUTHORIZATION_PROCESSING, AUTHORIZATION_ASYNC (authorization
PROVIDER_CONFIRMATION_PENDING) or CAPTURE_PROCESSING, and discard it for the merchant; every
answer and event is validated against PPRO's OpenAPI documents (read, never copied).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from psp_ppro.sandbox import Sandbox

from .conftest import RETURN_URL, agreement_body, charge_body
from .test_openapi_conformance import _WEBHOOK_NAMES, _check, _load, _validator

CHARGES = "/v1/payment-charges"
CHARGE = CHARGES + "/{paymentChargeId}"
AGREEMENTS = "/v1/payment-agreements"

ADDRESS = {
    "firstName": "Jo",
    "lastName": "Doe",
    "phoneNumber": "+12125550100",
    "street": "1 Main St",
    "postalCode": "10001",
    "city": "New York",
    "region": "NY",
    "country": "US",
}
ORDER = {
    "orderItems": [
        {
            "name": "Tea",
            "quantity": 2,
            "amount": 300,
            "sku": "T-1",
            "category": "food",
            "subCategory": "green",
        }
    ],
    "shippingMethod": "TRACKED_DELIVERY",
    "shippingAddress": ADDRESS,
    "orderReferenceNumber": "inv-1",
    "totalTaxAmount": 40,
}
CONSUMER = {
    "name": "Jo Doe",
    "country": "US",
    "email": "jo@example.com",
    "phone": "+12125550100",
    "billingAddress": ADDRESS,
}


def scenarios(client: httpx.Client, **settings: Any) -> dict[str, Any]:
    answer = client.post("/__sandbox__/scenarios", json=settings)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def admin(client: httpx.Client, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return client.post(f"/__sandbox__/{path}", json=body or {})


def test_every_documented_state_answers_in_ppros_shape(sandbox: Sandbox, client: httpx.Client) -> None:
    spec = _load("ppro-payment-charges.json")

    scenarios(client, authorization_processing_s=None)
    processing = client.post(CHARGES, json=charge_body()).json()
    assert (processing["status"], processing["authorizations"]) == ("AUTHORIZATION_PROCESSING", [])
    _check(spec, "post", CHARGES, processing)
    _check(spec, "get", CHARGE, client.get(f"{CHARGES}/{processing['id']}").json())
    released = admin(client, f"charges/{processing['id']}/release").json()
    assert released["status"] == "AUTHENTICATION_PENDING"

    scenarios(
        client, authorization_processing_s=0, provider_confirmation=True, provider_confirmation_delay_s=None
    )
    waiting = client.post(CHARGES, json=charge_body(autoCapture=False)).json()["id"]
    sandbox.approve(waiting)
    answer = client.get(f"{CHARGES}/{waiting}").json()
    assert answer["status"] == "AUTHORIZATION_ASYNC"
    assert answer["authorizations"][-1]["status"] == "PROVIDER_CONFIRMATION_PENDING"
    _check(spec, "get", CHARGE, answer)
    _check(spec, "get", CHARGE + "/authorizations", client.get(f"{CHARGES}/{waiting}/authorizations").json())
    timed_out = admin(client, f"charges/{waiting}/provider-confirmation", {"outcome": "timeout"}).json()
    assert (timed_out["status"], timed_out["discards"][-1]["type"]) == (
        "DISCARDED",
        "PROVIDER_CONFIRMATION_TIMEOUT",
    )
    _check(spec, "get", CHARGE, timed_out)

    scenarios(client, provider_confirmation=False, capture_processing_s=None)
    capturing = client.post(CHARGES, json=charge_body(autoCapture=True)).json()["id"]
    sandbox.approve(capturing)
    answer = client.get(f"{CHARGES}/{capturing}").json()
    assert (answer["status"], answer["captures"]) == ("CAPTURE_PROCESSING", [])
    _check(spec, "get", CHARGE, answer)

    scenarios(client, capture_processing_s=0)
    dropped = client.post(CHARGES, json=charge_body(autoCapture=False)).json()["id"]
    sandbox.approve(dropped)
    discarded = admin(client, f"charges/{dropped}/discard", {"merchantDiscardReference": "d-1"}).json()
    assert discarded["status"] == "DISCARDED"
    assert discarded["discards"][-1] | {"id": "x", "createdAt": "t", "updatedAt": "t"} == {
        "id": "x",
        "status": "DISCARDED",
        "merchantDiscardReference": "d-1",
        "type": "MERCHANT_INITIATED_DISCARD",
        "createdAt": "t",
        "updatedAt": "t",
    }
    _check(spec, "get", CHARGE, discarded)


def test_order_and_consumer_are_taken_and_echoed_in_ppros_shape(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    spec = _load("ppro-payment-charges.json")
    body = charge_body(order=ORDER, consumer=CONSUMER, initiator="CONSUMER", scheduleType="UNSCHEDULED")
    # The request itself is what PPRO's schema allows, so the sandbox is checked against PPRO.
    _validator(spec, {"$ref": "#/components/schemas/AuthorizationRequest"}).validate(body)
    created = client.post(CHARGES, json=body).json()
    assert (created["order"], created["consumer"], created["initiator"]) == (ORDER, CONSUMER, "CONSUMER")
    _check(spec, "post", CHARGES, created)
    sandbox.approve(created["id"])
    paid = client.get(f"{CHARGES}/{created['id']}").json()
    assert paid["consumer"] == CONSUMER and paid["order"] == ORDER  # what the merchant sent wins
    _check(spec, "get", CHARGE, paid)


def test_an_approved_amazon_pay_charge_reports_the_buyers_amazon_details(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    spec = _load("ppro-payment-charges.json")
    bare = client.post(CHARGES, json=charge_body()).json()["id"]
    sandbox.approve(bare)
    paid = client.get(f"{CHARGES}/{bare}").json()
    assert paid["consumer"]["email"] and paid["consumer"]["billingAddress"]["country"] == "US"
    assert paid["order"]["shippingAddress"] == paid["consumer"]["billingAddress"]
    _check(spec, "get", CHARGE, paid)
    scenarios(client, buyer_details=False)
    plain = client.post(CHARGES, json=charge_body()).json()["id"]
    sandbox.approve(plain)
    assert client.get(f"{CHARGES}/{plain}").json()["consumer"] == {"name": "John Smith", "country": "US"}


AGREEMENT_CHARGE = {
    "amount": {"value": 700, "currency": "USD"},
    "merchantPaymentChargeReference": "m-1",
    "autoCapture": True,
    "initiator": "MERCHANT",
    "scheduleType": "SCHEDULED",
    "paymentDescriptor": "ACME*MAR",
    "labels": {"cycle": "3"},
    "order": ORDER,
    "webhooksUrl": "https://merchant.example/charge-hooks",
    "consumer": {"taxIdentification": "123"},
}


def test_agreement_charges_take_every_field_of_ppros_request(sandbox: Sandbox, client: httpx.Client) -> None:
    spec = _load("ppro-payment-agreements.json")
    initial = {
        key: value for key, value in AGREEMENT_CHARGE.items() if key != "merchantPaymentChargeReference"
    }
    initial |= {
        "merchantPaymentChargeReference": "first",
        "webhooksUrl": "https://merchant.example/first-hooks",
    }
    body = agreement_body(
        initialPaymentCharge=initial, webhooksUrl="https://merchant.example/agreement-hooks"
    )
    _validator(spec, {"$ref": "#/components/schemas/AgreementRequest"}).validate(body)
    created = client.post(AGREEMENTS, json=body).json()
    _check(spec, "post", AGREEMENTS, created)
    aid, first = created["id"], created["initialPaymentChargeId"]
    sandbox.approve(aid)
    first_charge = sandbox.charge(first)
    assert (first_charge["paymentDescriptor"], first_charge["labels"], first_charge["order"]) == (
        "ACME*MAR",
        {"cycle": "3"},
        ORDER | {"shippingAddress": ADDRESS},
    )
    _validator(spec, {"$ref": "#/components/schemas/AgreementChargeRequest"}).validate(AGREEMENT_CHARGE)
    charge = client.post(f"{AGREEMENTS}/{aid}/payment-charges", json=AGREEMENT_CHARGE).json()
    assert (charge["status"], charge["paymentDescriptor"], charge["labels"], charge["order"]) == (
        "CAPTURED",
        "ACME*MAR",
        {"cycle": "3"},
        ORDER,
    )
    _check(spec, "post", AGREEMENTS + "/{agreement-id}/payment-charges", charge)
    plain = client.post(
        f"{AGREEMENTS}/{aid}/payment-charges", json={"amount": {"value": 500, "currency": "USD"}}
    ).json()["id"]
    urls = {
        subject: {e.url for e in sandbox.events if e.subject == subject}
        for subject in (aid, first, charge["id"], plain)
    }
    assert urls == {
        aid: {"https://merchant.example/agreement-hooks"},
        first: {"https://merchant.example/first-hooks"},
        charge["id"]: {"https://merchant.example/charge-hooks"},
        # No URL of its own: the account's default, as for any charge, not the agreement's.
        plain: {"https://merchant.example/webhooks"},
    }


def test_agreement_charges_can_be_held_in_processing(sandbox: Sandbox, client: httpx.Client) -> None:
    aid = client.post(AGREEMENTS, json=agreement_body()).json()["id"]
    sandbox.approve(aid)
    scenarios(client, authorization_processing_s=20)
    held = client.post(f"{AGREEMENTS}/{aid}/payment-charges", json=AGREEMENT_CHARGE).json()
    assert (held["status"], held["authorizations"]) == ("AUTHORIZATION_PROCESSING", [])
    sandbox.clock.advance(20)
    assert client.get(f"{CHARGES}/{held['id']}").json()["status"] == "CAPTURED"


def test_new_events_match_ppros_webhook_schemas(sandbox: Sandbox, client: httpx.Client) -> None:
    spec = _load("ppro-gpg-webhooks.json")
    names = {
        **_WEBHOOK_NAMES,
        "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING": "Charge Provider Confirmation Pending",
    }
    scenarios(client, provider_confirmation=True, provider_confirmation_delay_s=None)
    confirming = client.post(CHARGES, json=charge_body(order=ORDER, consumer=CONSUMER)).json()["id"]
    sandbox.approve(confirming)
    admin(client, f"charges/{confirming}/provider-confirmation", {"outcome": "timeout"})
    discarded = client.post(CHARGES, json=charge_body()).json()["id"]
    admin(client, f"charges/{discarded}/discard", {"merchantDiscardReference": "d-2"})
    client.post(CHARGES, json=charge_body())
    sandbox.clock.advance(3600)
    sandbox.expire_pending()
    kinds = set()
    for event in sandbox.events:
        schema = spec["webhooks"][names[event.event_type]]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
        errors = list(_validator(spec, schema).iter_errors(event.envelope))
        assert not errors, f"{event.event_type}: {[e.message for e in errors[:3]]}"
        if event.event_type == "PAYMENT_CHARGE_DISCARDED":
            kinds.add(event.data["discardType"])
    assert kinds == {"PROVIDER_CONFIRMATION_TIMEOUT", "MERCHANT_INITIATED_DISCARD", "AUTHENTICATION_TIMEOUT"}
    created = next(e for e in sandbox.events if e.subject == confirming)
    assert created.data["order"] == ORDER and created.data["orderReferenceNumber"] == "inv-1"


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"order": []}, "order must be an object"),
        ({"order": {"orderItems": {}}}, "order.orderItems must be an array"),
        ({"order": {"orderItems": [{"quantity": 1, "amount": 1}]}}, "order.orderItems[0].name is required"),
        (
            {"order": {"orderItems": [{"name": "T", "quantity": 0, "amount": 1}]}},
            "order.orderItems[0].quantity",
        ),
        (
            {"order": {"orderItems": [{"name": "T", "quantity": 1, "amount": 1.5}]}},
            "order.orderItems[0].amount",
        ),
        ({"order": {"shippingMethod": "DRONE"}}, "order.shippingMethod must be one of"),
        ({"order": {"shippingAddress": {"country": "USA"}}}, "order.shippingAddress.country"),
        ({"order": {"totalTaxAmount": "40"}}, "order.totalTaxAmount must be an integer"),
        ({"consumer": {"country": "US", "name": "Jo", "email": "nope"}}, "consumer.email"),
        ({"consumer": {"country": "US", "name": "Jo", "phone": 1}}, "consumer.phone must be a string"),
        (
            {"consumer": {"country": "US", "name": "Jo", "billingAddress": "x"}},
            "consumer.billingAddress must be",
        ),
        ({"initiator": "SHOP"}, "initiator must be one of"),
        ({"scheduleType": "MONTHLY"}, "scheduleType must be one of"),
        ({"labels": {"k": "v" * 201}}, "labels.k"),
    ],
)
def test_malformed_new_fields_are_400s_naming_the_field(
    client: httpx.Client, patch: dict[str, Any], named: str
) -> None:
    answer = client.post(CHARGES, json=charge_body(**patch))
    assert answer.status_code == 400 and named in answer.json()["failureMessage"]


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"webhooksUrl": "http://merchant.example/h"}, "webhooksUrl must be an https:// URL"),
        ({"consumer": {"taxIdentification": 5}}, "consumer.taxIdentification must be a string"),
        ({"order": {"orderItems": [{"name": "", "quantity": 1, "amount": 1}]}}, "order.orderItems[0].name"),
        ({"scheduleType": "NEVER"}, "scheduleType must be one of"),
        ({"labels": {"k": 1}}, "labels must be an object of string values"),
    ],
)
def test_malformed_agreement_charge_fields_are_400s(
    sandbox: Sandbox, client: httpx.Client, patch: dict[str, Any], named: str
) -> None:
    aid = client.post(AGREEMENTS, json=agreement_body()).json()["id"]
    sandbox.approve(aid)
    answer = client.post(
        f"{AGREEMENTS}/{aid}/payment-charges", json={"amount": {"value": 500, "currency": "USD"}, **patch}
    )
    assert answer.status_code == 400 and named in answer.json()["failureMessage"]
    initial = client.post(
        AGREEMENTS,
        json=agreement_body(initialPaymentCharge={"amount": {"value": 500, "currency": "USD"}, **patch}),
    )
    assert initial.status_code == 400
    assert f"initialPaymentCharge.{named}" in initial.json()["failureMessage"]


def test_scenario_settings_are_checked_and_all_or_nothing(client: httpx.Client) -> None:
    before = client.get("/__sandbox__/scenarios").json()
    for bad in (
        {"nope": 1},
        {"capture_processing_s": -1},
        {"provider_confirmation": "yes"},
        {"capture_processing_s": 5, "buyer_details": 0},
    ):
        answer = client.post("/__sandbox__/scenarios", json=bad)
        assert answer.status_code == 400
    assert client.get("/__sandbox__/scenarios").json() == before


def test_what_cannot_be_discarded_or_confirmed_is_refused(sandbox: Sandbox, client: httpx.Client) -> None:
    paid = client.post(CHARGES, json=charge_body(autoCapture=True)).json()["id"]
    sandbox.approve(paid)
    assert admin(client, f"charges/{paid}/discard").status_code == 409
    assert admin(client, f"charges/{paid}/provider-confirmation").status_code == 409
    assert admin(client, f"charges/{paid}/release").status_code == 409
    assert admin(client, "charges/charge_unknown/discard").status_code == 404
    scenarios(client, provider_confirmation=True, provider_confirmation_delay_s=None)
    waiting = client.post(CHARGES, json=charge_body(returnUrl=RETURN_URL)).json()["id"]
    sandbox.approve(waiting)
    answer = admin(client, f"charges/{waiting}/provider-confirmation", {"outcome": "maybe"})
    assert answer.status_code == 400 and "approve, decline, timeout" in answer.json()["failureMessage"]
