"""Peer benchmark: the same Stripe exchanges through Stripe's own SDK and through ``Gateway("stripe")``.

Both sides talk to one localstripe process (another process, as a PSP is another machine)
over loopback HTTP with httpx (the SDK's ``HTTPXClient``), and do the same four exchanges per
cycle: create and confirm a PaymentIntent with manual capture, retrieve it, capture part of
it, refund part of the capture. Cycles alternate ABBA. Per cycle, each side's CPU is this
thread's (``time.thread_time_ns``: the server's CPU is in the other process) and its wall
time is ``perf_counter``; the figures are medians over cycles.

psp does all of its work on the way: validation against the capabilities, idempotency keys,
the mapping to a normalized ``Payment`` with its operations, redaction-ready errors; and its
requests pass the localstripe adapter's parameter filter (localstripe refuses ``return_url``
and ``description``), which is counted against psp. The SDK sends only parameters localstripe
takes and returns its own objects.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import stripe

from psp_core import (
    AuthorizeRequest,
    CaptureMode,
    CaptureRequest,
    Consumer,
    Gateway,
    Money,
    RefundRequest,
    RetryPolicy,
)
from psp_localstripe import SECRET_KEY, LocalStripe, LocalStripeSandbox

from ._common import Progress

CYCLES = {"smoke": 4, "quick": 40, "full": 200}
OPERATIONS = ("create", "retrieve", "capture", "refund")
AMOUNT = 2000


def _sdk_cycle(client: stripe.StripeClient, n: int) -> dict[str, tuple[int, float]]:
    costs: dict[str, tuple[int, float]] = {}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        cpu, wall = time.thread_time_ns(), time.perf_counter()
        result = call()
        costs[name] = (time.thread_time_ns() - cpu, time.perf_counter() - wall)
        return result

    intents = client.v1.payment_intents
    intent = timed(
        "create",
        lambda: intents.create(
            params={
                "amount": AMOUNT,
                "currency": "eur",
                "payment_method": "pm_card_visa",
                "payment_method_types": ["card"],
                "confirm": True,
                "capture_method": "manual",
                "metadata": {"merchant_reference": f"sdk-{n}"},
            }
        ),
    )
    timed("retrieve", lambda: intents.retrieve(intent.id, params={"expand": ["latest_charge.refunds"]}))
    timed("capture", lambda: intents.capture(intent.id, params={"amount_to_capture": AMOUNT}))
    timed("refund", lambda: client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 500}))
    return costs


def _psp_cycle(gateway: Gateway, n: int) -> dict[str, tuple[int, float]]:
    costs: dict[str, tuple[int, float]] = {}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        cpu, wall = time.thread_time_ns(), time.perf_counter()
        result = call()
        costs[name] = (time.thread_time_ns() - cpu, time.perf_counter() - wall)
        return result

    payment = timed(
        "create",
        lambda: gateway.authorize(
            AuthorizeRequest(
                amount=Money(AMOUNT, "EUR"),
                consumer=Consumer(country="DE"),
                return_url="https://shop.example/return",
                merchant_reference=f"psp-{n}",
                capture_mode=CaptureMode.SEPARATE,
                payment_method_token="pm_card_visa",
            )
        ),
    )
    read = timed("retrieve", lambda: gateway.get_payment(payment.id))
    captured = timed("capture", lambda: gateway.capture(CaptureRequest(read)))
    timed("refund", lambda: gateway.refund(RefundRequest(captured, Money(500, "EUR"))))
    return costs


def run(mode: str) -> dict[str, Any]:
    cycles = CYCLES[mode]
    server = LocalStripe()
    sandbox = LocalStripeSandbox(server)
    client = stripe.StripeClient(
        SECRET_KEY,
        base_addresses={"api": server.url},
        http_client=stripe.HTTPXClient(allow_sync_methods=True),
        max_network_retries=0,
    )
    gateway = Gateway(
        "stripe",
        options=dict(sandbox.options),
        transport=sandbox.transport(),
        retry=RetryPolicy(),
        environ={},
    )
    progress = Progress("stripe sdk", cycles)
    samples: dict[str, list[dict[str, tuple[int, float]]]] = {"psp": [], "sdk": []}
    try:
        _sdk_cycle(client, -1)  # warm both sides up: connections, imports, caches
        _psp_cycle(gateway, -1)
        for n in range(cycles):
            order = ("psp", "sdk") if n % 4 in (0, 3) else ("sdk", "psp")
            for side in order:
                cycle = _psp_cycle(gateway, n) if side == "psp" else _sdk_cycle(client, n)
                samples[side].append(cycle)
            progress.tick(n + 1)
    finally:
        gateway.close()
        sandbox.close()
        server.close()
    per_operation: dict[str, dict[str, float]] = {}
    for op in OPERATIONS:
        psp_cpu = statistics.median(s[op][0] for s in samples["psp"]) / 1000
        sdk_cpu = statistics.median(s[op][0] for s in samples["sdk"]) / 1000
        per_operation[op] = {"psp_cpu_us": psp_cpu, "sdk_cpu_us": sdk_cpu, "cpu_ratio": psp_cpu / sdk_cpu}
    psp_cpu_total = sum(v["psp_cpu_us"] for v in per_operation.values())
    sdk_cpu_total = sum(v["sdk_cpu_us"] for v in per_operation.values())
    psp_wall = statistics.median(sum(w for _, w in s.values()) for s in samples["psp"]) * 1000
    sdk_wall = statistics.median(sum(w for _, w in s.values()) for s in samples["sdk"]) * 1000
    progress.done(f"cpu ratio {psp_cpu_total / sdk_cpu_total:.2f}")
    return {
        "cycles": cycles,
        "per_operation": per_operation,
        "cpu_ratio": psp_cpu_total / sdk_cpu_total,
        "psp_wall_ms_per_cycle": psp_wall,
        "sdk_wall_ms_per_cycle": sdk_wall,
        "wall_ratio": psp_wall / sdk_wall,
        "sdk_version": stripe.VERSION,
    }


def headline(result: dict[str, Any]) -> dict[str, float]:
    return {"stripe_sdk_cpu_ratio": result["cpu_ratio"], "stripe_sdk_wall_ratio": result["wall_ratio"]}


def table(result: dict[str, Any]) -> str:
    row = "{:<34} {:>12} {:>12} {:>9}"
    lines = [
        "",
        f"7 Stripe peer: psp vs stripe SDK {result['sdk_version']} on localstripe (CPU us/op; goal <= 0.5)",
    ]
    lines.append(row.format("operation", "psp", "stripe SDK", "ratio"))
    for op, v in result["per_operation"].items():
        lines.append(
            row.format(op, f"{v['psp_cpu_us']:.0f}", f"{v['sdk_cpu_us']:.0f}", f"{v['cpu_ratio']:.2f}")
        )
    lines.append(row.format("CPU, 4 operations", "", "", f"{result['cpu_ratio']:.2f}"))
    lines.append(
        row.format(
            "wall per cycle (ms)",
            f"{result['psp_wall_ms_per_cycle']:.1f}",
            f"{result['sdk_wall_ms_per_cycle']:.1f}",
            f"{result['wall_ratio']:.2f}",
        )
    )
    return "\n".join(lines)
