"""``psp sandbox``: serves the PPRO sandbox on loopback, says how to use it, stops on Ctrl-C."""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from psp_amazonpay import PROFILE
from psp_core._cli import build_parser
from psp_ppro._serve import serve

pytestmark = pytest.mark.loopback

API_KEY = "key_sandbox_cmdtest_0123456789"


def sandbox_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["sandbox", "amazon_pay", *argv])


def read_until(process: subprocess.Popen[str], marker: str, timeout_s: float = 15.0) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} never printed; got {lines}")


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
    try:
        banner = read_until(process, "Press Ctrl-C to stop.")
        base_url = banner[0].rsplit(" ", 1)[-1]
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(":0")
        assert f"  export PPRO_BASE_URL={base_url}" in banner
        assert "  export PPRO_MERCHANT_ID=merch_cmdtest" in banner
        assert any("/__sandbox__/clock/advance" in line for line in banner)
        assert not any(API_KEY in line for line in banner)  # the key the operator gave is not echoed

        headers = {"Authorization": f"Bearer {API_KEY}", "Merchant-Id": "merch_cmdtest"}
        unknown = httpx.get(f"{base_url}/v1/payment-charges/unknown", headers=headers, timeout=5)
        assert unknown.status_code == 404
        envelope = unknown.json()
        assert envelope["status"] == 404
        assert envelope["failureMessage"] and envelope["timestamp"]
        wrong_key = httpx.get(
            f"{base_url}/v1/payment-charges/unknown",
            headers={**headers, "Authorization": "Bearer nope"},
            timeout=5,
        )
        assert wrong_key.status_code == 401
        assert wrong_key.json() == {"message": "Unauthorized"}
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "psp sandbox: stopped" in out
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/__sandbox__/clock", timeout=2)


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
    deadline = time.monotonic() + 10
    while "Press Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    text = out.getvalue()
    base_url = text.splitlines()[0].rsplit(" ", 1)[-1]
    assert "export PPRO_SEPARATE_CAPTURES=false" in text
    assert "whsec_given_by_me" not in text
    assert "delivered to http://127.0.0.1:9/hooks" in text
    assert httpx.get(f"{base_url}/__sandbox__/clock", timeout=5).status_code == 200
    stop.set()
    thread.join(timeout=10)
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
        deadline = time.monotonic() + 10
        while "Press Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        text = out.getvalue()
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
        thread.join(timeout=10)
    assert result == [0]
