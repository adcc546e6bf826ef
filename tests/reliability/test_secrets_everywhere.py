"""No API key or webhook secret ever appears in a log record, a repr, an exception or CLI output.

Random secrets drive every amazon_pay operation, every error path (4xx envelopes that echo
the key, transport errors, validation errors, webhook failures) and the CLI, with the psp,
httpx, httpcore, uvicorn, stamina and sandbox loggers at DEBUG. Everything captured is
searched for both secrets.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import (
    CaptureRequest,
    Gateway,
    MandateChargeRequest,
    MandateRequest,
    Money,
    PspError,
    RefundRequest,
    RetryPolicy,
    RevokeMandateRequest,
    VoidRequest,
)
from psp_core._cli import build_parser, main
from psp_ppro.sandbox import serve_in_thread, sign

from .conftest import START, authorize_request, new_sandbox, options

LOGGERS = (
    "",
    "psp",
    "psp.transport",
    "psp_core",
    "psp_amazonpay",
    "psp_ppro.sandbox",
    "httpx",
    "httpcore",
    "stamina",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
)

# Random, yet never an innocent word: a bare "separate_capture" would be found in any repr.
secrets_st = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=12, max_size=40).map(
    lambda core: f"Sk7{core}Q9z"
)


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(record.args))


@pytest.fixture
def logs() -> Iterator[Collected]:
    collected = Collected()
    saved = [(logging.getLogger(name), logging.getLogger(name).level) for name in LOGGERS]
    root = logging.getLogger()
    root.addHandler(collected)
    for logger, _ in saved:
        logger.setLevel(logging.DEBUG)
    try:
        yield collected
    finally:
        root.removeHandler(collected)
        for logger, level in saved:
            logger.setLevel(level)


def _texts_of(value: object) -> list[str]:
    texts = [repr(value), str(value)]
    if isinstance(value, BaseException):
        texts += [repr(value.args), repr(vars(value))]
    return texts


def _echoing_ppro(request: httpx.Request) -> httpx.Response:
    """A PPRO that echoes the Authorization header back, in the envelope and in a header."""
    auth = request.headers.get("Authorization", "")
    status = 401 if request.method == "GET" else 400
    body = {
        "status": status,
        "failureMessage": f"bad credentials {auth}",
        "timestamp": "2026-01-15T12:00:00.000Z",
    }
    return httpx.Response(status, json=body, headers={"Request-Reference": auth, "WWW-Authenticate": auth})


def _exercise(api_key: str, webhook_secret: str) -> list[str]:
    """Every operation and error path with these secrets; returns every text produced."""
    texts: list[str] = []
    sb = new_sandbox(api_key=api_key, webhook_secret=webhook_secret)
    opts = options(api_key=api_key, webhook_secret=webhook_secret)
    retry = RetryPolicy.no_wait(2)
    with Gateway(
        "amazon_pay", options=opts, environ={}, transport=sb.transport(), retry=retry, clock=sb.clock.now
    ) as gw:
        texts += _texts_of(gw) + _texts_of(gw.config) + _texts_of(gw.config.secret_headers)
        payment = gw.authorize(authorize_request(10_000, merchant_reference="secret-order"))
        sb.approve(payment.id)
        payment = gw.get_payment(payment.id)
        found = gw.find_payment("secret-order")
        payment = gw.capture(CaptureRequest(payment, Money(4_000, "USD")))
        payment = gw.void(VoidRequest(payment, Money(1_000, "USD")))
        payment = gw.refund(RefundRequest(payment, Money(500, "USD")))
        mandate = gw.create_mandate(
            MandateRequest(
                consumer=authorize_request().consumer,
                return_url="https://shop.example/return",
                start=START,
                merchant_reference="secret-agreement",
            )
        )
        sb.approve(mandate.id)
        mandate = gw.get_mandate(mandate.id)
        renewal = gw.charge_mandate(MandateChargeRequest(mandate.id, Money(1_000, "USD"), "secret-renewal"))
        revoked = gw.revoke_mandate(RevokeMandateRequest(mandate.id))
        texts += [repr(x) for x in (payment, found, mandate, renewal, revoked)]
        for delivery in sb.pending_webhooks():
            texts += _texts_of(gw.parse_webhook(delivery.headers, delivery.body))

        def faulty(kind: str, call: Callable[[], object]) -> object:
            sb.faults.inject_next(kind, 2, retry_after=0 if kind == "429" else None)
            return call()

        failures: list[Callable[[], object]] = [
            # Transport errors: timeouts (unknown outcome) and 5xx on a read.
            lambda: faulty("timeout", lambda: gw.authorize(authorize_request())),
            lambda: faulty("503", lambda: gw.get_payment(payment.id)),
            lambda: faulty("429", lambda: gw.get_payment(payment.id)),
            lambda: gw.get_payment("charge_unknown"),
            # Webhook failures: another secret, a tampered body, no secret at all.
            lambda: gw.parse_webhook(
                sign(b"{}", "whsec_other_00000000", int(sb.clock.now().timestamp()), False), b"{}"
            ),
            lambda: gw.parse_webhook({"PPRO-Signature": f"t=1,s={webhook_secret}"}, b"{}"),
            lambda: gw.parse_webhook({"Webhook-Signature": webhook_secret}, webhook_secret.encode()),
        ]
        for failure in failures:
            with pytest.raises(PspError) as caught:
                failure()
            texts += _texts_of(caught.value)
    # A sandbox that expects another key: PPRO's 401.
    with (
        Gateway(
            "amazon_pay",
            options=opts,
            environ={},
            transport=new_sandbox(api_key="key_other_0000000").transport(),
            retry=retry,
        ) as gw,
        pytest.raises(PspError) as unauthorized,
    ):
        gw.get_payment("charge_1")
    texts += _texts_of(unauthorized.value)
    # A PSP that echoes the key back, on reads and writes.
    with Gateway(
        "amazon_pay", options=opts, environ={}, transport=httpx.MockTransport(_echoing_ppro), retry=retry
    ) as gw:
        calls: list[Callable[[], object]] = [
            lambda: gw.get_payment("charge_1"),
            lambda: gw.authorize(authorize_request()),
        ]
        for call in calls:
            with pytest.raises(PspError) as echoed:
                call()
            texts += _texts_of(echoed.value)
    # Configuration errors built from the environment.
    with pytest.raises(PspError) as misconfigured:
        Gateway("amazon_pay", options={"api_key": api_key}, environ={"PPRO_WEBHOOK_SECRET": webhook_secret})
    texts += _texts_of(misconfigured.value)
    return texts


@settings(max_examples=8)
@given(api_key=secrets_st, webhook_secret=secrets_st)
def test_random_secrets_never_leak_through_any_operation_or_error(
    logs: Collected, api_key: str, webhook_secret: str
) -> None:
    logs.texts.clear()
    texts = _exercise(api_key, webhook_secret)
    assert len(texts) > 50
    assert logs.texts, "logging must actually be captured at DEBUG"
    everything = "\n".join(texts + logs.texts)
    assert api_key not in everything
    assert webhook_secret not in everything


# Found by this suite: validation errors used to skip the redactor.


def test_a_validation_error_quoting_a_secret_is_redacted() -> None:
    api_key = "key_validation_0123456789"
    sb = new_sandbox()
    gateway = Gateway("amazon_pay", options=options(api_key=api_key), environ={}, transport=sb.transport())
    with gateway as gw, pytest.raises(PspError) as caught:
        gw.authorize(authorize_request(return_url=f"http://shop.example/r?k={api_key}"))
    assert sb.request_count == 0
    assert api_key not in str(caught.value)


# Found by this suite: error attributes (message, request_id) used to keep the raw text.


@pytest.mark.parametrize("operation", ["get_payment", "authorize"])
def test_error_attributes_are_redacted_like_the_message(operation: str) -> None:
    api_key = "key_attributes_0123456789"
    with Gateway(
        "amazon_pay",
        options=options(api_key=api_key),
        environ={},
        transport=httpx.MockTransport(_echoing_ppro),
        retry=RetryPolicy.no_wait(1),
    ) as gw:
        argument: Any = "charge_1" if operation == "get_payment" else authorize_request()
        with pytest.raises(PspError) as caught:
            getattr(gw, operation)(argument)
    assert api_key not in str(caught.value)  # holds today
    assert api_key not in repr(vars(caught.value))


@pytest.mark.loopback
def test_secrets_stay_out_of_logs_over_real_http(logs: Collected) -> None:
    api_key, webhook_secret = "key_loopback_Zq81hd73kdPq", "whsec_loopback_Pd72kfA8s"
    sb = new_sandbox(api_key=api_key, webhook_secret=webhook_secret)
    with serve_in_thread(sb, realtime_clock=False) as served:
        with Gateway(
            "amazon_pay",
            options=options(api_key=api_key, webhook_secret=webhook_secret, base_url=served.base_url),
            environ={},
            retry=RetryPolicy.no_wait(2),
        ) as gw:
            payment = gw.authorize(authorize_request())
            sb.faults.inject_next("drop_after_store", 1)
            gw.authorize(authorize_request(merchant_reference="order-2", idempotency_key="k-2"))
            texts = [repr(payment)]
        with (
            Gateway(
                "amazon_pay",
                options=options(api_key=api_key + "_wrong", base_url=served.base_url),
                environ={},
                retry=RetryPolicy.no_wait(2),
            ) as gw,
            pytest.raises(PspError) as caught,
        ):
            gw.get_payment(payment.id)
        texts += _texts_of(caught.value)
    assert any(text.startswith("httpcore") for text in logs.texts)
    everything = "\n".join(texts + logs.texts)
    assert api_key not in everything
    assert webhook_secret not in everything


def _commands() -> set[str]:
    import argparse

    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


@pytest.mark.parametrize("argv", [["providers"], ["providers", "--json"]])
def test_the_providers_command_never_shows_configured_secrets(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, logs: Collected
) -> None:
    api_key, webhook_secret = "key_cli_env_7Hd82kAs9q", "whsec_cli_env_9Kq2mZ8x"
    monkeypatch.setenv("PPRO_API_KEY", api_key)
    monkeypatch.setenv("PPRO_WEBHOOK_SECRET", webhook_secret)
    assert main(argv) == 0
    out = capsys.readouterr()
    if "--json" in argv:
        assert any(p["name"] == "amazon_pay" for p in json.loads(out.out))
    everything = out.out + out.err + "\n".join(logs.texts)
    assert api_key not in everything and webhook_secret not in everything


def test_the_demo_never_prints_its_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, logs: Collected
) -> None:
    if "demo" not in _commands():
        pytest.skip("`psp demo` is not registered yet")
    # The demo makes up its own credentials with the secrets module; make them recognizable.
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=16: f"DEMOSECRET{n}xQ7")
    exit_code = main(["demo", "amazon_pay", "--verbose"])
    out = capsys.readouterr()
    assert exit_code in (0, 1)
    assert "sandbox" in out.out.lower()
    everything = out.out + out.err + "\n".join(logs.texts)
    assert "DEMOSECRET" not in everything


@pytest.mark.loopback
def test_the_sandbox_command_never_prints_the_secrets_it_was_given() -> None:
    if "sandbox" not in _commands():
        pytest.skip("`psp sandbox` is not registered yet")
    api_key, webhook_secret = "key_cli_flag_Lq83jdPw0x", "whsec_cli_flag_Ua72nfK1v"
    argv = [sys.executable, "-m", "psp_core._cli", "sandbox", "amazon_pay", "--port", "0"]
    argv += ["--api-key", api_key, "--webhook-secret", webhook_secret]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "127.0.0.1:" in line:
                # Up: the banner with the URL has been printed; give it a moment to finish.
                time.sleep(0.3)
                break
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    output = "".join(lines) + rest
    assert "127.0.0.1" in output, output
    assert api_key not in output, output
    assert webhook_secret not in output, output
