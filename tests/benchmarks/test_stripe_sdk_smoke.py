"""The Stripe peer benchmark still runs end to end at a tiny size; no timing is asserted."""

from __future__ import annotations

import math

import pytest

from benchmarks import _stripe_sdk


@pytest.mark.loopback
# The SDK's HTTPXClient hands httpx raw bytes as ``data=``, which httpx deprecates; not ours to fix.
@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
def test_the_stripe_peer_benchmark_reports_both_ratios() -> None:
    result = _stripe_sdk.run("smoke")
    figures = _stripe_sdk.headline(result)
    assert set(figures) == {"stripe_sdk_cpu_ratio", "stripe_sdk_wall_ratio"}
    for key, value in figures.items():
        assert math.isfinite(value) and value > 0, (key, value)
    assert set(result["per_operation"]) == set(_stripe_sdk.OPERATIONS)
    assert "7 Stripe peer" in _stripe_sdk.table(result)
