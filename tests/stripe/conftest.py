"""Fixtures for the stripe provider: a localstripe process per test process (xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from psp_core import AuthorizeRequest, CaptureMode, Consumer, Gateway, Money, RetryPolicy
from psp_localstripe import LocalStripe, LocalStripeSandbox, shared_server

RETURN_URL = "https://shop.example/return"


@pytest.fixture(scope="session")
def localstripe() -> LocalStripe:
    """localstripe on 127.0.0.1 (from its PyPI package, a test dependency); stopped at exit."""
    return shared_server()


@pytest.fixture
def sandbox(localstripe: LocalStripe) -> Iterator[LocalStripeSandbox]:
    made = LocalStripeSandbox(localstripe)
    yield made
    made.close()


@pytest.fixture
def gateway(sandbox: LocalStripeSandbox) -> Iterator[Gateway]:
    with Gateway(
        "stripe",
        options=dict(sandbox.options),
        transport=sandbox.transport(),
        retry=RetryPolicy.no_wait(),
        environ={},
    ) as made:
        yield made


def authorize_request(token: str, minor: int = 1000, **fields: object) -> AuthorizeRequest:
    values: dict[str, object] = {
        "amount": Money(minor, "EUR"),
        "consumer": Consumer(country="DE", email="consumer@example.com"),
        "return_url": RETURN_URL,
        "merchant_reference": "order-1",
        "capture_mode": CaptureMode.SEPARATE,
        "payment_method_token": token,
    }
    values.update(fields)
    return AuthorizeRequest(**values)  # type: ignore[arg-type]
