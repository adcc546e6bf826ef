"""The ``psp_sandbox`` hook: the local PPRO sandbox, as the contract suite drives it.

Everything here is a thin adapter over :class:`psp_ppro.sandbox.Sandbox`; the sandbox
keeps PPRO's statuses and each method's rules, and the contract suite checks the plugin's
mapping of them, one method profile at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpx

from psp_core import (
    Money,
    ProviderSandbox,
    SandboxEffects,
    SandboxWebhook,
    WebhookOrder,
    arrange_webhooks,
)

from ._profile import MethodProfile
from ._settings import DEFAULT_WEBHOOK_TOLERANCE_S
from .sandbox import DECLINE_RANGE, Sandbox, SandboxConfig, WebhookDelivery, sign
from .sandbox._faults import BROKEN_ANSWERS

_API_KEY = "contract_api_key"
_MERCHANT_ID = "contract_merchant"
_WEBHOOK_SECRET = "whsec_contract"  # noqa: S105 - a local sandbox's signing key, not a credential
_FORGED_SECRET = "whsec_not_the_merchants"  # noqa: S105
_BASE_URL = "https://sandbox.local"
_WEBHOOKS_URL = "https://merchant.example/psp/webhooks"
_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# The contract suite's fault names onto the sandbox's own.
_FAULTS: Mapping[str, str] = {
    "drop_after_store": "drop_after_store",
    "timeout_after_store": "timeout_after_store",
    "connection_refused": "connection_refused",
    "5xx": "503",
    "429": "429",
    "429_retry_after": "429",
    "timeout": "timeout",
    "409_in_flight": "409_in_flight",
    "latency": "latency",
    **{kind: kind for kind in BROKEN_ANSWERS},
}


class PproContractSandbox:
    """A fresh local PPRO sandbox behind the :class:`psp_core.ProviderSandbox` interface."""

    def __init__(self, profile: MethodProfile, seed: int | None = None) -> None:
        self.profile = profile
        self.sandbox = Sandbox(
            SandboxConfig(
                api_key=_API_KEY,
                merchant_id=_MERCHANT_ID,
                webhook_secret=_WEBHOOK_SECRET,
                base_url=_BASE_URL,
                # Every event is queued for this URL, so deliver_webhooks sees all of them.
                default_webhooks_url=_WEBHOOKS_URL,
                seed=seed,
                start_time=_START,
            )
        )
        self._transport = self.sandbox.transport()

    @property
    def options(self) -> Mapping[str, object]:
        return {
            "api_key": _API_KEY,
            "merchant_id": _MERCHANT_ID,
            "base_url": _BASE_URL,
            "webhook_secret": _WEBHOOK_SECRET,
        }

    @property
    def fault_kinds(self) -> frozenset[str]:
        return frozenset(_FAULTS)

    @property
    def webhook_tolerance(self) -> timedelta | None:
        return timedelta(seconds=DEFAULT_WEBHOOK_TOLERANCE_S)

    def transport(self) -> httpx.BaseTransport:
        return self._transport

    def async_transport(self) -> httpx.AsyncBaseTransport:
        return self._transport

    def now(self) -> datetime:
        return self.sandbox.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.sandbox.clock.advance(delta.total_seconds())
        self.sandbox.expire_pending()

    def approve(self, resource_id: str) -> None:
        self.sandbox.approve(resource_id)

    def decline(self, resource_id: str) -> None:
        self.sandbox.decline(resource_id)

    def cancel(self, resource_id: str) -> None:
        self.sandbox.cancel(resource_id)

    def let_time_out(self, resource_id: str) -> None:
        self.advance(timedelta(seconds=self.sandbox.config.authentication_timeout_s + 1))

    def declines(self, amount: Money) -> bool:
        return amount.currency == self.profile.currency and amount.minor in DECLINE_RANGE

    def chargeback(self, payment_id: str, amount: Money | None = None) -> None:
        self.sandbox.chargeback(payment_id, None if amount is None else amount.minor)

    def settle_refunds(self, payment_id: str, *, succeed: bool = True) -> int:
        """The optional ProviderSandbox method for providers with pending refunds."""
        return self.sandbox.settle_refunds(payment_id, succeed=succeed)

    def deliver_webhooks(self, order: WebhookOrder = WebhookOrder.AS_SENT) -> list[SandboxWebhook]:
        delivered: list[SandboxWebhook] = []

        def receive(delivery: WebhookDelivery) -> int:
            delivered.append(SandboxWebhook(headers=dict(delivery.headers), body=delivery.body))
            return 200

        self.sandbox.drain_webhooks(receive)
        return arrange_webhooks(delivered, order)

    def forge_webhook(self, webhook: SandboxWebhook) -> SandboxWebhook:
        headers = sign(webhook.body, _FORGED_SECRET, int(self.now().timestamp()), legacy=False)
        return SandboxWebhook(headers=headers, body=webhook.body)

    def inject_fault(self, kind: str, count: int = 1) -> None:
        if kind not in _FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(_FAULTS)}")
        # A zero-second hint: the gateway honours it without slowing the campaign down.
        retry_after = 0 if kind == "429_retry_after" else None
        self.sandbox.faults.inject_next(_FAULTS[kind], count, retry_after)

    def clear_faults(self) -> None:
        self.sandbox.faults.clear()

    def effects(self, payment_id: str) -> SandboxEffects:
        # The sandbox's own count of operations that moved (or reserved) money.
        effects = self.sandbox.effects(payment_id)
        return SandboxEffects(captures=effects.captures, refunds=effects.refunds, voids=effects.voids)

    def payment_count(self, merchant_reference: str) -> int:
        return self.sandbox.charge_count(merchant_reference)

    def mandate_count(self, merchant_reference: str) -> int:
        return self.sandbox.agreement_count(merchant_reference)

    def revocations(self, mandate_id: str) -> int:
        return len(self.sandbox.agreement(mandate_id).get("revocations", []))

    def close(self) -> None:
        self.sandbox.faults.clear()


def sandbox_for(profile: MethodProfile, options: Mapping[str, object]) -> ProviderSandbox:
    seed = options.get("seed")
    return PproContractSandbox(profile, seed=seed if isinstance(seed, int) else None)
