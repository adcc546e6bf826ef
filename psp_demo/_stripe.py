"""``psp demo stripe``: the same host code against Amazon Pay (PPRO sandbox) and Stripe (localstripe).

Starts localstripe on 127.0.0.1 (from its PyPI package, ``pip install 'psp[localstripe]'``) and the
PPRO sandbox in-process, runs :func:`psp_demo._same_host.sell_and_refund` unchanged against
both, then a Stripe SEPA Direct Debit mandate: set up, charged off-session, revoked, refused.
Prints one line per step and exits 1 if any step does not behave as expected.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime

from psp_core import (
    Consumer,
    Gateway,
    MandateChargeRequest,
    MandateRequest,
    MandateStatus,
    Money,
    PaymentStatus,
    RetryPolicy,
    RevokeMandateRequest,
)

from ._same_host import RETURN_URL, Shop, sell_and_refund


def run(args: argparse.Namespace) -> int:
    import localstripe  # noqa: F401  - a missing package becomes psp's one-line install hint

    from psp_localstripe import LocalStripe, LocalStripeSandbox  # needs localstripe: psp[localstripe]

    steps: list[dict[str, object]] = []

    def step(name: str, ok: bool, detail: str) -> None:
        steps.append({"step": name, "ok": ok, "detail": detail})
        if not args.json:
            print(f"{'ok ' if ok else 'FAIL'} {name}: {detail}", flush=True)

    amount = Money(2500, "USD")
    half = Money(1250, "USD")
    server = LocalStripe()
    try:
        stripe = LocalStripeSandbox(server)
        from psp_amazonpay import plugin as amazon_pay

        ppro = amazon_pay.psp_sandbox(options={"seed": 1})
        shops: list[tuple[str, Shop, Callable[[], None]]] = []
        amazon = Gateway(
            "amazon_pay", options=dict(ppro.options), transport=ppro.transport(), clock=ppro.now, environ={}
        )
        shops.append(("amazon_pay", Shop(amazon, lambda: "", ppro.approve), ppro.close))
        stripe_gateway = Gateway(
            "stripe",
            options=dict(stripe.options),
            transport=stripe.transport(),
            retry=RetryPolicy(),
            environ={},
        )
        shops.append(
            ("stripe", Shop(stripe_gateway, stripe.payment_method_token, stripe.approve), stripe.close)
        )
        for name, shop, _ in shops:
            payment = sell_and_refund(shop, amount, f"demo-{name}")
            ok = payment.captured == amount and payment.refunded + payment.refund_pending == half
            step(
                f"{name}: sell_and_refund",
                ok,
                f"{payment.id} {payment.status.value}, captured {payment.captured}, "
                f"refunded {payment.refunded} (+{payment.refund_pending} pending)",
            )
        mandate = stripe_gateway.create_mandate(
            MandateRequest(
                consumer=Consumer(country="DE", name="Erika Mustermann", email="erika@example.com"),
                return_url=RETURN_URL,
                start=datetime.now(UTC),
                merchant_reference="demo-subscription",
                payment_method_token=stripe.sepa_debit_token(),
            )
        )
        step(
            "stripe: SEPA mandate set up",
            mandate.status is MandateStatus.ACTIVE,
            f"{mandate.id} {mandate.status.value}",
        )
        charge = stripe_gateway.charge_mandate(
            MandateChargeRequest(mandate.id, Money(990, "EUR"), "demo-invoice-1")
        )
        charged = charge.status in (PaymentStatus.PROCESSING, PaymentStatus.CAPTURED)
        step("stripe: mandate charged off-session", charged, f"{charge.id} {charge.status.value}")
        revoked = stripe_gateway.revoke_mandate(RevokeMandateRequest(mandate.id))
        step("stripe: mandate revoked", revoked.status is MandateStatus.REVOKED, revoked.status.value)
        refused = stripe_gateway.charge_mandate(
            MandateChargeRequest(mandate.id, Money(990, "EUR"), "demo-invoice-2")
        )
        step(
            "stripe: revoked mandate refuses a charge",
            refused.status is PaymentStatus.DECLINED,
            f"{refused.status.value} ({refused.decline.code.value if refused.decline else 'no decline'})",
        )
        for _, shop, close in shops:
            shop.gateway.close()
            close()
    finally:
        server.close()
    if args.json:
        print(json.dumps({"provider": "stripe", "steps": steps}, indent=2))
    return 0 if all(s["ok"] for s in steps) else 1
