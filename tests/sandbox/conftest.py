"""Fixtures for the sandbox tests: a fresh sandbox per test and an authenticated client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from psp_ppro.sandbox import Sandbox, SandboxConfig

AUTH = {"Authorization": "Bearer key_sandbox_test", "Merchant-Id": "merch_test"}
RETURN_URL = "https://shop.example/return"
WEBHOOK_SECRET = "whsec_test_secret"


def charge_body(amount: int = 1000, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "paymentMethod": "AMAZON_PAY",
        "amount": {"value": amount, "currency": "USD"},
        "consumer": {"name": "John Smith", "country": "US"},
        "authenticationSettings": [{"type": "REDIRECT", "settings": {"returnUrl": RETURN_URL}}],
        "merchantPaymentChargeReference": "order-1",
    }
    body.update(overrides)
    return body


def agreement_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "paymentMethod": "AMAZON_PAY",
        "startDate": "2025-03-26T20:24:27Z",
        "consumer": {"name": "John Smith", "country": "US"},
        "authenticationSettings": [{"type": "REDIRECT", "settings": {"returnUrl": RETURN_URL}}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(seed=1234, webhook_secret=WEBHOOK_SECRET,
                                 default_webhooks_url="https://merchant.example/webhooks"))


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.local",
                      headers=AUTH) as c:
        yield c
