"""Run every benchmark in one process and print the table: ``python benchmarks/run.py``.

    --quick       smaller sizes (a minute or so)
    --smoke       tiny sizes (seconds): proves the benchmark still runs; used by the tests
    --json PATH   also write the figures as JSON (headline keys plus ``detail``)

The exchanges are recorded, and the sandbox's own throughput measured, against a sandbox
served in this process (uvicorn on 127.0.0.1, any free port); it stops before anything
else is measured, so its thread cannot disturb them. The sync wall and async sections
serve their own sandbox from a child process (see ``_common.served_elsewhere``).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (what dev.py does): make the repository root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (
    _async_throughput,
    _construction,
    _cpu,
    _otel,
    _report,
    _sandbox_ops,
    _startup,
    _stripe_sdk,
    _sync_wall,
    _webhooks,
)
from benchmarks import _store as _store_bench
from benchmarks._common import AUTHORIZE, gateway, make_client, record
from psp_ppro.sandbox import Sandbox, SandboxConfig, serve_in_thread


@dataclass(frozen=True)
class Sizes:
    sync_cycles: int
    async_total: int
    async_rounds: int
    async_min_per_worker: int
    cpu_n: int
    cpu_blocks: int
    profile_n: int
    startup_runs: int
    sandbox_n: int
    sandbox_rounds: int
    webhook_n: int
    webhook_rounds: int
    construct_n: int
    construct_blocks: int


SIZES = {
    # At 200 in flight httpcore's pool runs at ~80 op/s (see docs), which bounds the async sizes.
    "smoke": Sizes(4, 20, 1, 1, 20, 2, 10, 1, 10, 1, 2, 1, 1, 2),
    "quick": Sizes(40, 300, 3, 2, 300, 5, 200, 5, 100, 3, 50, 3, 3, 4),
    "full": Sizes(200, 600, 5, 3, 1500, 9, 1000, 15, 300, 5, 200, 7, 5, 8),
}


def measure(sizes: Sizes) -> dict[str, Any]:
    results: dict[str, Any] = {}
    # Unknown seed, realtime clock: the sandbox as the demo and tests use it.
    sandbox = Sandbox(SandboxConfig())
    with serve_in_thread(sandbox) as running:
        base_url = running.base_url
        recorded = record(base_url, sandbox)
        with make_client() as client, gateway(base_url, client) as gw:
            charge_id = gw.authorize(AUTHORIZE).id  # the charge every get reads
        results["sandbox"] = _sandbox_ops.run(
            base_url, charge_id, recorded, sizes.sandbox_n, sizes.sandbox_rounds
        )
    results["sync_wall"] = _sync_wall.run(recorded, sizes.sync_cycles)
    results["async_throughput"] = _async_throughput.run(
        recorded, sizes.async_total, sizes.async_rounds, sizes.async_min_per_worker
    )
    results["cpu"] = _cpu.run(recorded, sizes.cpu_n, sizes.cpu_blocks, sizes.profile_n)
    results["otel"] = _otel.run(recorded, sizes.cpu_n, sizes.cpu_blocks)
    results["webhooks"] = _webhooks.run(sizes.webhook_n, sizes.webhook_rounds)
    results["construction"] = _construction.run(sizes.construct_n, sizes.construct_blocks)
    results["startup"] = _startup.run(sizes.startup_runs)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller sizes")
    mode.add_argument("--smoke", action="store_true", help="tiny sizes, seconds; for the test suite")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    sizes = SIZES[name]
    started = time.perf_counter()
    print(f"psp benchmarks ({name}); progress on stderr", file=sys.stderr, flush=True)
    results = measure(sizes)
    results["store"] = _store_bench.run(name)
    results["stripe_sdk"] = _stripe_sdk.run(name)
    results["meta"] = {
        "mode": name,
        "sizes": asdict(sizes),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "wall_s": time.perf_counter() - started,
    }
    figures = _report.headline(results)
    figures.update(_store_bench.headline(results["store"]))
    figures.update(_stripe_sdk.headline(results["stripe_sdk"]))
    _report.check_headline(figures)
    print(_report.table(results))
    print(_store_bench.table(results["store"]))
    print(_stripe_sdk.table(results["stripe_sdk"]))
    print(f"\n({name} run, {results['meta']['wall_s']:.0f}s)")
    if args.json is not None:
        _report.write_json(args.json, figures, results)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
