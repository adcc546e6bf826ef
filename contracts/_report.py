"""The conformance report: for each provider, each capability and each contract check, what was shown.

Every test of the suite names what it verifies with ``@pytest.mark.psp_verifies(...)``. A
capability is *verified* when at least one test about it passed and none failed, *failed* when
any failed, *skipped* when every test about it skipped (the reasons are kept), and
*not_checked* when no test ran for it (for example when ``-k`` deselected them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from psp_core import Capabilities, CaptureMode

CAPABILITIES: tuple[str, ...] = (
    "currencies",
    "countries",
    "amount_limits",
    "capture_modes.automatic",
    "capture_modes.separate",
    "partial_capture",
    "multiple_captures",
    "void",
    "partial_void",
    "refunds",
    "partial_refund",
    "multiple_refunds",
    "refund_window",
    "pending_refunds",
    "authorization_validity",
    "recurring",
    "chargebacks",
    "partial_chargebacks",
    "requires_consumer_name",
    "max_text",
    "max_labels",
)
"""Every declarable capability, in report order."""

CHECKS: tuple[str, ...] = ("lifecycle", "idempotency", "unknown_outcome", "webhooks", "faults")
"""Contract checks that every provider must pass whatever it declares."""

VERIFIED, FAILED, SKIPPED, NOT_CHECKED = "verified", "failed", "skipped", "not_checked"


def declared(caps: Capabilities, name: str) -> object:
    """The declared value of capability ``name``, JSON-ready."""
    if name == "capture_modes.automatic":
        return CaptureMode.AUTOMATIC in caps.capture_modes
    if name == "capture_modes.separate":
        return CaptureMode.SEPARATE in caps.capture_modes
    if name == "refund_window":
        if caps.refund_window_months is not None:
            days = f" or {caps.refund_window.days} days" if caps.refund_window is not None else ""
            return f"{caps.refund_window_months} months{days}"
        return caps.refund_window.days if caps.refund_window is not None else None
    if name == "authorization_validity":
        return caps.authorization_validity.days if caps.authorization_validity is not None else None
    value = caps.to_dict().get(name)
    return value


@attrs.define
class Outcomes:
    """Test outcomes about one capability or check."""

    passed: list[str] = attrs.field(factory=list)
    failed: list[str] = attrs.field(factory=list)
    skipped: dict[str, str] = attrs.field(factory=dict)
    """Test id -> why it was skipped."""

    @property
    def result(self) -> str:
        if self.failed:
            return FAILED
        if self.passed:
            return VERIFIED
        return SKIPPED if self.skipped else NOT_CHECKED

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "passed": len(self.passed),
            "failed": sorted(self.failed),
            "skipped": dict(sorted(self.skipped.items())),
        }


@attrs.define
class ProviderReport:
    provider: str
    mode: str
    """``sandbox`` or ``live``."""
    capabilities: Capabilities | None = None
    outcomes: dict[str, Outcomes] = attrs.field(factory=dict)
    fault_stats: dict[str, int] = attrs.field(factory=dict)
    fault_detail: dict[str, Any] = attrs.field(factory=dict)
    """What the campaign tried: faults by kind, scenarios by operation, unknown outcomes met."""

    def record(self, names: Iterable[str], test_id: str, outcome: str, reason: str = "") -> None:
        for name in names:
            bucket = self.outcomes.setdefault(name, Outcomes())
            if outcome == "passed":
                bucket.passed.append(test_id)
            elif outcome == "failed":
                bucket.failed.append(test_id)
            else:
                bucket.skipped[test_id] = reason

    def entry(self, name: str) -> dict[str, Any]:
        body = self.outcomes.get(name, Outcomes()).to_dict()
        if self.capabilities is not None and name in CAPABILITIES:
            body = {"declared": declared(self.capabilities, name), **body}
        return body

    @property
    def passed(self) -> bool:
        return not any(outcome.failed for outcome in self.outcomes.values())

    @property
    def ran(self) -> bool:
        """False when every check skipped (no sandbox, no live credentials)."""
        return any(outcome.passed or outcome.failed for outcome in self.outcomes.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "mode": self.mode,
            "passed": self.passed,
            "ran": self.ran,
            "capabilities": {name: self.entry(name) for name in CAPABILITIES},
            "checks": {name: self.entry(name) for name in CHECKS},
            **self.fault_stats,
            **({"fault_detail": self.fault_detail} if self.fault_detail else {}),
        }


def to_json(reports: Mapping[str, ProviderReport], *, profile: str, seed: object) -> dict[str, Any]:
    """The whole report: ``{"profile", "seed", "providers": {key: report}}``."""
    return {
        "profile": profile,
        "seed": seed,
        "providers": {key: report.to_dict() for key, report in sorted(reports.items())},
    }


def write_json(path: str | Path, payload: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")


_MARK = {VERIFIED: "ok", FAILED: "FAILED", SKIPPED: "skipped", NOT_CHECKED: "-"}


def render(report: ProviderReport) -> list[str]:
    """The report as text lines for the terminal."""
    verdict = "CONFORMS" if report.passed else "DOES NOT CONFORM"
    if report.passed and not report.ran:
        reasons = [r for o in report.outcomes.values() for r in o.skipped.values()]
        why = f": {reasons[0]}" if reasons else ""
        return [f"{report.provider} ({report.mode}): NOT RUN, every check skipped{why}"]
    lines = [f"{report.provider} ({report.mode}): {verdict}"]

    def row(name: str) -> None:
        entry = report.entry(name)
        shown = f"declared={json.dumps(entry['declared'])}" if "declared" in entry else ""
        reason = ""
        if entry["result"] == SKIPPED and entry["skipped"]:
            reason = "  (" + next(iter(entry["skipped"].values()))[:70] + ")"
        lines.append(f"  {name:<24} {_MARK[entry['result']]:<8} {shown}{reason}")
        for failure in entry["failed"][:3]:
            lines.append(f"      failed: {failure}")

    lines.append("  capabilities:")
    for name in CAPABILITIES:
        row(name)
    lines.append("  contract checks:")
    for name in CHECKS:
        row(name)
    for key, value in report.fault_stats.items():
        lines.append(f"  {key}: {value}")
    for key, value in report.fault_detail.items():
        lines.append(f"  {key}: {value}")
    return lines
