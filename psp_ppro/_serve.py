"""``psp sandbox PROVIDER`` for every PPRO method: serve the PPRO sandbox until Ctrl-C.

The sandbox serves every method at once; the command differs per method only in what it
prints (the provider to point at it, and that method's settings).

Loopback only unless ``--allow-remote``: the sandbox accepts any API key by default and its
admin routes move money and time, so it must not be reachable from the network by accident.
Webhooks are delivered only to loopback URLs, whatever the host.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import TextIO
from urllib.parse import urlsplit

from ._profile import MethodProfile
from .sandbox import LOOPBACK_HOSTS as LOOPBACK
from .sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_in_thread

DEFAULT_MERCHANT_ID = "merch_sandbox"
# A placeholder to paste: the sandbox accepts any non-empty key unless --api-key is given.
DEFAULT_API_KEY = "key_sandbox_local"

ADMIN_ROUTES = (
    ("GET ", "/__sandbox__/authenticate/{id}", "hosted approval page (Approve / Decline / Cancel)"),
    ("POST", "/__sandbox__/consumer/{id}/{approve|decline|cancel}", "consumer action, JSON answer"),
    ("POST", "/__sandbox__/clock/advance", '{"seconds": n}: move sandbox time (timeouts, refund window)'),
    ("POST", "/__sandbox__/charges/{id}/chargeback", '{"amount"?}: file a chargeback'),
    ("POST", "/__sandbox__/faults", '{"error_rate": 0.1, "latency_s": 0.2, ...}: inject faults'),
    ("POST", "/__sandbox__/faults/clear", "remove every fault"),
    ("GET ", "/__sandbox__/events", "every webhook event emitted, in order"),
    ("POST", "/__sandbox__/webhooks/deliver", "deliver due webhooks now"),
)


class UsageError(Exception):
    """A flag combination that cannot work; the message says what to change."""


def _hostname(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- evaluated for the ValueError an invalid port raises
    except ValueError as error:  # "Invalid IPv6 URL", a port outside 0..65535
        raise UsageError(f"--webhooks-url {url!r}: not a valid URL ({error})") from None
    return parts.hostname


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    for option, value in (
        ("--api-key", args.api_key),
        ("--merchant-id", args.merchant_id),
        ("--webhook-secret", args.webhook_secret),
    ):
        # An empty value would be required as given while the printed settings show the default.
        if value is not None and not value.strip():
            raise UsageError(f"{option} is empty; give a value, or leave {option} out to use the default")
    if args.webhooks_url is not None and _hostname(args.webhooks_url) not in LOOPBACK:
        raise UsageError(
            f"--webhooks-url {args.webhooks_url!r}: the sandbox delivers webhooks only to this machine; "
            "use a URL on 127.0.0.1 or localhost (for example http://127.0.0.1:8000/webhooks)"
        )
    return SandboxConfig(
        api_key=args.api_key,
        merchant_id=args.merchant_id,
        separate_captures=not getattr(args, "no_separate_captures", False),
        default_webhooks_url=args.webhooks_url,
        **({"webhook_secret": args.webhook_secret} if args.webhook_secret else {}),
    )


def start(sandbox: Sandbox, host: str, port: int, allow_remote: bool) -> RunningSandbox:
    if host not in LOOPBACK and not allow_remote:
        raise UsageError(
            f"--host {host}: refusing to listen beyond this machine; the sandbox accepts any API key "
            "and its admin routes move money and time. Use --host 127.0.0.1, or add --allow-remote "
            "if you really mean it"
        )
    try:
        # Beyond loopback only because the operator opted in (the check above).
        return serve_in_thread(sandbox, host, port, allow_remote=True)
    except RuntimeError:
        raise UsageError(
            f"could not listen on {host}:{port}; is the port in use? "
            "Try another --port, or --port 0 for any free port"
        ) from None


def banner(args: argparse.Namespace, base_url: str, profile: MethodProfile) -> str:
    api_key = "'<the value of --api-key>'" if args.api_key else DEFAULT_API_KEY
    merchant = args.merchant_id or DEFAULT_MERCHANT_ID
    secret = "'<the value of --webhook-secret>'" if args.webhook_secret else SandboxConfig().webhook_secret
    separate = "false" if getattr(args, "no_separate_captures", False) else "true"
    key_note = "" if args.api_key else "   # any non-empty key is accepted"
    merchant_note = "" if args.merchant_id else "   # any non-empty id is accepted"
    hooks = (
        f"delivered to {args.webhooks_url}"
        if args.webhooks_url
        else "not delivered unless a payment names a webhook_url on 127.0.0.1 "
        "(or start with --webhooks-url); all are listed at /__sandbox__/events"
    )
    lines = [
        f"PPRO sandbox ({profile.display_name}) listening on {base_url}",
        "",
        f"Point the {profile.provider} plugin at it with these environment variables:",
        f"  export {profile.settings['base_url']}={base_url}",
        f"  export {profile.settings['api_key']}={api_key}{key_note}",
        f"  export {profile.settings['merchant_id']}={merchant}{merchant_note}",
        f"  export {profile.settings['webhook_secret']}={secret}",
        *(
            [f"  export {profile.settings['separate_captures']}={separate}"]
            if "separate_captures" in profile.settings
            else []
        ),
        "or pass the same as options:",
        f'  Gateway("{profile.provider}", options={{"base_url": "{base_url}", "api_key": ..., '
        '"merchant_id": ..., "webhook_secret": ...})',
        "",
        f"Webhooks: {hooks}.",
        "Admin routes (no auth):",
        *(f"  {method} {path:<52} {what}" for method, path, what in ADMIN_ROUTES),
        "",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines) + "\n"


def _interrupt_on_sigterm() -> None:
    # `kill` and process managers send SIGTERM; stop as cleanly as on Ctrl-C.
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def serve(
    args: argparse.Namespace,
    profile: MethodProfile,
    *,
    stop: threading.Event | None = None,
    out: TextIO | None = None,
) -> int:
    """Run the sandbox until Ctrl-C (or until ``stop`` is set, for tests)."""
    stream, errors = out or sys.stdout, sys.stderr if out is None else out
    try:
        sandbox = Sandbox(config_from_args(args))
        running = start(sandbox, args.host, args.port, args.allow_remote)
    except UsageError as error:
        print(f"psp sandbox: error: {error}", file=errors)
        return 2
    stop = stop or threading.Event()
    try:
        print(banner(args, running.base_url, profile), file=stream, end="", flush=True)
        _interrupt_on_sigterm()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    print("psp sandbox: stopped", file=stream, flush=True)
    return 0
