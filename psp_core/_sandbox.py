"""What a provider's sandbox offers the contract suite, through the ``psp_sandbox`` hook.

A provider plugin ships a stateful sandbox of its PSP and returns a :class:`ProviderSandbox`
from ``psp_sandbox``: the gateway options that talk to it, an in-process transport, a clock
it controls, a *driver* that plays the consumer (approve, decline, cancel, walk away), its
signed webhooks, fault injection, and the effects it stored, so a test can tell "one capture"
from "two captures" without trusting the plugin under test.

The contract suite (``psp contract <provider>``) drives every provider only through this
interface, so a new provider is proven by the same tests as the first one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs
import httpx

from ._money import Money

FAULT_KINDS: frozenset[str] = frozenset(
    {
        "drop_after_store",
        "timeout_after_store",
        "connection_refused",
        "5xx",
        "429",
        "429_retry_after",
        "timeout",
        "409_in_flight",
        "latency",
        "garbled_after_store",
        "truncated_after_store",
        "wrong_type_after_store",
        "missing_id_after_store",
        "unknown_status_after_store",
        "wrong_amount_after_store",
        "deep_nesting_after_store",
    }
)
"""Faults a sandbox may support in :meth:`ProviderSandbox.inject_fault`.

- ``drop_after_store``: the PSP performs and stores the operation, then the connection drops
  before the answer arrives (the unknown outcome).
- ``timeout_after_store``: the PSP performs and stores the operation, then the read times out.
- ``connection_refused``: the connection is refused; nothing reaches the PSP.
- ``5xx``: the PSP answers 500/503 without performing the operation.
- ``429`` / ``429_retry_after``: the PSP rate-limits the request without performing it,
  without or with a ``Retry-After`` hint.
- ``timeout``: the request times out without the operation being performed.
- ``409_in_flight``: the PSP says the first request with this idempotency key is still running.
- ``latency``: the PSP performs the operation after an added delay.

Broken answers after the commit: the PSP performs and stores the operation and answers 2xx,
but the answer the client reads is broken. Resuming with the same key replays the real one.

- ``garbled_after_store``: not JSON (an HTML page).
- ``truncated_after_store``: cut short.
- ``wrong_type_after_store``: JSON of the wrong type (a list).
- ``missing_id_after_store``: the object without its id.
- ``unknown_status_after_store``: a status the PSP does not document.
- ``wrong_amount_after_store``: an amount one minor unit off the request's.
- ``deep_nesting_after_store``: JSON nested deep enough to raise RecursionError in a parser.
"""


class WebhookOrder(enum.Enum):
    """How :meth:`ProviderSandbox.deliver_webhooks` hands out what is pending."""

    AS_SENT = "as_sent"
    REVERSED = "reversed"
    """Newest first: every event arrives after the ones that followed it."""
    DUPLICATED = "duplicated"
    """Every event twice, the copies after all originals (a PSP retrying a lost acknowledgement)."""


@attrs.frozen
class SandboxWebhook:
    """One webhook delivery exactly as it would reach the host: headers and raw body."""

    headers: Mapping[str, str]
    body: bytes


@attrs.frozen
class SandboxEffects:
    """What the PSP stored for one payment: the count of each money movement.

    Counted by the sandbox itself, never through the plugin, so "exactly one effect" is
    checked against the PSP's truth.
    """

    captures: int = 0
    refunds: int = 0
    voids: int = 0

    @property
    def total(self) -> int:
        return self.captures + self.refunds + self.voids


@runtime_checkable
class ProviderSandbox(Protocol):
    """A controllable instance of a provider's PSP, as the contract suite drives it.

    Each call of ``psp_sandbox`` returns a *fresh* sandbox with no payments in it.
    Methods a sandbox cannot offer raise ``NotImplementedError``; the suite then skips the
    checks that need them and says so in the conformance report.
    """

    @property
    def options(self) -> Mapping[str, object]:
        """Gateway options (``Gateway(provider, options=...)``) that talk to this sandbox."""
        ...

    @property
    def fault_kinds(self) -> frozenset[str]:
        """The subset of :data:`FAULT_KINDS` that :meth:`inject_fault` supports."""
        ...

    @property
    def webhook_tolerance(self) -> timedelta | None:
        """How old a signed webhook may be before the plugin must reject it; None if unsigned in time."""
        ...

    def transport(self) -> httpx.BaseTransport:
        """A transport for ``httpx.Client`` that reaches this sandbox in-process."""
        ...

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """A transport for ``httpx.AsyncClient``; may be the same object as :meth:`transport`."""
        ...

    def now(self) -> datetime:
        """The sandbox clock (timezone-aware). Gateways under test use it as their clock."""
        ...

    def advance(self, delta: timedelta) -> None:
        """Move the sandbox clock forward; time-outs and refund windows follow it."""
        ...

    # -- the consumer driver ---------------------------------------------------------------

    def approve(self, resource_id: str) -> None:
        """The consumer approves the payment or mandate waiting for them (the redirect)."""
        ...

    def decline(self, resource_id: str) -> None:
        """The consumer's authentication fails or their bank refuses."""
        ...

    def cancel(self, resource_id: str) -> None:
        """The consumer cancels on the PSP's page."""
        ...

    def let_time_out(self, resource_id: str) -> None:
        """The consumer never acts: advance the clock past the PSP's time limit for ``resource_id``."""
        ...

    def declines(self, amount: Money) -> bool:
        """True when the PSP deterministically declines ``amount`` on approval."""
        ...

    def chargeback(self, payment_id: str, amount: Money | None = None) -> None:
        """The consumer disputes the captured payment and wins ``amount`` (default: everything
        still held); raise NotImplementedError if unsupported. Only called with an amount when
        the provider declares ``partial_chargebacks``.

        A provider that declares ``pending_refunds`` also gives its sandbox
        ``settle_refunds(payment_id, *, succeed=True) -> int`` (settle the payment's pending
        refunds now, succeeding or failing; returns how many). It is optional, so sandboxes
        written before it still satisfy this protocol; the contract suite skips the pending
        refund checks for a sandbox without it.

        Two more optional members serve sandboxes built over a PSP fake that others wrote:
        ``gaps: Mapping[str, str]`` names the checks the fake cannot show (``"idempotency"`` ->
        why), which the suite then skips with that reason; and ``payment_method_token() -> str``
        makes the token a token-based provider's front end would obtain, for requests that need
        one (``Capabilities.payment_method_token``)."""
        ...

    # -- webhooks, faults, effects ------------------------------------------------------------

    def deliver_webhooks(self, order: WebhookOrder = WebhookOrder.AS_SENT) -> list[SandboxWebhook]:
        """Every webhook emitted since the last call, signed now, as the PSP would deliver them."""
        ...

    def forge_webhook(self, webhook: SandboxWebhook) -> SandboxWebhook:
        """The same body signed the provider's way but with a secret that is not the merchant's."""
        ...

    def inject_fault(self, kind: str, count: int = 1) -> None:
        """Make the next ``count`` API requests fail with ``kind`` (one of :attr:`fault_kinds`)."""
        ...

    def clear_faults(self) -> None:
        """Drop pending fault injections."""
        ...

    def effects(self, payment_id: str) -> SandboxEffects:
        """What the PSP stored for ``payment_id``."""
        ...

    def payment_count(self, merchant_reference: str) -> int:
        """How many payments the PSP holds with this merchant reference."""
        ...

    def mandate_count(self, merchant_reference: str) -> int:
        """How many mandates the PSP holds with this merchant reference."""
        ...

    def revocations(self, mandate_id: str) -> int:
        """How many revocations the PSP stored for ``mandate_id``."""
        ...

    def close(self) -> None:
        """Release anything the sandbox holds (threads, servers)."""
        ...


def arrange_webhooks(webhooks: Sequence[SandboxWebhook], order: WebhookOrder) -> list[SandboxWebhook]:
    """``webhooks`` (oldest first) in the delivery ``order``: a helper for sandbox implementations."""
    if order is WebhookOrder.REVERSED:
        return list(reversed(webhooks))
    if order is WebhookOrder.DUPLICATED:
        return [*webhooks, *webhooks]
    return list(webhooks)


__all__ = [
    "FAULT_KINDS",
    "ProviderSandbox",
    "SandboxEffects",
    "SandboxWebhook",
    "WebhookOrder",
    "arrange_webhooks",
]
