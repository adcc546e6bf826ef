"""7. Webhooks per second: ``parse_webhook`` + ``apply_event`` on one core.

The PPRO sandbox, in-process, produces the real signed deliveries of one payment's life
(created, authorized, captured, refunded) for a gateway with a webhook secret. The timed loop
verifies each delivery (HMAC over the raw body, compared in constant time, then the
CloudEvents envelope) and folds the event into the stored payment with the reducer, as a
host's webhook endpoint does; ``thread_time_ns`` over the loop gives this thread's CPU only.
"""

from __future__ import annotations

import gc
import time

from psp_core import CaptureRequest, Gateway, RefundRequest, apply_event
from psp_ppro.sandbox import Sandbox, SandboxConfig

from ._common import API_KEY, AUTHORIZE, MERCHANT_ID, Progress, median

BASE_URL = "https://sandbox.ppro.bench"
WEBHOOK_SECRET = "whsec_bench_0123456789"
WEBHOOK_URL = "https://shop.example/webhooks/ppro"


def run(n: int, rounds: int) -> dict[str, object]:
    progress = Progress("7 webhooks", rounds)
    sandbox = Sandbox(
        SandboxConfig(
            api_key=API_KEY,
            merchant_id=MERCHANT_ID,
            webhook_secret=WEBHOOK_SECRET,
            base_url=BASE_URL,
            default_webhooks_url=WEBHOOK_URL,
        )
    )
    settings = {"api_key": API_KEY, "merchant_id": MERCHANT_ID, "base_url": BASE_URL}
    with Gateway(
        "amazon_pay",
        options={**settings, "webhook_secret": WEBHOOK_SECRET},
        environ={},
        transport=sandbox.transport(),
        clock=sandbox.clock.now,
    ) as gw:
        created = gw.authorize(AUTHORIZE)
        sandbox.approve(created.id)
        authorized = gw.get_payment(created.id)
        captured = gw.capture(CaptureRequest(payment=authorized))
        gw.refund(RefundRequest(payment=captured))
        deliveries = [d for d in sandbox.pending_webhooks() if d.subject == created.id]
        if not deliveries:
            raise RuntimeError("the sandbox sent no webhooks for the payment: nothing to measure")
        kinds = sorted({gw.parse_webhook(d.headers, d.body).kind.value for d in deliveries})
        per_event_us: list[float] = []
        for i in range(rounds):
            gc.collect()
            started = time.thread_time_ns()
            for _ in range(n):
                for delivery in deliveries:
                    apply_event(created, gw.parse_webhook(delivery.headers, delivery.body))
            per_event_us.append((time.thread_time_ns() - started) / (n * len(deliveries)) / 1e3)
            progress.tick(i + 1)
    us = median(per_event_us)
    progress.done(f"{1e6 / us:.0f} webhooks/s")
    return {
        "webhooks_per_s": 1e6 / us,
        "us_per_webhook": us,
        "event_kinds": kinds,
        "deliveries": len(deliveries),
        "rounds": rounds,
        "repeats_per_round": n,
    }
