"""2. Async throughput: ``AsyncGateway.get_payment`` vs raw ``httpx.AsyncClient`` GETs.

At each concurrency level both sides get a client with the same ``httpx.Limits`` (a pool as
large as the highest level, so neither side queues on the pool), warm up once, then run
rounds alternating ABBA. ``get`` is used because it leaves the sandbox's state unchanged,
so every round does the same work.

The sandbox is served by uvicorn in a *separate* process (``served_elsewhere``): served from
a thread of this process, the server and the client loop would fight over one GIL, and a
thread that wants the GIL waits out the 5 ms switch interval, which caps both sides at ~80
op/s at 50 in flight and measures the GIL, not the client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from psp_core import AsyncGateway

from ._common import (
    Progress,
    Recorded,
    async_gateway,
    make_async_client,
    make_client,
    median,
    raw_send,
    raw_send_async,
    served_elsewhere,
)

LEVELS = (1, 50, 200)


async def _round(call: Callable[[], Awaitable[object]], in_flight: int, total: int) -> float:
    per_worker = max(total // in_flight, 1)

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return per_worker * in_flight / (time.perf_counter() - started)


async def _level(
    base_url: str,
    charge_id: str,
    get: Recorded,
    in_flight: int,
    total: int,
    rounds: int,
    progress: Progress,
    done: int,
) -> dict[str, float]:
    limits = httpx.Limits(max_connections=max(LEVELS), max_keepalive_connections=max(LEVELS))
    async with make_async_client(limits) as gw_client, make_async_client(limits) as raw_client:
        gw: AsyncGateway = async_gateway(base_url, gw_client)

        async def gateway_call() -> object:
            return await gw.get_payment(charge_id)

        async def raw_call() -> object:
            return await raw_send_async(raw_client, get, base_url, charge_id)

        # Warm-up opens every connection of both pools before anything is timed.
        await _round(gateway_call, in_flight, in_flight * 2)
        await _round(raw_call, in_flight, in_flight * 2)
        gw_rates, raw_rates = [], []
        for i in range(rounds):
            first, second = (gateway_call, raw_call) if i % 2 == 0 else (raw_call, gateway_call)
            a = await _round(first, in_flight, total)
            b = await _round(second, in_flight, total)
            gw_rate, raw_rate = (a, b) if i % 2 == 0 else (b, a)
            gw_rates.append(gw_rate)
            raw_rates.append(raw_rate)
            progress.tick(done + i + 1)
        await gw.aclose()
    gw_ops, raw_ops = median(gw_rates), median(raw_rates)
    return {"gateway_ops_per_s": gw_ops, "raw_ops_per_s": raw_ops, "ratio": gw_ops / raw_ops}


def run(
    recorded: dict[str, Recorded], total: int, rounds: int, min_per_worker: int
) -> dict[str, dict[str, float]]:
    progress = Progress("2 async throughput", rounds * len(LEVELS))
    with served_elsewhere() as base_url:
        with make_client() as client:
            charge_id = str(raw_send(client, recorded["authorize"], base_url, "").json()["id"])
        results = _measure(base_url, charge_id, recorded["get"], total, rounds, min_per_worker, progress)
    progress.done(" ".join(f"{k}:{v['ratio']:.3f}" for k, v in results.items()))
    return results


def _measure(
    base_url: str,
    charge_id: str,
    get: Recorded,
    total: int,
    rounds: int,
    min_per_worker: int,
    progress: Progress,
) -> dict[str, dict[str, float]]:

    async def main() -> dict[str, dict[str, float]]:
        results = {}
        for index, in_flight in enumerate(LEVELS):
            # At least ``min_per_worker`` operations per worker, or a round measures the ramp-up.
            ops = max(total, in_flight * min_per_worker)
            results[str(in_flight)] = await _level(
                base_url, charge_id, get, in_flight, ops, rounds, progress, index * rounds
            )
        return results

    return asyncio.run(main())
