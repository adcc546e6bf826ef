"""Where the gateway's client-side CPU goes: pyinstrument over the canned-transport hot path.

Three views of one profile, all as a share of the gateway's total time:

* ``ours``: functions in psp_core / psp_ppro / psp_amazonpay, inclusive (children included), so the
  driver's share contains the httpx send it makes;
* ``boundary``: each call from our code into a library (``_flow.py:prepare -> httpx
  build_request``), which says what our code asks others to do;
* ``packages``: self time by package (where the CPU is actually burnt).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ._common import OPERATIONS, CannedTransport, Recorded

# psp_ppro holds the PPRO wire, mapping and HTTP code every PPRO provider runs (issue 13).
_OURS = ("psp_core", "psp_ppro", "psp_amazonpay")


def _package(path: str | None) -> str:
    if not path:
        return "?"
    path = path.replace("\\", "/")
    for ours in _OURS:
        if f"/{ours}/" in path:
            return ours
    if "/benchmarks/" in path:
        return "benchmark harness"
    if "site-packages/" in path:
        top = path.split("site-packages/", 1)[1].split("/", 1)[0]
        return top.removesuffix(".py")
    if path.startswith("<frozen "):
        return "stdlib:" + path[len("<frozen ") :].rstrip(">").split(".")[0].lstrip("_")
    if path.startswith("<attrs generated"):
        return "attrs (generated)"
    if path.startswith("<cattrs generated"):
        return "cattrs (generated)"
    if path.startswith("<"):
        return "other generated"
    name = path.rsplit("/", 1)[-1].removesuffix(".py")
    parent = path.rsplit("/", 2)[-2] if path.count("/") >= 2 else ""
    # stdlib: a package's module is named by its package (json/decoder.py -> json).
    return f"stdlib:{parent}" if parent and not parent.startswith("python3") else f"stdlib:{name}"


def _label(frame: Any) -> str:
    path = (frame.file_path or "?").replace("\\", "/")
    short = "/".join(path.split("/")[-2:])
    name = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
    return f"{short}:{name}"


def _analyse(root: Any) -> dict[str, object]:
    total = root.time or 1e-12
    inclusive: dict[str, float] = defaultdict(float)
    own: dict[str, float] = defaultdict(float)
    boundary: dict[str, float] = defaultdict(float)
    packages: dict[str, float] = defaultdict(float)

    def walk(frame: Any, parent_pkg: str, parent_label: str, active: frozenset[str]) -> None:
        # A C builtin (str.encode, dict.get) is the cost of whoever called it.
        native = not frame.file_path or frame.file_path == "<built-in>"
        pkg = parent_pkg if native else _package(frame.file_path)
        label = parent_label if native else _label(frame)
        self_time = frame.time - sum(child.time for child in frame.children)
        packages[pkg] += self_time
        ours = pkg in _OURS
        if ours:
            own[label] += self_time
            if label not in active:  # recursion must not count a frame's time twice
                inclusive[label] += frame.time
                active = active | {label}
        elif parent_pkg in _OURS and not native:
            callee = f"{pkg} {frame.class_name + '.' if frame.class_name else ''}{frame.function}"
            boundary[f"{parent_label} -> {callee}"] += frame.time
        for child in frame.children:
            walk(child, pkg, label, active)

    walk(root, "?", "?", frozenset())

    def top(table: dict[str, float], k: int) -> list[list[object]]:
        ranked = sorted(table.items(), key=lambda item: -item[1])[:k]
        return [[name, round(100 * t / total, 1)] for name, t in ranked]

    return {
        "total_s": total,
        "ours_inclusive_pct": top(inclusive, 15),
        "ours_self_pct": top(own, 10),
        "boundary_pct": top(boundary, 15),
        "packages_self_pct": top(packages, 15),
        "ours_self_total_pct": round(100 * sum(own.values()) / total, 1),
    }


def profile(
    calls: dict[str, Callable[[], object]], transport: CannedTransport, recorded: dict[str, Recorded], n: int
) -> dict[str, object]:
    """Profile ``n`` gateway cycles (each operation once per cycle) over the canned transport."""
    from pyinstrument import Profiler

    transport.load([recorded[op].canned() for _ in range(n) for op in OPERATIONS])
    profiler = Profiler(interval=0.0001)
    profiler.start()
    for _ in range(n):
        for op in OPERATIONS:
            calls[op]()
    session = profiler.stop()
    root = session.root_frame()
    if root is None:
        return {"total_s": 0.0}
    return _analyse(root)
