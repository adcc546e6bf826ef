"""The contract suite proves something: it passes on an honest provider and fails, naming the
right capability in its report, on each deliberately broken one.

Every run is a real ``pytest --pyargs psp_contracts`` in a subprocess, exactly as a plugin author
runs it; they run concurrently to keep the wall time down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = "tests.contracts"


@attrs.frozen
class Run:
    name: str
    plugin: str
    modules: tuple[str, ...]
    extra: tuple[str, ...] = ()


RUNS = (
    Run("honest", f"{PLUGINS}.fakepay_sandbox:PLUGIN", ("psp_contracts",)),
    Run("over_refund", f"{PLUGINS}.mutants:OVER_REFUND", ("psp_contracts.test_amounts",)),
    Run(
        "no_idempotency",
        f"{PLUGINS}.mutants:NO_IDEMPOTENCY",
        ("psp_contracts.test_idempotency", "psp_contracts.test_faults"),
    ),
    Run("half_limit", f"{PLUGINS}.mutants:HALF_LIMIT", ("psp_contracts.test_capabilities",), ("-k", "limit")),
    Run(
        "webhook_cache",
        f"{PLUGINS}.mutants:WEBHOOK_CACHE",
        ("psp_contracts.test_webhooks", "psp_contracts.test_lifecycle"),
    ),
)


@attrs.frozen
class Outcome:
    returncode: int
    output: str
    report: Mapping[str, Any]

    @property
    def fakepay(self) -> Mapping[str, Any]:
        return self.report["providers"]["fakepay"]  # type: ignore[no-any-return]

    def result(self, name: str) -> str:
        entry = self.fakepay["capabilities"].get(name) or self.fakepay["checks"][name]
        return str(entry["result"])


def _command(run: Run, tmp: Path) -> list[str]:
    (tmp / "pytest.ini").write_text("[pytest]\naddopts =\n")
    return [
        sys.executable,
        "-m",
        "pytest",
        "--pyargs",
        *run.modules,
        "-c",
        str(tmp / "pytest.ini"),
        "--rootdir",
        str(tmp),
        # Only the plugins the suite needs: a plugin author's environment has no more.
        "-p",
        "psp_contracts.pytest_plugin",
        "-p",
        "_hypothesis_pytestplugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "--psp-provider",
        "fakepay",
        "--psp-plugin",
        f"fakepay={run.plugin}",
        "--psp-report",
        str(tmp / "report.json"),
        # Named, though it is the default: the suite's profile is chosen by its own option,
        # never by an environment variable (hypothesis reads none).
        "--psp-profile",
        "ci",
        *run.extra,
    ]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    started = {}
    for run in RUNS:
        tmp = tmp_path_factory.mktemp(run.name)
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            _command(run, tmp), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        started[run.name] = (process, tmp)
    done = {}
    for name, (process, tmp) in started.items():
        output, _ = process.communicate(timeout=600)
        report_path = tmp / "report.json"
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
        done[name] = Outcome(process.returncode, output, report)
    return done


def test_the_honest_fakepay_conforms(outcomes: dict[str, Outcome]) -> None:
    honest = outcomes["honest"]
    assert honest.returncode == 0, honest.output[-3000:]
    assert honest.fakepay["passed"] and honest.fakepay["ran"]
    for name in ("lifecycle", "idempotency", "unknown_outcome", "webhooks", "faults"):
        assert honest.result(name) == "verified", name
    assert honest.fakepay["fault_scenarios"] > 0
    assert honest.fakepay["double_effects"] == honest.fakepay["unresolved"] == 0
    results = {name: entry["result"] for name, entry in honest.fakepay["capabilities"].items()}
    # fakepay declares no chargebacks, no pending refunds and no authorization validity.
    for undeclared in ("chargebacks", "partial_chargebacks", "pending_refunds", "authorization_validity"):
        assert results.pop(undeclared) == "skipped", undeclared
    assert set(results.values()) == {"verified"}, results


@pytest.mark.parametrize(
    ("mutant", "broken", "intact"),
    [
        ("over_refund", "refunds", "capture_modes.separate"),
        ("no_idempotency", "idempotency", None),
        # Without idempotency an unknown outcome cannot be resumed safely either.
        ("no_idempotency", "unknown_outcome", None),
        ("no_idempotency", "faults", None),
        ("half_limit", "amount_limits", "currencies"),
        ("webhook_cache", "webhooks", None),
        ("webhook_cache", "lifecycle", None),
    ],
)
def test_the_suite_fails_each_broken_provider_on_the_right_capability(
    outcomes: dict[str, Outcome], mutant: str, broken: str, intact: str | None
) -> None:
    outcome = outcomes[mutant]
    assert outcome.returncode == 1, f"the suite passed a broken provider:\n{outcome.output[-3000:]}"
    assert outcome.fakepay["passed"] is False
    assert outcome.result(broken) == "failed", outcome.output[-3000:]
    if intact is not None:
        assert outcome.result(intact) != "failed", "the report blames a capability the mutant did not break"


def test_psp_contract_runs_the_suite_and_writes_the_json_report(tmp_path: Path) -> None:
    report = tmp_path / "conformance.json"
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    command = [
        sys.executable,
        "-m",
        "psp_core._cli",
        "contract",
        "fakepay",
        "--plugin",
        f"fakepay={PLUGINS}.mutants:HALF_LIMIT",
        "--json",
        str(report),
        "-k",
        "limit",
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)  # noqa: S603
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "fakepay (sandbox): DOES NOT CONFORM" in done.stdout
    written = json.loads(report.read_text())
    assert written["profile"] == "ci"
    limits = written["providers"]["fakepay"]["capabilities"]["amount_limits"]
    assert limits["result"] == "failed" and limits["declared"]["EUR"]["maximum"] == "10000.00 EUR"
