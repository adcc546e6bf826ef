"""``Contract``: one provider, its sandbox and gateways, and the vocabulary the tests speak.

Tests never talk to a provider any other way than through the public gateways, and never
learn what a provider's PSP did any other way than through its sandbox (the driver, the
webhooks, the stored effects), so every check holds for every provider.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pluggy
import pytest
from hypothesis import settings

from psp_core import (
    PAYMENT_RANK,
    TERMINAL_PAYMENT_STATUSES,
    AmountLimits,
    AsyncGateway,
    AuthorizeRequest,
    Capabilities,
    CaptureMode,
    Consumer,
    Gateway,
    Mandate,
    MandateRequest,
    Money,
    Payment,
    PaymentStatus,
    ProviderConfig,
    ProviderSandbox,
    Requirement,
    RetryPolicy,
    WebhookEvent,
    WebhookOrder,
    currency_exponent,
)

from ._providers import Target, start_sandbox
from .hypothesis_profiles import suite_settings

T = TypeVar("T")

RETURN_URL = "https://merchant.example/return"
CONSUMER_NAME = "Contract Consumer"
OFFERED_ELSEWHERE = ("USD", "EUR", "GBP", "JPY", "CHF", "SEK", "BHD")
COUNTRIES_ELSEWHERE = ("US", "DE", "GB", "JP", "FR", "NL", "BR")

NEEDS_SANDBOX = "needs the provider's local sandbox (consumer driver, clock, webhooks, effects)"


def never_back(before: PaymentStatus, after: PaymentStatus) -> bool:
    """A stored payment may skip ahead (events get lost) but never go back or leave a terminal status.

    Reads are checked against the transition table step by step; webhooks only against this,
    since a host may see any one event of a payment's life first.
    """
    if before in TERMINAL_PAYMENT_STATUSES:
        return after is before
    return PAYMENT_RANK[after] >= PAYMENT_RANK[before]


def supports(caps: Capabilities, feature: str) -> bool:
    """Whether ``caps`` declares ``feature`` (a capability name as in the report)."""
    if feature == "capture_modes.separate":
        return CaptureMode.SEPARATE in caps.capture_modes
    if feature == "capture_modes.automatic":
        return CaptureMode.AUTOMATIC in caps.capture_modes
    if feature == "amount_limits":
        return bool(caps.amount_limits)
    if feature == "refund_window":
        return caps.refund_window is not None or caps.refund_window_months is not None
    return bool(getattr(caps, feature))


class Contract:
    """The provider under test, with a fresh sandbox."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        target: Target,
        *,
        seed: int | None = None,
        live_config: ProviderConfig | None = None,
        hypothesis_settings: settings | None = None,
    ) -> None:
        self.pm = pm
        # The suite's own hypothesis settings, applied to each check explicitly
        # (``@contract.hypothesis_settings``) so the caller's profile is never replaced.
        self.hypothesis_settings = hypothesis_settings or suite_settings()
        self.target = target
        self.provider = target.provider
        self.seed = seed
        self._live_config = live_config
        self._sandbox: ProviderSandbox | None = None
        self._gateway: Gateway | None = None
        if not target.live:
            self._sandbox = start_sandbox(pm, self.provider, seed)
        self.capabilities: Capabilities = self.gateway.capabilities
        self.currencies = sorted(self.capabilities.currencies)
        self.currency = self.currencies[0]
        self.country = sorted(self.capabilities.countries)[0]

    # -- set-up ---------------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self.target.live

    @property
    def sandbox(self) -> ProviderSandbox:
        """The sandbox; tests that need it skip in live mode (there is no driver for a real PSP)."""
        if self._sandbox is None:
            reason = NEEDS_SANDBOX if self.live else f"{self.provider} ships no sandbox (psp_sandbox)"
            pytest.skip(reason)
        return self._sandbox

    def has_sandbox(self) -> bool:
        return self._sandbox is not None

    def sandbox_gaps(self) -> dict[str, str]:
        """What the sandbox says it cannot show (check name -> why), from its optional ``gaps``."""
        gaps = getattr(self._sandbox, "gaps", None) if self._sandbox is not None else None
        return dict(gaps) if isinstance(gaps, Mapping) else {}

    def payment_method_token(self) -> str | None:
        """A token from the sandbox when the provider takes one (its optional ``payment_method_token()``)."""
        if self.capabilities.payment_method_token is Requirement.NOT_ACCEPTED:
            return None
        make = getattr(self._sandbox, "payment_method_token", None) if self._sandbox is not None else None
        if not callable(make):
            pytest.skip(f"{self.provider} needs a payment_method_token and its sandbox makes none")
        token: str = make()
        return token

    def _gateway_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"plugin_manager": self.pm, "environ": {}}
        if self._sandbox is not None:
            kwargs.update(
                options=dict(self._sandbox.options), retry=RetryPolicy.no_wait(), clock=self._sandbox.now
            )
        elif self._live_config is not None:
            import os

            kwargs.update(environ=dict(os.environ))
        return kwargs

    @property
    def gateway(self) -> Gateway:
        """The sync gateway (created once; closed by :meth:`close`)."""
        if self._gateway is None:
            transport = self._sandbox.transport() if self._sandbox is not None else None
            self._gateway = Gateway(self.provider, transport=transport, **self._gateway_kwargs())
        return self._gateway

    def async_gateway(self) -> AsyncGateway:
        """A new async gateway; create it inside the event loop that uses it."""
        transport = self._sandbox.async_transport() if self._sandbox is not None else None
        return AsyncGateway(self.provider, transport=transport, **self._gateway_kwargs())

    def fresh(self) -> Contract:
        """The same provider with a new, empty sandbox."""
        return Contract(
            self.pm,
            self.target,
            seed=self.seed,
            live_config=self._live_config,
            hypothesis_settings=self.hypothesis_settings,
        )

    def close(self) -> None:
        if self._gateway is not None:
            self._gateway.close()
        if self._sandbox is not None:
            self._sandbox.close()

    def supports(self, feature: str) -> bool:
        return supports(self.capabilities, feature)

    def require(self, *features: str) -> None:
        missing = [feature for feature in features if not self.supports(feature)]
        if missing:
            pytest.skip(f"{self.provider} does not declare {', '.join(missing)}")

    # -- calling both gateways --------------------------------------------------------------

    def call(self, via: str, method: str, *args: Any) -> Any:
        """``gateway.<method>(*args)`` through the sync gateway, or the async one (``via="async"``)."""
        if via != "async":
            return getattr(self.gateway, method)(*args)

        async def run() -> Any:
            async with self.async_gateway() as gateway:
                return await getattr(gateway, method)(*args)

        return asyncio.run(run())

    def run_async(self, body: Callable[[AsyncGateway], Awaitable[T]]) -> T:
        async def run() -> T:
            async with self.async_gateway() as gateway:
                return await body(gateway)

        return asyncio.run(run())

    # -- amounts and requests -------------------------------------------------------------------

    def limits(self, currency: str) -> AmountLimits | None:
        return self.capabilities.amount_limits.get(currency)

    def bounds(self, currency: str) -> tuple[int, int]:
        """The smallest and largest amount (minor units) the provider accepts in ``currency``."""
        limits = self.limits(currency)
        if limits is not None:
            return limits.minimum.minor, limits.maximum.minor
        return 1, 10 ** (currency_exponent(currency) + 6)

    def money(self, minor: int, currency: str | None = None) -> Money:
        return Money(minor, currency or self.currency)

    def ordinary_amount(self, currency: str | None = None) -> Money:
        """An amount well inside the limits that the sandbox does not decline."""
        currency = currency or self.currency
        low, high = self.bounds(currency)
        for candidate in (low * 20 + 7, low * 3 + 1, (low + high) // 2, low + 1):
            amount = Money(min(max(candidate, low), high), currency)
            if not self.declines(amount):
                return amount
        raise AssertionError(f"every candidate amount in {currency} is declined by the sandbox")

    def declines(self, amount: Money) -> bool:
        """True when the sandbox declines ``amount`` on approval (never in live mode)."""
        if self._sandbox is None:
            return False
        return self._sandbox.declines(amount)

    def reference(self, prefix: str = "order") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:16]}"

    def consumer(self, *, name: str | None = CONSUMER_NAME) -> Consumer:
        return Consumer(country=self.country, name=name, email="consumer@example.com")

    def authorize_request(
        self,
        amount: Money,
        *,
        capture_mode: CaptureMode = CaptureMode.SEPARATE,
        reference: str | None = None,
        key: str | None = None,
        consumer: Consumer | None = None,
    ) -> AuthorizeRequest:
        if capture_mode not in self.capabilities.capture_modes:
            capture_mode = next(iter(sorted(self.capabilities.capture_modes, key=lambda m: m.value)))
        return AuthorizeRequest(
            amount=amount,
            consumer=consumer or self.consumer(),
            return_url=RETURN_URL,
            merchant_reference=reference or self.reference(),
            capture_mode=capture_mode,
            idempotency_key=key,
            payment_method_token=self.payment_method_token(),
        )

    def mandate_request(self, *, initial: Money | None = None, key: str | None = None) -> MandateRequest:
        from psp_core import InitialCharge

        return MandateRequest(
            consumer=self.consumer(),
            return_url=RETURN_URL,
            start=self.now(),
            merchant_reference=self.reference("mandate"),
            description="contract suite mandate",
            initial_charge=InitialCharge(initial, merchant_reference=self.reference()) if initial else None,
            idempotency_key=key,
            payment_method_token=self.payment_method_token(),
        )

    def now(self) -> datetime:
        return self._sandbox.now() if self._sandbox is not None else datetime.now(UTC)

    # -- getting payments into a state ------------------------------------------------------------

    def pending(self, amount: Money | None = None, mode: CaptureMode = CaptureMode.SEPARATE) -> Payment:
        """A payment waiting for the consumer."""
        payment: Payment = self.gateway.authorize(
            self.authorize_request(amount or self.ordinary_amount(), capture_mode=mode)
        )
        assert payment.status in (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION), payment
        return payment

    def approved(self, amount: Money | None = None, mode: CaptureMode = CaptureMode.SEPARATE) -> Payment:
        """A payment the consumer approved, as the provider now reports it."""
        payment = self.pending(amount, mode)
        self.sandbox.approve(payment.id)
        return self.gateway.get_payment(payment.id)

    def authorized(self, amount: Money | None = None) -> Payment:
        """An approved payment awaiting capture (needs separate capture)."""
        self.require("capture_modes.separate")
        payment = self.approved(amount, CaptureMode.SEPARATE)
        assert payment.status is PaymentStatus.AUTHORIZED, payment
        return payment

    def captured(self, amount: Money | None = None) -> Payment:
        """A fully captured payment, however the provider captures."""
        mode = CaptureMode.AUTOMATIC if self.supports("capture_modes.automatic") else CaptureMode.SEPARATE
        payment = self.approved(amount, mode)
        if payment.status is PaymentStatus.AUTHORIZED:
            from psp_core import CaptureRequest

            payment = self.gateway.capture(CaptureRequest(payment))
        assert payment.status is PaymentStatus.CAPTURED, payment
        return self.gateway.get_payment(payment.id)

    # -- webhooks -----------------------------------------------------------------------------

    def webhook_events(self, order: WebhookOrder = WebhookOrder.AS_SENT) -> list[WebhookEvent]:
        """Every pending webhook, verified and normalized by the gateway."""
        hooks = self.sandbox.deliver_webhooks(order)
        return [self.gateway.parse_webhook(hook.headers, hook.body) for hook in hooks]

    def advance(self, delta: timedelta) -> None:
        self.sandbox.advance(delta)

    def settled(self, payment: Payment, *, succeed: bool = True) -> Payment:
        """The payment once the PSP settled its pending refunds (a provider that answers
        refunds at once has none): the sandbox settles them, and a read reports them."""
        if not payment.refund_pending:
            return payment
        self.require("pending_refunds")
        if not self.can_settle_refunds:
            pytest.skip(
                f"{self.provider}'s sandbox has no settle_refunds(): it cannot settle pending refunds"
            )
        assert self.settle_refunds(payment.id, succeed=succeed) >= 1, payment
        return self.gateway.get_payment(payment.id)

    @property
    def can_settle_refunds(self) -> bool:
        return callable(getattr(self.sandbox, "settle_refunds", None))

    def settle_refunds(self, payment_id: str, *, succeed: bool = True) -> int:
        """Have the sandbox settle the payment's pending refunds now (an optional sandbox method)."""
        settled: int = getattr(self.sandbox, "settle_refunds")(payment_id, succeed=succeed)  # noqa: B009
        return settled

    def mandate(self, mandate: Mandate) -> Mandate:
        return self.gateway.get_mandate(mandate.id)
