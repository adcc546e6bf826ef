"""``psp sandbox``: serves the PPRO sandbox on loopback, says how to use it, stops on Ctrl-C.

No check here depends on the machine's speed: each waits for the sandbox's own output (its
banner, its goodbye) however long that takes on a saturated machine; HANG_GUARD_S only ends a
wait that would otherwise never end, so a sandbox that hangs fails instead of blocking the run.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from psp_amazonpay import PROFILE
from psp_core._cli import build_parser
from psp_ppro._serve import serve
from tests.process_output import HANG_GUARD_S, Lines

pytestmark = pytest.mark.loopback

API_KEY = "key_sandbox_cmdtest_0123456789"


def sandbox_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["sandbox", "amazon_pay", *argv])


def wait_for_text(out: io.StringIO, marker: str, still_running: Callable[[], bool]) -> str:
    """``out``'s text once it holds ``marker`` (or once the writer stopped without it)."""
    deadline = time.monotonic() + HANG_GUARD_S
    while marker not in out.getvalue() and still_running() and time.monotonic() < deadline:
        time.sleep(0.02)
    text = out.getvalue()
    assert marker in text, f"{marker!r} never printed; got {text!r}"
    return text


def test_it_serves_on_a_free_port_prints_how_to_use_it_and_stops_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(  # noqa: S603 - a fixed argv: our own command
        [
            sys.executable,
            "-m",
            "psp_core._cli",
            "sandbox",
            "amazon_pay",
            "--port",
            "0",
            "--api-key",
            API_KEY,
            "--merchant-id",
            "merch_cmdtest",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    out, err = Lines(process.stdout), Lines(process.stderr)
    try:
        banner = out.until("Press Ctrl-C to stop.")
        base_url = banner[0].rsplit(" ", 1)[-1]
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(":0")
        assert f"  export PPRO_BASE_URL={base_url}" in banner
        assert "  export PPRO_MERCHANT_ID=merch_cmdtest" in banner
        assert any("/__sandbox__/clock/advance" in line for line in banner)
        assert not any(API_KEY in line for line in banner)  # the key the operator gave is not echoed

        headers = {"Authorization": f"Bearer {API_KEY}", "Merchant-Id": "merch_cmdtest"}
        unknown = httpx.get(f"{base_url}/v1/payment-charges/unknown", headers=headers, timeout=HANG_GUARD_S)
        assert unknown.status_code == 404
        envelope = unknown.json()
        assert envelope["status"] == 404
        assert envelope["failureMessage"] and envelope["timestamp"]
        wrong_key = httpx.get(
            f"{base_url}/v1/payment-charges/unknown",
            headers={**headers, "Authorization": "Bearer nope"},
            timeout=HANG_GUARD_S,
        )
        assert wrong_key.status_code == 401
        assert wrong_key.json() == {"message": "Unauthorized"}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            process.kill()  # hung: do not leave it running past the test
            process.wait()
            raise
    assert process.returncode == 0, err.all()
    assert "psp sandbox: stopped" in out.all()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/__sandbox__/clock", timeout=HANG_GUARD_S)


def test_it_runs_in_process_with_the_flags_applied_until_told_to_stop() -> None:
    out, stop = io.StringIO(), threading.Event()
    args = sandbox_args(
        "--port",
        "0",
        "--no-separate-captures",
        "--webhook-secret",
        "whsec_given_by_me",
        "--webhooks-url",
        "http://127.0.0.1:9/hooks",
    )
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(serve(args, PROFILE, stop=stop, out=out)), daemon=True
    )
    thread.start()
    text = wait_for_text(out, "Press Ctrl-C", thread.is_alive)
    base_url = text.splitlines()[0].rsplit(" ", 1)[-1]
    assert "export PPRO_SEPARATE_CAPTURES=false" in text
    assert "whsec_given_by_me" not in text
    assert "delivered to http://127.0.0.1:9/hooks" in text
    assert httpx.get(f"{base_url}/__sandbox__/clock", timeout=HANG_GUARD_S).status_code == 200
    stop.set()
    thread.join(timeout=HANG_GUARD_S)
    assert result == [0]


def test_a_host_beyond_loopback_is_refused_unless_allowed() -> None:
    out = io.StringIO()
    assert serve(sandbox_args("--host", "0.0.0.0", "--port", "0"), PROFILE, out=out) == 2  # noqa: S104
    assert "--allow-remote" in out.getvalue()


def test_webhooks_can_only_go_to_this_machine() -> None:
    out = io.StringIO()
    assert (
        serve(sandbox_args("--port", "0", "--webhooks-url", "https://example.com/hooks"), PROFILE, out=out)
        == 2
    )
    assert "127.0.0.1" in out.getvalue()


@pytest.mark.parametrize("url", ["http://[", "http://127.0.0.1:99999/hooks"])
def test_a_webhooks_url_that_does_not_parse_is_a_usage_error(url: str) -> None:
    out = io.StringIO()
    assert serve(sandbox_args("--port", "0", "--webhooks-url", url), PROFILE, out=out) == 2
    assert "not a valid URL" in out.getvalue()


@pytest.mark.parametrize("option", ["--api-key", "--merchant-id", "--webhook-secret"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_credential_is_a_usage_error_not_a_default_that_is_then_refused(
    option: str, value: str
) -> None:
    # An empty --api-key was required as given, while the printed exports showed the default key.
    out, stop = io.StringIO(), threading.Event()
    stop.set()  # were it accepted, the sandbox would stop at once (exit 0) instead of serving on
    assert serve(sandbox_args("--port", "0", option, value), PROFILE, stop=stop, out=out) == 2
    assert f"{option} is empty; give a value, or leave {option} out to use the default" in out.getvalue()
    assert "listening" not in out.getvalue()


def test_a_port_must_be_a_port() -> None:
    with pytest.raises(SystemExit):
        sandbox_args("--port", "70000")


def test_psp_sandbox_ideal_serves_the_same_ppro_sandbox_with_ideals_settings() -> None:
    import psp_ideal
    from psp_core import AuthorizeRequest, Consumer, Gateway, Money, PaymentStatus

    with pytest.raises(SystemExit):  # iDEAL has no separate captures to turn off
        build_parser().parse_args(["sandbox", "ideal", "--no-separate-captures"])
    args = build_parser().parse_args(["sandbox", "ideal", "--port", "0", "--merchant-id", "merch_nl"])
    out, stop, result = io.StringIO(), threading.Event(), []
    thread = threading.Thread(
        target=lambda: result.append(serve(args, psp_ideal.PROFILE, stop=stop, out=out)), daemon=True
    )
    thread.start()
    try:
        text = wait_for_text(out, "Press Ctrl-C", thread.is_alive)
        base_url = text.splitlines()[0].rsplit(" ", 1)[-1]
        assert "Point the ideal plugin at it" in text and "SEPARATE_CAPTURES" not in text
        options = {
            "base_url": base_url,
            "api_key": "key_any",
            "merchant_id": "merch_nl",
            "webhook_secret": "s",
        }
        with Gateway("ideal", options=options) as gateway:
            payment = gateway.authorize(
                AuthorizeRequest(
                    Money(1250, "EUR"), Consumer(country="NL", name="Jan"), "https://shop.example/r", "nl-1"
                )
            )
        assert payment.provider == "ideal" and payment.status is PaymentStatus.REQUIRES_ACTION
    finally:
        stop.set()
        thread.join(timeout=HANG_GUARD_S)
    assert result == [0]
