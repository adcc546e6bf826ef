"""The same simulator through Starlette (ASGITransport) and over real loopback HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from psp_ppro.sandbox import Sandbox, SandboxConfig, serve_in_thread

from .conftest import AUTH, RETURN_URL, charge_body

pytest.importorskip("starlette")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_async_flow_through_asgi(sandbox: Sandbox) -> None:
    transport = httpx.ASGITransport(app=sandbox.asgi_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.local",
                                 headers=AUTH) as client:
        created = (await client.post("/v1/payment-charges",
                                     json=charge_body(autoCapture=False))).json()
        cid = created["id"]
        sandbox.approve(cid)
        assert (await client.post(f"/v1/payment-charges/{cid}/captures",
                                  json={"amount": 1000})).status_code == 200
        refund = await client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 1000})
        assert refund.json()["status"] == "PENDING"
        settled = await client.post(
            f"/__sandbox__/charges/{cid}/refunds/{refund.json()['id']}/settle", json={}
        )
        assert settled.json()["status"] == "REFUNDED"
        assert (await client.get(f"/v1/payment-charges/{cid}")).json()["status"] == "REFUNDED"
        assert (await client.get("/v1/payment-charges/charge_none")).status_code == 404
        assert (await client.get("/v1/payment-charges/x", headers={"Authorization": ""})
                ).status_code == 401


@pytest.mark.anyio
async def test_async_flow_through_transport(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://x",
                                 headers=AUTH) as client:
        cid = (await client.post("/v1/payment-charges", json=charge_body())).json()["id"]
        sandbox.cancel(cid)
        charge = (await client.get(f"/v1/payment-charges/{cid}")).json()
        assert charge["failure"]["failureCode"] == "CANCELED_BY_CONSUMER"


@pytest.mark.anyio
async def test_drop_after_store_through_asgi(sandbox: Sandbox) -> None:
    sandbox.faults.inject_next("drop_after_store")
    transport = httpx.ASGITransport(app=sandbox.asgi_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://x",
                                 headers=AUTH) as client:
        with pytest.raises(ConnectionError):
            await client.post("/v1/payment-charges", json=charge_body())
    assert sandbox.charge_count("order-1") == 1


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    fail_first = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 200
        if type(self).fail_first:
            type(self).fail_first = False
            status = 500  # force one retry
        else:
            type(self).received.append((dict(self.headers), body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.loopback
def test_loopback_end_to_end() -> None:
    _Receiver.received = []
    _Receiver.fail_first = True
    receiver = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    sandbox = Sandbox(SandboxConfig(webhook_secret="whsec_loop", webhook_retry_base_s=0.05))
    try:
        with serve_in_thread(sandbox) as running, httpx.Client(
                base_url=running.base_url, headers=AUTH, timeout=5) as client:
            created = client.post("/v1/payment-charges", json=charge_body(webhooksUrl=hook_url))
            assert created.status_code == 200
            cid = created.json()["id"]
            request_url = created.json()["authenticationMethods"][0]["details"]["requestUrl"]
            assert request_url.startswith(running.base_url)
            page = client.get(request_url)
            assert page.status_code == 200
            assert "<form" in page.text
            submitted = client.post(request_url, data={"action": "approve"})
            assert submitted.status_code == 303
            assert submitted.headers["location"] == (
                f"{RETURN_URL}?paymentChargeId={cid}&result=approved")
            assert client.get(f"/v1/payment-charges/{cid}").json()["status"] == "CAPTURED"
            sandbox.faults.inject_next("drop_after_store")
            with pytest.raises(httpx.RemoteProtocolError):
                client.post(f"/v1/payment-charges/{cid}/refunds", json={"amount": 100})
            assert sandbox.effects(cid).refunds == 1
            assert sandbox.settle_refunds(cid) == 1
            deadline = 200
            while len(_Receiver.received) < 5 and deadline:
                threading.Event().wait(0.02)
                deadline -= 1
                client.post("/__sandbox__/webhooks/deliver")
        types = [json.loads(body)["type"] for _, body in _Receiver.received]
        assert "PAYMENT_CHARGE_CAPTURE_SUCCEEDED" in types
        assert "PAYMENT_CHARGE_REFUND_SUCCEEDED" in types
        headers, body = _Receiver.received[0]
        t, s = (part.split("=", 1)[1] for part in headers["PPRO-Signature"].split(","))
        assert s == hmac.new(b"whsec_loop", f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    finally:
        receiver.shutdown()
        receiver.server_close()
