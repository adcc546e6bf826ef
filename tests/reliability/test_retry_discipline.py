"""Retry discipline of the core, proven on Amazon Pay over the PPRO sandbox.

Every scenario counts the requests that reached the provider: a bounded number of attempts,
backoff with jitter, the same idempotency key on every attempt, and no retry of a 4xx other
than PPRO's in-flight 409 and 429. Both gateways run every scenario.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest

from psp_core import (
    AsyncGateway,
    Gateway,
    IdempotencyConflictError,
    Money,
    Payment,
    PaymentStatus,
    ProviderError,
    PspError,
    RateLimitedError,
    RetryPolicy,
    TransportError,
)
from psp_ppro.sandbox import FAULT_KINDS, Sandbox, serve_in_thread

from .conftest import (
    API_KEY,
    async_sandbox_gateway,
    authorize_request,
    new_sandbox,
    options,
    run,
    sandbox_gateway,
)

ATTEMPTS = 4
KEY_HEADER = "request-idempotency-key"


class Recording(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wraps a transport and records what reached it: method, path and idempotency key."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, str | None]] = []

    def _note(self, request: httpx.Request) -> None:
        self.seen.append((request.method, request.url.path, request.headers.get(KEY_HEADER)))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._note(request)
        response: httpx.Response = self.inner.handle_request(request)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._note(request)
        response: httpx.Response = await self.inner.handle_async_request(request)
        return response

    @property
    def count(self) -> int:
        return len(self.seen)

    def post_keys(self) -> set[str | None]:
        return {key for method, _, key in self.seen if method == "POST"}


class Driver:
    """One gateway, sync or async, called synchronously so a scenario is written once."""

    def __init__(self, kind: str, sb: Sandbox, transport: Any, retry: RetryPolicy, **opts: object) -> None:
        self.kind = kind
        self.gw: Gateway | AsyncGateway
        if kind == "sync":
            self.gw = sandbox_gateway(sb, transport, retry, **opts)
        else:
            self.gw = async_sandbox_gateway(sb, transport, retry, **opts)

    def __call__(self, method: str, *args: Any) -> Any:
        if isinstance(self.gw, Gateway):
            return getattr(self.gw, method)(*args)
        return run(getattr(self.gw, method)(*args))

    def close(self) -> None:
        if isinstance(self.gw, Gateway):
            self.gw.close()
        else:
            run(self.gw.aclose())


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def driver(
    kind: str, sb: Sandbox, transport: Any = None, retry: RetryPolicy | None = None, **opts: object
) -> Driver:
    return Driver(
        kind, sb, transport or Recording(sb.transport()), retry or RetryPolicy.no_wait(ATTEMPTS), **opts
    )


def unknown_charge(minor: int = 1000) -> Payment:
    """A payment the host believes is authorized, under an id PPRO never issued."""
    return Payment.new(
        "amazon_pay",
        "charge_never_issued",
        PaymentStatus.AUTHORIZED,
        Money(minor, "USD"),
        authorized=Money(minor, "USD"),
    )


def error_envelope(status: int, message: str) -> httpx.Response:
    body = {"status": status, "failureMessage": message, "timestamp": "2026-01-15T12:00:00.000Z"}
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


# -- the table: one row per way a provider can answer, with the requests it must cost ----------


@attrs.frozen
class Row:
    name: str
    fault: str | None
    count: int
    operation: str  # "authorize" (a write) or "get" (a read)
    requests: int
    raises: type[Exception] | None
    outcome_unknown: bool | None = None
    charges: int | None = None
    then: tuple[str, int] | None = None


ROWS = [
    # Faults the core retries: the first attempt plus as many retries as the faults need.
    Row("429 twice, then served", "429", 2, "authorize", 3, None, charges=1),
    Row("429 outlasting the attempts", "429", ATTEMPTS, "authorize", ATTEMPTS, RateLimitedError, charges=0),
    Row("409 in flight twice, then served", "409_in_flight", 2, "authorize", 3, None, charges=1),
    Row(
        "409 in flight outlasting the attempts",
        "409_in_flight",
        ATTEMPTS,
        "authorize",
        ATTEMPTS,
        TransportError,
        outcome_unknown=True,
        charges=0,
    ),
    Row("500 twice, then served", "500", 2, "authorize", 3, None, charges=1),
    Row(
        "500 on a write outlasting the attempts",
        "500",
        ATTEMPTS,
        "authorize",
        ATTEMPTS,
        TransportError,
        outcome_unknown=True,
        charges=0,
    ),
    Row("503 on a read outlasting the attempts", "503", ATTEMPTS, "get", ATTEMPTS, ProviderError),
    Row("503 once, then served", "503", 1, "authorize", 2, None, charges=1),
    Row("dropped after the charge was stored", "drop_after_store", 1, "authorize", 2, None, charges=1),
    # Stored, dropped, then 5xx until the budget is spent: unknown to the host, yet one charge
    # exists, which the key (or find_payment by reference) recovers.
    Row(
        "dropped, then 500 until the attempts run out",
        "drop_after_store",
        1,
        "authorize",
        ATTEMPTS,
        TransportError,
        outcome_unknown=True,
        charges=1,
        then=("500", ATTEMPTS - 1),
    ),
    Row("timeout once, then served", "timeout", 1, "authorize", 2, None, charges=1),
    Row(
        "timeout on every attempt",
        "timeout",
        ATTEMPTS,
        "authorize",
        ATTEMPTS,
        TransportError,
        outcome_unknown=True,
        charges=0,
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_retryable_answers_cost_exactly_the_attempts_they_need_with_one_key(kind: str, row: Row) -> None:
    sb = new_sandbox()
    recording = Recording(sb.transport())
    drive = driver(kind, sb, recording)
    try:
        if row.operation == "get":
            # The charge exists; only the read of it fails.
            created = drive("authorize", authorize_request())
            recording.seen.clear()
            assert row.fault is not None
            sb.faults.inject_next(row.fault, row.count)
            call: Callable[[], Any] = lambda: drive("get_payment", created.id)  # noqa: E731
        else:
            assert row.fault is not None
            sb.faults.inject_next(row.fault, row.count)
            if row.then is not None:
                sb.faults.inject_next(*row.then)
            call = lambda: drive("authorize", authorize_request(idempotency_key="order-1-try"))  # noqa: E731
        if row.raises is None:
            payment = call()
            assert payment.status is PaymentStatus.REQUIRES_ACTION
        else:
            with pytest.raises(row.raises) as caught:
                call()
            if row.outcome_unknown is not None:
                assert isinstance(caught.value, TransportError)
                assert caught.value.outcome_unknown is row.outcome_unknown
                assert caught.value.idempotency_key == "order-1-try"
        assert recording.count == row.requests, recording.seen
        if row.operation == "authorize":
            # Every attempt of one write carries the same key, so it can take effect once.
            assert len(recording.post_keys()) == 1
            assert None not in recording.post_keys()
        if row.charges is not None:
            assert sb.charge_count("order-1") == row.charges
        assert sb.faults.pending_injections == []
    finally:
        drive.close()


# 4xx answers are final: exactly one request, never a retry.


def _bad_request(sb: Sandbox, drive: Driver) -> Any:
    return drive("capture", _capture(unknown_charge()))


def _capture(payment: Payment) -> Any:
    from psp_core import CaptureRequest

    return CaptureRequest(payment=payment)


def _not_found(sb: Sandbox, drive: Driver) -> Any:
    return drive("get_payment", "charge_never_issued")


def _conflict(sb: Sandbox, drive: Driver) -> Any:
    drive("authorize", authorize_request(idempotency_key="reused-key"))
    # The same key with another body: PPRO's final 409, not the in-flight one.
    return drive("authorize", authorize_request(20_000, idempotency_key="reused-key"))


FOUR_XX: list[tuple[str, int, type[Exception], Callable[[Sandbox, Driver], Any], int]] = [
    ("400 operation on an unknown charge", 400, ProviderError, _bad_request, 1),
    ("404 read of an unknown charge", 404, ProviderError, _not_found, 1),
    ("409 key reused with another body", 409, IdempotencyConflictError, _conflict, 2),
]


@pytest.mark.parametrize(
    ("status", "error", "scenario", "requests"),
    [row[1:] for row in FOUR_XX],
    ids=[row[0] for row in FOUR_XX],
)
def test_client_errors_from_the_sandbox_are_never_retried(
    kind: str, status: int, error: type[Exception], scenario: Callable[[Sandbox, Driver], Any], requests: int
) -> None:
    sb = new_sandbox()
    recording = Recording(sb.transport())
    drive = driver(kind, sb, recording)
    try:
        with pytest.raises(error) as caught:
            scenario(sb, drive)
        assert isinstance(caught.value, ProviderError)
        assert caught.value.http_status == status
        assert recording.count == requests, recording.seen
    finally:
        drive.close()


def test_401_is_never_retried(kind: str) -> None:
    sb = new_sandbox(api_key="the_key_ppro_issued_0123")
    recording = Recording(sb.transport())
    drive = driver(kind, sb, recording)  # the gateway holds another key
    try:
        with pytest.raises(ProviderError) as caught:
            drive("authorize", authorize_request())
        assert caught.value.http_status == 401
        assert "api_key" in str(caught.value)
        assert recording.count == 1
        assert sb.charge_count("order-1") == 0
    finally:
        drive.close()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 415, 422, 431])
def test_every_final_4xx_costs_one_request(kind: str, status: int) -> None:
    # The sandbox never answers 403/405/415/422/431 to the plugin; PPRO lists them, so a
    # scripted PPRO does. A 409 here says nothing about being in flight, so it is final too.
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return error_envelope(status, "negative amount for a payment")

    sb = new_sandbox()
    drive = driver(kind, sb, httpx.MockTransport(handler))
    try:
        with pytest.raises(ProviderError) as caught:
            drive("authorize", authorize_request())
        assert caught.value.http_status == status
        assert not isinstance(caught.value, RateLimitedError)
        assert len(sent) == 1
    finally:
        drive.close()


@pytest.mark.parametrize("attempts", [1, 2, 3, 7])
def test_the_attempt_count_bounds_the_requests(kind: str, attempts: int) -> None:
    sb = new_sandbox()
    sb.faults.error_rate = 1.0  # every API request fails with 500, forever
    recording = Recording(sb.transport())
    drive = driver(kind, sb, recording, RetryPolicy.no_wait(attempts))
    try:
        with pytest.raises(TransportError) as caught:
            drive("authorize", authorize_request())
        assert caught.value.outcome_unknown is True
        assert recording.count == attempts
    finally:
        drive.close()


def test_the_total_time_bounds_the_retries(kind: str) -> None:
    # A huge attempt budget, a 0.3 s total: time stops the retries, not the count.
    policy = RetryPolicy(
        attempts=1000, timeout_s=0.3, wait_initial_s=0.05, wait_max_s=0.05, wait_jitter_s=0.0
    )
    sb = new_sandbox()
    sb.faults.error_rate = 1.0
    recording = Recording(sb.transport())
    drive = driver(kind, sb, recording, policy)
    try:
        with pytest.raises(ProviderError):
            drive("get_payment", "charge_anything")
    finally:
        drive.close()
    # The 0.05 s sleeps bound the count from above on any machine (a slower one only sends
    # fewer, down to the first attempt alone); no assertion on the elapsed time, which would
    # test the machine's speed.
    assert 1 <= recording.count <= 10, recording.count


# -- backoff: positive, exponential, jittered; Retry-After honoured up to a bound --------------

BACKOFF = RetryPolicy(attempts=5, timeout_s=60.0, wait_initial_s=0.1, wait_max_s=5.0, wait_jitter_s=0.5)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every sleep stamina asks for, recorded instead of slept (sync and async)."""
    recorded: list[float] = []
    real_async_sleep = asyncio.sleep

    def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def fake_async_sleep(seconds: float, *args: Any, **kwargs: Any) -> Any:
        recorded.append(seconds)
        return await real_async_sleep(0)

    monkeypatch.setattr(time, "sleep", fake_sleep)
    monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)
    return recorded


def test_backoff_is_exponential_with_jitter_and_never_zero(kind: str, waits: list[float]) -> None:
    runs: list[list[float]] = []
    for _ in range(3):
        sb = new_sandbox()
        sb.faults.inject_next("500", 4)
        recording = Recording(sb.transport())
        drive = driver(kind, sb, recording, BACKOFF)
        try:
            drive("authorize", authorize_request())
        finally:
            drive.close()
        assert recording.count == 5
        runs.append([w for w in waits if w > 0])
        waits.clear()
    for observed in runs:
        assert len(observed) == 4, observed
        for retry, wait in enumerate(observed, start=1):
            floor = BACKOFF.wait_initial_s * 2 ** (retry - 1)
            assert floor <= wait <= floor + BACKOFF.wait_jitter_s
    jitters = [
        round(wait - BACKOFF.wait_initial_s * 2**i, 9) for observed in runs for i, wait in enumerate(observed)
    ]
    # Twelve waits drawn from [0, 0.5]: equal jitter everywhere would mean there is none.
    assert len(set(jitters)) > 1
    assert any(j > 0 for j in jitters)


def test_a_short_retry_after_is_waited_exactly(kind: str, waits: list[float]) -> None:
    sb = new_sandbox()
    sb.faults.inject_next("429", 1, retry_after=2)
    recording = Recording(sb.transport())
    drive = driver(kind, sb, recording, BACKOFF)
    try:
        payment = drive("authorize", authorize_request())
    finally:
        drive.close()
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert recording.count == 2
    assert [w for w in waits if w > 0] == [2.0]


def test_a_retry_after_beyond_the_bound_reaches_the_host_at_once(kind: str, waits: list[float]) -> None:
    sb = new_sandbox()
    sb.faults.inject_next("429", 1, retry_after=60)
    recording = Recording(sb.transport())
    drive = driver(kind, sb, recording, BACKOFF)
    try:
        with pytest.raises(RateLimitedError) as caught:
            drive("authorize", authorize_request())
    finally:
        drive.close()
    assert caught.value.retry_after == 60
    assert recording.count == 1
    assert [w for w in waits if w > 0] == []


# -- over real loopback HTTP -------------------------------------------------------------------


@pytest.mark.loopback
def test_a_connection_dropped_after_the_charge_was_stored_yields_one_charge_over_http() -> None:
    sb = new_sandbox()
    with serve_in_thread(sb, realtime_clock=False) as served:
        recording = Recording(httpx.HTTPTransport())
        with Gateway(
            "amazon_pay",
            options=options(base_url=served.base_url),
            environ={},
            transport=recording,
            retry=RetryPolicy.no_wait(ATTEMPTS),
            clock=sb.clock.now,
        ) as gw:
            sb.faults.inject_next("drop_after_store", 1)
            payment = gw.authorize(authorize_request(merchant_reference="loopback-drop"))
            again = gw.find_payment("loopback-drop")
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    posts = [seen for seen in recording.seen if seen[0] == "POST"]
    assert len(posts) == 2
    assert len({key for _, _, key in posts}) == 1 and posts[0][2] is not None
    assert sb.charge_count("loopback-drop") == 1
    assert again is not None and again.id == payment.id


@pytest.mark.loopback
def test_a_connection_dropped_after_the_charge_was_stored_yields_one_charge_over_http_async() -> None:
    sb = new_sandbox()

    async def go(base_url: str, recording: Recording) -> Payment:
        async with AsyncGateway(
            "amazon_pay",
            options=options(base_url=base_url),
            environ={},
            transport=recording,
            retry=RetryPolicy.no_wait(ATTEMPTS),
            clock=sb.clock.now,
        ) as agw:
            sb.faults.inject_next("drop_after_store", 1)
            return await agw.authorize(authorize_request(merchant_reference="loopback-drop-async"))

    with serve_in_thread(sb, realtime_clock=False) as served:
        recording = Recording(httpx.AsyncHTTPTransport())
        payment = run(go(served.base_url, recording))
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert recording.count == 2
    assert len(recording.post_keys()) == 1
    assert sb.charge_count("loopback-drop-async") == 1


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.mark.loopback
def test_connection_refused_is_a_transport_error_with_a_known_outcome(kind: str) -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}"
    sb = new_sandbox()
    inner: Any = httpx.HTTPTransport() if kind == "sync" else httpx.AsyncHTTPTransport()
    recording = Recording(inner)
    drive = driver(kind, sb, recording, base_url=base_url)
    try:
        with pytest.raises(TransportError) as caught:
            drive("authorize", authorize_request())
    finally:
        drive.close()
    assert caught.value.outcome_unknown is False
    assert "safe to retry" in str(caught.value)
    # Nothing can have been sent, so retrying was safe; the attempts are still bounded.
    assert recording.count == ATTEMPTS
    assert API_KEY not in str(caught.value)


def test_retry_counts_are_per_request_not_per_flow(kind: str) -> None:
    # Revoking a mandate is two requests (POST the revocation, GET the agreement); a fault
    # on the second is retried on its own, and the revocation is not sent again.
    from psp_core import MandateRequest, RevokeMandateRequest

    sb = new_sandbox()
    recording = Recording(sb.transport())
    drive = driver(kind, sb, recording)
    try:
        mandate = drive(
            "create_mandate",
            MandateRequest(
                consumer=authorize_request().consumer,
                return_url="https://shop.example/return",
                start=sb.clock.now(),
                merchant_reference="agreement-1",
            ),
        )
        sb.approve(mandate.id)
        recording.seen.clear()
        sb.faults.inject_next("timeout", 1)  # the POST times out before PPRO acts
        revoked = drive("revoke_mandate", RevokeMandateRequest(mandate_id=mandate.id, idempotency_key="rv-1"))
    finally:
        drive.close()
    assert revoked.status.value == "revoked"
    methods = [method for method, _, _ in recording.seen]
    assert methods == ["POST", "POST", "GET"]
    assert len(recording.post_keys()) == 1


@pytest.mark.parametrize("count", [1, ATTEMPTS - 1, ATTEMPTS, ATTEMPTS + 1])
def test_every_fault_ends_in_a_payment_or_a_psp_error_never_a_raw_httpx_error(kind: str, count: int) -> None:
    outcomes: dict[str, str] = {}
    for fault in sorted(FAULT_KINDS):
        sb = new_sandbox()
        sb.faults.inject_next(fault, count)
        recording = Recording(sb.transport())
        drive = driver(kind, sb, recording)
        try:
            result = drive("authorize", authorize_request())
            outcomes[fault] = result.status.value
        except PspError as error:
            outcomes[fault] = type(error).__name__
        finally:
            drive.close()
        assert recording.count <= ATTEMPTS
        assert sb.charge_count("order-1") <= 1
    assert len(outcomes) == len(FAULT_KINDS) == 16  # 9 transport faults, 7 broken answers after commit
