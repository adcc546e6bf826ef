"""fakepay as a second provider for the contract suite: a stricter fake PSP and its sandbox.

``tests/fakepay.py`` keeps its fake PSP lenient on purpose (core tests need it to accept what
the gateway lets through). The contract suite needs a PSP that enforces balances, windows and
mandate states like a real one, emits webhooks and plays the consumer, so this module extends
it; ``mutants.py`` then breaks it on purpose.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import httpx

from psp_core import (
    Capabilities,
    Flow,
    Mandate,
    MandateRequest,
    MandateStatus,
    Money,
    NextAction,
    ProviderConfig,
    ProviderSandbox,
    SandboxEffects,
    SandboxWebhook,
    WebhookOrder,
    arrange_webhooks,
    hookimpl,
    signing,
)
from tests.fakepay import BASE_URL, DECLINE_AMOUNT, NAME, FakePayPlugin, FakePsp, _json, _post
from tests.fakepay import capabilities as fakepay_capabilities

AUTHENTICATION_TIMEOUT = timedelta(hours=1)
REFUND_WINDOW = timedelta(days=30)


def _refused(error: str) -> httpx.Response:
    return httpx.Response(400, json={"error": error})


def _total(charge: dict[str, Any], kind: str) -> Decimal:
    return sum((Decimal(op["amount"]) for op in charge["ops"] if op["kind"] == kind), Decimal(0))


@attrs.define
class ContractFakePsp(FakePsp):
    """FakePsp that refuses what a real PSP refuses and queues a webhook for every change."""

    outbox: list[bytes] = attrs.field(factory=list)
    _events: itertools.count[int] = attrs.field(factory=itertools.count)

    # -- faults the base class does not have -------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.faults and self.faults[0] == "timeout":
            self.faults.pop(0)
            raise httpx.ReadTimeout("timed out before the PSP acted", request=request)
        return super().handle(request)

    # -- webhooks ------------------------------------------------------------------------------

    def emit(self, charge_id: str) -> None:
        """Queue an event carrying the charge as it is now (signed when delivered)."""
        event = {"id": f"ev_{next(self._events):06d}", "type": "charge.updated"}
        self.outbox.append(json.dumps({**event, "charge": self.charges[charge_id]}).encode())

    def sign(self, body: bytes, secret: str | None = None) -> dict[str, str]:
        stamp = str(int(self.now.timestamp()))
        signature = signing.hmac_sha256_hex(secret or self.webhook_secret, stamp.encode() + b"." + body)
        return {"Content-Type": "application/json", "Fake-Signature": f"t={stamp},s={signature}"}

    # -- charges --------------------------------------------------------------------------------

    def _create_charge(self, body: dict[str, Any], *, state: str = "action") -> httpx.Response:
        response = super()._create_charge(body, state=state)
        charge = self.charges[response.json()["id"]]
        charge["created_at"] = self.now.isoformat()
        self.emit(charge["id"])
        return response

    def approve(self, charge_id: str) -> None:
        charge = self.charges[charge_id]
        if charge["state"] != "action":
            raise ValueError(f"{charge_id} is not waiting for the consumer")
        super().approve(charge_id)
        self.emit(charge_id)

    def stop(self, charge_id: str, code: str) -> None:
        charge = self.charges[charge_id]
        if charge["state"] != "action":
            raise ValueError(f"{charge_id} is not waiting for the consumer")
        charge["state"], charge["decline"] = "declined", code
        self.emit(charge_id)

    def expire(self) -> None:
        for charge in self.charges.values():
            created = charge.get("created_at")
            if charge["state"] == "action" and created and self._timed_out(created):
                self.stop(charge["id"], "EXPIRED")

    def _timed_out(self, created: str) -> bool:
        from datetime import datetime

        return self.now >= datetime.fromisoformat(created) + AUTHENTICATION_TIMEOUT

    def check_operation(self, charge: dict[str, Any], op: str, amount: Decimal) -> str | None:
        """Why the PSP refuses ``op`` of ``amount``, or None."""
        authorized = _total(charge, "authorization")
        if op in ("capture", "void"):
            left = authorized - _total(charge, "capture") - _total(charge, "void")
            return None if 0 < amount <= left else "exceeds_authorized"
        if op == "refund":
            if charge["captured_at"] and self._past_window(charge["captured_at"]):
                return "refund_window_passed"
            left = _total(charge, "capture") - _total(charge, "refund")
            return None if 0 < amount <= left else "exceeds_captured"
        return "no_route"

    def _past_window(self, captured_at: str) -> bool:
        from datetime import datetime

        return self.now > datetime.fromisoformat(captured_at) + REFUND_WINDOW

    def _operate(self, charge_id: str, op: str, body: dict[str, Any]) -> httpx.Response:
        charge = self.charges.get(charge_id)
        if charge is None:
            return _refused("unknown_charge")
        why = self.check_operation(charge, op, Decimal(body["amount"]))
        if why is not None:
            return _refused(why)
        response = super()._operate(charge_id, op, body)
        self.emit(charge_id)
        return response

    # -- mandates -------------------------------------------------------------------------------

    def _create_mandate(self, body: dict[str, Any]) -> httpx.Response:
        response = super()._create_mandate(body)
        mandate = self.mandates[response.json()["id"]]
        initial = body.get("initial")
        if isinstance(initial, dict):
            created = self._create_charge({**initial, "mandate": mandate["id"]})
            mandate["initial"] = created.json()["id"]
        return httpx.Response(200, json=mandate)

    def consumer_on_mandate(self, mandate_id: str, action: str) -> None:
        mandate = self.mandates[mandate_id]
        if mandate["state"] != "action":
            raise ValueError(f"{mandate_id} is not waiting for the consumer")
        mandate["state"] = "active" if action == "approve" else "failed"
        initial = mandate.get("initial")
        if initial is not None:
            if action == "approve":
                self.approve(initial)
            else:
                self.stop(initial, "CANCELLED")

    def _charge_mandate(self, mandate_id: str, body: dict[str, Any]) -> httpx.Response:
        mandate = self.mandates.get(mandate_id)
        if mandate is None:
            return _refused("unknown_mandate")
        response = self._create_charge({**body, "mandate": mandate_id})
        charge = self.charges[response.json()["id"]]
        if mandate["state"] == "active":
            self.approve(charge["id"])
        else:
            code = "MANDATE_REVOKED" if mandate["state"] == "revoked" else "MANDATE_ACTION"
            self.stop(charge["id"], code)
        return httpx.Response(200, json=charge)


class FakeSandbox:
    """The :class:`psp_core.ProviderSandbox` over a :class:`ContractFakePsp`."""

    def __init__(self, psp: ContractFakePsp) -> None:
        self.psp = psp
        self._transport = psp.transport()

    @property
    def options(self) -> Mapping[str, object]:
        return {"api_key": self.psp.api_key, "webhook_secret": self.psp.webhook_secret}

    @property
    def fault_kinds(self) -> frozenset[str]:
        return frozenset(
            {
                "drop_after_store",
                "connection_refused",
                "5xx",
                "429",
                "429_retry_after",
                "timeout",
                "409_in_flight",
            }
        )

    @property
    def webhook_tolerance(self) -> timedelta | None:
        return timedelta(minutes=5)

    def transport(self) -> httpx.BaseTransport:
        return self._transport

    def async_transport(self) -> httpx.AsyncBaseTransport:
        return self._transport

    def now(self) -> Any:
        return self.psp.now

    def advance(self, delta: timedelta) -> None:
        self.psp.now += delta
        self.psp.expire()

    def _consumer(self, resource_id: str, action: str, code: str) -> None:
        if resource_id in self.psp.mandates:
            self.psp.consumer_on_mandate(resource_id, action)
        elif action == "approve":
            self.psp.approve(resource_id)
        else:
            self.psp.stop(resource_id, code)

    def approve(self, resource_id: str) -> None:
        self._consumer(resource_id, "approve", "")

    def decline(self, resource_id: str) -> None:
        self._consumer(resource_id, "decline", "NSF")

    def cancel(self, resource_id: str) -> None:
        self._consumer(resource_id, "cancel", "CANCELLED")

    def let_time_out(self, resource_id: str) -> None:
        self.advance(AUTHENTICATION_TIMEOUT + timedelta(seconds=1))

    def declines(self, amount: Money) -> bool:
        return amount.minor == DECLINE_AMOUNT

    def chargeback(self, payment_id: str) -> None:
        raise NotImplementedError("fakepay has no chargebacks")

    def deliver_webhooks(self, order: WebhookOrder = WebhookOrder.AS_SENT) -> list[SandboxWebhook]:
        bodies, self.psp.outbox = self.psp.outbox, []
        return arrange_webhooks([SandboxWebhook(self.psp.sign(body), body) for body in bodies], order)

    def forge_webhook(self, webhook: SandboxWebhook) -> SandboxWebhook:
        return SandboxWebhook(self.psp.sign(webhook.body, secret="not-the-merchants-secret"), webhook.body)

    def inject_fault(self, kind: str, count: int = 1) -> None:
        native = {
            "drop_after_store": "drop",
            "connection_refused": "connect",
            "5xx": "503",
            "429_retry_after": "429",  # fakepay's 429 always carries Retry-After: 0
            "409_in_flight": "conflict",
        }.get(kind, kind)
        self.psp.faults.extend([native] * count)

    def clear_faults(self) -> None:
        self.psp.faults.clear()

    def effects(self, payment_id: str) -> SandboxEffects:
        ops = [op["kind"] for op in self.psp.charges[payment_id]["ops"]]
        counts = {kind: ops.count(kind) for kind in ("capture", "refund", "void")}
        return SandboxEffects(captures=counts["capture"], refunds=counts["refund"], voids=counts["void"])

    def payment_count(self, merchant_reference: str) -> int:
        return sum(1 for charge in self.psp.charges.values() if charge["reference"] == merchant_reference)

    def mandate_count(self, merchant_reference: str) -> int:
        return sum(1 for mandate in self.psp.mandates.values() if mandate["reference"] == merchant_reference)

    def revocations(self, mandate_id: str) -> int:
        # fakepay keeps no revocation records; a revoked mandate was revoked exactly once,
        # since it refuses to revoke twice.
        return 1 if self.psp.mandates[mandate_id]["state"] == "revoked" else 0

    def close(self) -> None:
        self.psp.faults.clear()


_MANDATE_STATES = {
    "action": MandateStatus.REQUIRES_ACTION,
    "active": MandateStatus.ACTIVE,
    "revoked": MandateStatus.REVOKED,
    "failed": MandateStatus.FAILED,
}


class ContractFakePay(FakePayPlugin):
    """fakepay with a sandbox hook, initial mandate charges and failed mandates."""

    psp_class: type[ContractFakePsp] = ContractFakePsp

    def __init__(self, capabilities: Capabilities | None = None) -> None:
        # The fake PSP has no chargebacks, so the contract fakepay does not declare them.
        super().__init__(capabilities or attrs.evolve(fakepay_capabilities(), chargebacks=False))

    @hookimpl
    def psp_sandbox(self, options: Mapping[str, object]) -> ProviderSandbox:
        return FakeSandbox(self.psp_class())

    @staticmethod
    def _mandate(data: Any) -> Mandate:
        state = data["state"]
        return Mandate(
            provider=NAME,
            id=data["id"],
            status=_MANDATE_STATES[state],
            provider_status=state,
            merchant_reference=data["reference"],
            next_action=NextAction(f"{BASE_URL}/approve/{data['id']}") if state == "action" else None,
            initial_payment_id=data.get("initial"),
        )

    @hookimpl
    def psp_create_mandate(self, config: ProviderConfig, request: MandateRequest) -> Flow[Mandate]:
        body: dict[str, object] = {"reference": request.merchant_reference}
        if request.initial_charge is not None:
            amount = request.initial_charge.amount
            body["initial"] = {
                "amount": str(amount.amount),
                "currency": amount.currency,
                "reference": request.initial_charge.merchant_reference or request.merchant_reference,
                "capture": "auto",
            }
        response = yield _post("/mandates", body)
        return self._mandate(_json(response))


PLUGIN = ContractFakePay()
"""The honest contract fakepay: ``--psp-plugin fakepay=tests.contracts.fakepay_sandbox:PLUGIN``."""
