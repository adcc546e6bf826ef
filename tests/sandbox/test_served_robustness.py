"""Issue #12, finding 9, over real loopback HTTP: webhooks cannot make the served sandbox wait
on itself, and size and nesting limits hold on the wire."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from psp_ppro.sandbox import (
    MAX_REQUEST_BYTES,
    RunningSandbox,
    Sandbox,
    SandboxConfig,
    WebhookDelivery,
    serve_in_thread,
)
from psp_ppro.sandbox._server import loopback_sender

from .conftest import AUTH, agreement_body, charge_body

pytest.importorskip("starlette")
pytestmark = pytest.mark.loopback

ENVELOPE = {"status", "failureMessage", "timestamp"}
# A failure detector only: every call below is expected to answer at once.
TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served() -> Iterator[RunningSandbox]:
    sandbox = Sandbox(SandboxConfig(seed=3))
    with serve_in_thread(sandbox, realtime_clock=False, webhook_poll_s=3600) as running:
        yield running


def _client(running: RunningSandbox) -> httpx.Client:
    return httpx.Client(base_url=running.base_url, headers=AUTH, timeout=TIMEOUT_S)


def _own_urls(base_url: str) -> list[str]:
    port = base_url.rsplit(":", 1)[1]
    return [
        f"{base_url}/__sandbox__/webhooks/deliver",
        f"http://localhost:{port}/hooks",
        f"http://[::1]:{port}/__sandbox__/consumer/x/approve",
        f"https://127.0.0.1:{port}/hooks",
    ]


def test_a_webhooks_url_pointing_at_the_sandbox_itself_is_refused(served: RunningSandbox) -> None:
    with _client(served) as client:
        for url in _own_urls(served.base_url):
            for path, body in (
                ("/v1/payment-charges", charge_body(webhooksUrl=url)),
                ("/v1/payment-agreements", agreement_body(webhooksUrl=url)),
            ):
                answer = client.post(path, json=body)
                assert answer.status_code == 400, (url, answer.text)
                assert set(answer.json()) == ENVELOPE
                assert "webhooksUrl must not point at the sandbox itself" in answer.json()["failureMessage"]
        elsewhere = f"http://127.0.0.1:{_free_port()}/hooks"
        assert client.post("/v1/payment-charges", json=charge_body(webhooksUrl=elsewhere)).status_code == 200
    assert served.sandbox.charge_count("order-1") == 1


def test_webhooks_configured_to_the_sandboxs_own_address_are_never_posted_to_it() -> None:
    port = _free_port()
    own = f"http://127.0.0.1:{port}/__sandbox__/expire"
    sandbox = Sandbox(SandboxConfig(seed=4, default_webhooks_url=own, webhook_max_attempts=3))
    running = serve_in_thread(sandbox, port=port, realtime_clock=False, webhook_poll_s=3600)
    with running, _client(running) as client:
        client.post("/v1/payment-charges", json=charge_body())
        queued = len(sandbox.outbox)
        assert queued == 2  # created, authentication pending
        for _ in range(3):
            before = sandbox.request_count
            answer = client.post("/__sandbox__/webhooks/deliver")
            assert answer.json() == {"delivered": 0}
            client.get("/__sandbox__/clock")
            # Only the two calls above reached the sandbox: no delivery posted to itself.
            assert sandbox.request_count == before + 2
            sandbox.clock.advance(60)
    assert len(sandbox.dead_letters) == queued
    assert sandbox.outbox == []


def _delivery(url: str) -> WebhookDelivery:
    return WebhookDelivery(url, {"Content-Type": "application/json"}, b"{}", "evt", "T", "charge_x")


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("http://127.0.0.1:8001/hooks", True),
        ("http://localhost:8001/hooks", True),
        ("http://127.0.0.1:8000/hooks", False),  # the sandbox itself
        ("http://localhost:8000/", False),
        ("http://[::1]:8000/", False),
        ("https://merchant.example/hooks", False),  # never off the machine
        ("http://[", False),
        ("http://127.0.0.1:99999/", False),
    ],
)
def test_the_loopback_sender_posts_only_to_other_loopback_servers(url: str, sent: bool) -> None:
    requests: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(record)) as client:
        status = loopback_sender(client, "http://127.0.0.1:8000")(_delivery(url))
    assert (status, len(requests)) == ((204, 1) if sent else (0, 0))


class _CallingBack(BaseHTTPRequestHandler):
    """A webhook receiver that asks the sandbox to deliver again before it answers."""

    sandbox_url = ""
    received: Counter[str] = Counter()
    answers: list[tuple[int, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received[json.loads(body)["id"]] += 1
        with httpx.Client(timeout=TIMEOUT_S) as client:
            answer = client.post(f"{self.sandbox_url}/__sandbox__/webhooks/deliver")
        type(self).answers.append((answer.status_code, answer.json()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_receiver_calling_back_into_the_sandbox_during_delivery_does_not_wait_on_it() -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _CallingBack)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    sandbox = Sandbox(SandboxConfig(seed=5))
    _CallingBack.received = Counter()
    _CallingBack.answers = []
    try:
        with serve_in_thread(sandbox, realtime_clock=False, webhook_poll_s=3600) as running:
            _CallingBack.sandbox_url = running.base_url
            with _client(running) as client:
                client.post("/v1/payment-charges", json=charge_body(webhooksUrl=hook_url))
                first = client.post("/__sandbox__/webhooks/deliver").json()
    finally:
        receiver.shutdown()
        receiver.server_close()
    # Both events were delivered once, on the first attempt, and acknowledged; the receiver's
    # own delivery call got an answer instead of waiting for the run that was calling it.
    assert first == {"delivered": 2}
    assert sorted(_CallingBack.received.values()) == [1, 1]
    assert _CallingBack.answers == [(200, {"delivered": 0})] * 2
    assert sandbox.outbox == [] and sandbox.dead_letters == []


def test_an_oversized_body_on_the_wire_is_a_413_envelope(served: RunningSandbox) -> None:
    huge = b"{" + b" " * (8 * MAX_REQUEST_BYTES) + b"}"
    with _client(served) as client:
        answer = client.post(
            "/v1/payment-charges", content=huge, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 413
        assert set(answer.json()) == ENVELOPE

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
            yield b"{"
            for _ in range(64):
                yield b" " * 4096

        streamed = client.post(
            "/__sandbox__/faults", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
    assert served.sandbox.charge_count("order-1") == 0


def test_a_deeply_nested_body_on_the_wire_gets_the_envelope(served: RunningSandbox) -> None:
    raw = b"[" * 20_000 + b"]" * 20_000
    with _client(served) as client:
        answer = client.post("/v1/payment-charges", content=raw, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        assert set(answer.json()) == ENVELOPE
        assert client.post("/v1/payment-charges", json=charge_body()).status_code == 200
