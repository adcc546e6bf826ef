"""Charge lifecycle through the in-process httpx transport."""

from __future__ import annotations

import re

import httpx
import pytest

from psp_ppro.sandbox import DECLINE_CODES, Sandbox, SandboxConfig
from psp_ppro.sandbox._charges import add_months

from .conftest import AUTH, RETURN_URL, charge_body

ID = re.compile(r"^(charge|authz|capture|refund|void|discard)_[A-Za-z0-9]{21}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _create(client: httpx.Client, **kw: object) -> dict[str, object]:
    response = client.post("/v1/payment-charges", json=charge_body(**kw))  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def test_one_time_charge_approve_capture_twice_refund_twice(
        sandbox: Sandbox, client: httpx.Client) -> None:
    created = _create(client, autoCapture=False)
    cid = str(created["id"])
    assert ID.match(cid)
    assert created["status"] == "AUTHENTICATION_PENDING"
    assert "amount" not in created
    assert created["currency"] == "USD"
    assert created["country"] == "US"
    assert TIMESTAMP.match(str(created["createdAt"]))
    method = created["authenticationMethods"][0]  # type: ignore[index]
    assert method == {"type": "REDIRECT", "details": {
        "requestUrl": f"http://sandbox.local/__sandbox__/authenticate/{cid}",
        "requestMethod": "GET"}}
    authz = created["authorizations"][0]  # type: ignore[index]
    assert authz["status"] == "AUTHENTICATION_PENDING"
    assert authz["merchantPaymentChargeReference"] == "order-1"

    assert sandbox.approve(cid) == "CAPTURE_PENDING"
    first = client.post(f"/v1/payment-charges/{cid}/captures",
                        json={"amount": 600, "merchantCaptureReference": "cap-1"})
    assert first.status_code == 200
    assert first.json()["status"] == "CAPTURED"
    assert first.json()["amount"] == 600
    assert first.json()["merchantCaptureReference"] == "cap-1"
    second = client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 400})
    assert second.status_code == 200
    charge = client.get(f"/v1/payment-charges/{cid}").json()
    assert charge["status"] == "CAPTURED"
    assert [c["amount"] for c in charge["captures"]] == [600, 400]

    r1 = client.post(f"/v1/payment-charges/{cid}/refunds",
                     json={"amount": 300, "refundReason": "RETURN"})
    assert r1.status_code == 200
    assert r1.json()["status"] == "PENDING"
    assert client.get(f"/v1/payment-charges/{cid}").json()["status"] == "REFUND_PROCESSING"
    # The pending refund reserves its amount: 701 would overdraw 1000 - 300.
    assert client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 701}).status_code == 400
    sandbox.clock.advance(sandbox.config.refund_settlement_s or 0)
    refund_1 = client.get(f"/v1/payment-charges/{cid}/refunds/{r1.json()['id']}").json()
    assert refund_1["status"] == "REFUNDED" and refund_1["refundReason"] == "RETURN"
    assert client.get(f"/v1/payment-charges/{cid}").json()["status"] == "CAPTURED"
    r2 = client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 700})
    assert r2.status_code == 200 and r2.json()["status"] == "PENDING"
    assert sandbox.settle_refunds(cid) == 1
    charge = client.get(f"/v1/payment-charges/{cid}").json()
    assert charge["status"] == "REFUNDED"
    assert sandbox.effects(cid).captures == 2
    assert sandbox.effects(cid).refunds == 2
    listed = client.get(f"/v1/payment-charges/{cid}/captures").json()
    assert [c["id"] for c in listed["data"]] == [first.json()["id"], second.json()["id"]]
    types = [e.event_type for e in sandbox.events if e.subject == cid]
    assert types == [
        "PAYMENT_CHARGE_CREATED",
        "PAYMENT_CHARGE_AUTHENTICATION_PENDING",
        "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED",
        "PAYMENT_CHARGE_CAPTURE_SUCCEEDED",
        "PAYMENT_CHARGE_CAPTURE_SUCCEEDED",
        "PAYMENT_CHARGE_REFUND_PENDING",
        "PAYMENT_CHARGE_REFUND_SUCCEEDED",
        "PAYMENT_CHARGE_REFUND_PENDING",
        "PAYMENT_CHARGE_REFUND_SUCCEEDED",
    ]
    auth_ok = next(e for e in sandbox.events if e.event_type == "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED")
    assert auth_ok.data["isMultiStep"] is True


def test_autocapture_omitted_captures_in_full_on_approval(
        sandbox: Sandbox, client: httpx.Client) -> None:
    cid = str(_create(client)["id"])
    assert sandbox.approve(cid) == "CAPTURED"
    charge = client.get(f"/v1/payment-charges/{cid}").json()
    assert [c["amount"] for c in charge["captures"]] == [1000]
    assert charge["authorizations"][0]["status"] == "AUTHORIZED"


def test_no_separate_captures_means_autocapture(client: httpx.Client) -> None:
    sb = Sandbox(SandboxConfig(separate_captures=False))
    with httpx.Client(transport=sb.transport(), base_url="http://x", headers=AUTH) as c:
        cid = c.post("/v1/payment-charges", json=charge_body(autoCapture=False)).json()["id"]
        assert sb.approve(cid) == "CAPTURED"


def test_decline_and_cancel(sandbox: Sandbox, client: httpx.Client) -> None:
    declined = str(_create(client)["id"])
    canceled = str(_create(client)["id"])
    sandbox.decline(declined)
    sandbox.cancel(canceled)
    d = client.get(f"/v1/payment-charges/{declined}").json()
    c = client.get(f"/v1/payment-charges/{canceled}").json()
    assert d["status"] == c["status"] == "FAILED"
    assert d["failure"]["failureCode"] == "AUTHENTICATION_FAILED"
    assert c["failure"]["failureCode"] == "CANCELED_BY_CONSUMER"
    assert d["authorizations"][0]["status"] == "FAILED"


@pytest.mark.parametrize(("amount", "code"), [
    (300_001, "GENERIC_DECLINE"), (300_002, "INSUFFICIENT_FUNDS"), (350_003, "SUS_FRAUD"),
    (399_904, "AUTHENTICATION_FAILED"), (300_099, "GENERIC_DECLINE")])
def test_deterministic_declines(sandbox: Sandbox, client: httpx.Client, amount: int,
                                code: str) -> None:
    assert DECLINE_CODES.get(amount % 100, "GENERIC_DECLINE") == code
    cid = str(_create(client, amount=amount)["id"])
    assert sandbox.approve(cid) == "FAILED"
    failure = client.get(f"/v1/payment-charges/{cid}").json()["failure"]
    assert failure["failureType"] == "PROVIDER_DECLINE"
    assert failure["failureCode"] == code


def test_authentication_timeout_discards(sandbox: Sandbox, client: httpx.Client) -> None:
    cid = str(_create(client)["id"])
    sandbox.clock.advance(3599)
    assert client.get(f"/v1/payment-charges/{cid}").json()["status"] == "AUTHENTICATION_PENDING"
    sandbox.clock.advance(1)
    charge = client.get(f"/v1/payment-charges/{cid}").json()
    assert charge["status"] == "DISCARDED"
    assert charge["discards"][0]["type"] == "AUTHENTICATION_TIMEOUT"
    assert ID.match(charge["discards"][0]["id"])
    discarded = [e for e in sandbox.events if e.event_type == "PAYMENT_CHARGE_DISCARDED"]
    assert discarded[0].data["discardType"] == "AUTHENTICATION_TIMEOUT"


@pytest.mark.parametrize(("override", "code"), [
    ({"paymentMethod": "PAYPAL"}, "INVALID_PAYMENT_METHOD"),
    ({"amount": {"value": 1000, "currency": "EUR"}}, "INVALID_CURRENCY"),
    ({"consumer": {"name": "J", "country": "DE"}}, "INVALID_COUNTRY"),
    ({"amount": {"value": 49, "currency": "USD"}}, "AMOUNT_NOT_SUPPORTED"),
    ({"amount": {"value": 2_000_001, "currency": "USD"}}, "AMOUNT_NOT_SUPPORTED"),
    ({"consumer": {"country": "US"}}, "INVALID_CONSUMER_DETAILS"),
    ({"authenticationSettings": []}, "INVALID_AUTHENTICATION_SETTINGS"),
])
def test_amazon_pay_rules_fail_in_band(client: httpx.Client, override: dict[str, object],
                                       code: str) -> None:
    body = charge_body()
    body.update(override)
    response = client.post("/v1/payment-charges", json=body)
    assert response.status_code == 200
    charge = response.json()
    assert charge["status"] == "FAILED"
    assert charge["failure"] == {**charge["failure"], "failureType": "INTERNAL_DECLINE",
                                 "failureCode": code, "isRetryable": False}


@pytest.mark.parametrize(("body", "fragment"), [
    (b'{"paymentMethod": "AMAZON_PAY",}', "Malformed JSON"),
    (b"[]", "Malformed JSON"),
    (b'{"paymentMethod":"AMAZON_PAY","consumer":{"country":"US"}}', "amount is required"),
    (b'{"paymentMethod":"AMAZON_PAY","amount":{"currency":"USD"},"consumer":{"country":"US"}}',
     "amount.value is required"),
    (b'{"paymentMethod":"AMAZON_PAY","amount":{"value":"10","currency":"USD"},'
     b'"consumer":{"country":"US"}}', "amount.value must be an integer"),
    (b'{"paymentMethod":"AMAZON_PAY","amount":{"value":10,"currency":"USD"}}',
     "consumer is required"),
    (b'{"amount":{"value":10,"currency":"USD"},"consumer":{"country":"US"}}',
     "paymentMethod is required"),
])
def test_malformed_requests_are_400(client: httpx.Client, body: bytes, fragment: str) -> None:
    response = client.post("/v1/payment-charges", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    envelope = response.json()
    assert envelope["status"] == 400
    assert fragment in envelope["failureMessage"]
    assert TIMESTAMP.match(envelope["timestamp"])


def test_webhooks_url_must_be_https_or_loopback(client: httpx.Client) -> None:
    bad = client.post("/v1/payment-charges",
                      json=charge_body(webhooksUrl="http://merchant.example/hook"))
    assert bad.status_code == 400
    assert "webhooksUrl" in bad.json()["failureMessage"]
    for url in ("https://merchant.example/hook", "http://127.0.0.1:8080/h", "http://localhost/h",
                "http://[::1]:9/h"):
        assert client.post("/v1/payment-charges",
                           json=charge_body(webhooksUrl=url)).status_code == 200


def test_content_type_must_be_json(client: httpx.Client) -> None:
    response = client.post("/v1/payment-charges", content=b"{}",
                           headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer k"}, {"Merchant-Id": "m"},
    {"Authorization": "Basic abc", "Merchant-Id": "m"}, {"Authorization": "Bearer ", "Merchant-Id": "m"}])
def test_missing_credentials_are_401(sandbox: Sandbox, headers: dict[str, str]) -> None:
    with httpx.Client(transport=sandbox.transport(), base_url="http://x") as c:
        response = c.get("/v1/payment-charges/charge_x", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_configured_credentials_are_enforced() -> None:
    sb = Sandbox(SandboxConfig(api_key="key_right", merchant_id="merch_right"))
    with httpx.Client(transport=sb.transport(), base_url="http://x") as c:
        wrong = c.get("/v1/payment-charges/charge_x",
                      headers={"Authorization": "Bearer key_wrong", "Merchant-Id": "merch_right"})
        right = c.get("/v1/payment-charges/charge_x",
                      headers={"Authorization": "Bearer key_right", "Merchant-Id": "merch_right"})
    assert wrong.status_code == 401
    assert right.status_code == 404


def test_unknown_ids(client: httpx.Client) -> None:
    assert client.get("/v1/payment-charges/charge_nope").status_code == 404
    assert client.get("/v1/payment-agreements/agr_nope").status_code == 404
    # PPRO documents 400 for an operation against an unknown charge id.
    capture = client.post("/v1/payment-charges/charge_nope/captures", json={"amount": 1})
    assert capture.status_code == 400
    assert capture.json()["failureMessage"] == "Payment charge not found"


def test_wrong_state_and_over_amounts_are_400(sandbox: Sandbox, client: httpx.Client) -> None:
    cid = str(_create(client, autoCapture=False)["id"])
    pending = client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 100})
    assert pending.status_code == 400
    assert "AUTHENTICATION_PENDING" in pending.json()[
        "failureMessage"]
    refund_early = client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 100})
    assert refund_early.status_code == 400
    sandbox.approve(cid)
    over = client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 1001})
    assert over.status_code == 400
    assert "exceeds" in over.json()["failureMessage"]
    assert client.post(f"/v1/payment-charges/{cid}/voids", json={}).status_code == 400
    assert client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 0}).status_code == 400
    assert client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 700}).status_code == 200
    void = client.post(f"/v1/payment-charges/{cid}/voids", json={"amount": 300})
    assert void.status_code == 200
    assert void.json()["status"] == "VOIDED"
    assert client.get(f"/v1/payment-charges/{cid}").json()["status"] == "VOIDED"
    nothing_left = client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 1})
    assert nothing_left.status_code == 400
    over_refund = client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 701})
    assert over_refund.status_code == 400
    bad_reason = client.post(f"/v1/payment-charges/{cid}/refunds",
                             json={"amount": 1, "refundReason": "BORED"})
    assert bad_reason.status_code == 400
    assert "refundReason" in bad_reason.json()["failureMessage"]
    assert sandbox.effects(cid).captures == 1
    assert sandbox.effects(cid).refunds == 0


def test_refund_after_window_fails_in_band(sandbox: Sandbox, client: httpx.Client) -> None:
    cid = str(_create(client)["id"])
    sandbox.approve(cid)
    captured_at = sandbox.clock.now()
    # Six calendar months after the first capture, to the second (not a fixed 183 days).
    sandbox.clock.advance((add_months(captured_at, 6) - captured_at).total_seconds() - 60)
    assert (
        client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 100}).json()["status"] == "PENDING"
    )
    sandbox.clock.advance(120)
    late = client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 100})
    assert late.status_code == 200
    assert late.json()["status"] == "FAILED"
    assert late.json()["failure"]["failureCode"] == "REFUND_PERIOD_EXPIRED"
    assert sandbox.events[-1].event_type == "PAYMENT_CHARGE_REFUND_FAILED"


def test_chargeback_emits_event(sandbox: Sandbox, client: httpx.Client) -> None:
    cid = str(_create(client)["id"])
    with pytest.raises(Exception, match="nothing captured"):
        sandbox.chargeback(cid)
    sandbox.approve(cid)
    sandbox.chargeback(cid, amount=250)
    event = sandbox.events[-1]
    assert event.event_type == "CHARGEBACK_SUCCEEDED"
    assert event.data == {"paymentChargeId": cid, "type": "CHARGEBACK_SUCCEEDED",
                          "merchantId": "merch_test", "amount": {"value": 250, "currency": "USD"}}
    assert client.get(f"/v1/payment-charges/{cid}").json()["status"] == "CAPTURED"


def test_search_by_reference(sandbox: Sandbox, client: httpx.Client) -> None:
    _create(client, merchantPaymentChargeReference="dup")
    _create(client, merchantPaymentChargeReference="dup")
    _create(client, merchantPaymentChargeReference="other")
    found = client.get("/v1/payment-charges", params={"merchantPaymentChargeReference": "dup"})
    assert found.status_code == 200
    assert len(found.json()["data"]) == 2
    assert sandbox.charge_count("dup") == 2
    assert client.get("/v1/payment-charges").status_code == 400


def test_hosted_page_via_transport(sandbox: Sandbox, client: httpx.Client) -> None:
    cid = str(_create(client)["id"])
    page = client.get(f"/__sandbox__/authenticate/{cid}")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert 'value="approve"' in page.text
    assert 'value="cancel"' in page.text
    submitted = client.post(f"/__sandbox__/authenticate/{cid}", data={"action": "approve"})
    assert submitted.status_code == 303
    assert submitted.headers["location"] == (
        f"{RETURN_URL}?paymentChargeId={cid}&result=approved")
    assert client.get(f"/v1/payment-charges/{cid}").json()["status"] == "CAPTURED"
    again = client.post(f"/__sandbox__/authenticate/{cid}", data={"action": "decline"})
    assert again.status_code == 409


def test_a_pending_refund_can_be_failed_and_its_amount_is_refundable_again(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    cid = str(_create(client)["id"])
    sandbox.approve(cid)
    pending = client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 600}).json()
    failed = sandbox.settle_refund(cid, pending["id"], succeed=False)
    assert failed["status"] == "FAILED" and failed["failure"]["failureCode"] == "GENERIC_DECLINE"
    assert sandbox.events[-1].event_type == "PAYMENT_CHARGE_REFUND_FAILED"
    with pytest.raises(Exception, match="already FAILED"):
        sandbox.settle_refund(cid, pending["id"])
    again = client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 1000})
    assert again.status_code == 200 and again.json()["status"] == "PENDING"


def test_chargebacks_follow_the_balance_rules(sandbox: Sandbox, client: httpx.Client) -> None:
    """Issue 12 finding 6: chargebacks <= captured - refunded; nothing after a full refund."""
    cid = str(_create(client)["id"])
    sandbox.approve(cid)  # 1000 captured
    client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 300})  # pending, reserved
    with pytest.raises(Exception, match="from 1 to 700"):
        sandbox.chargeback(cid, 701)
    assert sandbox.chargeback(cid, 200).amount == 200
    # A refund after a chargeback is held to the same balance.
    assert client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 501}).status_code == 400
    assert sandbox.chargeback(cid).amount == 500  # everything still held
    with pytest.raises(Exception, match="nothing left to charge back"):
        sandbox.chargeback(cid, 1)
    assert client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 1}).status_code == 400
    # The charge itself never shows a chargeback: only the events do.
    assert "chargebacks" not in client.get(f"/v1/payment-charges/{cid}").json()
    other = str(_create(client)["id"])
    sandbox.approve(other)
    client.post(f"/v1/payment-charges/{other}/refunds", json={"amount": 1000})
    sandbox.settle_refunds(other)
    with pytest.raises(Exception, match="nothing left to charge back"):
        sandbox.chargeback(other)


def test_the_admin_chargeback_route_validates_its_amount(sandbox: Sandbox, client: httpx.Client) -> None:
    cid = str(_create(client)["id"])
    sandbox.approve(cid)
    for bad in ("250", 2.5, True):
        answer = client.post(f"/__sandbox__/charges/{cid}/chargeback", json={"amount": bad})
        assert answer.status_code == 400, bad
    assert sandbox.chargebacks == []
    assert client.post(f"/__sandbox__/charges/{cid}/chargeback", json={"amount": 2000}).status_code == 409
    ok = client.post(f"/__sandbox__/charges/{cid}/chargeback", json={"amount": 250})
    assert ok.json() == {"paymentChargeId": cid, "amount": 250}
    settle = client.post(f"/__sandbox__/charges/{cid}/refunds/nope/settle", json={"outcome": "fail"})
    assert settle.status_code == 409


def test_an_authorization_not_captured_within_30_days_is_released(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    cid = str(client.post("/v1/payment-charges", json=charge_body(autoCapture=False)).json()["id"])
    sandbox.approve(cid)
    client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 400})
    sandbox.clock.advance(sandbox.config.authorization_validity_s - 10)
    assert client.get(f"/v1/payment-charges/{cid}").json()["voids"] == []
    sandbox.clock.advance(20)
    charge = client.get(f"/v1/payment-charges/{cid}").json()
    assert [(v["amount"], v["status"]) for v in charge["voids"]] == [(600, "VOIDED")]
    assert "merchantVoidReference" not in charge["voids"][0]
    late = client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 1})
    assert late.status_code == 400
