"""3. Framework CPU per operation, in-process over a transport that answers instantly.

The canned transport hands back prebuilt copies of the responses recorded from the sandbox,
so what is left is client-side CPU only: httpx's own for the raw side, httpx's plus the
framework's for the gateway. Blocks of ``n`` calls alternate ABBA per operation; each block
is timed with ``time.thread_time_ns`` (this thread's CPU, so a stray background thread
cannot leak in) and the median block gives the per-request figure.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from psp_core import CaptureRequest, Gateway, Payment, RefundRequest

from ._common import (
    AUTHORIZE,
    OPERATIONS,
    CannedTransport,
    Progress,
    Recorded,
    check,
    gateway,
    make_client,
    median,
    raw_send,
)
from ._profile import profile

BASE_URL = "https://ppro.bench"


def _payments(
    gw: Gateway, transport: CannedTransport, recorded: dict[str, Recorded]
) -> tuple[Payment, Payment]:
    """The authorized and the captured payment that capture and refund start from."""
    transport.load([recorded["get"].canned(), recorded["capture"].canned()])
    authorized = check(gw.get_payment("charge_bench"), "get")
    captured = check(gw.capture(CaptureRequest(payment=authorized)), "capture")
    return authorized, captured


def gateway_calls(gw: Gateway, authorized: Payment, captured: Payment) -> dict[str, Callable[[], object]]:
    # Requests are built inside the call, as a host builds them for each operation.
    return {
        "authorize": lambda: gw.authorize(AUTHORIZE),
        "get": lambda: gw.get_payment(authorized.id),
        "capture": lambda: gw.capture(CaptureRequest(payment=authorized)),
        "refund": lambda: gw.refund(RefundRequest(payment=captured)),
    }


def _block(call: Callable[[], object], transport: CannedTransport, recorded: Recorded, n: int) -> float:
    """CPU nanoseconds per call over ``n`` calls."""
    transport.load([recorded.canned() for _ in range(n)])
    gc.collect()
    started = time.thread_time_ns()
    for _ in range(n):
        call()
    return (time.thread_time_ns() - started) / n


def run(recorded: dict[str, Recorded], n: int, blocks: int, profile_n: int) -> dict[str, object]:
    gw_transport, raw_transport = CannedTransport(), CannedTransport()
    progress = Progress("3 framework cpu", blocks * len(OPERATIONS) + 1)
    per_op: dict[str, dict[str, float]] = {}
    with make_client(gw_transport) as gw_client, make_client(raw_transport) as raw_client:
        gw = gateway(BASE_URL, gw_client)
        authorized, captured = _payments(gw, gw_transport, recorded)
        calls = gateway_calls(gw, authorized, captured)
        step = 0
        for op in OPERATIONS:
            exchange = recorded[op]

            def raw(exchange: Recorded = exchange) -> object:
                return raw_send(raw_client, exchange, BASE_URL, authorized.id)

            _block(calls[op], gw_transport, exchange, max(n // 10, 5))  # warm-up
            _block(raw, raw_transport, exchange, max(n // 10, 5))
            gw_ns: list[float] = []
            raw_ns: list[float] = []
            for i in range(blocks):
                if i % 2 == 0:
                    gw_ns.append(_block(calls[op], gw_transport, exchange, n))
                    raw_ns.append(_block(raw, raw_transport, exchange, n))
                else:
                    raw_ns.append(_block(raw, raw_transport, exchange, n))
                    gw_ns.append(_block(calls[op], gw_transport, exchange, n))
                step += 1
                progress.tick(step)
            gw_us, raw_us = median(gw_ns) / 1e3, median(raw_ns) / 1e3
            per_op[op] = {
                "gateway_us": gw_us,
                "raw_us": raw_us,
                "extra_us": gw_us - raw_us,
                "overhead_fraction": (gw_us - raw_us) / raw_us,
            }
        hot = profile(calls, gw_transport, recorded, profile_n)
        gw.close()
    gw_total = sum(v["gateway_us"] for v in per_op.values())
    raw_total = sum(v["raw_us"] for v in per_op.values())
    fraction = (gw_total - raw_total) / raw_total
    progress.done(f"overhead {fraction:.1%}")
    return {
        "overhead_fraction": fraction,
        "gateway_us_per_cycle": gw_total,
        "raw_us_per_cycle": raw_total,
        "calls_per_block": n,
        "blocks": blocks,
        "per_operation": per_op,
        "profile": hot,
    }
