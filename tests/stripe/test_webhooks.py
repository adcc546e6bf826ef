"""Stripe-Signature verified through psp_core.signing; localstripe's own signed deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import CaptureMode, EventKind, Gateway, PaymentStatus, WebhookVerificationError
from psp_localstripe import WEBHOOK_SECRET, LocalStripe, LocalStripeSandbox

from .conftest import authorize_request

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EVENT = {
    "id": "evt_1",
    "type": "payment_intent.succeeded",
    "created": int(NOW.timestamp()),
    "data": {
        "object": {
            "id": "pi_1",
            "object": "payment_intent",
            "amount": 1000,
            "amount_received": 1000,
            "currency": "eur",
            "status": "succeeded",
            "metadata": {"merchant_reference": "order-1"},
        }
    },
}


def sign(body: bytes, secret: str = WEBHOOK_SECRET, at: datetime = NOW) -> str:
    stamp = str(int(at.timestamp()))
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def header(body: bytes, *signatures: str, at: datetime = NOW) -> dict[str, str]:
    parts = [f"t={int(at.timestamp())}", *(f"v1={s}" for s in signatures)]
    return {"stripe-signature": ",".join(parts)}


@pytest.fixture
def offline() -> Iterator[Gateway]:
    options = {"secret_key": "sk_test_offline", "webhook_secret": WEBHOOK_SECRET}
    with Gateway("stripe", options=options, environ={}, clock=lambda: NOW) as gateway:
        yield gateway


def test_a_signed_event_is_normalized(offline: Gateway) -> None:
    body = json.dumps(EVENT).encode()
    event = offline.parse_webhook(header(body, sign(body)), body)
    assert event.kind is EventKind.PAYMENT_CAPTURED and event.payment_id == "pi_1"
    assert event.payment_status is PaymentStatus.CAPTURED and event.merchant_reference == "order-1"
    assert event.event_id == "evt_1"


def test_any_one_of_several_v1_signatures_verifies(offline: Gateway) -> None:
    body = json.dumps(EVENT).encode()

    # Stripe sends several v1 while a secret is being rolled; any one of them may be ours.
    @given(
        position=st.integers(0, 3),
        others=st.lists(st.text("0123456789abcdef", min_size=64, max_size=64), max_size=3),
    )
    def check(position: int, others: list[str]) -> None:
        signatures = list(others)
        signatures.insert(min(position, len(signatures)), sign(body))
        assert offline.parse_webhook(header(body, *signatures), body).event_id == "evt_1"
        with pytest.raises(WebhookVerificationError):
            offline.parse_webhook(header(body, *others), body)  # none of them is ours

    check()


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_signature"),
        ({"stripe-signature": "t=1780315200"}, "malformed_signature"),
        ({"stripe-signature": "garbage"}, "malformed_signature"),
    ],
)
def test_a_missing_or_malformed_header_is_refused(
    offline: Gateway, headers: dict[str, str], reason: str
) -> None:
    with pytest.raises(WebhookVerificationError) as refused:
        offline.parse_webhook(headers, json.dumps(EVENT).encode())
    assert refused.value.reason == reason


def test_a_tampered_body_a_foreign_secret_and_a_v0_signature_are_refused(offline: Gateway) -> None:
    body = json.dumps(EVENT).encode()
    for headers, sent in (
        (header(body, sign(body)), body.replace(b"1000", b"9000")),
        (header(body, sign(body, "whsec_someone_else")), body),
        ({"stripe-signature": f"t={int(NOW.timestamp())},v0={sign(body)}"}, body),
    ):
        with pytest.raises(WebhookVerificationError):
            offline.parse_webhook(headers, sent)


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_signature_outside_the_five_minute_tolerance_is_refused(offline: Gateway, skew: timedelta) -> None:
    body = json.dumps(EVENT).encode()
    at = NOW + skew
    with pytest.raises(WebhookVerificationError) as refused:
        offline.parse_webhook(header(body, sign(body, at=at), at=at), body)
    assert refused.value.reason in ("stale_timestamp", "future_timestamp")


def test_an_unmapped_event_type_is_unhandled_never_guessed(offline: Gateway) -> None:
    body = json.dumps({**EVENT, "type": "customer.created", "data": {"object": {"id": "cus_1"}}}).encode()
    assert offline.parse_webhook(header(body, sign(body)), body).kind is EventKind.UNHANDLED


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # no stderr noise
        pass


@pytest.mark.loopback
def test_localstripes_own_signed_delivery_verifies_and_normalizes(
    localstripe: LocalStripe, sandbox: LocalStripeSandbox, gateway: Gateway
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/stripe"
        registered = httpx.post(
            f"{localstripe.url}/_config/webhooks/psp-test",
            data={"url": url, "secret": WEBHOOK_SECRET, "events[0]": "payment_intent.succeeded"},
        )
        registered.raise_for_status()
        token = sandbox.payment_method_token(authenticate=False)
        payment = gateway.authorize(authorize_request(token, capture_mode=CaptureMode.AUTOMATIC))
        deadline = time.monotonic() + 20  # localstripe delivers a second after the event
        while not any(payment.id.encode() in body for _, body in received) and time.monotonic() < deadline:
            time.sleep(0.1)
        mine = [(h, b) for h, b in received if payment.id.encode() in b]
        assert mine, "localstripe delivered no payment_intent.succeeded for the payment"
        headers, body = mine[0]
        event = gateway.parse_webhook(headers, body)
        assert event.kind is EventKind.PAYMENT_CAPTURED and event.payment_id == payment.id
        assert event.payment_status is PaymentStatus.CAPTURED
    finally:
        httpx.post(
            f"{localstripe.url}/_config/webhooks/psp-test",
            data={"url": "http://127.0.0.1:9/closed", "secret": WEBHOOK_SECRET, "events[0]": "none"},
        )
        server.shutdown()
        server.server_close()
