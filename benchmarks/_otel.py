"""6. What the OpenTelemetry plugin adds: CPU per call with it recording, against without it.

Both gateways run over the canned transport (client CPU only, as in section 3) with the same
providers and default settings. The plain one blocks the ``otel`` entry point; the traced one
registers :class:`psp_otel.OpenTelemetryObserver` on the OpenTelemetry SDK as a host sets it
up: a tracer provider with a ``BatchSpanProcessor`` (its exporter, here one that drops the
spans, runs on the processor's own thread: export cost is the exporter's, not the plugin's)
and a meter provider with an in-memory reader, so every span, event and measurement is really
built and recorded, in the calling thread. Blocks alternate ABBA per
operation, timed with ``thread_time_ns``; ``otel_overhead_fraction = (traced - plain) / plain``
over the cycle of the four operations.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from psp_core import Gateway
from psp_otel import OpenTelemetryObserver

from ._common import OPERATIONS, CannedTransport, Progress, Recorded, make_client, median, options
from ._cpu import BASE_URL, _block, _payments, gateway_calls


class _Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def run(recorded: dict[str, Recorded], n: int, blocks: int) -> dict[str, object]:
    progress = Progress("6 otel overhead", blocks * len(OPERATIONS))
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(_Discard()))
    reader = InMemoryMetricReader()
    observer = OpenTelemetryObserver(
        tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader])
    )
    plain_transport, traced_transport = CannedTransport(), CannedTransport()
    per_op: dict[str, dict[str, float]] = {}
    with make_client(plain_transport) as plain_client, make_client(traced_transport) as traced_client:
        plain = Gateway(
            "amazon_pay",
            options=options(BASE_URL),
            environ={"PSP_BLOCK_PLUGINS": "otel"},
            client=plain_client,
        )
        traced = Gateway(
            "amazon_pay",
            options=options(BASE_URL),
            environ={},
            client=traced_client,
            plugins=[("otel", observer)],
        )
        assert plain.plugin_manager.get_plugin("otel") is None
        assert traced.plugin_manager.get_plugin("otel") is observer
        plain_calls = gateway_calls(plain, *_payments(plain, plain_transport, recorded))
        traced_calls = gateway_calls(traced, *_payments(traced, traced_transport, recorded))
        step = 0
        for op in OPERATIONS:
            exchange = recorded[op]
            _block(plain_calls[op], plain_transport, exchange, max(n // 10, 5))  # warm-up
            _block(traced_calls[op], traced_transport, exchange, max(n // 10, 5))
            plain_ns: list[float] = []
            traced_ns: list[float] = []
            for i in range(blocks):
                if i % 2 == 0:
                    plain_ns.append(_block(plain_calls[op], plain_transport, exchange, n))
                    traced_ns.append(_block(traced_calls[op], traced_transport, exchange, n))
                else:
                    traced_ns.append(_block(traced_calls[op], traced_transport, exchange, n))
                    plain_ns.append(_block(plain_calls[op], plain_transport, exchange, n))
                step += 1
                progress.tick(step)
            plain_us, traced_us = median(plain_ns) / 1e3, median(traced_ns) / 1e3
            per_op[op] = {
                "plain_us": plain_us,
                "traced_us": traced_us,
                "added_us": traced_us - plain_us,
                "fraction": (traced_us - plain_us) / plain_us,
            }
        plain.close()
        traced.close()
    tracer_provider.shutdown()
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
    plain_total = sum(v["plain_us"] for v in per_op.values())
    traced_total = sum(v["traced_us"] for v in per_op.values())
    fraction = (traced_total - plain_total) / plain_total
    progress.done(f"otel overhead {fraction:.1%}")
    return {
        "overhead_fraction": fraction,
        "plain_us_per_cycle": plain_total,
        "traced_us_per_cycle": traced_total,
        "added_us_per_call": (traced_total - plain_total) / len(OPERATIONS),
        "calls_recorded": recorded_calls,
        "calls_per_block": n,
        "blocks": blocks,
        "per_operation": per_op,
    }
