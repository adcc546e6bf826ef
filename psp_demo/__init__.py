"""``psp demo``: a host platform's payments played against a provider's local sandbox, over real HTTP.

This package is the demo and its shop (a webhook receiver, a consumer who presses the hosted
page's buttons, a timeline of every step checked against the provider's published behaviour).
It is part of the psp distribution but of no provider's runtime package: only ``psp demo``
imports it (through the provider's ``psp_cli_commands`` hook), never a host's gateway. The
scenarios play Amazon Pay through the PPRO sandbox.
"""

from ._main import SCENARIOS, main, run_demo
from ._shop_app import RunningShop, Shop, basket_refusal, running_shop
from ._shop_app import main as serve_shop
from ._shop_reach import PproReach, Reach

__all__ = [
    "SCENARIOS",
    "PproReach",
    "Reach",
    "RunningShop",
    "Shop",
    "basket_refusal",
    "main",
    "run_demo",
    "running_shop",
    "serve_shop",
]
