"""Agreements and the three product-page examples, embedded verbatim as literal strings."""

from __future__ import annotations

import json

import httpx

from psp_ppro.sandbox import Sandbox

from .conftest import agreement_body

JSON = {"Content-Type": "application/json"}

# Verbatim from the Amazon Pay product page, trailing comma included (invalid JSON).
PAGE_ONE_TIME_CHARGE = """{
"paymentMethod": "AMAZON_PAY",
"amount": {
"value": 1000,
"currency": "USD"
},
"consumer": {
"name": "John Smith",
"country": "US"
},
"authenticationSettings": [
{
"type": "REDIRECT",
"settings": {
"returnUrl": "https://www.your-merchant-success-page.com/"
}
}
],
"merchantPaymentChargeReference": "YOURPAYMENTREFERENCEHERE",
}"""

PAGE_AGREEMENT = """{
"paymentMethod": "AMAZON_PAY",
"startDate": "2023-03-26T20:24:27Z",
"consumer": {
"name": "John Smith",
"country": "US"
},
"authenticationSettings": [
{
"type": "REDIRECT",
"settings": {
"returnUrl": "https://www.your-merchant-success-page.com/"
}
}
],
"initialPaymentCharge": {
"amount": {
"value": 1000,
"currency": "USD",
"merchantPaymentChargeReference": "YOURREFERENCEHERE"
}
}
}"""

# As on the page, minus its ``//optional`` comment (a JS comment is not JSON at all).
PAGE_SUBSEQUENT_CHARGE = """{
"amount": {
"amount": 9000,
"currency": "USD"
},
"paymentChargeMerchantReference": "external-identifier",
"autoCapture": true
}"""


def test_page_one_time_charge(client: httpx.Client) -> None:
    verbatim = client.post("/v1/payment-charges", content=PAGE_ONE_TIME_CHARGE, headers=JSON)
    assert verbatim.status_code == 400
    assert verbatim.json()["failureMessage"].startswith("Malformed JSON")
    fixed = PAGE_ONE_TIME_CHARGE.replace('"YOURPAYMENTREFERENCEHERE",', '"YOURPAYMENTREFERENCEHERE"')
    response = client.post("/v1/payment-charges", content=fixed, headers=JSON)
    assert response.status_code == 200
    charge = response.json()
    assert charge["id"].startswith("charge_")
    assert charge["status"] == "AUTHENTICATION_PENDING"
    assert charge["authenticationMethods"][0]["type"] == "REDIRECT"
    assert charge["authenticationMethods"][0]["details"]["requestMethod"] == "GET"
    assert charge["authenticationMethods"][0]["details"]["requestUrl"].endswith(charge["id"])


def test_page_agreement_then_subsequent_charge(sandbox: Sandbox, client: httpx.Client) -> None:
    response = client.post("/v1/payment-agreements", content=PAGE_AGREEMENT, headers=JSON)
    assert response.status_code == 200, response.text
    agreement = response.json()
    aid = agreement["id"]
    assert aid.startswith("agr_")
    assert agreement["status"] == "AUTHENTICATION_PENDING"
    assert agreement["startDate"] == "2023-03-26T20:24:27.000Z"
    assert agreement["instrumentId"].startswith("instr_")
    initial_id = agreement["initialPaymentChargeId"]
    initial = client.get(f"/v1/payment-charges/{initial_id}").json()
    assert initial["status"] == "AUTHENTICATION_PENDING"
    assert initial["agreementId"] == aid
    # The reference the page nests inside ``amount`` is hoisted onto the initial charge.
    assert initial["authorizations"][0]["merchantPaymentChargeReference"] == "YOURREFERENCEHERE"

    assert sandbox.approve(aid) == "ACTIVE"
    assert client.get(f"/v1/payment-charges/{initial_id}").json()["status"] == "CAPTURED"

    as_written = client.post(f"/v1/payment-agreements/{aid}/payment-charges",
                             content=PAGE_SUBSEQUENT_CHARGE, headers=JSON)
    assert as_written.status_code == 400
    assert as_written.json()["failureMessage"] == "amount.value is required"
    corrected = json.loads(PAGE_SUBSEQUENT_CHARGE)
    corrected["amount"] = {"value": 9000, "currency": "USD"}
    corrected["merchantPaymentChargeReference"] = corrected.pop("paymentChargeMerchantReference")
    charge = client.post(f"/v1/payment-agreements/{aid}/payment-charges", json=corrected).json()
    assert charge["status"] == "CAPTURED"
    assert charge["agreementId"] == aid
    assert charge["captures"][0]["amount"] == 9000
    search = client.get("/v1/payment-charges", params={"agreementId": aid}).json()
    assert {c["id"] for c in search["data"]} == {initial_id, charge["id"]}


def test_agreement_without_initial_charge_revoke(sandbox: Sandbox, client: httpx.Client) -> None:
    agreement = client.post("/v1/payment-agreements", json=agreement_body(
        frequency={"type": "MONTHLY"}, description="Monthly box")).json()
    aid = agreement["id"]
    assert "initialPaymentChargeId" not in agreement
    inactive = client.post(f"/v1/payment-agreements/{aid}/payment-charges",
                           json={"amount": {"value": 500, "currency": "USD"}}).json()
    assert inactive["status"] == "FAILED"
    assert inactive["failure"]["failureCode"] == "AGREEMENT_INACTIVE"
    sandbox.approve(aid)
    pending = client.post(f"/v1/payment-agreements/{aid}/payment-charges",
                          json={"amount": {"value": 500, "currency": "USD"},
                                "autoCapture": False}).json()
    assert pending["status"] == "CAPTURE_PENDING"
    revoked = client.post(f"/v1/payment-agreements/{aid}/revocations", json={})
    assert revoked.status_code == 200
    assert revoked.json() == {"status": "REVOKED"}
    after = client.get(f"/v1/payment-agreements/{aid}").json()
    assert after["status"] == "REVOKED_BY_MERCHANT"
    assert after["revocations"][0]["revocationStatus"] == "REVOKED_BY_MERCHANT"
    assert after["revocations"][0]["id"].startswith("rev_")
    assert [h["status"] for h in after["history"]] == [
        "INITIALIZING", "AUTHENTICATION_PENDING", "ACTIVE", "REVOKED_BY_MERCHANT"]
    assert all(h["id"].startswith("ahist_") for h in after["history"])
    failed = client.post(f"/v1/payment-agreements/{aid}/payment-charges",
                         json={"amount": {"value": 500, "currency": "USD"}}).json()
    assert failed["status"] == "FAILED"
    assert failed["failure"]["failureCode"] == "AGREEMENT_REVOKED"
    again = client.post(f"/v1/payment-agreements/{aid}/revocations", json={})
    assert again.status_code == 400
    types = [e.event_type for e in sandbox.events if e.subject == aid]
    assert types == ["PAYMENT_AGREEMENT_CREATED", "PAYMENT_AGREEMENT_AUTHENTICATION_PENDING",
                     "PAYMENT_AGREEMENT_ACTIVE", "PAYMENT_AGREEMENT_REVOKED_BY_MERCHANT"]


def test_agreement_decline_fails_initial_charge(sandbox: Sandbox, client: httpx.Client) -> None:
    agreement = client.post("/v1/payment-agreements", json=agreement_body(
        initialPaymentCharge={"amount": {"value": 1000, "currency": "USD"}})).json()
    sandbox.decline(agreement["id"])
    assert client.get(f"/v1/payment-agreements/{agreement['id']}").json()["status"] == "FAILED"
    initial = client.get(f"/v1/payment-charges/{agreement['initialPaymentChargeId']}").json()
    assert initial["status"] == "FAILED"


def test_agreement_validation(client: httpx.Client) -> None:
    missing_start = agreement_body()
    del missing_start["startDate"]
    r = client.post("/v1/payment-agreements", json=missing_start)
    assert r.status_code == 400
    assert r.json()["failureMessage"] == "startDate is required"
    r = client.post("/v1/payment-agreements", json=agreement_body(description="x" * 101))
    assert r.status_code == 400
    r = client.post("/v1/payment-agreements", json=agreement_body(frequency={"type": "HOURLY"}))
    assert r.status_code == 400
    r = client.post("/v1/payment-agreements", json=agreement_body(paymentMethod="PAYPAL"))
    assert r.status_code == 200
    assert r.json()["status"] == "FAILED"
    unknown = client.post("/v1/payment-agreements/agr_nope/payment-charges",
                          json={"amount": {"value": 500, "currency": "USD"}})
    assert unknown.status_code == 400
