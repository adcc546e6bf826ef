"""OpenTelemetry traces and metrics for psp: an observer plugin on OpenTelemetry's API.

Installing ``psp[otel]`` is all a host does: the plugin is found through the ``psp_plugins``
entry-point group and reports to whatever tracer and meter providers the host configured
with the OpenTelemetry SDK. Without ``opentelemetry-api`` it stays inert. A host can also
register its own instance, with explicit providers::

    Gateway("amazon_pay", plugins=[("otel", OpenTelemetryObserver(tracer_provider=tp))])

docs/observability.md lists every span, attribute and instrument.
"""

from __future__ import annotations

from ._plugin import (
    INSTRUMENTATION_NAME,
    OpenTelemetryObserver,
    plugin,
)

__all__ = ["INSTRUMENTATION_NAME", "OpenTelemetryObserver", "plugin"]
