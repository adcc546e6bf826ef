"""The per-call "is anyone configured?" check, held to the rule it replaced.

The check runs on every call while the host has set no provider, so it was rewritten to ask
the cheapest question first (issue 18). Its inputs are the two global providers' kinds, a
small finite set: every combination is checked against the original rule, kept here as the
reference, rather than sampled.
"""

from __future__ import annotations

import pytest
from opentelemetry import metrics, trace
from opentelemetry.metrics._internal import _ProxyMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from psp_otel._telemetry import Telemetry


class SubclassedProxyTracerProvider(trace.ProxyTracerProvider):
    pass


class SubclassedNoOpMeterProvider(metrics.NoOpMeterProvider):
    pass


TRACER_PROVIDERS = {
    "proxy": trace.ProxyTracerProvider,
    "proxy subclass": SubclassedProxyTracerProvider,
    "no-op": trace.NoOpTracerProvider,
    "sdk": TracerProvider,
}
METER_PROVIDERS = {
    "proxy": _ProxyMeterProvider,
    "no-op": metrics.NoOpMeterProvider,
    "no-op subclass": SubclassedNoOpMeterProvider,
    "sdk": MeterProvider,
}


def reference_unconfigured(tracer_provider: object, meter_provider: object) -> bool:
    """The rule as it was before issue 18's last round."""
    return isinstance(tracer_provider, trace.ProxyTracerProvider) and (
        isinstance(meter_provider, metrics.NoOpMeterProvider)
        or type(meter_provider).__name__ == "_ProxyMeterProvider"
    )


@pytest.mark.parametrize("tracer_kind", sorted(TRACER_PROVIDERS))
@pytest.mark.parametrize("meter_kind", sorted(METER_PROVIDERS))
def test_the_check_answers_as_the_original_rule_for_every_pair_of_global_providers(
    monkeypatch: pytest.MonkeyPatch, tracer_kind: str, meter_kind: str
) -> None:
    telemetry = Telemetry("psp-test", None, None)
    tracer_provider, meter_provider = TRACER_PROVIDERS[tracer_kind](), METER_PROVIDERS[meter_kind]()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: tracer_provider)
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: meter_provider)
    expected = reference_unconfigured(tracer_provider, meter_provider)
    assert telemetry.unconfigured() is expected
    # Asked again on the next call while unconfigured; once configured it stays so.
    assert telemetry.unconfigured() is expected
    assert telemetry.configured is (not expected)


def test_a_provider_set_after_unconfigured_calls_is_seen_on_the_next_call_and_then_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telemetry = Telemetry("psp-test", None, None)
    providers: dict[str, object] = {"tracer": trace.ProxyTracerProvider(), "meter": _ProxyMeterProvider()}
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: providers["tracer"])
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: providers["meter"])
    assert telemetry.unconfigured()
    assert telemetry.unconfigured()
    providers["meter"] = MeterProvider()  # only metrics configured: the call is observed
    assert not telemetry.unconfigured()
    providers["meter"] = _ProxyMeterProvider()
    assert not telemetry.unconfigured()  # the API never unsets a global provider
    assert telemetry.configured


def test_the_meter_provider_is_not_asked_for_once_a_tracer_provider_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telemetry = Telemetry("psp-test", None, None)
    tracer_provider = TracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: tracer_provider)

    def not_needed() -> object:
        raise AssertionError("a configured tracer provider decides alone")

    monkeypatch.setattr(metrics, "get_meter_provider", not_needed)
    assert not telemetry.unconfigured()
    assert telemetry.configured


def test_explicit_providers_are_configured_without_asking_for_the_global_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telemetry = Telemetry("psp-test", TracerProvider(), None)

    def not_needed() -> object:
        raise AssertionError("explicit providers decide alone")

    monkeypatch.setattr(trace, "get_tracer_provider", not_needed)
    monkeypatch.setattr(metrics, "get_meter_provider", not_needed)
    assert not telemetry.unconfigured()
