"""The benchmark still runs end to end: tiny sizes, every figure present, finite and positive.

Thresholds are deliberately not asserted: a loaded CI machine says nothing about the code's
speed, and a flaky timing test teaches people to ignore failures. ``dev.py bench`` measures.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADLINE = (
    "sync_wall_ratio",
    "async_throughput_ratio_1",
    "async_throughput_ratio_50",
    "async_throughput_ratio_200",
    "cpu_overhead_fraction",
    "startup_ratio",
    "sandbox_ops_per_s",
    "store_ingest_per_s_sqlite",
    "store_ingest_per_s_postgres",
    "journal_overhead_ms",
    "stripe_sdk_cpu_ratio",
    "stripe_sdk_wall_ratio",
    "otel_overhead_fraction",
    "webhooks_per_s",
    "gateway_construction_ratio",
)


@pytest.mark.loopback
def test_smoke_run_prints_the_table_and_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 sync wall cycle (ms)" in done.stdout
    assert "3 profile of the gateway" in done.stdout
    assert "7 payment store (psp_store)" in done.stdout and "[store] done" in done.stderr
    assert "[1 sync wall] done" in done.stderr  # progress is shown while it runs
    figures = json.loads(out.read_text())
    for key in HEADLINE:
        assert isinstance(figures[key], float | int), key
        assert math.isfinite(figures[key]) and figures[key] > 0, (key, figures[key])
    detail = figures["detail"]
    assert set(detail["sync_wall"]["per_operation"]) == {"authorize", "get", "capture", "refund"}
    assert set(detail["async_throughput"]) == {"1", "50", "200"}
    assert detail["cpu"]["profile"]["ours_inclusive_pct"]
    assert set(detail["otel"]["per_operation"]) == {"authorize", "get", "capture", "refund"}
    assert detail["otel"]["calls_recorded"] > 0
