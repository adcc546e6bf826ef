"""How the demo shop reaches each installed provider's PSP: the only provider-aware part of it.

The shop itself is generic: it offers every installed provider it can reach whose capabilities
take the basket. A *reach* starts what stands in for a PSP on loopback and builds, for each
installed provider it knows, the gateway that talks to it (or None: not this reach's provider).
A provider added later appears in the shop once a reach knows how to get to its sandbox.

- The PPRO reach serves one PPRO sandbox, which serves every PPRO method (Amazon Pay, iDEAL);
  each PPRO provider's gateway gets the same base URL and credentials.
- The Stripe reach starts localstripe (``psp[localstripe]``) and registers the shop's webhook
  endpoint with it. A token-based provider needs the payment method the buyer's browser got
  from the PSP; the shop has no Stripe.js, so the reach offers Stripe's documented test
  PaymentMethods instead (:attr:`Reach.test_payment_methods`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import Protocol

import attrs
import httpx

from psp_core import Gateway
from psp_ppro import PproPlugin
from psp_ppro.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_in_thread

Clock = Callable[[], datetime]

STRIPE_WEBHOOK_ENDPOINT = "psp-demo-shop"
"""The name the shop's endpoint is registered under in localstripe (``/_config/webhooks/NAME``)."""


@attrs.frozen
class TestPaymentMethod:
    """A payment method the checkout offers for a token-based provider: its id and what it does."""

    token: str
    label: str


STRIPE_TEST_PAYMENT_METHODS: Sequence[TestPaymentMethod] = (
    # https://docs.stripe.com/testing#cards : "pm_card_visa", Visa 4242 4242 4242 4242, succeeds.
    TestPaymentMethod("pm_card_visa", "Visa 4242 (test card: succeeds)"),
    # https://docs.stripe.com/testing#declined-payments : "pm_card_chargeCustomerFail", Visa
    # 4000 0000 0000 0341, is declined when charged. localstripe declines this one when charging;
    # it charges "pm_card_visa_chargeDeclined" (0002) successfully, so that one is not offered.
    TestPaymentMethod("pm_card_chargeCustomerFail", "Visa 0341 (test card: declined when charged)"),
)


class Reach(Protocol):
    """A way to a PSP (its sandbox on loopback), for the providers that use it."""

    def gateway(self, provider: str, plugin: object, plugin_manager: object) -> Gateway | None:
        """A gateway for ``provider`` (its registered ``plugin``) to this PSP, or None if not ours."""
        ...

    def test_payment_methods(self, provider: str) -> Sequence[TestPaymentMethod]:
        """What the checkout offers as ``payment_method_token`` for ``provider`` (none: no token)."""
        ...

    def describe(self) -> str:
        """One line for the console: what was started, and where."""
        ...


class PproReach:
    """One PPRO sandbox on loopback, with random credentials (nothing real to leak)."""

    def __init__(self, stack: ExitStack) -> None:
        self.api_key = f"key_sandbox_{secrets.token_urlsafe(16)}"
        self.merchant_id = f"merch_shop{secrets.token_hex(6)}"
        self.webhook_secret = f"whsec_{secrets.token_urlsafe(24)}"
        self.sandbox = Sandbox(
            SandboxConfig(
                api_key=self.api_key,
                merchant_id=self.merchant_id,
                webhook_secret=self.webhook_secret,
                separate_captures=True,
            )
        )
        self.running: RunningSandbox = stack.enter_context(serve_in_thread(self.sandbox, "127.0.0.1", 0))

    @property
    def base_url(self) -> str:
        return self.running.base_url

    @property
    def clock(self) -> Clock:
        """The sandbox's clock: gateways check refund windows on it, so both agree on "now"."""
        return self.sandbox.clock.now

    def gateway(self, provider: str, plugin: object, plugin_manager: object) -> Gateway | None:
        if not isinstance(plugin, PproPlugin):
            return None
        options: dict[str, object] = {
            "api_key": self.api_key,
            "merchant_id": self.merchant_id,
            "base_url": self.base_url,
            "webhook_secret": self.webhook_secret,
        }
        # Only a method with separate captures takes the setting (iDEAL refuses it).
        if plugin.profile.separate_captures:
            options["separate_captures"] = True
        # environ={} keeps a developer's own provider variables out of the demo.
        return Gateway(
            provider, options=options, environ={}, clock=self.clock, plugin_manager=plugin_manager
        )

    def test_payment_methods(self, provider: str) -> Sequence[TestPaymentMethod]:
        return ()

    def describe(self) -> str:
        return f"PPRO sandbox (every PPRO method) at {self.base_url}"


class StripeReach:
    """localstripe on loopback (its own process), delivering webhooks to the shop's endpoint."""

    def __init__(self, stack: ExitStack, shop_url: str) -> None:
        from psp_localstripe import WEBHOOK_SECRET, LocalStripe, LocalStripeSandbox

        self.server = LocalStripe()
        stack.callback(self.server.close)
        # The sandbox adapter is the request filter for what localstripe does not implement
        # (docs/stripe.md); the shop uses it only for its transport and options.
        self.sandbox = LocalStripeSandbox(self.server)
        stack.callback(self.sandbox.close)
        registered = httpx.post(
            f"{self.server.url}/_config/webhooks/{STRIPE_WEBHOOK_ENDPOINT}",
            data={"url": f"{shop_url}/webhooks/stripe", "secret": WEBHOOK_SECRET},
            timeout=10,
        )
        registered.raise_for_status()

    @property
    def base_url(self) -> str:
        return self.server.url

    def gateway(self, provider: str, plugin: object, plugin_manager: object) -> Gateway | None:
        from psp_stripe import StripePlugin

        if not isinstance(plugin, StripePlugin):
            return None
        return Gateway(
            provider,
            options=dict(self.sandbox.options),
            transport=self.sandbox.transport(),
            environ={},
            clock=self.sandbox.now,
            plugin_manager=plugin_manager,
        )

    def test_payment_methods(self, provider: str) -> Sequence[TestPaymentMethod]:
        return STRIPE_TEST_PAYMENT_METHODS

    def describe(self) -> str:
        return f"localstripe (Stripe) at {self.base_url}"


def open_reaches(stack: ExitStack, shop_url: str) -> tuple[list[Reach], list[str]]:
    """Start every PSP stand-in the shop can; each stops when ``stack`` closes.

    Returns the reaches and, for each stand-in that could not start, one line saying why.
    """
    from psp_localstripe import INSTALL_HINT, available

    reaches: list[Reach] = [PproReach(stack)]
    notes: list[str] = []
    if available():
        reaches.append(StripeReach(stack, shop_url))
    else:
        notes.append(f"Stripe is not offered: {INSTALL_HINT}")
    return reaches, notes
