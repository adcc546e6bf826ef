"""Idempotency, fault injection and webhook delivery/signatures."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from psp_ppro.sandbox import Sandbox, SandboxConfig, WebhookDelivery

from .conftest import AUTH, WEBHOOK_SECRET, charge_body


def _key(value: str) -> dict[str, str]:
    return {"Request-Idempotency-Key": value}


def test_idempotent_replay(sandbox: Sandbox, client: httpx.Client) -> None:
    first = client.post("/v1/payment-charges", json=charge_body(), headers=_key("k1"))
    replay = client.post("/v1/payment-charges", json=charge_body(), headers=_key("k1"))
    assert replay.status_code == 200
    assert replay.content == first.content
    assert replay.headers["Request-Idempotency"] == "true"
    assert "Request-Idempotency" not in first.headers
    assert sandbox.charge_count("order-1") == 1
    other = client.post("/v1/payment-charges", json=charge_body(amount=999), headers=_key("k1"))
    assert other.status_code == 409
    assert other.json()["status"] == 409
    # A different path is a different scope.
    cid = first.json()["id"]
    sandbox.approve(cid)
    refund = client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 10},
                         headers=_key("k1"))
    assert refund.status_code == 200


def test_idempotency_keys_expire_after_24h(sandbox: Sandbox, client: httpx.Client) -> None:
    client.post("/v1/payment-charges", json=charge_body(), headers=_key("k"))
    sandbox.clock.advance(24 * 3600)
    again = client.post("/v1/payment-charges", json=charge_body(), headers=_key("k"))
    assert "Request-Idempotency" not in again.headers
    assert sandbox.charge_count("order-1") == 2


def test_4xx_is_not_stored(sandbox: Sandbox, client: httpx.Client) -> None:
    cid = client.post("/v1/payment-charges", json=charge_body(autoCapture=False)).json()["id"]
    early = client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 100},
                        headers=_key("cap"))
    assert early.status_code == 400
    sandbox.approve(cid)
    later = client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 100},
                        headers=_key("cap"))
    assert later.status_code == 200
    assert "Request-Idempotency" not in later.headers


def test_in_flight_conflict(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.faults.inject_next("409_in_flight")
    plain = client.post("/v1/payment-charges", json=charge_body())  # no key: not consumed
    assert plain.status_code == 200
    conflict = client.post("/v1/payment-charges", json=charge_body(), headers=_key("f"))
    assert conflict.status_code == 409
    retry = client.post("/v1/payment-charges", json=charge_body(), headers=_key("f"))
    assert retry.status_code == 200


def test_drop_after_store_then_retry_with_key_has_one_effect(
        sandbox: Sandbox, client: httpx.Client) -> None:
    cid = client.post("/v1/payment-charges", json=charge_body(autoCapture=False)).json()["id"]
    sandbox.approve(cid)
    sandbox.faults.inject_next("drop_after_store")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 500},
                    headers=_key("c1"))
    assert sandbox.effects(cid).captures == 1  # stored despite the drop
    retry = client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 500},
                        headers=_key("c1"))
    assert retry.status_code == 200
    assert retry.headers["Request-Idempotency"] == "true"
    assert sandbox.effects(cid).captures == 1


@pytest.mark.parametrize("kind", ["500", "503"])
def test_server_errors_do_not_perform(sandbox: Sandbox, client: httpx.Client, kind: str) -> None:
    sandbox.faults.inject_next(kind)
    response = client.post("/v1/payment-charges", json=charge_body())
    assert response.status_code == int(kind)
    assert response.json()["status"] == int(kind)
    assert sandbox.charge_count("order-1") == 0
    assert client.post("/v1/payment-charges", json=charge_body()).status_code == 200


def test_rate_limit_and_timeout(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.faults.inject_next("429", count=2, retry_after=3)
    for _ in range(2):
        limited = client.get("/v1/payment-charges", params={"agreementId": "agr_x"})
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "3"
    sandbox.faults.inject_next("timeout")
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v1/payment-charges", json=charge_body())
    assert sandbox.charge_count("order-1") == 0


def test_random_faults_are_seeded() -> None:
    def run() -> list[int]:
        sb = Sandbox(SandboxConfig(seed=7))
        sb.faults.error_rate = 0.3
        with httpx.Client(transport=sb.transport(), base_url="http://x", headers=AUTH) as c:
            return [c.get("/v1/payment-charges/charge_x").status_code for _ in range(30)]
    first, second = run(), run()
    assert first == second
    assert 500 in first
    assert 404 in first


def test_transport_counts_requests(sandbox: Sandbox) -> None:
    transport = sandbox.transport()
    with httpx.Client(transport=transport, base_url="http://x", headers=AUTH) as c:
        c.get("/v1/payment-charges/charge_a")
        c.post("/v1/payment-charges", json=charge_body())
    assert transport.request_count == 2
    assert transport.requests[1] == ("POST", "/v1/payment-charges")


def _verify(delivery: WebhookDelivery, secret: str) -> None:
    header = delivery.headers["PPRO-Signature"]
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + delivery.body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["s"], expected)


def test_webhook_envelope_and_signature(sandbox: Sandbox, client: httpx.Client) -> None:
    cid = client.post("/v1/payment-charges", json=charge_body()).json()["id"]
    deliveries = sandbox.pending_webhooks()
    assert [d.event_type for d in deliveries] == [
        "PAYMENT_CHARGE_CREATED", "PAYMENT_CHARGE_AUTHENTICATION_PENDING"]
    for delivery in deliveries:
        _verify(delivery, WEBHOOK_SECRET)
        envelope = json.loads(delivery.body)
        assert envelope["specversion"] == "1.0.2"
        assert envelope["source"] == "https://www.ppro.com"
        assert envelope["subject"] == cid
        assert len(envelope["id"]) == 21
        assert envelope["data"]["paymentChargeId"] == cid
        assert delivery.url == "https://merchant.example/webhooks"
    t = int(deliveries[0].headers["PPRO-Signature"].split(",")[0][2:])
    assert t == int(sandbox.clock.now().timestamp())


def test_legacy_signature() -> None:
    sb = Sandbox(SandboxConfig(webhook_secret="s3", legacy_signature=True,
                               default_webhooks_url="https://m.example/h"))
    with httpx.Client(transport=sb.transport(), base_url="http://x", headers=AUTH) as c:
        c.post("/v1/payment-charges", json=charge_body())
    delivery = sb.pending_webhooks()[0]
    assert delivery.headers["Webhook-Signature"] == hashlib.sha256(
        delivery.body + b".s3").hexdigest()
    _verify(delivery, "s3")


def test_events_without_url_are_recorded_not_queued() -> None:
    sb = Sandbox(SandboxConfig())
    with httpx.Client(transport=sb.transport(), base_url="http://x", headers=AUTH) as c:
        c.post("/v1/payment-charges", json=charge_body())
    assert len(sb.events) == 2
    assert sb.pending_webhooks() == []


def test_webhook_retry_with_backoff(sandbox: Sandbox, client: httpx.Client) -> None:
    client.post("/v1/payment-charges", json=charge_body())
    received: list[WebhookDelivery] = []
    statuses = iter([500, 503])

    def flaky(delivery: WebhookDelivery) -> int:
        received.append(delivery)
        return next(statuses, 200)

    assert sandbox.drain_webhooks(flaky) == 0  # both fail
    assert sandbox.drain_webhooks(flaky) == 0  # nothing due yet on the sandbox clock
    sandbox.clock.advance(0.05)
    assert sandbox.drain_webhooks(flaky) == 2
    assert [d.attempt for d in received] == [1, 1, 2, 2]
    assert sandbox.outbox == []


def test_webhook_dead_letter_after_max_attempts() -> None:
    sb = Sandbox(SandboxConfig(webhook_max_attempts=3, webhook_retry_base_s=1,
                               default_webhooks_url="https://m.example/h"))
    with httpx.Client(transport=sb.transport(), base_url="http://x", headers=AUTH) as c:
        c.post("/v1/payment-charges", json=charge_body(paymentMethod="NOPE"))

    def broken(delivery: WebhookDelivery) -> int:
        raise ConnectionError("receiver down")

    for _ in range(3):
        sb.drain_webhooks(broken)
        sb.clock.advance(10)
    assert len(sb.dead_letters) == 2
    assert sb.outbox == []


def test_duplicate_and_reordered_webhooks(sandbox: Sandbox, client: httpx.Client) -> None:
    for _ in range(4):
        client.post("/v1/payment-charges", json=charge_body())
    sandbox.faults.duplicate_webhooks = True
    sandbox.faults.reorder_webhooks = True
    received: list[str] = []
    assert sandbox.drain_webhooks(lambda d: received.append(d.event_id) or 204) == 8
    assert len(received) == 16
    assert len(set(received)) == 8
    assert received[::2] != [e.event_id for e in sandbox.events]
