"""Amazon Pay's own command, ``psp demo amazon_pay`` (``psp sandbox amazon_pay`` comes with every
PPRO method, from :mod:`psp_ppro`).

The demo is imported from the separate ``psp_demo`` package only when it runs, so ``psp
providers`` stays quick and works without the ``psp[sandbox]`` extra (uvicorn, starlette).
"""

from __future__ import annotations

import argparse

from psp_core import CommandLine, Option
from psp_ppro import SANDBOX_EXTRA, SANDBOX_MODULES

from ._profile import PROFILE

PROVIDER = PROFILE.provider


def _demo(args: argparse.Namespace) -> int:
    from psp_demo import main

    return main(args)


def _shop(args: argparse.Namespace) -> int:
    from psp_demo import serve_shop

    return serve_shop(args)


SHOP_FLAG = Option(
    ("--shop",),
    "serve the demo shop on 127.0.0.1 (every installed provider the demo can reach) until Ctrl-C",
    flag=True,
)


SHOP_EXTRA = "psp[shop]"
SHOP_MODULES = frozenset(SANDBOX_MODULES) | {"sqlalchemy"}
"""The shop serves pages (starlette, uvicorn) and keeps its payments in psp_store (SQLAlchemy)."""

DEMO_OPTIONS = (
    Option(("--json",), "print the timeline as JSON", flag=True),
    Option(
        ("--verbose", "-v"),
        "show every step's expectation, ids, amounts, webhooks and HTTP exchanges",
        flag=True,
    ),
)


def add_demo_command(cli: CommandLine) -> None:
    """``psp demo amazon_pay``: the seed's flows, played against the local PPRO sandbox."""
    cli.add_demo(
        PROVIDER,
        _demo,
        help="play Amazon Pay payments against the local PPRO sandbox and check each step",
        description="Start the PPRO sandbox and a local shop endpoint on 127.0.0.1, then play "
        "one-time, failed, recurring and after-sale payments through psp's Gateway over real HTTP, "
        "checking each step against PPRO's Amazon Pay product page. Exits 1 if any step "
        "does not behave as expected. Needs no credentials and no network.",
        options=DEMO_OPTIONS,
        extra=SANDBOX_EXTRA,
        extra_modules=SANDBOX_MODULES,
    )
    # The shop is provider-neutral; the seed's provider offers it because it owns the demo package's
    # first demo, and a flag has one owner.
    cli.add_demo_flag(PROVIDER, SHOP_FLAG, _shop, extra=SHOP_EXTRA, extra_modules=SHOP_MODULES)
