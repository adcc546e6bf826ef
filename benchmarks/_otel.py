"""6. What the OpenTelemetry plugin adds: CPU per call with it recording, against without it.

Both gateways run over the canned transport (client CPU only, as in section 3) with the same
providers and default settings. The plain one blocks the ``otel`` entry point; the traced one
registers :class:`psp_otel.OpenTelemetryObserver` on the OpenTelemetry SDK as a host sets it
up: a tracer provider with a ``BatchSpanProcessor`` (its exporter, here one that drops the
spans, runs on the processor's own thread: export cost is the exporter's, not the plugin's)
and a meter provider with an in-memory reader, so every span, event and measurement is really
built and recorded, in the calling thread. Blocks alternate per operation, timed with
``thread_time_ns``; ``otel_overhead_fraction = (traced - plain) / plain`` over the cycle of
the four operations.

A third gateway measures the floor: :class:`_SdkFloor` makes the same SDK calls for a
successful call (the same span, attributes, event and measurement, checked against the
plugin's before timing) written straight on the SDK, with nothing of the plugin's own logic.
What it adds over the plain gateway is what the OpenTelemetry SDK (and being an observer at
all) costs inside a gateway call, which no plugin can avoid; ``traced - floor`` is the
plugin's own cost. Measured inside the gateway rather than in a loop of its own, because the
SDK's code runs cold between two calls there and costs about twice its hot-loop figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import httpx
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from psp_core import Gateway, Money
from psp_core.hookspecs import hookimpl
from psp_otel import INSTRUMENTATION_NAME, OpenTelemetryObserver

from ._common import OPERATIONS, CannedTransport, Progress, Recorded, make_client, median, options
from ._cpu import BASE_URL, _block, _payments, gateway_calls


class _Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _SdkFloor:
    """The floor: the SDK calls psp_otel makes for a successful call, and nothing else.

    One span with the same name, kind and attributes, one event per attempt, the status and
    outcome at the end, the duration histogram recorded after the span, the call counted in a
    dict (as the plugin counts). Only for the benchmark's successful, single-threaded calls:
    no error paths, no webhooks, no per-context state.
    """

    def __init__(self, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> None:
        self.tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME)
        self.duration = meter_provider.get_meter(INSTRUMENTATION_NAME).create_histogram(
            "psp.call.duration", unit="s"
        )
        self.counts: dict[tuple[str, str, str], int] = {}
        self.span: Any = None
        self.token: object = None
        self.started = 0.0
        self.provider = self.operation = self.status = ""

    @hookimpl
    def psp_operation_context(
        self, provider: str, operation: str, amount: Money | None, key_hash: str | None
    ) -> _SdkFloor:
        attributes: dict[str, AttributeValue] = {"psp.provider": provider, "psp.operation": operation}
        if amount is not None:
            attributes["psp.amount"] = amount.minor
            attributes["psp.currency"] = amount.currency
        if key_hash is not None:
            attributes["psp.idempotency_key_hash"] = key_hash
        self.provider, self.operation = provider, operation
        self.span = self.tracer.start_span(f"psp {operation}", kind=SpanKind.INTERNAL, attributes=attributes)
        return self

    def __enter__(self) -> _SdkFloor:
        self.token = otel_context.attach(trace.set_span_in_context(self.span))
        self.started = time.perf_counter()
        return self

    @hookimpl
    def psp_http_attempt(self, attempt: int, request: httpx.Request, response: httpx.Response | None) -> None:
        assert response is not None  # the benchmark's calls all get an answer
        self.span.add_event(
            "psp.http.attempt",
            {
                "psp.attempt": attempt,
                "http.request.method": request.method,
                "http.response.status_code": response.status_code,
            },
        )

    @hookimpl
    def psp_operation_completed(self, result: Any) -> None:
        self.status = str(result.status.value)

    def __exit__(
        self, exc_type: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        elapsed = time.perf_counter() - self.started
        self.span.set_attributes({"psp.status": self.status, "psp.outcome": "succeeded"})
        self.span.end()
        otel_context.detach(self.token)  # type: ignore[arg-type]
        self.duration.record(
            elapsed,
            {"psp.provider": self.provider, "psp.operation": self.operation, "psp.outcome": "succeeded"},
        )
        key = (self.provider, self.operation, "succeeded")
        self.counts[key] = self.counts.get(key, 0) + 1


def _telemetry_of(
    recorded: dict[str, Recorded], make: Callable[[TracerProvider, MeterProvider], object]
) -> list[object]:
    """One call of each operation through an observer ``make`` builds: what it recorded, timeless
    (and keyless: each call generates its key, so only the hash's form is compared)."""
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    observer = make(tracer_provider, MeterProvider(metric_readers=[reader]))
    transport = CannedTransport()
    with make_client(transport) as client:
        gw = Gateway(
            "amazon_pay", options=options(BASE_URL), environ={}, client=client, plugins=[("otel", observer)]
        )
        calls = gateway_calls(gw, *_payments(gw, transport, recorded))
        for op in OPERATIONS:
            transport.load([recorded[op].canned()])
            calls[op]()
        gw.close()
    data = reader.get_metrics_data()
    histogram = sorted(
        (metric.unit, sorted(point.attributes.items()), point.count)
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "psp.call.duration"
        for point in metric.data.data_points
    )
    spans_seen: list[object] = [
        (
            span.name,
            span.kind,
            span.status.status_code,
            span.instrumentation_scope.name if span.instrumentation_scope else None,
            sorted((name, _keyless(name, value)) for name, value in (span.attributes or {}).items()),
            [(event.name, sorted(event.attributes.items())) for event in span.events],
        )
        for span in spans.get_finished_spans()
    ]
    return spans_seen + histogram


def _keyless(name: str, value: object) -> object:
    if name == "psp.idempotency_key_hash" and isinstance(value, str):
        return (value[: len("sha256:")], len(value))
    return value


def run(recorded: dict[str, Recorded], n: int, blocks: int) -> dict[str, object]:
    progress = Progress("6 otel overhead", blocks * len(OPERATIONS) + 1)
    # The floor is only a floor if it records what the plugin records.
    plugin_telemetry = _telemetry_of(
        recorded, lambda tp, mp: OpenTelemetryObserver(tracer_provider=tp, meter_provider=mp)
    )
    if _telemetry_of(recorded, _SdkFloor) != plugin_telemetry or not plugin_telemetry:
        raise RuntimeError("the SDK floor records other telemetry than psp_otel: the floor would be wrong")
    progress.tick(1)
    providers: list[TracerProvider] = []

    def tracer_provider() -> TracerProvider:
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(_Discard()))
        providers.append(provider)
        return provider

    reader = InMemoryMetricReader()
    observer = OpenTelemetryObserver(
        tracer_provider=tracer_provider(), meter_provider=MeterProvider(metric_readers=[reader])
    )
    floor = _SdkFloor(tracer_provider(), MeterProvider(metric_readers=[InMemoryMetricReader()]))
    transports = {side: CannedTransport() for side in ("plain", "floor", "traced")}
    per_op: dict[str, dict[str, float]] = {}
    with (
        make_client(transports["plain"]) as plain_client,
        make_client(transports["floor"]) as floor_client,
        make_client(transports["traced"]) as traced_client,
    ):
        gateways = {
            "plain": Gateway(
                "amazon_pay",
                options=options(BASE_URL),
                environ={"PSP_BLOCK_PLUGINS": "otel"},
                client=plain_client,
            ),
            "floor": Gateway(
                "amazon_pay",
                options=options(BASE_URL),
                environ={},
                client=floor_client,
                plugins=[("otel", floor)],
            ),
            "traced": Gateway(
                "amazon_pay",
                options=options(BASE_URL),
                environ={},
                client=traced_client,
                plugins=[("otel", observer)],
            ),
        }
        assert gateways["plain"].plugin_manager.get_plugin("otel") is None
        assert gateways["traced"].plugin_manager.get_plugin("otel") is observer
        calls = {
            side: gateway_calls(gw, *_payments(gw, transports[side], recorded))
            for side, gw in gateways.items()
        }
        order = ("plain", "floor", "traced")
        step = 1
        for op in OPERATIONS:
            exchange = recorded[op]
            for side in order:  # warm-up
                _block(calls[side][op], transports[side], exchange, max(n // 10, 5))
            ns: dict[str, list[float]] = {side: [] for side in order}
            for i in range(blocks):
                # Each side in turn, the order reversed every other block: drift hits all alike.
                for side in order if i % 2 == 0 else order[::-1]:
                    ns[side].append(_block(calls[side][op], transports[side], exchange, n))
                step += 1
                progress.tick(step)
            plain_us, floor_us, traced_us = (median(ns[side]) / 1e3 for side in order)
            per_op[op] = {
                "plain_us": plain_us,
                "floor_us": floor_us,
                "traced_us": traced_us,
                "added_us": traced_us - plain_us,
                "floor_added_us": floor_us - plain_us,
                "plugin_us": traced_us - floor_us,
                "fraction": (traced_us - plain_us) / plain_us,
            }
        for gw in gateways.values():
            gw.close()
    for provider in providers:
        provider.shutdown()
    # Proof that the traced side recorded what it claims: one span per call, and the counts.
    data = reader.get_metrics_data()
    recorded_calls = sum(
        point.value
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "psp.calls"
        for point in metric.data.data_points
    )
    if recorded_calls == 0:
        raise RuntimeError("the traced gateway recorded no calls: the benchmark measured nothing")
    plain_total, floor_total, traced_total = (sum(v[f"{side}_us"] for v in per_op.values()) for side in order)
    fraction = (traced_total - plain_total) / plain_total
    progress.done(f"otel overhead {fraction:.1%}")
    return {
        "overhead_fraction": fraction,
        "plain_us_per_cycle": plain_total,
        "traced_us_per_cycle": traced_total,
        "added_us_per_call": (traced_total - plain_total) / len(OPERATIONS),
        "sdk_floor_us_per_cycle": floor_total,
        "sdk_floor_fraction": (floor_total - plain_total) / plain_total,
        "sdk_floor_added_us_per_call": (floor_total - plain_total) / len(OPERATIONS),
        "plugin_us_per_call": (traced_total - floor_total) / len(OPERATIONS),
        "calls_recorded": recorded_calls,
        "calls_per_block": n,
        "blocks": blocks,
        "per_operation": per_op,
    }
