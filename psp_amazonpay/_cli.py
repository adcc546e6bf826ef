"""The plugin's commands: ``psp demo`` and ``psp sandbox``.

Both are added through the core's ``psp_cli_commands`` hook. Their modules are imported
only when the command runs, so ``psp providers`` stays quick and works without the
``psp[sandbox]`` extra (uvicorn, starlette) installed.
"""

from __future__ import annotations

import argparse
import sys

from psp_core import hookimpl

SANDBOX_EXTRA_HINT = "install the sandbox extra: pip install 'psp[sandbox]'"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; use 1-65535, or 0 for any free port")
    return port


def _demo(args: argparse.Namespace) -> int:
    try:
        from ._demo import main
    except ModuleNotFoundError as error:  # pragma: no cover - depends on the installed extras
        print(f"psp demo: error: {error}; {SANDBOX_EXTRA_HINT}", file=sys.stderr)
        return 2
    return main(args)


def _sandbox(args: argparse.Namespace) -> int:
    try:
        from ._demo_serve import serve
    except ModuleNotFoundError as error:  # pragma: no cover - depends on the installed extras
        print(f"psp sandbox: error: {error}; {SANDBOX_EXTRA_HINT}", file=sys.stderr)
        return 2
    return serve(args)


@hookimpl
def psp_cli_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="play Amazon Pay payments against the local PPRO sandbox and check each step",
        description="Start the PPRO sandbox and a local shop endpoint on 127.0.0.1, then play "
        "one-time, failed, recurring and after-sale payments through psp's Gateway over real HTTP, "
        "checking each step against PPRO's Amazon Pay product page. Exits 1 if any step "
        "does not behave as expected. Needs no credentials and no network.",
    )
    demo.add_argument("--json", action="store_true", help="print the timeline as JSON")
    demo.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="show every step's expectation, ids, amounts, webhooks and HTTP exchanges",
    )
    demo.set_defaults(func=_demo)

    sandbox = subparsers.add_parser(
        "sandbox",
        help="serve the stateful PPRO (Amazon Pay) sandbox on this machine",
        description="Serve the PPRO sandbox over HTTP until Ctrl-C, and print how to point the "
        "amazon_pay plugin at it.",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sandbox.add_argument("--port", type=_port, default=8765, help="port; 0 picks a free one (default: 8765)")
    sandbox.add_argument("--api-key", help="require this API key (default: accept any non-empty key)")
    sandbox.add_argument("--merchant-id", help="require this Merchant-Id (default: accept any)")
    sandbox.add_argument("--webhook-secret", help="sign webhooks with this secret (default: whsec_sandbox)")
    sandbox.add_argument(
        "--no-separate-captures",
        action="store_true",
        help="behave as PPRO's newer Amazon Pay page: approved charges are captured in full",
    )
    sandbox.add_argument(
        "--webhooks-url", help="deliver webhooks here when a payment names none (a 127.0.0.1 URL)"
    )
    sandbox.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not loopback (the sandbox accepts any key by default)",
    )
    sandbox.set_defaults(func=_sandbox)
