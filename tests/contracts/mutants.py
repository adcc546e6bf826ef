"""Deliberately broken fakepay providers: the contract suite must fail on every one.

Each mutant is the honest contract fakepay with one bug a real provider could have, and
each is registered the same way a plugin author registers an unpackaged provider:
``--psp-plugin fakepay=tests.contracts.mutants:OVER_REFUND``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from psp_core import (
    Flow,
    Money,
    Payment,
    ProviderConfig,
    WebhookEvent,
    hookimpl,
)
from tests.fakepay import _json, _payment
from tests.fakepay import capabilities as fakepay_capabilities

from .fakepay_sandbox import ContractFakePay, ContractFakePsp


class OverRefundPsp(ContractFakePsp):
    """Lets a refund above what was captured through."""

    def check_operation(self, charge: dict[str, Any], op: str, amount: Decimal) -> str | None:
        return None if op == "refund" else super().check_operation(charge, op, amount)


class NoIdempotencyPsp(ContractFakePsp):
    """Ignores idempotency keys: a retried request takes effect again."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.replays.clear()
        return super().handle(request)


class HalfLimitPsp(ContractFakePsp):
    """Declines amounts above half of what its provider declares as the maximum."""

    def approve(self, charge_id: str) -> None:
        charge = self.charges[charge_id]
        limit = fakepay_capabilities().amount_limits[charge["currency"]].maximum
        if Money.parse(charge["amount"], charge["currency"]).minor > limit.minor // 2:
            self.stop(charge_id, "AMOUNT")
            return
        super().approve(charge_id)


class WebhookCachePlugin(ContractFakePay):
    """Serves reads from the last webhook it parsed, so a late webhook turns the clock back."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: dict[str, Payment] = {}

    @hookimpl
    def psp_parse_webhook(
        self, config: ProviderConfig, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookEvent:
        event = super().psp_parse_webhook(config, headers, body, now)
        self.cache[event.payment_id or ""] = _payment(json.loads(body)["charge"])
        return event

    @hookimpl
    def psp_get_payment(self, config: ProviderConfig, payment_id: str) -> Flow[Payment]:
        response = yield httpx.Request("GET", f"/charges/{payment_id}")
        fresh = _payment(_json(response))
        return self.cache.get(payment_id, fresh)


def _with(psp_class: type[ContractFakePsp]) -> ContractFakePay:
    plugin = ContractFakePay()
    plugin.psp_class = psp_class
    return plugin


OVER_REFUND = _with(OverRefundPsp)
NO_IDEMPOTENCY = _with(NoIdempotencyPsp)
HALF_LIMIT = _with(HalfLimitPsp)
WEBHOOK_CACHE = WebhookCachePlugin()

