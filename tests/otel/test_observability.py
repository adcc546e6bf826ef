"""OpenTelemetry spans, metrics and structured logs for every call and webhook (issue 17).

Read back from the SDK's in-memory span exporter and metric reader, through the sync and the
async gateway alike, over fakepay's in-memory PSP.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from psp_core import (
    AsyncGateway,
    AuthorizeRequest,
    CaptureMode,
    CaptureRequest,
    Consumer,
    Gateway,
    Money,
    OperationBlockedError,
    Payment,
    RetryPolicy,
    TransportError,
    WebhookVerificationError,
    hookimpl,
    idempotency_key_hash,
)
from psp_otel import OpenTelemetryObserver
from tests.fakepay import DECLINE_AMOUNT, NAME, FakePayPlugin, FakePsp


@attrs.define
class Telemetry:
    """The SDK's in-memory exporters behind one observer, read back as plain values."""

    spans: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    observer: OpenTelemetryObserver

    @classmethod
    def create(cls) -> Telemetry:
        spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
        observer = OpenTelemetryObserver(
            tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader])
        )
        return cls(spans, reader, tracer_provider, observer)

    def finished(self, name: str | None = None) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if name is None or s.name == name]

    def only(self, name: str) -> ReadableSpan:
        found = self.finished(name)
        assert len(found) == 1, [s.name for s in self.spans.get_finished_spans()]
        return found[0]

    def points(self, metric: str) -> dict[frozenset[tuple[str, Any]], Any]:
        """Data points of one instrument: attributes -> value (a counter's sum, a histogram's count)."""
        data = self.reader.get_metrics_data()
        found: dict[frozenset[tuple[str, Any]], Any] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        for point in m.data.data_points:
                            value = getattr(point, "value", None)
                            found[frozenset(point.attributes.items())] = (
                                value if value is not None else point.count
                            )
        return found


def labels(**values: object) -> frozenset[tuple[str, object]]:
    return frozenset((f"psp.{k}", v) for k, v in values.items())


class Driver:
    """One gateway, sync or async, called the same way by every test."""

    def __init__(self, kind: str, psp: FakePsp, plugins: list[tuple[str, object]]) -> None:
        self.kind = kind
        options: dict[str, Any] = {
            "options": {"api_key": psp.api_key},
            "transport": psp.transport(),
            "plugins": [(NAME, FakePayPlugin()), *plugins],
            "load_entrypoints": False,
            "clock": lambda: psp.now,
            "retry": RetryPolicy.no_wait(),
        }
        self.loop = asyncio.new_event_loop() if kind == "async" else None
        if kind == "async":
            options["transport"] = httpx.MockTransport(psp.handle)
            self.gateway: Gateway | AsyncGateway = AsyncGateway(NAME, **options)
        else:
            self.gateway = Gateway(NAME, **options)

    def __call__(self, method: str, *args: object) -> Any:
        bound = getattr(self.gateway, method)
        if self.loop is None:
            return bound(*args)
        return self.loop.run_until_complete(bound(*args))

    def close(self) -> None:
        if isinstance(self.gateway, AsyncGateway):
            assert self.loop is not None
            self.loop.run_until_complete(self.gateway.aclose())
            self.loop.close()
        else:
            self.gateway.close()


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry.create()


@pytest.fixture(params=["sync", "async"])
def driver(request: pytest.FixtureRequest, psp: FakePsp, telemetry: Telemetry) -> Iterator[Driver]:
    made = Driver(request.param, psp, [("otel", telemetry.observer)])
    yield made
    made.close()


def authorize_request(
    amount: int = 12_34, key: str | None = "order-1-key", capture_mode: CaptureMode = CaptureMode.SEPARATE
) -> AuthorizeRequest:
    return AuthorizeRequest(
        amount=Money(amount, "EUR"),
        consumer=Consumer(country="DE"),
        return_url="https://shop.example/return",
        merchant_reference="order-1",
        capture_mode=capture_mode,
        idempotency_key=key,
    )


def authorized(driver: Driver, psp: FakePsp, amount: int = 12_34) -> Payment:
    payment = driver("authorize", authorize_request(amount))
    psp.approve(payment.id)
    read: Payment = driver("get_payment", payment.id)
    return read


def attempts(span: ReadableSpan) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == "psp.http.attempt"]


# -- spans and metrics per outcome ------------------------------------------------------------


def test_a_successful_authorize_is_one_span_with_its_amount_outcome_status_and_key_hash(
    driver: Driver, telemetry: Telemetry
) -> None:
    payment = driver("authorize", authorize_request())

    span = telemetry.only("psp authorize")
    assert dict(span.attributes or {}) == {
        "psp.provider": "fakepay",
        "psp.operation": "authorize",
        "psp.amount": 12_34,
        "psp.currency": "EUR",
        "psp.idempotency_key_hash": idempotency_key_hash("order-1-key"),
        "psp.status": payment.status.value,
        "psp.outcome": "succeeded",
    }
    assert span.status.status_code is StatusCode.UNSET
    assert attempts(span) == [
        {"psp.attempt": 1, "http.request.method": "POST", "http.response.status_code": 200}
    ]
    succeeded = labels(provider="fakepay", operation="authorize", outcome="succeeded")
    assert telemetry.points("psp.calls") == {succeeded: 1}
    assert telemetry.points("psp.call.duration") == {succeeded: 1}
    assert telemetry.points("psp.http.retries") == {}


def test_a_read_shows_no_key_hash_because_its_generated_key_is_never_sent(
    driver: Driver, psp: FakePsp, telemetry: Telemetry
) -> None:
    payment = authorized(driver, psp)
    span = telemetry.only("psp get_payment")
    assert "psp.idempotency_key_hash" not in (span.attributes or {})
    assert span.attributes and span.attributes["psp.status"] == payment.status.value


def test_a_decline_is_a_result_with_its_code_not_an_error(
    driver: Driver, psp: FakePsp, telemetry: Telemetry
) -> None:
    payment = authorized(driver, psp, amount=DECLINE_AMOUNT)
    assert payment.decline is not None

    span = telemetry.only("psp get_payment")
    assert span.attributes is not None
    assert span.attributes["psp.outcome"] == "declined"
    assert span.attributes["psp.decline.code"] == payment.decline.code.value
    assert span.attributes["psp.decline.provider_code"] == "NSF"
    assert span.status.status_code is StatusCode.UNSET  # a decline is an answer, not a fault
    calls = telemetry.points("psp.calls")
    assert calls[labels(provider="fakepay", operation="get_payment", outcome="declined")] == 1


def test_a_retried_capture_shows_each_attempt_with_its_status_and_wait_and_counts_the_retry(
    driver: Driver, psp: FakePsp, telemetry: Telemetry
) -> None:
    payment = authorized(driver, psp)
    psp.faults = ["503", "429"]
    captured = driver("capture", CaptureRequest(payment=payment, idempotency_key="cap-1"))

    span = telemetry.only("psp capture")
    assert span.attributes is not None
    assert span.attributes["psp.outcome"] == "succeeded"
    assert span.attributes["psp.status"] == captured.status.value
    # The amount the gateway resolved for a capture without one: everything capturable.
    assert (span.attributes["psp.amount"], span.attributes["psp.currency"]) == (12_34, "EUR")
    assert span.attributes["psp.idempotency_key_hash"] == idempotency_key_hash("cap-1")
    assert attempts(span) == [
        {
            "psp.attempt": 1,
            "http.request.method": "POST",
            "http.response.status_code": 503,
            "psp.retry_wait_s": 0.0,
        },
        {
            "psp.attempt": 2,
            "http.request.method": "POST",
            "http.response.status_code": 429,
            "psp.retry_wait_s": 0.0,
        },
        {"psp.attempt": 3, "http.request.method": "POST", "http.response.status_code": 200},
    ]
    assert telemetry.points("psp.http.retries") == {labels(provider="fakepay", operation="capture"): 2}


def test_an_unknown_outcome_is_an_error_span_counted_as_unknown(
    driver: Driver, psp: FakePsp, telemetry: Telemetry
) -> None:
    payment = authorized(driver, psp)
    psp.faults = ["drop"] * 4  # the capture is stored, and no answer ever arrives
    with pytest.raises(TransportError) as raised:
        driver("capture", CaptureRequest(payment=payment, idempotency_key="cap-lost"))
    assert raised.value.outcome_unknown

    span = telemetry.only("psp capture")
    assert span.attributes is not None
    assert span.attributes["psp.outcome"] == "unknown"
    assert span.attributes["error.type"] == "TransportError"
    assert span.status.status_code is StatusCode.ERROR
    seen = attempts(span)
    assert [a["error.type"] for a in seen] == ["ReadTimeout"] * 4
    assert [a.get("psp.retry_wait_s") for a in seen] == [0.0, 0.0, 0.0, None]
    assert (
        telemetry.points("psp.calls")[labels(provider="fakepay", operation="capture", outcome="unknown")] == 1
    )
    assert telemetry.points("psp.http.retries") == {labels(provider="fakepay", operation="capture"): 3}


def test_a_provider_error_is_a_failed_call_with_the_http_status(driver: Driver, telemetry: Telemetry) -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 - fakepay's 404 for an unknown charge
        driver("get_payment", "ch_missing")
    span = telemetry.only("psp get_payment")
    assert span.attributes is not None
    assert span.attributes["psp.outcome"] == "failed"
    assert span.attributes["http.response.status_code"] == 404
    assert span.status.status_code is StatusCode.ERROR


def test_every_call_is_one_duration_and_one_count_under_its_outcome_measured_after_its_span(
    driver: Driver, psp: FakePsp, telemetry: Telemetry
) -> None:
    authorized(driver, psp)  # an authorize and a read that succeed
    declined = driver("authorize", authorize_request(DECLINE_AMOUNT, key="order-2-key"))
    psp.approve(declined.id)
    driver("get_payment", declined.id)  # a read that is declined
    with pytest.raises(Exception):  # noqa: B017, PT011 - fakepay's 404 for an unknown charge
        driver("get_payment", "ch_missing")

    expected = {
        labels(provider="fakepay", operation="authorize", outcome="succeeded"): 2,
        labels(provider="fakepay", operation="get_payment", outcome="succeeded"): 1,
        labels(provider="fakepay", operation="get_payment", outcome="declined"): 1,
        labels(provider="fakepay", operation="get_payment", outcome="failed"): 1,
    }
    assert telemetry.points("psp.calls") == expected
    assert telemetry.points("psp.call.duration") == expected
    data = telemetry.reader.get_metrics_data()
    assert data is not None
    durations = [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "psp.call.duration"
        for point in metric.data.data_points
    ]
    # Recorded once the span has ended: the trace-based exemplar filter links none of them.
    assert [point.exemplars for point in durations] == [[]] * len(expected)
    spans = telemetry.finished()
    assert len(spans) == 5
    longest = max((span.end_time or 0) - (span.start_time or 0) for span in spans) / 1e9
    assert all(0 < point.max <= longest for point in durations)  # type: ignore[union-attr]


def test_webhook_verification_is_a_span_accepted_or_rejected_with_the_reason(
    driver: Driver, psp: FakePsp, telemetry: Telemetry
) -> None:
    payment = driver("authorize", authorize_request())
    headers, body = psp.webhook(payment.id, event_id="evt_1")
    event = driver.gateway.parse_webhook(headers, body)
    forged_headers, forged_body = psp.webhook(payment.id, event_id="evt_2", secret="not-the-secret")
    with pytest.raises(WebhookVerificationError) as rejected:
        driver.gateway.parse_webhook(forged_headers, forged_body)

    accepted_span, rejected_span = telemetry.finished("psp parse_webhook")
    assert dict(accepted_span.attributes or {}) == {
        "psp.provider": "fakepay",
        "psp.operation": "parse_webhook",
        "psp.webhook.event_id": "evt_1",
        "psp.webhook.event_kind": event.kind.value,
        "psp.outcome": "accepted",
    }
    assert rejected_span.attributes is not None
    assert rejected_span.attributes["psp.outcome"] == "rejected"
    assert rejected_span.attributes["psp.webhook.rejection_reason"] == rejected.value.reason
    assert rejected_span.status.status_code is StatusCode.ERROR
    assert telemetry.points("psp.webhook.verifications") == {
        labels(provider="fakepay", outcome="accepted"): 1,
        labels(provider="fakepay", outcome="rejected"): 1,
    }
    reason = rejected.value.reason
    assert telemetry.points("psp.webhook.rejections") == {
        frozenset({("psp.provider", "fakepay"), ("psp.webhook.rejection_reason", reason)}): 1
    }


def test_httpx_own_instrumentation_nests_its_request_spans_under_the_call_span(
    driver: Driver, psp: FakePsp, telemetry: Telemetry
) -> None:
    HTTPXClientInstrumentor.instrument_client(
        driver.gateway.client, tracer_provider=telemetry.tracer_provider
    )
    payment = authorized(driver, psp)
    psp.faults = ["503"]
    driver("capture", CaptureRequest(payment=payment))

    capture = telemetry.only("psp capture")
    children = [
        s
        for s in telemetry.finished()
        if s.parent is not None and s.parent.span_id == capture.context.span_id
    ]
    # The instrumentation's own attribute names depend on its semantic-convention setting.
    statuses = [
        (s.attributes or {}).get("http.response.status_code", (s.attributes or {}).get("http.status_code"))
        for s in children
    ]
    assert statuses == [503, 200]
    assert all(s.kind is SpanKind.CLIENT for s in children)
    assert all(s.context.trace_id == capture.context.trace_id for s in children)


# -- nothing secret leaves the gateway ------------------------------------------------------


# Every key carries a marker no attribute's own vocabulary has, so "the key is not in the value"
# cannot fail on a key that happens to spell part of a legitimate value ("bad_sign").
KEYS = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=5, max_size=61).map(
    lambda tail: f"~K~{tail}"
)


@given(key=KEYS)
def test_no_attribute_ever_holds_the_idempotency_key_or_a_credential(key: str) -> None:
    # The unknown outcome's message quotes the key to resume with: the worst case.
    psp, telemetry = FakePsp(), Telemetry.create()
    driver = Driver("sync", psp, [("otel", telemetry.observer)])
    try:
        payment = authorized(driver, psp)
        psp.faults = ["drop"] * 4
        with pytest.raises(TransportError):
            driver("capture", CaptureRequest(payment=payment, idempotency_key=key))
        with pytest.raises(WebhookVerificationError):
            driver.gateway.parse_webhook({"Fake-Signature": f"t=1,s={key}"}, b"{}")
    finally:
        driver.close()
    values: list[str] = []
    for span in telemetry.finished():
        values += [str(v) for v in (span.attributes or {}).values()]
        values += [str(v) for e in span.events for v in (e.attributes or {}).values()]
        values.append(span.status.description or "")
    for metric in ("psp.calls", "psp.call.duration", "psp.http.retries", "psp.webhook.rejections"):
        values += [str(v) for point in telemetry.points(metric) for v in point]
    assert values, "nothing was recorded"
    for value in values:
        assert key not in value
        assert psp.api_key not in value
        assert psp.webhook_secret not in value
    assert idempotency_key_hash(key) in values


# -- observers cannot change an outcome, except by the documented veto -----------------------


class Broken:
    """An observer that fails in every hook, entering and leaving included."""

    @hookimpl
    def psp_operation_context(self) -> Any:
        @contextmanager
        def failing() -> Iterator[None]:
            yield
            raise RuntimeError("exit failed")

        return failing()

    @hookimpl
    def psp_operation_started(self) -> None:
        raise RuntimeError("started failed")

    @hookimpl
    def psp_http_attempt(self) -> None:
        raise RuntimeError("attempt failed")

    @hookimpl
    def psp_operation_completed(self) -> None:
        raise RuntimeError("completed failed")

    @hookimpl
    def psp_operation_failed(self) -> None:
        raise RuntimeError("failed failed")

    @hookimpl
    def psp_webhook_received(self) -> None:
        raise RuntimeError("received failed")


class FailsOnEnter:
    @hookimpl
    def psp_operation_context(self) -> Any:
        @contextmanager
        def failing() -> Iterator[None]:
            raise RuntimeError("enter failed")
            yield

        return failing()


class Swallows:
    """A context manager that would swallow the host's error if the gateway let it."""

    @hookimpl
    def psp_operation_context(self) -> Any:
        class Swallow:
            def __enter__(self) -> None:
                return None

            def __exit__(self, *exc_info: object) -> bool:
                return True

        return Swallow()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_observers_that_raise_are_logged_and_change_no_outcome(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    results = []
    for plugins in ([], [("broken", Broken()), ("fails_on_enter", FailsOnEnter()), ("swallows", Swallows())]):
        psp = FakePsp()
        telemetry = Telemetry.create()
        # Registered first, so pluggy's order calls the broken observers before it.
        driver = Driver(kind, psp, [("otel", telemetry.observer), *plugins])
        try:
            payment = authorized(driver, psp)
            psp.faults = ["503"]
            captured = driver("capture", CaptureRequest(payment=payment, idempotency_key="k-1"))
            psp.faults = ["drop"] * 4
            with pytest.raises(TransportError) as lost:
                driver("refund", _refund(captured))
            headers, body = psp.webhook(payment.id, event_id="evt_1")
            event = driver.gateway.parse_webhook(headers, body)
        finally:
            driver.close()
        results.append((payment, captured, lost.value.outcome_unknown, event, psp.effects, len(psp.requests)))
        # The otel observer still saw every call, whatever the broken ones called before it did.
        assert [s.name for s in telemetry.finished()] == [
            "psp authorize",
            "psp get_payment",
            "psp capture",
            "psp refund",
            "psp parse_webhook",
        ]
    assert results[0] == results[1]
    failures = [
        r for r in caplog.records if r.name == "psp.gateway" and "observer plugin failed" in r.getMessage()
    ]
    every_hook = {
        "psp_operation_context",
        "psp_operation_started",
        "psp_http_attempt",
        "psp_operation_completed",
        "psp_operation_failed",
        "psp_webhook_received",
    }
    assert {hook for r in failures for hook in every_hook if f" {hook}:" in r.getMessage()} == every_hook
    capture_failures = [r for r in failures if getattr(r, "psp_operation", None) == "capture"]
    assert capture_failures
    assert {getattr(r, "psp_key_hash", None) for r in capture_failures} == {idempotency_key_hash("k-1")}


def _refund(payment: Payment) -> Any:
    from psp_core import RefundRequest

    return RefundRequest(payment=payment, idempotency_key="r-1")


class Veto:
    @hookimpl
    def psp_operation_started(self, operation: str) -> None:
        if operation == "capture":
            raise OperationBlockedError("risk score too high", blocked_by="veto")


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_only_the_documented_veto_stops_a_call_and_it_is_a_failed_span(kind: str) -> None:
    psp, telemetry = FakePsp(), Telemetry.create()
    driver = Driver(kind, psp, [("veto", Veto()), ("otel", telemetry.observer)])
    try:
        payment = authorized(driver, psp)
        sent = len(psp.requests)
        with pytest.raises(OperationBlockedError):
            driver("capture", CaptureRequest(payment=payment))
    finally:
        driver.close()
    assert len(psp.requests) == sent  # nothing was sent
    span = telemetry.only("psp capture")
    assert span.attributes is not None
    assert span.attributes["psp.outcome"] == "failed"
    assert span.attributes["error.type"] == "OperationBlockedError"
    assert attempts(span) == []


# -- logs -----------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """What a host's JSON log handler does: every ``extra`` field becomes a key."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k.startswith("psp_")}
        return json.dumps({"logger": record.name, "message": record.getMessage(), **fields})


@contextmanager
def json_lines(logger_name: str) -> Iterator[list[str]]:
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Capture(level=logging.DEBUG)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def test_retry_log_records_carry_provider_operation_and_key_hash_as_structured_fields(
    driver: Driver, psp: FakePsp
) -> None:
    payment = authorized(driver, psp)
    psp.faults = ["connect", "503"]
    with json_lines("psp.transport") as lines:
        driver("capture", CaptureRequest(payment=payment, idempotency_key="cap-logged"))
    records = [json.loads(line) for line in lines]
    assert len(records) >= 2
    for record in records:
        assert record["psp_provider"] == "fakepay"
        assert record["psp_operation"] == "capture"
        assert record["psp_key_hash"] == idempotency_key_hash("cap-logged")
        assert "cap-logged" not in json.dumps(record)


# -- installing is all a host does ---------------------------------------------------------


def test_a_plugin_without_the_opentelemetry_api_is_inert(psp: FakePsp) -> None:
    observer = OpenTelemetryObserver()
    # What a failed import of opentelemetry leaves; test_installation runs the real thing.
    observer._api_missing = True
    driver = Driver("sync", psp, [("otel", observer)])
    try:
        payment = authorized(driver, psp)
    finally:
        driver.close()
    assert payment.status.value == "authorized"
    assert "inert" in repr(observer)
