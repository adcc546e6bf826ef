"""One webhook-receiving process of the concurrency test (started with multiprocessing 'spawn')."""

from __future__ import annotations

import random
from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from psp_core import Gateway
from psp_store import Store

from .conftest import OPTIONS


def ingest_all(
    store_url: str,
    deliveries: list[tuple[dict[str, str], bytes]],
    now: datetime,
    seed: int,
    start: Barrier,
    results: Queue[tuple[int, int | str]],
) -> None:
    """Ingest every delivery twice, in this process's own shuffled order, all processes at once."""
    try:
        gateway = Gateway("amazon_pay", options=OPTIONS, environ={}, clock=lambda: now)
        store = Store(store_url, gateway=gateway)
        batch = deliveries * 2
        random.Random(seed).shuffle(batch)
        start.wait()  # every process is ready: they start together
        for headers, body in batch:
            store.ingest(headers, body)
        store.close()
        results.put((seed, len(batch)))
    except BaseException as error:  # reported to the test, which fails with it
        results.put((seed, f"{type(error).__name__}: {error}"))
