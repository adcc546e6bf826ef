"""1. Sync wall time: ``Gateway`` vs a raw ``httpx.Client`` against the sandbox on loopback.

One cycle is authorize, get, capture, refund of a fresh charge; the consumer's approval
(the sandbox's consumer route, on a client of its own) happens between authorize and get
and is not timed. Cycles alternate ABBA (gateway, raw, raw, gateway, ...) so drift and
order effects (a warmer cache, a growing sandbox) fall on both sides equally.

The sandbox is served from another process (``served_elsewhere``), as in the async section:
a PSP is another machine, and both sections then measure against the same kind of server.
Served from a thread of this process instead (rounds one and two), the ratio came out the
same within noise when both were measured side by side (docs/benchmarks.md, round three).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from psp_core import CaptureRequest, Gateway, RefundRequest

from ._common import (
    AUTHORIZE,
    OPERATIONS,
    Progress,
    Recorded,
    check,
    gateway,
    make_client,
    median,
    raw_send,
    served_elsewhere,
)


@dataclass
class SyncWall:
    gateway_ns: dict[str, list[int]] = field(default_factory=lambda: {op: [] for op in OPERATIONS})
    raw_ns: dict[str, list[int]] = field(default_factory=lambda: {op: [] for op in OPERATIONS})

    def summary(self) -> dict[str, object]:
        per_op: dict[str, dict[str, float]] = {}
        for op in OPERATIONS:
            gw, raw = median(self.gateway_ns[op]) / 1e6, median(self.raw_ns[op]) / 1e6
            per_op[op] = {"gateway_ms": gw, "raw_ms": raw, "ratio": gw / raw}
        # Overall: the median cycle (all four operations) of each side.
        gw_cycle = median([sum(c) for c in zip(*self.gateway_ns.values(), strict=True)]) / 1e6
        raw_cycle = median([sum(c) for c in zip(*self.raw_ns.values(), strict=True)]) / 1e6
        return {
            "ratio": gw_cycle / raw_cycle,
            "gateway_cycle_ms": gw_cycle,
            "raw_cycle_ms": raw_cycle,
            "cycles_per_side": len(self.gateway_ns["authorize"]),
            "per_operation": per_op,
        }


class _Consumer:
    """Approves a charge as its consumer would, through the sandbox's consumer route."""

    def __init__(self, client: httpx.Client, base_url: str) -> None:
        self.client, self.base_url = client, base_url

    def approve(self, charge_id: str) -> None:
        answer = self.client.post(f"{self.base_url}/__sandbox__/consumer/{charge_id}/approve")
        if answer.status_code != 200:
            raise RuntimeError(f"approving {charge_id}: HTTP {answer.status_code}: {answer.text[:200]}")


def _gateway_cycle(gw: Gateway, sandbox: _Consumer, out: dict[str, list[int]]) -> None:
    clock = time.perf_counter_ns
    t0 = clock()
    payment = check(gw.authorize(AUTHORIZE), "authorize")
    t1 = clock()
    sandbox.approve(payment.id)
    t2 = clock()
    payment = check(gw.get_payment(payment.id), "get")
    t3 = clock()
    payment = check(gw.capture(CaptureRequest(payment=payment)), "capture")
    t4 = clock()
    check(gw.refund(RefundRequest(payment=payment)), "refund")
    t5 = clock()
    for op, ns in zip(OPERATIONS, (t1 - t0, t3 - t2, t4 - t3, t5 - t4), strict=True):
        out[op].append(ns)


def _raw_cycle(
    client: httpx.Client,
    base_url: str,
    sandbox: _Consumer,
    recorded: dict[str, Recorded],
    out: dict[str, list[int]],
) -> None:
    clock = time.perf_counter_ns
    t0 = clock()
    charge_id = str(raw_send(client, recorded["authorize"], base_url, "").json()["id"])
    t1 = clock()
    sandbox.approve(charge_id)
    t2 = clock()
    raw_send(client, recorded["get"], base_url, charge_id)
    t3 = clock()
    raw_send(client, recorded["capture"], base_url, charge_id)
    t4 = clock()
    raw_send(client, recorded["refund"], base_url, charge_id)
    t5 = clock()
    for op, ns in zip(OPERATIONS, (t1 - t0, t3 - t2, t4 - t3, t5 - t4), strict=True):
        out[op].append(ns)


def run(recorded: dict[str, Recorded], cycles: int) -> dict[str, object]:
    result = SyncWall()
    progress = Progress("1 sync wall", cycles)
    with served_elsewhere() as base_url, make_client() as consumer_client:
        sandbox = _Consumer(consumer_client, base_url)
        _cycles(base_url, sandbox, recorded, cycles, result, progress)
    summary = result.summary()
    progress.done(f"ratio {summary['ratio']:.3f}")
    return summary


def _cycles(
    base_url: str,
    sandbox: _Consumer,
    recorded: dict[str, Recorded],
    cycles: int,
    result: SyncWall,
    progress: Progress,
) -> None:
    with make_client() as gw_client, make_client() as raw_client, gateway(base_url, gw_client) as gw:
        # Warm both: connections open, caches and lazy imports filled, before anything counts.
        for _ in range(3):
            _gateway_cycle(gw, sandbox, SyncWall().gateway_ns)
            _raw_cycle(raw_client, base_url, sandbox, recorded, SyncWall().raw_ns)
        for i in range(cycles):
            if i % 2 == 0:
                _gateway_cycle(gw, sandbox, result.gateway_ns)
                _raw_cycle(raw_client, base_url, sandbox, recorded, result.raw_ns)
            else:
                _raw_cycle(raw_client, base_url, sandbox, recorded, result.raw_ns)
                _gateway_cycle(gw, sandbox, result.gateway_ns)
            progress.tick(i + 1)
