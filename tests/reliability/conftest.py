"""Shared set-up for the reliability specifications: an Amazon Pay gateway over a fresh sandbox.

Every gateway here talks to the in-process PPRO sandbox (or to an ``httpx.MockTransport``)
and reads the sandbox clock, so webhook timestamps and refund windows are deterministic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import httpx

from psp_core import (
    AsyncGateway,
    AuthorizeRequest,
    CaptureMode,
    Consumer,
    Gateway,
    Money,
    Payment,
    RetryPolicy,
)
from psp_ppro.sandbox import Sandbox, SandboxConfig, SandboxTransport

T = TypeVar("T")

API_KEY = "key_reliability_0123456789"
MERCHANT_ID = "merch_reliability"
WEBHOOK_SECRET = "whsec_reliability_0123456789"
SANDBOX_URL = "https://sandbox.local"
RETURN_URL = "https://shop.example/return"
START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def options(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "api_key": API_KEY,
        "merchant_id": MERCHANT_ID,
        "base_url": SANDBOX_URL,
        "webhook_secret": WEBHOOK_SECRET,
    }
    base.update(overrides)
    return base


def new_sandbox(**config: Any) -> Sandbox:
    config.setdefault("seed", 6)
    config.setdefault("webhook_secret", WEBHOOK_SECRET)
    config.setdefault("default_webhooks_url", "https://merchant.example/webhooks")
    config.setdefault("start_time", START)
    return Sandbox(SandboxConfig(**config))


def sandbox_gateway(
    sb: Sandbox,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    **opts: object,
) -> Gateway:
    return Gateway(
        "amazon_pay",
        options=options(**opts),
        environ={},
        transport=transport if transport is not None else sb.transport(),
        retry=retry or RetryPolicy.no_wait(),
        clock=sb.clock.now,
    )


def async_sandbox_gateway(
    sb: Sandbox,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
    **opts: object,
) -> AsyncGateway:
    return AsyncGateway(
        "amazon_pay",
        options=options(**opts),
        environ={},
        transport=transport if transport is not None else sb.transport(),
        retry=retry or RetryPolicy.no_wait(),
        clock=sb.clock.now,
    )


def authorize_request(minor: int = 10_000, **changes: Any) -> AuthorizeRequest:
    request = AuthorizeRequest(
        amount=Money(minor, "USD"),
        consumer=Consumer(country="US", name="John Smith"),
        return_url=RETURN_URL,
        merchant_reference="order-1",
        capture_mode=CaptureMode.SEPARATE,
    )
    return attrs.evolve(request, **changes)


def authorized_payment(sb: Sandbox, gw: Gateway, minor: int = 10_000, reference: str = "order-1") -> Payment:
    """A payment the consumer approved, awaiting capture, as the host would have stored it."""
    created = gw.authorize(authorize_request(minor, merchant_reference=reference))
    sb.approve(created.id)
    return gw.get_payment(created.id)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def counted(transport: SandboxTransport) -> int:
    return transport.request_count
