"""``psp sandbox PROVIDER`` for every PPRO method, added by each method's plugin under its name.

What the command runs (the sandbox server, uvicorn) is imported only when it runs, so
``psp providers`` stays quick and works without the ``psp[sandbox]`` extra installed.
"""

from __future__ import annotations

import argparse
import functools

from psp_core import CommandLine, Option

from ._profile import MethodProfile

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


def _sandbox(profile: MethodProfile, args: argparse.Namespace) -> int:
    from ._serve import serve

    return serve(args, profile)


SANDBOX_OPTIONS = (
    Option(("--host",), "address to listen on (default: 127.0.0.1)", default="127.0.0.1"),
    Option(("--port",), "port; 0 picks a free one (default: 8765)", default=8765, type=_port),
    Option(("--api-key",), "require this API key (default: accept any non-empty key)"),
    Option(("--merchant-id",), "require this Merchant-Id (default: accept any)"),
    Option(("--webhook-secret",), "sign webhooks with this secret (default: whsec_sandbox)"),
    Option(("--webhooks-url",), "deliver webhooks here when a payment names none (a 127.0.0.1 URL)"),
    Option(
        ("--allow-remote",),
        "allow a --host that is not loopback (the sandbox accepts any key by default)",
        flag=True,
    ),
)
SEPARATE_CAPTURES_OPTION = Option(
    ("--no-separate-captures",),
    "approved charges are captured in full, as with the method's separate captures turned off",
    flag=True,
)


def add_sandbox_command(cli: CommandLine, profile: MethodProfile) -> None:
    """``psp sandbox <provider>``: the PPRO sandbox (it serves every method) for this method."""
    options: tuple[Option, ...] = SANDBOX_OPTIONS
    if profile.separate_captures:
        options = (*options[:5], SEPARATE_CAPTURES_OPTION, *options[5:])
    cli.add_sandbox(
        profile.provider,
        functools.partial(_sandbox, profile),
        help=f"serve the stateful PPRO sandbox on this machine, for {profile.provider}",
        description="Serve the PPRO sandbox over HTTP until Ctrl-C, and print how to point the "
        f"{profile.provider} plugin at it. One sandbox serves every PPRO method.",
        options=options,
        extra=SANDBOX_EXTRA,
        extra_modules=SANDBOX_MODULES,
    )
