"""The demo's timeline for people (aligned columns) and for machines (JSON)."""

from __future__ import annotations

import json
from typing import TextIO

from ._timeline import Step, Timeline

_NAME_WIDTH_MAX = 56
_STATUS_WIDTH = 18


def render_json(timeline: Timeline) -> str:
    return json.dumps(timeline.to_json(), indent=2) + "\n"


def _marks(stream: TextIO | None) -> tuple[str, str]:
    # A Windows console or a C locale cannot print check marks; plain words always work.
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    return ("✓", "✗") if encoding in ("utf8", "utf_8") else ("ok", "XX")


def summary_line(timeline: Timeline) -> str:
    steps, failures = timeline.steps, timeline.failures()
    head = f"demo: {len(timeline.scenarios)} scenarios, {len(steps)} steps"
    tail = f"({timeline.webhooks_verified} webhooks verified, {timeline.duration_s:.1f} s)"
    if not failures:
        return f"{head}, all as expected {tail}"
    scenario, step = failures[0]
    return (
        f"{head}, {len(failures)} NOT as expected {tail}\n"
        f"demo: first failure in {scenario.key!r}, step {step.name!r}: {step.observed}\n"
        "demo: run `psp demo amazon_pay --verbose` to see every step's ids, webhooks and HTTP exchanges"
    )


def render_text(timeline: Timeline, *, verbose: bool = False, stream: TextIO | None = None) -> str:
    ok_mark, bad_mark = _marks(stream)
    width = min(_NAME_WIDTH_MAX, max((len(step.name) for step in timeline.steps), default=10))
    lines = [
        f"psp demo: Amazon Pay (PPRO) against the local sandbox at {timeline.sandbox_url}",
        "          (random credentials; the sandbox, the shop's return URL and its webhook endpoint",
        "           all listen on 127.0.0.1 and stop when the demo ends)",
        "",
    ]
    for number, scenario in enumerate(timeline.scenarios, start=1):
        lines.append(f"[{number}/{len(timeline.scenarios)}] {scenario.title}  ({scenario.driver})")
        for step in scenario.steps:
            mark = ok_mark if step.ok else bad_mark
            status = step.status or "-"
            lines.append(f"  {mark} {step.name:<{width}}  {status:<{_STATUS_WIDTH}}  {step.observed}")
            if verbose or not step.ok:
                lines.extend(_details(step))
        lines.append("")
    lines.append(summary_line(timeline))
    return "\n".join(lines) + "\n"


def _details(step: Step) -> list[str]:
    pad = "      "
    lines = [f"{pad}expected: {step.expected}"]
    if step.source:
        lines.append(f"{pad}checks:   {step.source}")
    if not step.ok:
        lines.append(f"{pad}observed: {step.observed}")
        if step.error and step.error != step.observed:
            lines.append(f"{pad}error:    {step.error}")
    if step.subject:
        status = f" ({step.provider_status})" if step.provider_status else ""
        lines.append(f"{pad}id:       {step.subject}{status}")
    if step.amounts:
        lines.append(
            pad + "amounts:  " + ", ".join(f"{name} {money.format()}" for name, money in step.amounts.items())
        )
    lines.extend(
        f"{pad}webhook:  {hook.provider_type} -> {hook.kind} ({hook.event_id})" for hook in step.webhooks
    )
    lines.extend(f"{pad}http:     {exchange}" for exchange in step.http)
    return lines
