"""The observer plugin: psp's hooks on one side, OpenTelemetry's API (imported on first use) on the other.

Nothing here imports OpenTelemetry: the plugin is registered through an entry point in every
plugin manager, so a host without ``opentelemetry-api`` pays only for this module, and a host
with it pays the API's import on the first call rather than at start-up.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

from psp_core.hookspecs import hookimpl

if TYPE_CHECKING:
    import httpx
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from psp_core import Money, WebhookEvent

    from ._telemetry import CallRecord, Telemetry

INSTRUMENTATION_NAME = "psp"
"""The instrumentation scope of every span and instrument (what a host filters views by)."""


class OpenTelemetryObserver:
    """Spans and metrics for every gateway call and webhook verification.

    :param tracer_provider: where spans go; OpenTelemetry's global provider when None
        (set by the host with ``opentelemetry.trace.set_tracer_provider``, before or after).
    :param meter_provider: where measurements go; the global one when None.

    Without ``opentelemetry-api`` every hook returns at once and nothing is recorded.
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._telemetry: Telemetry | None = None
        self._api_missing = False
        # Per instance: two observers (the entry point's and a host's own) never see each
        # other's calls.
        self._current: ContextVar[CallRecord | None] = ContextVar(f"psp_otel_call_{id(self)}", default=None)

    def __repr__(self) -> str:
        state = "inert: opentelemetry-api is not installed" if self._api_missing else "ready"
        return f"<OpenTelemetryObserver {state}>"

    def _ready(self) -> Telemetry | None:
        if self._telemetry is None and not self._api_missing:
            try:
                from ._telemetry import Telemetry
            except ImportError:
                self._api_missing = True
                return None
            self._telemetry = Telemetry(INSTRUMENTATION_NAME, self._tracer_provider, self._meter_provider)
        return self._telemetry

    @hookimpl
    def psp_operation_context(
        self, provider: str, operation: str, amount: Money | None, key_hash: str | None
    ) -> CallRecord | None:
        telemetry = self._telemetry or self._ready()
        if telemetry is None or (not telemetry.configured and telemetry.unconfigured()):
            return None
        return telemetry.call(self._current, provider, operation, amount, key_hash)

    @hookimpl
    def psp_http_attempt(
        self,
        attempt: int,
        request: httpx.Request,
        response: httpx.Response | None,
        error: BaseException | None,
        retry_wait_s: float | None,
    ) -> None:
        record = self._current.get()
        if record is not None:
            record.attempt(attempt, request, response, error, retry_wait_s)

    @hookimpl
    def psp_operation_completed(self, result: object) -> None:
        record = self._current.get()
        if record is not None:
            record.result = result

    @hookimpl
    def psp_webhook_received(self, event: WebhookEvent) -> None:
        record = self._current.get()
        if record is not None:
            record.event = event


plugin = OpenTelemetryObserver()
"""The instance the ``psp_plugins`` entry point registers, reporting to the global providers."""
