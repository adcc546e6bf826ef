"""What every benchmark shares: client settings, the recorded exchanges and their replay.

The raw-httpx floor must send byte-for-byte what the gateway sends, so the exchanges are
recorded from a real gateway run (an httpx event hook on a separate warm-up client) and
replayed with fresh idempotency keys and request references, never hand-written.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from psp_core import (
    AsyncGateway,
    AuthorizeRequest,
    CaptureMode,
    CaptureRequest,
    Consumer,
    Gateway,
    Money,
    Payment,
    RefundRequest,
)
from psp_ppro.sandbox import Sandbox

OPERATIONS = ("authorize", "get", "capture", "refund")
API_KEY = "key_bench_0123456789abcdef"
MERCHANT_ID = "merchant_bench"
IDEMPOTENCY_HEADER = "request-idempotency-key"
REFERENCE_HEADER = "request-reference"
TIMEOUT_S = 30.0
# The gateway's configured timeout and httpx's default pool, written out so both sides get
# exactly the same client whatever httpx's defaults become.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
# Headers httpx.Client adds by itself; the replay lets the raw client add them the same way.
_CLIENT_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent"})


def options(base_url: str) -> dict[str, object]:
    return {"api_key": API_KEY, "merchant_id": MERCHANT_ID, "base_url": base_url}


def make_client(
    transport: httpx.BaseTransport | None = None,
    limits: httpx.Limits = DEFAULT_LIMITS,
    event_hooks: dict[str, list[Callable[..., object]]] | None = None,
) -> httpx.Client:
    return httpx.Client(
        transport=transport,
        timeout=TIMEOUT_S,
        limits=limits,
        http1=True,
        http2=False,
        event_hooks=event_hooks,
    )


def make_async_client(limits: httpx.Limits) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT_S, limits=limits, http1=True, http2=False)


def gateway(base_url: str, client: httpx.Client) -> Gateway:
    # Default RetryPolicy and default logging: exactly what a host gets.
    return Gateway("amazon_pay", options=options(base_url), environ={}, client=client)


def async_gateway(base_url: str, client: httpx.AsyncClient) -> AsyncGateway:
    return AsyncGateway("amazon_pay", options=options(base_url), environ={}, client=client)


AUTHORIZE = AuthorizeRequest(
    amount=Money(1000, "USD"),
    consumer=Consumer(country="US", name="John Smith"),
    return_url="https://shop.example/return",
    merchant_reference="order-bench",
    capture_mode=CaptureMode.SEPARATE,
)


@dataclass(frozen=True)
class Recorded:
    """One exchange as the gateway sent it, and the answer it got, ready for replay."""

    operation: str
    method: str
    path: str  # "{id}" stands for the charge id
    headers: tuple[tuple[str, str], ...]
    body: bytes
    key_prefix: str | None  # "capture:" for "capture:<hex>"; None on a GET
    status: int
    response_headers: tuple[tuple[bytes, bytes], ...]
    response_body: bytes

    def url(self, base_url: str, charge_id: str) -> str:
        return base_url + self.path.replace("{id}", charge_id)

    def fresh_headers(self) -> dict[str, str]:
        """The recorded headers with a new request reference and idempotency key, as the gateway does."""
        headers = dict(self.headers)
        for name in headers:
            lowered = name.lower()
            if lowered == REFERENCE_HEADER:
                headers[name] = uuid.uuid4().hex
            elif lowered == IDEMPOTENCY_HEADER and self.key_prefix is not None:
                headers[name] = self.key_prefix + uuid.uuid4().hex
        return headers

    def canned(self) -> httpx.Response:
        return httpx.Response(self.status, headers=list(self.response_headers), content=self.response_body)


def record(base_url: str, sandbox: Sandbox) -> dict[str, Recorded]:
    """Run one authorize/get/capture/refund through a gateway and record every exchange."""
    seen: list[tuple[httpx.Request, httpx.Response]] = []

    def on_response(response: httpx.Response) -> None:
        response.read()
        seen.append((response.request, response))

    client = make_client(event_hooks={"response": [on_response]})
    with gateway(base_url, client) as gw, client:
        payment = gw.authorize(AUTHORIZE)
        sandbox.approve(payment.id)
        payment = gw.get_payment(payment.id)
        payment = gw.capture(CaptureRequest(payment=payment))
        gw.refund(RefundRequest(payment=payment))
    if len(seen) != len(OPERATIONS):
        raise RuntimeError(f"expected {len(OPERATIONS)} exchanges, the gateway made {len(seen)}")
    recorded = {}
    for operation, (request, response) in zip(OPERATIONS, seen, strict=True):
        headers = tuple(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.headers.raw
            if k.decode("latin-1").lower() not in _CLIENT_HEADERS
        )
        key = request.headers.get(IDEMPOTENCY_HEADER)
        recorded[operation] = Recorded(
            operation=operation,
            method=request.method,
            path=request.url.raw_path.decode("ascii").replace(payment.id, "{id}"),
            headers=headers,
            body=request.content,
            key_prefix=None if key is None else key.rsplit(":", 1)[0] + ":",
            status=response.status_code,
            response_headers=tuple(
                (k, v) for k, v in response.headers.raw if k.lower() not in (b"date", b"server")
            ),
            response_body=response.content,
        )
    return recorded


def raw_send(client: httpx.Client, exchange: Recorded, base_url: str, charge_id: str) -> httpx.Response:
    """The floor: one identical request with plain httpx, checked like any careful client would."""
    response = client.request(
        exchange.method,
        exchange.url(base_url, charge_id),
        headers=exchange.fresh_headers(),
        content=exchange.body or None,
    )
    if response.status_code != 200:
        raise RuntimeError(f"raw {exchange.operation}: HTTP {response.status_code}: {response.text[:200]}")
    return response


async def raw_send_async(
    client: httpx.AsyncClient, exchange: Recorded, base_url: str, charge_id: str
) -> httpx.Response:
    response = await client.request(
        exchange.method,
        exchange.url(base_url, charge_id),
        headers=exchange.fresh_headers(),
        content=exchange.body or None,
    )
    if response.status_code != 200:
        raise RuntimeError(f"raw {exchange.operation}: HTTP {response.status_code}")
    return response


class CannedTransport(httpx.BaseTransport):
    """Answers instantly from a queue of prebuilt responses, so only client CPU is left."""

    def __init__(self) -> None:
        self.queue: deque[httpx.Response] = deque()

    def load(self, responses: Sequence[httpx.Response]) -> None:
        self.queue.clear()
        self.queue.extend(responses)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.queue.popleft()


def check(payment: Payment, operation: str) -> Payment:
    """Refuse to time a run that did not do what it says (a decline would be much cheaper)."""
    if payment.decline is not None:
        raise RuntimeError(f"gateway {operation} was declined: {payment.decline}")
    return payment


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


class Progress:
    """Progress on stderr, so the table on stdout stays clean for the reader (and for pipes)."""

    def __init__(self, section: str, total: int) -> None:
        self.section = section
        self.total = max(total, 1)
        self.step = max(self.total // 10, 1)
        self.started = time.perf_counter()
        print(f"[{section}] started ({total} steps)", file=sys.stderr, flush=True)

    def tick(self, done: int) -> None:
        if done % self.step == 0 and done < self.total:
            print(f"[{self.section}] {done}/{self.total}", file=sys.stderr, flush=True)

    def done(self, summary: str = "") -> None:
        elapsed = time.perf_counter() - self.started
        print(f"[{self.section}] done in {elapsed:.1f}s {summary}".rstrip(), file=sys.stderr, flush=True)


# serve_in_thread's uvicorn closes keep-alive connections idle for 5 s; at 200 in flight
# httpcore's pool can leave one idle that long, and the raw side (which does not retry) then
# races the close ("Server disconnected"). A long keep-alive takes that race out.
_SERVE = """
import sys, threading, time
import uvicorn
from psp_ppro.sandbox import Sandbox, SandboxConfig
sandbox = Sandbox(SandboxConfig())
config = uvicorn.Config(sandbox.asgi_app(), host="127.0.0.1", port=0, log_level="warning",
                        lifespan="off", access_log=False, timeout_keep_alive=300)
server = uvicorn.Server(config)
thread = threading.Thread(target=server.run, daemon=True)
thread.start()
deadline = time.monotonic() + 20
while not server.started:
    if not thread.is_alive() or time.monotonic() > deadline:
        sys.exit("the sandbox did not start")
    time.sleep(0.01)
port = server.servers[0].sockets[0].getsockname()[1]
sandbox.simulator.base_url = f"http://127.0.0.1:{port}"
print(sandbox.simulator.base_url, flush=True)
sys.stdin.read()  # until the parent closes our stdin (or dies)
server.should_exit = True
thread.join(timeout=5)
"""


@contextmanager
def served_elsewhere() -> Iterator[str]:
    """A sandbox on 127.0.0.1 in a child process; it exits when its stdin closes."""
    child = subprocess.Popen(  # noqa: S603 - our own interpreter running our own snippet
        [sys.executable, "-c", _SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the sandbox process did not start (said {base_url!r})")
        yield base_url
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
