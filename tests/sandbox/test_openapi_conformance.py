"""Sandbox responses and webhooks validate against PPRO's own OpenAPI documents.

The documents are read from ``<repo>/../shared/reference/ppro-openapi`` and never copied here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from psp_ppro.sandbox import Sandbox

from .conftest import agreement_body, charge_body

jsonschema = pytest.importorskip("jsonschema")

SPEC_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "ppro-openapi"


def _load(name: str) -> dict[str, Any]:
    path = SPEC_DIR / name
    if not path.exists():
        pytest.skip(f"PPRO OpenAPI document not available at {path}")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    # Wrap the document so that "#/components/..." references resolve inside it.
    root = {**document, **schema}
    return jsonschema.Draft202012Validator(root)


def _response_schema(document: dict[str, Any], method: str, path: str,
                     status: str = "200") -> dict[str, Any]:
    content = document["paths"][path][method]["responses"][status]["content"]
    schema: dict[str, Any] = next(iter(content.values()))["schema"]
    return schema


def _check(document: dict[str, Any], method: str, path: str, body: Any,
           status: str = "200") -> None:
    validator = _validator(document, _response_schema(document, method, path, status))
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, "\n".join(str(e.message) for e in errors[:5])


def test_charge_responses_match_spec(sandbox: Sandbox, client: httpx.Client) -> None:
    spec = _load("ppro-payment-charges.json")
    base = "/v1/payment-charges"
    created = client.post(base, json=charge_body(autoCapture=False)).json()
    _check(spec, "post", base, created)
    failed = client.post(base, json=charge_body(paymentMethod="NOPE")).json()
    _check(spec, "post", base, failed)
    cid = created["id"]
    sandbox.approve(cid)
    capture = client.post(f"{base}/{cid}/captures", json={"amount": 600}).json()
    _check(spec, "post", base + "/{paymentChargeId}/captures", capture)
    void = client.post(f"{base}/{cid}/voids", json={"amount": 100}).json()
    _check(spec, "post", base + "/{paymentChargeId}/voids", void)
    refund = client.post(f"{base}/{cid}/refunds", json={"amount": 50,
                                                        "refundReason": "RETURN"}).json()
    _check(spec, "post", base + "/{paymentChargeId}/refunds", refund)
    _check(spec, "get", base + "/{paymentChargeId}", client.get(f"{base}/{cid}").json())
    _check(spec, "get", base + "/{paymentChargeId}/captures",
           client.get(f"{base}/{cid}/captures").json())
    _check(spec, "get", base, client.get(base, params={
        "merchantPaymentChargeReference": "order-1"}).json())
    discarded = client.post(base, json=charge_body()).json()["id"]
    sandbox.clock.advance(3600)
    _check(spec, "get", base + "/{paymentChargeId}", client.get(f"{base}/{discarded}").json())
    error = client.post(f"{base}/{cid}/captures", json={"amount": 10**9})
    _check(spec, "post", base, error.json(), status="409")  # the shared error envelope


def test_agreement_responses_match_spec(sandbox: Sandbox, client: httpx.Client) -> None:
    spec = _load("ppro-payment-agreements.json")
    base = "/v1/payment-agreements"
    created = client.post(base, json=agreement_body(
        initialPaymentCharge={"amount": {"value": 1000, "currency": "USD"}},
        frequency={"type": "MONTHLY", "interval": 1}, amount={"value": 1000, "currency": "USD"},
        amountType="EXACT")).json()
    _check(spec, "post", base, created)
    aid = created["id"]
    sandbox.approve(aid)
    charge = client.post(f"{base}/{aid}/payment-charges",
                         json={"amount": {"value": 700, "currency": "USD"}}).json()
    _check(spec, "post", base + "/{agreement-id}/payment-charges", charge)
    revoked = client.post(f"{base}/{aid}/revocations", json={}).json()
    _check(spec, "post", base + "/{agreement-id}/revocations", revoked)
    _check(spec, "get", base + "/{agreement-id}", client.get(f"{base}/{aid}").json())


_WEBHOOK_NAMES = {
    "PAYMENT_CHARGE_CREATED": "Charge Created",
    "PAYMENT_CHARGE_AUTHENTICATION_PENDING": "Charge Authentication Pending",
    "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED": "Charge Authorization Succeeded",
    "PAYMENT_CHARGE_AUTHORIZATION_FAILED": "Charge Authorization Failed",
    "PAYMENT_CHARGE_CAPTURE_SUCCEEDED": "Charge Capture Succeeded",
    "PAYMENT_CHARGE_VOID_SUCCEEDED": "Charge Void Succeeded",
    "PAYMENT_CHARGE_REFUND_PENDING": "Charge Refund Pending",
    "PAYMENT_CHARGE_REFUND_SUCCEEDED": "Charge Refund Succeeded",
    "PAYMENT_CHARGE_REFUND_FAILED": "Charge Refund Failed",
    "PAYMENT_CHARGE_DISCARDED": "Charge Discard Succeeded",
    "PAYMENT_AGREEMENT_CREATED": "Agreement Created",
    "PAYMENT_AGREEMENT_AUTHENTICATION_PENDING": "Agreement Authentication Pending",
    "PAYMENT_AGREEMENT_ACTIVE": "Agreement Active",
    "PAYMENT_AGREEMENT_FAILED": "Agreement Failed",
    "PAYMENT_AGREEMENT_REVOKED_BY_MERCHANT": "Agreement Revoked by Merchant",
    "CHARGEBACK_SUCCEEDED": "Chargeback Succeeded",
}


def test_webhook_envelopes_match_spec(sandbox: Sandbox, client: httpx.Client) -> None:
    spec = _load("ppro-gpg-webhooks.json")
    cid = client.post("/v1/payment-charges", json=charge_body(autoCapture=False)).json()["id"]
    sandbox.approve(cid)
    client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 500})
    client.post(f"/v1/payment-charges/{cid}/voids", json={"amount": 100})
    client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 100})
    sandbox.chargeback(cid, 200)  # partial: 500 captured, 100 refund pending
    client.post("/v1/payment-charges", json=charge_body(paymentMethod="NOPE"))
    client.post("/v1/payment-charges", json=charge_body())
    aid = client.post("/v1/payment-agreements", json=agreement_body()).json()["id"]
    sandbox.approve(aid)
    client.post(f"/v1/payment-agreements/{aid}/revocations", json={})
    client.post("/v1/payment-agreements", json=agreement_body(paymentMethod="NOPE"))
    sandbox.clock.advance(200 * 86400)
    client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 1})
    seen = set()
    for event in sandbox.events:
        name = _WEBHOOK_NAMES[event.event_type]
        schema = spec["webhooks"][name]["post"]["requestBody"]["content"]["application/json"][
            "schema"]
        validator = _validator(spec, schema)
        errors = list(validator.iter_errors(event.envelope))
        assert not errors, f"{event.event_type}: {[e.message for e in errors[:3]]}"
        seen.add(event.event_type)
    assert seen == set(_WEBHOOK_NAMES)


def test_pending_settled_failed_refunds_and_a_released_authorization_match_spec(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    spec = _load("ppro-payment-charges.json")
    base = "/v1/payment-charges"
    cid = client.post(base, json=charge_body(autoCapture=False)).json()["id"]
    sandbox.approve(cid)
    client.post(f"{base}/{cid}/captures", json={"amount": 600})
    pending = client.post(f"{base}/{cid}/refunds", json={"amount": 100}).json()
    assert pending["status"] == "PENDING"
    _check(spec, "post", base + "/{paymentChargeId}/refunds", pending)
    _check(spec, "get", base + "/{paymentChargeId}", client.get(f"{base}/{cid}").json())
    failed = client.post(f"{base}/{cid}/refunds", json={"amount": 200}).json()
    sandbox.settle_refund(cid, failed["id"], succeed=False)
    sandbox.clock.advance(sandbox.config.authorization_validity_s + 1)  # settles the first, releases 400
    charge = client.get(f"{base}/{cid}").json()
    assert [r["status"] for r in charge["refunds"]] == ["REFUNDED", "FAILED"]
    assert [v["amount"] for v in charge["voids"]] == [400]
    _check(spec, "get", base + "/{paymentChargeId}", charge)
    _check(spec, "get", base + "/{paymentChargeId}/refunds", client.get(f"{base}/{cid}/refunds").json())
