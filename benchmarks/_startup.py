"""4. Start-up: ``import psp_core`` plus provider discovery vs ``import httpx``, fresh processes.

Each run is a new interpreter, alternating between the two sides. Two figures per side:
the work itself, timed inside the child with ``perf_counter`` around the import (the
interpreter's own start-up, identical for both, would only dilute the ratio), and the
whole process's wall time as the parent sees it. ``-X importtime`` then names the modules
psp adds on top of httpx.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict

from ._common import Progress, median

PSP = (
    "import time; t0 = time.perf_counter(); import psp_core; t1 = time.perf_counter(); "
    "names = psp_core.provider_names(psp_core.create_plugin_manager()); t2 = time.perf_counter(); "
    "assert names, 'no provider discovered'; "
    "import json; print(json.dumps([t2 - t0, t1 - t0, t2 - t1]))"
)
HTTPX = (
    "import time; t0 = time.perf_counter(); import httpx; t1 = time.perf_counter(); "
    "import json; print(json.dumps([t1 - t0, t1 - t0, 0.0]))"
)
_DISCOVER = "import psp_core; psp_core.provider_names(psp_core.create_plugin_manager())"


def _child(code: str) -> tuple[float, list[float]]:
    started = time.perf_counter()
    out = subprocess.run(  # noqa: S603 - our own interpreter running our own snippet
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return time.perf_counter() - started, [float(x) for x in json.loads(out)]


def _importtime(code: str) -> dict[str, int]:
    """Self microseconds per module from ``-X importtime``."""
    err = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    ).stderr
    table: dict[str, int] = {}
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line.split(":", 1)[1].split("|")
        table[name.strip()] = int(self_us)
    return table


def _extra_modules(runs: int) -> list[list[object]]:
    """Packages psp imports that httpx does not, by self import time (median over ``runs``)."""
    samples: dict[str, list[int]] = defaultdict(list)
    for _ in range(runs):
        baseline = _importtime("import httpx")
        for name, us in _importtime(_DISCOVER).items():
            if name not in baseline:
                samples[name.split(".")[0]].append(us)
    # Sum per package per run is approximated by the per-module medians summed.
    per_package: dict[str, float] = defaultdict(float)
    for package, values in samples.items():
        per_package[package] = sum(values) / runs
    ranked = sorted(per_package.items(), key=lambda item: -item[1])[:12]
    return [[name, round(us / 1000, 2)] for name, us in ranked]


def run(runs: int) -> dict[str, object]:
    progress = Progress("4 start-up", 2 * runs + 1)
    psp_work, psp_import, psp_discover, psp_wall = [], [], [], []
    httpx_work, httpx_wall = [], []
    for i in range(runs):
        order = ((PSP, True), (HTTPX, False)) if i % 2 == 0 else ((HTTPX, False), (PSP, True))
        for code, is_psp in order:
            wall, (work, imported, discovered) = _child(code)
            if is_psp:
                psp_work.append(work)
                psp_import.append(imported)
                psp_discover.append(discovered)
                psp_wall.append(wall)
            else:
                httpx_work.append(work)
                httpx_wall.append(wall)
        progress.tick(2 * (i + 1))
    extra = _extra_modules(max(1, min(runs, 3)))
    result: dict[str, object] = {
        "ratio": median(psp_work) / median(httpx_work),
        "process_wall_ratio": median(psp_wall) / median(httpx_wall),
        "psp_ms": 1000 * median(psp_work),
        "psp_import_ms": 1000 * median(psp_import),
        "psp_discovery_ms": 1000 * median(psp_discover),
        "httpx_ms": 1000 * median(httpx_work),
        "psp_process_ms": 1000 * median(psp_wall),
        "httpx_process_ms": 1000 * median(httpx_wall),
        "runs": runs,
        "extra_packages_ms": extra,
    }
    progress.done(f"ratio {result['ratio']:.2f}")
    return result
