"""``Sandbox``: the in-process controller tests and demos hold on to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._clock import SandboxClock
from ._config import SandboxConfig
from ._faults import Faults
from ._models import Chargeback, Effects, Json
from ._simulator import PproSimulator
from ._transport import SandboxTransport
from ._webhooks import Event, SendFn, WebhookDelivery

if TYPE_CHECKING:
    from starlette.types import ASGIApp


class Sandbox:
    """A stateful local PPRO (Amazon Pay) sandbox. Each instance owns all of its state."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.simulator = PproSimulator(self.config)

    # ------------------------------------------------------------- adapters
    def transport(self) -> SandboxTransport:
        """A new in-process httpx transport (sync and async) with its own request counter."""
        return SandboxTransport(self.simulator)

    def asgi_app(self) -> ASGIApp:
        from ._asgi import build_app

        return build_app(self.simulator)

    # ------------------------------------------------------------ controls
    @property
    def clock(self) -> SandboxClock:
        return self.simulator.clock

    @property
    def faults(self) -> Faults:
        return self.simulator.faults

    @property
    def request_count(self) -> int:
        """Requests the simulator handled through any adapter (admin routes included)."""
        return self.simulator.request_count

    def approve(self, resource_id: str) -> str:
        """The consumer approves a charge or agreement; returns its new status."""
        return self.simulator.consumer_action(resource_id, "approve")

    def decline(self, resource_id: str) -> str:
        return self.simulator.consumer_action(resource_id, "decline")

    def cancel(self, resource_id: str) -> str:
        return self.simulator.consumer_action(resource_id, "cancel")

    def expire_pending(self) -> int:
        """Discard everything whose authentication timeout passed; returns how many."""
        return self.simulator.expire_pending()

    def chargeback(self, charge_id: str, amount: int | None = None) -> Chargeback:
        """A partial (``amount``) or full (everything still held) chargeback: CHARGEBACK_SUCCEEDED."""
        return self.simulator.chargeback(charge_id, amount)

    def settle_refund(self, charge_id: str, refund_id: str, *, succeed: bool = True) -> Json:
        """Settle a PENDING refund now: REFUNDED, or FAILED (its amount is refundable again)."""
        return self.simulator.settle_refund(charge_id, refund_id, succeed=succeed)

    def settle_refunds(self, charge_id: str, *, succeed: bool = True) -> int:
        """Settle every PENDING refund of a charge now; returns how many."""
        pending = [r["id"] for r in self.charge(charge_id)["refunds"] if r["status"] == "PENDING"]
        for refund_id in pending:
            self.settle_refund(charge_id, refund_id, succeed=succeed)
        return len(pending)

    # ---------------------------------------------------------- inspection
    def charge(self, charge_id: str) -> Json:
        return self.simulator.charge_json(charge_id)

    def agreement(self, agreement_id: str) -> Json:
        return self.simulator.agreement_json(agreement_id)

    def verification_charge(self, agreement_id: str) -> str | None:
        """The id of the charge PPRO made to verify an iDEAL agreement's account, if it made one."""
        return self.simulator.verification_charge(agreement_id)

    def effects(self, charge_id: str) -> Effects:
        return self.simulator.effects(charge_id)

    def charge_count(self, merchant_reference: str) -> int:
        return self.simulator.charge_count(merchant_reference)

    def agreement_count(self, merchant_reference: str) -> int:
        return self.simulator.agreement_count(merchant_reference)

    @property
    def events(self) -> list[Event]:
        return self.simulator.events

    @property
    def chargebacks(self) -> list[Chargeback]:
        return self.simulator.chargebacks

    @property
    def outbox(self) -> list[Event]:
        return self.simulator.outbox

    @property
    def dead_letters(self) -> list[Event]:
        return self.simulator.dead_letters

    def pending_webhooks(self) -> list[WebhookDelivery]:
        return self.simulator.pending_webhooks()

    def drain_webhooks(self, send: SendFn) -> int:
        return self.simulator.drain_webhooks(send)
