"""The table a reader sees and the JSON a machine keeps: the same figures, one source."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

REQUIRED = (
    "sync_wall_ratio",
    "async_throughput_ratio_1",
    "async_throughput_ratio_50",
    "async_throughput_ratio_200",
    "cpu_overhead_fraction",
    "startup_ratio",
    "sandbox_ops_per_s",
    "otel_overhead_fraction",
    "webhooks_per_s",
    "gateway_construction_ratio",
)

# (key, target, True when larger is better); the targets, shown next to each figure.
TARGETS: dict[str, tuple[float, bool]] = {
    "sync_wall_ratio": (1.08, False),
    "async_throughput_ratio_1": (0.95, True),
    "async_throughput_ratio_50": (0.95, True),
    "async_throughput_ratio_200": (0.95, True),
    "cpu_overhead_fraction": (0.30, False),
    "startup_ratio": (1.5, False),
    "gateway_construction_ratio": (1.1, False),
    "otel_overhead_fraction": (0.15, False),
}


def headline(results: dict[str, Any]) -> dict[str, float]:
    sync, asyn, cpu = results["sync_wall"], results["async_throughput"], results["cpu"]
    return {
        "sync_wall_ratio": sync["ratio"],
        "async_throughput_ratio_1": asyn["1"]["ratio"],
        "async_throughput_ratio_50": asyn["50"]["ratio"],
        "async_throughput_ratio_200": asyn["200"]["ratio"],
        "cpu_overhead_fraction": cpu["overhead_fraction"],
        "startup_ratio": results["startup"]["ratio"],
        "sandbox_ops_per_s": results["sandbox"]["ops_per_s"],
        "otel_overhead_fraction": results["otel"]["overhead_fraction"],
        "webhooks_per_s": results["webhooks"]["webhooks_per_s"],
        "gateway_construction_ratio": results["construction"]["ratio"],
    }


def _verdict(key: str, value: float) -> str:
    if key not in TARGETS:
        return ""
    target, larger = TARGETS[key]
    met = value >= target if larger else value <= target
    return f"{'>=' if larger else '<='} {target:g}  {'met' if met else 'MISSED'}"


def table(results: dict[str, Any]) -> str:
    lines: list[str] = []
    row = "{:<34} {:>12} {:>12} {:>9}  {}"
    lines.append(row.format("measure", "gateway", "raw httpx", "ratio", "target"))
    lines.append("-" * 84)
    sync = results["sync_wall"]
    for op, v in sync["per_operation"].items():
        lines.append(
            row.format(
                f"1 sync wall {op} (ms)",
                f"{v['gateway_ms']:.3f}",
                f"{v['raw_ms']:.3f}",
                f"{v['ratio']:.3f}",
                "",
            )
        )
    lines.append(
        row.format(
            "1 sync wall cycle (ms)",
            f"{sync['gateway_cycle_ms']:.3f}",
            f"{sync['raw_cycle_ms']:.3f}",
            f"{sync['ratio']:.3f}",
            _verdict("sync_wall_ratio", sync["ratio"]),
        )
    )
    for level, v in results["async_throughput"].items():
        lines.append(
            row.format(
                f"2 async get, {level} in flight (op/s)",
                f"{v['gateway_ops_per_s']:.0f}",
                f"{v['raw_ops_per_s']:.0f}",
                f"{v['ratio']:.3f}",
                _verdict(f"async_throughput_ratio_{level}", v["ratio"]),
            )
        )
    cpu = results["cpu"]
    for op, v in cpu["per_operation"].items():
        lines.append(
            row.format(
                f"3 cpu {op} (us/request)",
                f"{v['gateway_us']:.1f}",
                f"{v['raw_us']:.1f}",
                f"+{v['overhead_fraction']:.0%}",
                "",
            )
        )
    lines.append(
        row.format(
            "3 cpu cycle (us), extra fraction",
            f"{cpu['gateway_us_per_cycle']:.1f}",
            f"{cpu['raw_us_per_cycle']:.1f}",
            f"{cpu['overhead_fraction']:.3f}",
            _verdict("cpu_overhead_fraction", cpu["overhead_fraction"]),
        )
    )
    st = results["startup"]
    lines.append(
        row.format(
            "4 start-up, import work (ms)",
            f"{st['psp_ms']:.1f}",
            f"{st['httpx_ms']:.1f}",
            f"{st['ratio']:.2f}",
            _verdict("startup_ratio", st["ratio"]),
        )
    )
    lines.append(
        row.format(
            "4 start-up, whole process (ms)",
            f"{st['psp_process_ms']:.1f}",
            f"{st['httpx_process_ms']:.1f}",
            f"{st['process_wall_ratio']:.2f}",
            "(detail)",
        )
    )
    sb = results["sandbox"]
    lines.append(
        row.format(
            "5 sandbox, raw sequential (op/s)",
            "",
            f"{sb['ops_per_s']:.0f}",
            "",
            f"authorize {sb['authorize_per_s']:.0f}/s, get {sb['get_per_s']:.0f}/s",
        )
    )
    otel = results["otel"]
    lines.append(
        row.format(
            "6 otel plugin cpu cycle (us), added",
            f"{otel['traced_us_per_cycle']:.1f}",
            f"{otel['plain_us_per_cycle']:.1f}",
            f"{otel['overhead_fraction']:.3f}",
            _verdict("otel_overhead_fraction", otel["overhead_fraction"]),
        )
    )
    hooks = results["webhooks"]
    lines.append(
        row.format(
            "7 webhooks, parse + apply (/s)",
            f"{hooks['webhooks_per_s']:.0f}",
            "",
            "",
            f"{hooks['us_per_webhook']:.1f} us each, one core",
        )
    )
    built = results["construction"]
    lines.append(
        row.format(
            "8 a second Gateway() (ms)",
            f"{built['gateway_ms']:.2f}",
            f"{built['httpx_client_ms']:.2f}",
            f"{built['ratio']:.3f}",
            _verdict("gateway_construction_ratio", built["ratio"]),
        )
    )
    lines.append(
        row.format(
            "8 a Gateway on a shared client (ms)",
            f"{built['gateway_on_shared_client_ms']:.2f}",
            f"{built['httpx_client_ms']:.2f}",
            f"{built['shared_client_ratio']:.3f}",
            "(detail)",
        )
    )
    profile = cpu.get("profile", {})
    if profile.get("ours_inclusive_pct"):
        lines.append("")
        lines.append("3 profile of the gateway over the canned transport (% of gateway CPU):")
        lines.append("  our code, inclusive:")
        lines.extend(f"    {pct:5.1f}%  {name}" for name, pct in profile["ours_inclusive_pct"][:10])
        lines.append("  calls from our code into libraries, inclusive:")
        lines.extend(f"    {pct:5.1f}%  {name}" for name, pct in profile["boundary_pct"][:10])
        lines.append("  self time by package:")
        lines.extend(f"    {pct:5.1f}%  {name}" for name, pct in profile["packages_self_pct"][:10])
    if st.get("extra_packages_ms"):
        lines.append("")
        lines.append("4 import time psp adds beyond httpx, self ms by top-level package:")
        lines.append("    " + ", ".join(f"{name} {ms}" for name, ms in st["extra_packages_ms"]))
        lines.append(
            f"    import psp_core {st['psp_import_ms']:.1f} ms + discovery {st['psp_discovery_ms']:.1f} ms"
        )
    return "\n".join(lines)


def check_headline(figures: dict[str, float]) -> None:
    for key in REQUIRED:
        value = figures[key]
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{key} is {value!r}; every headline figure must be finite and positive")


def write_json(path: Path, figures: dict[str, float], results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**figures, "detail": results}, indent=2, sort_keys=False) + "\n")
