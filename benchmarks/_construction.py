"""8. Gateway construction: a second ``Gateway(...)`` in a process next to an ``httpx.Client()``.

The first gateway pays the imports and the scan of installed distributions; every later one
should cost about what its own ``httpx.Client`` costs (which builds an SSL context). Blocks of
``n`` constructions (each closed again) alternate ABBA between the two sides, timed with
``thread_time_ns``; the median block gives the ratio. A gateway built on a shared client is
reported as detail: what each additional gateway costs when a host shares one client.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import httpx

from psp_core import Gateway

from ._common import TIMEOUT_S, Progress, median, options

BASE_URL = "https://ppro.bench"


def _block(make: Callable[[], None], n: int) -> float:
    gc.collect()
    started = time.thread_time_ns()
    for _ in range(n):
        make()
    return (time.thread_time_ns() - started) / n / 1e6


def run(n: int, blocks: int) -> dict[str, object]:
    progress = Progress("8 gateway construction", blocks)
    settings = options(BASE_URL)

    def client() -> None:
        httpx.Client(timeout=TIMEOUT_S).close()

    def gateway() -> None:
        Gateway("amazon_pay", options=settings, environ={}).close()

    shared = httpx.Client(timeout=TIMEOUT_S)

    def on_shared_client() -> None:
        Gateway("amazon_pay", options=settings, environ={}, client=shared).close()

    gateway()  # the first one: imports, the entry-point scan, the provider's module
    client_ms: list[float] = []
    gateway_ms: list[float] = []
    shared_ms: list[float] = []
    for i in range(blocks):
        if i % 2 == 0:
            client_ms.append(_block(client, n))
            gateway_ms.append(_block(gateway, n))
        else:
            gateway_ms.append(_block(gateway, n))
            client_ms.append(_block(client, n))
        shared_ms.append(_block(on_shared_client, n))
        progress.tick(i + 1)
    shared.close()
    result: dict[str, object] = {
        "ratio": median(gateway_ms) / median(client_ms),
        "gateway_ms": median(gateway_ms),
        "httpx_client_ms": median(client_ms),
        "gateway_on_shared_client_ms": median(shared_ms),
        "shared_client_ratio": median(shared_ms) / median(client_ms),
        "per_block": n,
        "blocks": blocks,
    }
    progress.done(f"ratio {result['ratio']:.2f}")
    return result
