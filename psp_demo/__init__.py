"""``psp demo``: a host platform's payments played against a provider's local sandbox, over real HTTP.

This package is the demo and its shop (a webhook receiver, a consumer who presses the hosted
page's buttons, a timeline of every step checked against the provider's published behaviour).
It is part of the psp distribution but of no provider's runtime package: only ``psp demo``
imports it (through the provider's ``psp_cli_commands`` hook), never a host's gateway. The
scenarios play Amazon Pay through the PPRO sandbox; the shop (``psp demo --shop``) also offers
Stripe through localstripe when ``psp[localstripe]`` is installed.
"""

from ._main import SCENARIOS, main, run_demo
from ._shop_app import RunningShop, Shop, basket_refusal, running_shop
from ._shop_app import main as serve_shop
from ._shop_reach import (
    STRIPE_TEST_PAYMENT_METHODS,
    PproReach,
    Reach,
    StripeReach,
    TestPaymentMethod,
    open_reaches,
)

__all__ = [
    "SCENARIOS",
    "STRIPE_TEST_PAYMENT_METHODS",
    "PproReach",
    "Reach",
    "RunningShop",
    "Shop",
    "StripeReach",
    "TestPaymentMethod",
    "basket_refusal",
    "main",
    "open_reaches",
    "run_demo",
    "running_shop",
    "serve_shop",
]
