"""What the plugin records, on OpenTelemetry's API: imported only when a call is first observed.

Attribute names follow OpenTelemetry's semantic conventions where one exists
(``error.type``, ``http.request.method``, ``http.response.status_code``) and are ``psp.*``
otherwise. No attribute ever holds a credential, a header, a message text or an idempotency
key: error messages can quote the key (to resume with), so only the error's type and the
provider's status code and request id are recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from types import TracebackType

import httpx
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue

from psp_core import Money, TransportError, WebhookEvent, WebhookVerificationError

WEBHOOK_OPERATION = "parse_webhook"

_FAILED_STATUS = "failed"


class Telemetry:
    """The tracer and the instruments, created once per observer on its first call."""

    def __init__(
        self, scope: str, tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None
    ) -> None:
        self.configured = tracer_provider is not None or meter_provider is not None
        """Known to report somewhere: explicit providers, or global ones already set."""
        self.tracer = trace.get_tracer(scope, tracer_provider=tracer_provider)
        meter = metrics.get_meter(scope, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "psp.call.duration",
            unit="s",
            description="Duration of gateway calls, from the first observer hook to the result or error",
        )
        # The counters are counted here and reported when the host's reader collects: a
        # synchronous SDK counter costs tens of microseconds per add, a dict increment next to
        # nothing, and the totals are the same.
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        for name, unit, description in (
            ("psp.calls", "{call}", "Gateway calls by provider, operation and outcome"),
            ("psp.http.retries", "{retry}", "HTTP attempts the core resent after a failure"),
            ("psp.webhook.verifications", "{webhook}", "Webhooks verified, accepted or rejected"),
            ("psp.webhook.rejections", "{webhook}", "Webhooks rejected, by reason"),
        ):
            meter.create_observable_counter(
                name, callbacks=[self._observer(name)], unit=unit, description=description
            )

    def unconfigured(self) -> bool:
        """True while the host has set neither a global tracer nor a global meter provider.

        The API's stand-ins would drop everything: the call is then not observed at all, so a
        process that has the API but no SDK pays next to nothing. Asked on every call, so a
        provider set later is used from the next call on. Once the answer is no, it stays no
        without asking again: the API sets each global provider once and never replaces it.
        """
        if self.configured:
            return False
        # Per call while unconfigured, so the cheapest test decides first: an exact type
        # compare before the isinstance against an ABC (~0.2 µs), and the meter provider is
        # asked for only while the tracer provider is still the stand-in (the answer is the
        # same: unconfigured needs both to be stand-ins).
        tracer_provider = trace.get_tracer_provider()
        if type(tracer_provider) is trace.ProxyTracerProvider or isinstance(
            tracer_provider, trace.ProxyTracerProvider
        ):
            meter_provider = metrics.get_meter_provider()
            # The API's stand-in before the host sets one; it has no public name.
            if type(meter_provider).__name__ == "_ProxyMeterProvider" or isinstance(
                meter_provider, metrics.NoOpMeterProvider
            ):
                return True
        self.configured = True
        return False

    def count(self, instrument: str, *labels: tuple[str, str]) -> None:
        key = (instrument, labels)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def _observer(self, instrument: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            with self._lock:
                counted = [(labels, n) for (name, labels), n in self._counts.items() if name == instrument]
            return [Observation(n, dict(labels)) for labels, n in counted]

        return observe

    def call(
        self,
        current: ContextVar[CallRecord | None],
        provider: str,
        operation: str,
        amount: Money | None,
        key_hash: str | None,
    ) -> CallRecord:
        return CallRecord(self, current, provider, operation, amount, key_hash)


class CallRecord:
    """One call's span, entered around the whole call by the gateway, and what the hooks told it."""

    __slots__ = (
        "_context_token",
        "_current",
        "_current_token",
        "_started",
        "amount",
        "event",
        "key_hash",
        "operation",
        "provider",
        "result",
        "span",
        "telemetry",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        current: ContextVar[CallRecord | None],
        provider: str,
        operation: str,
        amount: Money | None,
        key_hash: str | None,
    ) -> None:
        self.telemetry = telemetry
        self._current = current
        self.provider = provider
        self.operation = operation
        self.amount = amount
        self.key_hash = key_hash
        self.result: object = None
        self.event: WebhookEvent | None = None

    def __enter__(self) -> CallRecord:
        attributes: dict[str, AttributeValue] = {
            "psp.provider": self.provider,
            "psp.operation": self.operation,
        }
        if self.amount is not None:
            attributes["psp.amount"] = self.amount.minor
            attributes["psp.currency"] = self.amount.currency
        if self.key_hash is not None:
            attributes["psp.idempotency_key_hash"] = self.key_hash
        self.span = self.telemetry.tracer.start_span(
            f"psp {self.operation}", kind=SpanKind.INTERNAL, attributes=attributes
        )
        # The current span for the call's duration: httpx's own instrumentation, and the
        # host's spans in a transport, nest under it.
        self._context_token = otel_context.attach(trace.set_span_in_context(self.span))
        self._current_token: Token[CallRecord | None] = self._current.set(self)
        self._started = time.perf_counter()
        return self

    def attempt(
        self,
        number: int,
        request: httpx.Request,
        response: httpx.Response | None,
        error: BaseException | None,
        retry_wait_s: float | None,
    ) -> None:
        if retry_wait_s is not None:
            self.telemetry.count(
                "psp.http.retries", ("psp.provider", self.provider), ("psp.operation", self.operation)
            )
        if not self.span.is_recording():
            return
        attributes: dict[str, AttributeValue] = {"psp.attempt": number, "http.request.method": request.method}
        if response is not None:
            attributes["http.response.status_code"] = response.status_code
        if error is not None:
            attributes["error.type"] = type(error).__name__
        if retry_wait_s is not None:
            attributes["psp.retry_wait_s"] = retry_wait_s
        self.span.add_event("psp.http.attempt", attributes)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._started
        # A call's outcome comes back as a string and is measured below, without a closure
        # or another frame per call: this runs on every call (webhooks are the rare path).
        measure_webhook: Callable[[], None] | None = None
        try:
            if self.operation == WEBHOOK_OPERATION:
                measure_webhook = self._finish_webhook(error)
                outcome = ""
            else:
                outcome = self._finish_call(error)
        finally:
            self.span.end()
            self._current.reset(self._current_token)
            otel_context.detach(self._context_token)
        # Measured outside the span: inside it, the SDK's default exemplar filter would offer
        # every measurement to its reservoir, which costs more than the measurement itself.
        if measure_webhook is not None:
            measure_webhook()
            return
        provider, operation, telemetry = self.provider, self.operation, self.telemetry
        telemetry.duration.record(
            elapsed, {"psp.provider": provider, "psp.operation": operation, "psp.outcome": outcome}
        )
        telemetry.count(
            "psp.calls", ("psp.provider", provider), ("psp.operation", operation), ("psp.outcome", outcome)
        )

    def _finish_call(self, error: BaseException | None) -> str:
        """Sets the span's closing attributes (and status on an error); returns the outcome."""
        attributes: dict[str, AttributeValue] = {}
        if error is None:
            outcome = self._describe_result(attributes)
        else:
            outcome = _describe_error(error, attributes)
            self.span.set_status(Status(StatusCode.ERROR, str(attributes["error.type"])))
        attributes["psp.outcome"] = outcome
        self.span.set_attributes(attributes)
        return outcome

    def _describe_result(self, attributes: dict[str, AttributeValue]) -> str:
        result = self.result
        status = getattr(result, "status", None)
        decline = getattr(result, "decline", None)
        if status is not None:
            attributes["psp.status"] = str(status.value)
        if decline is not None:
            attributes["psp.decline.code"] = str(decline.code.value)
            attributes["psp.decline.provider_code"] = str(decline.provider_code)
            return "declined"
        if status is not None and status.value == _FAILED_STATUS:
            return "failed"
        return "succeeded"

    def _finish_webhook(self, error: BaseException | None) -> Callable[[], None]:
        provider, telemetry = self.provider, self.telemetry
        if error is None:
            event = self.event
            if event is not None:
                self.span.set_attributes(
                    {"psp.webhook.event_id": event.event_id, "psp.webhook.event_kind": event.kind.value}
                )
            self.span.set_attribute("psp.outcome", "accepted")
            return lambda: telemetry.count(
                "psp.webhook.verifications", ("psp.provider", provider), ("psp.outcome", "accepted")
            )
        reason = error.reason if isinstance(error, WebhookVerificationError) else type(error).__name__
        self.span.set_attributes(
            {
                "psp.outcome": "rejected",
                "psp.webhook.rejection_reason": reason,
                "error.type": type(error).__name__,
            }
        )
        self.span.set_status(Status(StatusCode.ERROR, f"webhook rejected: {reason}"))

        def measure() -> None:
            telemetry.count(
                "psp.webhook.verifications", ("psp.provider", provider), ("psp.outcome", "rejected")
            )
            telemetry.count(
                "psp.webhook.rejections", ("psp.provider", provider), ("psp.webhook.rejection_reason", reason)
            )

        return measure


def _describe_error(error: BaseException, attributes: dict[str, AttributeValue]) -> str:
    """The outcome of a call that ended in ``error``; its safe details go into ``attributes``."""
    attributes["error.type"] = type(error).__name__
    # A cancellation carries the outcome as its cause (the gateway attaches it).
    verdict = error if isinstance(error, Exception) else error.__cause__
    http_status = getattr(verdict, "http_status", None)
    if isinstance(http_status, int):
        attributes["http.response.status_code"] = http_status
    request_id = getattr(verdict, "request_id", None)
    if isinstance(request_id, str):
        attributes["psp.request_id"] = request_id
    if isinstance(verdict, TransportError) and verdict.outcome_unknown:
        return "unknown"
    return "failed"
