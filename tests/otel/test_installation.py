"""The plugin is found through its entry point and costs nothing until a call is observed.

Each check runs in a fresh interpreter: what is imported, and what happens when
``opentelemetry`` cannot be imported at all, can only be seen from a clean start.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import psp_otel
from psp_core import create_plugin_manager, observer_names

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreter running our own snippet
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_entry_point_registers_the_module_level_observer() -> None:
    pm = create_plugin_manager(environ={})
    assert "otel" in observer_names(pm)
    assert pm.get_plugin("otel") is psp_otel.plugin


def test_discovery_and_a_gateway_import_no_opentelemetry_until_the_first_call() -> None:
    out = run_python(
        """
        import sys
        import psp_core
        pm = psp_core.create_plugin_manager(environ={})
        assert pm.get_plugin("otel") is not None
        before = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
        print(before)
        """
    )
    assert out == "[]"


def test_without_the_api_the_entry_point_plugin_stays_inert_and_calls_work() -> None:
    out = run_python(
        """
        import sys
        sys.modules["opentelemetry"] = None  # what an environment without opentelemetry-api gives
        from psp_core import AuthorizeRequest, Consumer, Gateway, Money, RetryPolicy, create_plugin_manager
        from tests.fakepay import NAME, FakePayPlugin, FakePsp
        import psp_otel
        psp = FakePsp()
        pm = create_plugin_manager([(NAME, FakePayPlugin())], environ={})
        with Gateway(NAME, options={"api_key": psp.api_key}, transport=psp.transport(),
                     plugin_manager=pm, retry=RetryPolicy.no_wait(), clock=lambda: psp.now) as gateway:
            payment = gateway.authorize(AuthorizeRequest(
                amount=Money(1234, "EUR"), consumer=Consumer(country="DE"),
                return_url="https://shop.example/return", merchant_reference="order-1"))
            headers, body = psp.webhook(payment.id, event_id="evt_1")
            gateway.parse_webhook(headers, body)
        print(payment.status.value, repr(pm.get_plugin("otel")))
        """
    )
    assert out == "requires_action <OpenTelemetryObserver inert: opentelemetry-api is not installed>"


def test_the_entry_point_plugin_waits_for_the_host_to_set_global_providers() -> None:
    out = run_python(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from psp_core import AuthorizeRequest, Consumer, Gateway, Money, RetryPolicy, create_plugin_manager
        from tests.fakepay import NAME, FakePayPlugin, FakePsp
        import psp_otel
        psp = FakePsp()
        pm = create_plugin_manager([(NAME, FakePayPlugin())], environ={})
        request = AuthorizeRequest(amount=Money(1234, "EUR"), consumer=Consumer(country="DE"),
                                   return_url="https://shop.example/return", merchant_reference="order-1")
        with Gateway(NAME, options={"api_key": psp.api_key}, transport=psp.transport(),
                     plugin_manager=pm, retry=RetryPolicy.no_wait(), clock=lambda: psp.now) as gateway:
            # No SDK configured yet: the API's stand-ins, so the call is not observed.
            assert psp_otel.plugin.psp_operation_context("fakepay", "authorize", None, None) is None
            gateway.authorize(request)
            spans = InMemorySpanExporter()
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(spans))
            trace.set_tracer_provider(provider)  # the host configures the SDK later
            gateway.authorize(request)
        print([span.name for span in spans.get_finished_spans()])
        """
    )
    assert out == "['psp authorize']"


def test_once_the_host_has_set_a_global_provider_the_plugin_stops_asking_for_it() -> None:
    # The API sets each global provider once and never replaces it, so after the first
    # configured call the per-call check is a flag (it runs on every call of every gateway).
    out = run_python(
        """
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import psp_otel
        asked = []
        for module, name in ((trace, "get_tracer_provider"), (metrics, "get_meter_provider")):
            def counted(real=getattr(module, name), name=name):
                asked.append(name)
                return real()
            setattr(module, name, counted)
        observer = psp_otel.plugin
        assert observer.psp_operation_context("fakepay", "authorize", None, None) is None
        assert observer.psp_operation_context("fakepay", "authorize", None, None) is None
        before = len(asked)
        spans = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(spans))
        trace.set_tracer_provider(provider)
        counts = []
        for _ in range(2):
            for _ in range(3):
                with observer.psp_operation_context("fakepay", "authorize", None, None):
                    pass
            counts.append(len(asked))
        print(before > 0, counts[0] == counts[1], len(spans.get_finished_spans()))
        """
    )
    assert out == "True True 6"
