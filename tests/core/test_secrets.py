"""Secrets never appear in logs (any level, httpx's included), reprs or exception text."""

from __future__ import annotations

import logging
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import (
    AuthorizeRequest,
    CaptureMode,
    Consumer,
    Gateway,
    Money,
    PspError,
    RetryPolicy,
    Secret,
    TransportError,
)
from tests.fakepay import FakePayPlugin, FakePsp

# Real keys are long and random; a prefix keeps hypothesis from "finding" that a secret
# spelled like an ordinary word (``capture_mode``) appears in ordinary text.
secrets = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=16, max_size=40).map(
    lambda tail: f"sk_{tail}"
)


def request(key: str | None = None) -> AuthorizeRequest:
    return AuthorizeRequest(
        amount=Money(1000, "EUR"),
        consumer=Consumer(country="DE", name="Erika"),
        return_url="https://shop.example/r",
        merchant_reference="o-1",
        capture_mode=CaptureMode.SEPARATE,
        idempotency_key=key,
    )


class EchoingPsp(FakePsp):
    """A PSP that echoes the Authorization header into its error messages, as some do."""

    def _route(self, request):  # type: ignore[no-untyped-def]
        if request.url.path == "/charges/echo":
            import httpx

            return httpx.Response(400, text=f"bad auth {request.headers['Authorization']}")
        return super()._route(request)


@settings(max_examples=15)
@given(api_key=secrets, webhook_secret=secrets)
def test_random_secrets_never_leak_through_any_path(api_key: str, webhook_secret: str) -> None:
    psp = EchoingPsp(api_key=api_key, webhook_secret=webhook_secret)
    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Capture(level=logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("psp", "httpx", "httpcore", "stamina")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    texts: list[str] = []
    try:
        with Gateway(
            "fakepay",
            options={"api_key": api_key, "webhook_secret": webhook_secret},
            transport=psp.transport(),
            plugins=[("fakepay", FakePayPlugin())],
            load_entrypoints=False,
            retry=RetryPolicy.no_wait(attempts=2),
        ) as gw:
            texts += [repr(gw), repr(gw.config), str(gw.config)]
            payment = gw.authorize(request())
            texts.append(repr(payment))
            psp.faults = ["drop", "drop"]
            with pytest.raises(TransportError) as unknown:
                gw.authorize(request("k"))
            texts.append(str(unknown.value))
            for path in ("echo", "missing"):
                with pytest.raises(PspError) as failed:
                    gw.get_payment(path)
                texts.append(str(failed.value))
                texts.append(repr(failed.value))
            headers, body = psp.webhook(payment.id, event_id="e1", secret="wrong-secret-123")
            with pytest.raises(PspError) as bad_webhook:
                gw.parse_webhook(headers, body)
            texts.append(str(bad_webhook.value))
    finally:
        for lg, level in saved:
            lg.removeHandler(handler)
            lg.setLevel(level)
    assert records, "the test must actually capture log output"
    everything = "\n".join(texts + records)
    assert api_key not in everything
    assert webhook_secret not in everything


def test_secret_repr_and_str_hide_the_value() -> None:
    secret = Secret("sk_live_very_secret")
    assert "very_secret" not in repr(secret) + str(secret) + repr([secret])
    assert secret.reveal() == "sk_live_very_secret"
    with pytest.raises(ValueError, match="non-empty"):
        Secret("")


def test_the_bare_token_of_an_authorization_header_is_masked_too() -> None:
    from psp_core import Capabilities, ProviderConfig, Redactor

    config = ProviderConfig(
        provider="p",
        base_url="https://p.test",
        capabilities=Capabilities(currencies=frozenset({"EUR"}), countries=frozenset({"DE"})),
        secret_headers={"Authorization": Secret("Bearer key_live_abcdef123")},
    )
    redactor = Redactor(config.secrets())
    assert redactor.scrub("key was key_live_abcdef123.") == "key was ********."
    assert "abcdef" not in redactor.scrub("Authorization: Bearer key_live_abcdef123")


def test_nothing_reachable_from_a_gateway_shows_a_secret_in_its_repr() -> None:
    api_key = "key_reachable_0123456789"
    psp = FakePsp(api_key=api_key)
    with Gateway(
        "fakepay",
        options={"api_key": api_key, "webhook_secret": "whsec_reachable_0123"},
        transport=psp.transport(),
        plugins=[("fakepay", FakePayPlugin())],
        load_entrypoints=False,
    ) as gw:
        reprs = [repr(gw), repr(vars(gw)), repr(gw.config)] + [repr(value) for value in vars(gw).values()]
    assert not [text for text in reprs if api_key in text or "whsec_reachable" in text]


@pytest.mark.parametrize(
    "logger_name", ["psp.transport", "psp.gateway", "httpcore.http11", "httpcore.connection"]
)
def test_child_loggers_are_scrubbed_too(logger_name: str, caplog: pytest.LogCaptureFixture) -> None:
    api_key = "key_childlogger_0123456789"
    psp = FakePsp(api_key=api_key)
    with (
        Gateway(
            "fakepay",
            options={"api_key": api_key},
            transport=psp.transport(),
            plugins=[("fakepay", FakePayPlugin())],
            load_entrypoints=False,
        ),
        caplog.at_level(logging.DEBUG, logger=logger_name),
    ):
        logging.getLogger(logger_name).warning("header was Bearer %s", api_key)
    assert caplog.records
    assert api_key not in caplog.text
