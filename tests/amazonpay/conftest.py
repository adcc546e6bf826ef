"""Fixtures for the Amazon Pay plugin: options, canned PPRO answers and a scripted PPRO."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

from psp_core import (
    AsyncGateway,
    AuthorizeRequest,
    CaptureMode,
    Consumer,
    Gateway,
    Money,
    RetryPolicy,
)

T = TypeVar("T")

API_KEY = "key_sandbox_test_0123456789"
WEBHOOK_SECRET = "whsec_test_secret"
BASE_URL = "https://ppro.test"
RETURN_URL = "https://shop.example/return"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

OPTIONS: dict[str, object] = {
    "api_key": API_KEY,
    "merchant_id": "merch_test",
    "base_url": BASE_URL,
    "webhook_secret": WEBHOOK_SECRET,
}

Handler = Callable[[httpx.Request], httpx.Response]


def authorize_request(minor: int = 1000, **overrides: Any) -> AuthorizeRequest:
    fields: dict[str, Any] = {
        "amount": Money(minor, "USD"),
        "consumer": Consumer(country="US", name="John Smith"),
        "return_url": RETURN_URL,
        "merchant_reference": "order-1",
        "capture_mode": CaptureMode.SEPARATE,
    }
    fields.update(overrides)
    return AuthorizeRequest(**fields)


def charge_json(
    status: str = "AUTHENTICATION_PENDING",
    *,
    amount: int = 1000,
    authz: str = "AUTHENTICATION_PENDING",
    captures: list[int] | None = None,
    refunds: list[int] | None = None,
    voids: list[int] | None = None,
    failure: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A PPRO charge as PPRO shapes it (no top-level amount; sub-object amounts are ints)."""

    def ops(prefix: str, amounts: list[int] | None, ok: str) -> list[dict[str, Any]]:
        return [
            {"id": f"{prefix}_{i}", "amount": a, "status": ok, "createdAt": "2026-01-15T12:00:00.000Z"}
            for i, a in enumerate(amounts or [])
        ]

    body: dict[str, Any] = {
        "id": "charge_1",
        "paymentMethod": "AMAZON_PAY",
        "currency": "USD",
        "country": "US",
        "status": status,
        "authenticationMethods": [
            {
                "type": "REDIRECT",
                "details": {"requestUrl": "https://pay.example/auth", "requestMethod": "GET"},
            }
        ]
        if status == "AUTHENTICATION_PENDING"
        else [],
        "authorizations": [
            {
                "id": "authz_1",
                "amount": amount,
                "status": authz,
                "merchantPaymentChargeReference": "order-1",
                "createdAt": "2026-01-15T12:00:00.000Z",
            }
        ],
        "captures": ops("capture", captures, "CAPTURED"),
        "refunds": ops("refund", refunds, "REFUNDED"),
        "voids": ops("void", voids, "VOIDED"),
        "createdAt": "2026-01-15T12:00:00.000Z",
        "_links": {"self": {"href": "/v1/payment-charges/charge_1"}},
        "someFutureField": {"nested": True},
    }
    if failure is not None:
        body["failure"] = failure
    body.update(extra)
    return body


def failure_json(code: str, kind: str = "PROVIDER_DECLINE", retryable: bool = False) -> dict[str, Any]:
    return {
        "failureType": kind,
        "failureCode": code,
        "providerFailureCode": f"raw-{code}",
        "failureMessage": f"{code} happened",
        "isRetryable": retryable,
    }


def respond(status: int, body: object) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    def __init__(self, *answers: httpx.Response | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def gateway(handler: Handler, **options: object) -> Gateway:
    return Gateway(
        "amazon_pay",
        options={**OPTIONS, **options},
        environ={},
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy.no_wait(),
        clock=lambda: NOW,
    )


def async_gateway(handler: Handler, **options: object) -> AsyncGateway:
    return AsyncGateway(
        "amazon_pay",
        options={**OPTIONS, **options},
        environ={},
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy.no_wait(),
        clock=lambda: NOW,
    )


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``call(handler, "method", *args, **options)`` through the sync or the async gateway."""

    def sync(handler: Handler, method: str, *args: Any, **options: object) -> Any:
        with gateway(handler, **options) as gw:
            return getattr(gw, method)(*args)

    def asynchronous(handler: Handler, method: str, *args: Any, **options: object) -> Any:
        async def go() -> Any:
            async with async_gateway(handler, **options) as gw:
                return await getattr(gw, method)(*args)

        return run(go())

    return sync if request.param == "sync" else asynchronous
