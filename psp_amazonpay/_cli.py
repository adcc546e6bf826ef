"""The plugin's commands: ``psp sandbox amazon_pay`` and ``psp demo amazon_pay``.

Both are added through the core's ``psp_cli_commands`` hook, under the provider's name. What
they run is imported only when they run (the sandbox server here, the demo from the separate
``psp_demo`` package), so ``psp providers`` stays quick and works without the ``psp[sandbox]``
extra (uvicorn, starlette) installed.
"""

from __future__ import annotations

import argparse

from psp_core import CommandLine, Option, hookimpl

from ._profile import PROFILE

PROVIDER = PROFILE.provider

SANDBOX_EXTRA = "psp[sandbox]"
SANDBOX_MODULES = ("uvicorn", "starlette")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; use 1-65535, or 0 for any free port")
    return port


def _demo(args: argparse.Namespace) -> int:
    from psp_demo import main

    return main(args)


def _sandbox(args: argparse.Namespace) -> int:
    from ._serve import serve

    return serve(args)


DEMO_OPTIONS = (
    Option(("--json",), "print the timeline as JSON", flag=True),
    Option(
        ("--verbose", "-v"),
        "show every step's expectation, ids, amounts, webhooks and HTTP exchanges",
        flag=True,
    ),
)

SANDBOX_OPTIONS = (
    Option(("--host",), "address to listen on (default: 127.0.0.1)", default="127.0.0.1"),
    Option(("--port",), "port; 0 picks a free one (default: 8765)", default=8765, type=_port),
    Option(("--api-key",), "require this API key (default: accept any non-empty key)"),
    Option(("--merchant-id",), "require this Merchant-Id (default: accept any)"),
    Option(("--webhook-secret",), "sign webhooks with this secret (default: whsec_sandbox)"),
    Option(
        ("--no-separate-captures",),
        "behave as PPRO's newer Amazon Pay page: approved charges are captured in full",
        flag=True,
    ),
    Option(("--webhooks-url",), "deliver webhooks here when a payment names none (a 127.0.0.1 URL)"),
    Option(
        ("--allow-remote",),
        "allow a --host that is not loopback (the sandbox accepts any key by default)",
        flag=True,
    ),
)


@hookimpl
def psp_cli_commands(cli: CommandLine) -> None:
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
    cli.add_sandbox(
        PROVIDER,
        _sandbox,
        help="serve the stateful PPRO (Amazon Pay) sandbox on this machine",
        description="Serve the PPRO sandbox over HTTP until Ctrl-C, and print how to point the "
        "amazon_pay plugin at it.",
        options=SANDBOX_OPTIONS,
        extra=SANDBOX_EXTRA,
        extra_modules=SANDBOX_MODULES,
    )
