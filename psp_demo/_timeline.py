"""The demo's record: scenarios made of steps, each with what was expected and what happened.

A step is a context manager. Inside it the scenario calls the gateway and states its checks
with :meth:`Step.expect`; the first check that does not hold (or any exception) marks the step
failed, records why, and ends the scenario, because every later step builds on this one.
The record is plain data so the report can print it for people or as JSON for machines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs

from psp_core import Mandate, Money, Payment, WebhookEvent


class StepFailed(Exception):
    """A step did not behave as expected; its message says what was observed instead."""


@attrs.frozen
class WebhookRecord:
    """A webhook that arrived at the receiver, verified, and was folded into the host's record."""

    event_id: str
    provider_type: str
    kind: str
    subject: str | None

    @classmethod
    def of(cls, event: WebhookEvent) -> WebhookRecord:
        return cls(
            event.event_id, event.provider_type, event.kind.value, event.payment_id or event.mandate_id
        )


_AMOUNT_FIELDS = ("amount", "authorized", "captured", "refunded", "voided", "charged_back")


@attrs.define
class Step:
    name: str
    expected: str
    source: str = ""
    """The product-page statement (or sandbox rule) this step checks."""
    observed: str = ""
    ok: bool = False
    status: str | None = None
    provider_status: str | None = None
    subject: str | None = None
    amounts: dict[str, Money] = attrs.field(factory=dict)
    webhooks: list[WebhookRecord] = attrs.field(factory=list)
    http: list[str] = attrs.field(factory=list)
    error: str | None = None

    def expect(self, condition: bool, otherwise: str) -> None:
        """End the step as failed, observing ``otherwise``, unless ``condition`` holds.

        A step that passes sets :attr:`observed` itself, to what a reader wants to see.
        """
        if not condition:
            self.observed = otherwise
            raise StepFailed(otherwise)

    def payment(self, payment: Payment) -> None:
        """Show this payment's state (status and non-zero totals) as the step's outcome."""
        self.subject = payment.id
        self.status = payment.status.value
        self.provider_status = payment.provider_status or None
        self.amounts = {"amount": payment.amount}
        for name in _AMOUNT_FIELDS[1:]:
            value: Money = getattr(payment, name)
            if value.minor:
                self.amounts[name] = value

    def mandate(self, mandate: Mandate) -> None:
        self.subject = mandate.id
        self.status = mandate.status.value
        self.provider_status = mandate.provider_status or None

    def received(self, events: list[WebhookEvent]) -> None:
        self.webhooks.extend(WebhookRecord.of(event) for event in events)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expected": self.expected,
            "source": self.source,
            "observed": self.observed,
            "status": "as_expected" if self.ok else "unexpected",
            "ok": self.ok,
            "error": self.error,
            "subject": self.subject,
            "normalized_status": self.status,
            "provider_status": self.provider_status,
            "amounts": {
                name: {"minor": money.minor, "currency": money.currency}
                for name, money in self.amounts.items()
            },
            "webhooks": [attrs.asdict(record) for record in self.webhooks],
            "http": list(self.http),
        }


@attrs.define
class Scenario:
    key: str
    title: str
    driver: str
    """Which gateway plays the host: ``Gateway`` or ``AsyncGateway``."""
    steps: list[Step] = attrs.field(factory=list)
    http_log: list[str] = attrs.field(factory=list)
    """Every HTTP exchange of the scenario, appended by the clients' event hooks."""

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @contextmanager
    def step(self, name: str, expected: str, source: str = "") -> Iterator[Step]:
        step = Step(name, expected, source)
        self.steps.append(step)
        mark = len(self.http_log)
        try:
            yield step
        except StepFailed:
            raise
        except Exception as error:  # any surprise is a failed step, reported, never a traceback
            step.error = f"{type(error).__name__}: {error}"
            step.observed = step.observed or step.error
            raise StepFailed(step.error) from error
        finally:
            step.http = self.http_log[mark:]
        step.ok = True

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "driver": self.driver,
            "ok": self.ok,
            "steps": [step.to_json() for step in self.steps],
        }


@attrs.define
class Timeline:
    provider: str
    sandbox_url: str = ""
    scenarios: list[Scenario] = attrs.field(factory=list)
    duration_s: float = 0.0
    webhooks_verified: int = 0
    """Deliveries that verified; PPRO may deliver an event more than once."""
    webhook_events: int = 0
    """Distinct events among them (by event id), which is what the host acts on."""
    webhooks_rejected: int = 0
    webhooks_undelivered: int = 0
    """Events the sandbox emitted that never reached the receiver verified."""

    @property
    def steps(self) -> list[Step]:
        return [step for scenario in self.scenarios for step in scenario.steps]

    @property
    def ok(self) -> bool:
        return bool(self.scenarios) and all(scenario.ok for scenario in self.scenarios)

    def failures(self) -> list[tuple[Scenario, Step]]:
        return [(scenario, step) for scenario in self.scenarios for step in scenario.steps if not step.ok]

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "sandbox_url": self.sandbox_url,
            "ok": self.ok,
            "duration_ms": round(self.duration_s * 1000),
            "summary": {
                "scenarios": len(self.scenarios),
                "steps": len(self.steps),
                "failed_steps": len(self.failures()),
                "webhooks_verified": self.webhooks_verified,
                "webhook_events": self.webhook_events,
                "webhooks_rejected": self.webhooks_rejected,
                "webhooks_undelivered": self.webhooks_undelivered,
            },
            "scenarios": [scenario.to_json() for scenario in self.scenarios],
        }
