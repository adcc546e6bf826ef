"""5. Sandbox throughput: raw httpx, one request at a time, against the served sandbox.

This is what tests and the demo pay per PPRO call on loopback. Authorize (a write that
creates a charge) and get (a read) are measured separately, in rounds, medians.
"""

from __future__ import annotations

import time

from ._common import Progress, Recorded, make_client, median, raw_send


def run(
    base_url: str, charge_id: str, recorded: dict[str, Recorded], n: int, rounds: int
) -> dict[str, float]:
    progress = Progress("5 sandbox ops", rounds)
    authorize, get = recorded["authorize"], recorded["get"]
    writes, reads, mixed = [], [], []
    with make_client() as client:
        raw_send(client, get, base_url, charge_id)  # open the connection
        for i in range(rounds):
            started = time.perf_counter()
            for _ in range(n):
                raw_send(client, authorize, base_url, "")
            middle = time.perf_counter()
            for _ in range(n):
                raw_send(client, get, base_url, charge_id)
            ended = time.perf_counter()
            writes.append(n / (middle - started))
            reads.append(n / (ended - middle))
            mixed.append(2 * n / (ended - started))
            progress.tick(i + 1)
    result = {
        "ops_per_s": median(mixed),
        "authorize_per_s": median(writes),
        "get_per_s": median(reads),
        "ms_per_op": 1000 / median(mixed),
    }
    progress.done(f"{result['ops_per_s']:.0f} ops/s")
    return result
