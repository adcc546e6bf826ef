"""The contract suite's pytest plugin: ``psp_contracts.pytest_plugin``.

Installing psp registers no pytest plugin: a plugin author opts in, with ``psp contract
PROVIDER``, ``pytest -p psp_contracts.pytest_plugin --pyargs psp_contracts``, or
``pytest_plugins = ["psp_contracts.pytest_plugin"]`` in their top-level conftest.py
(docs/plugin_authors.md). It adds the options, parameterizes every contract test over the
providers to check, hands each test a :class:`~psp_contracts._harness.Contract`, and collects
the conformance report:

``--psp-provider NAME``   check only this provider (repeatable; default: every installed one)
``--psp-plugin N=mod:obj`` also register ``obj`` as provider ``N`` (a plugin not yet packaged)
``--psp-live``            also run the live-capable checks against the real PSP sandbox
``--psp-report PATH``     write the conformance report as JSON
``--psp-seed N``          seed the sandboxes (ids, fault decisions); default 0
``--psp-fault-scenarios N`` how many random fault scenarios the fault campaign runs
``--psp-profile ci|thorough`` the suite's hypothesis effort (default ``ci``)

The profile applies to the suite's own checks only, as explicit settings
(:mod:`psp_contracts.hypothesis_profiles`): the hypothesis profile of the project that runs
the suite is neither replaced nor loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pluggy
import pytest
from hypothesis import settings

from psp_core import ProviderConfig, ProviderInfo

from . import _report
from ._harness import Contract
from ._providers import Target, has_live_credentials, hook_of, live_config, plugin_manager, select
from .hypothesis_profiles import DEFAULT_PROFILE, PROFILES, suite_settings

_STATE = pytest.StashKey["ContractSession"]()
DEFAULT_FAULT_SCENARIOS = 60


class ContractSession:
    """Per pytest session: the plugin manager (built lazily) and the reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._pm: pluggy.PluginManager | None = None
        self.reports: dict[str, _report.ProviderReport] = {}
        self._settings: settings | None = None

    @property
    def pm(self) -> pluggy.PluginManager:
        if self._pm is None:
            self._pm = plugin_manager(self.config.getoption("psp_plugin") or [])
        return self._pm

    def targets(self, live_capable: bool) -> list[Target]:
        providers = select(self.pm, self.config.getoption("psp_provider") or [])
        targets = [Target(name) for name in providers]
        if live_capable:
            targets += [Target(name, live=True) for name in providers]
        return targets

    def report(self, target: Target) -> _report.ProviderReport:
        if target.key not in self.reports:
            info = hook_of(self.pm, target.provider, "psp_provider_info")()
            caps = info.capabilities if isinstance(info, ProviderInfo) else None
            mode = "live" if target.live else "sandbox"
            self.reports[target.key] = _report.ProviderReport(target.provider, mode, caps)
        return self.reports[target.key]

    def live_reason(self, target: Target) -> ProviderConfig | str:
        """The live configuration, or why this live run skips."""
        wanted = self.config.getoption("psp_live")
        if not wanted and not has_live_credentials(self.pm, target.provider):
            found = live_config(self.pm, target.provider)
            why = found if isinstance(found, str) else "credentials found but --psp-live not given"
            return f"live PSP sandbox run not requested (--psp-live / `psp contract --live`); {why}"
        return live_config(self.pm, target.provider)

    @property
    def profile(self) -> str:
        return str(self.config.getoption("psp_profile"))

    @property
    def hypothesis_settings(self) -> settings:
        """The settings every check of this run uses (built once, on first use)."""
        if self._settings is None:
            self._settings = suite_settings(self.profile)
        return self._settings

    @property
    def seed(self) -> int:
        return int(self.config.getoption("psp_seed"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("psp", "psp provider contract suite")
    group.addoption("--psp-provider", action="append", default=[], help="provider name to check")
    group.addoption(
        "--psp-plugin", action="append", default=[], metavar="NAME=MODULE:ATTR", help="register a provider"
    )
    group.addoption("--psp-live", action="store_true", help="also run against the live PSP sandbox")
    group.addoption("--psp-report", default=None, metavar="PATH", help="write the conformance report (JSON)")
    group.addoption("--psp-seed", default=0, type=int, help="seed for the providers' sandboxes")
    group.addoption(
        "--psp-fault-scenarios",
        default=DEFAULT_FAULT_SCENARIOS,
        type=int,
        metavar="N",
        help="random fault scenarios in the fault campaign",
    )
    group.addoption(
        "--psp-profile",
        default=DEFAULT_PROFILE,
        choices=sorted(PROFILES),
        help=f"the suite's hypothesis effort (default: {DEFAULT_PROFILE}); other tests keep their profile",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "psp_verifies(*names): capabilities or checks a contract test shows")
    config.addinivalue_line("markers", "psp_live: a contract test that can also run against a live PSP")
    config.stash[_STATE] = ContractSession(config)


def pytest_sessionstart(session: pytest.Session) -> None:
    # An unknown provider is one usage error before collection, not one error per test module.
    if session.config.getoption("psp_provider"):
        session.config.stash[_STATE].targets(live_capable=False)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "psp_target" not in metafunc.fixturenames:
        return
    session = metafunc.config.stash[_STATE]
    live_capable = metafunc.definition.get_closest_marker("psp_live") is not None
    targets = session.targets(live_capable)
    metafunc.parametrize("psp_target", targets, ids=[t.key for t in targets])


@pytest.fixture
def contract(request: pytest.FixtureRequest, psp_target: Target) -> Iterator[Contract]:
    """The provider under test with a fresh sandbox (or its live PSP sandbox)."""
    session = request.config.stash[_STATE]
    live: ProviderConfig | None = None
    if psp_target.live:
        found = session.live_reason(psp_target)
        if isinstance(found, str):
            pytest.skip(found)
        live = found
    checked = Contract(
        session.pm,
        psp_target,
        seed=session.seed,
        live_config=live,
        hypothesis_settings=session.hypothesis_settings,
    )
    session.report(psp_target).capabilities = checked.capabilities
    # A sandbox built over a PSP fake written by others may lack what the real PSP has; it
    # names those gaps (a check name, or one check's function), and a check that would show
    # one skips with the sandbox's reason.
    marker = request.node.get_closest_marker("psp_verifies")
    gaps = checked.sandbox_gaps()
    names = (*(marker.args if marker else ()), getattr(request.node, "originalname", request.node.name))
    lacking = [name for name in names if name in gaps]
    if lacking:
        checked.close()
        pytest.skip(f"{psp_target.provider}'s sandbox cannot show {lacking[0]}: {gaps[lacking[0]]}")
    try:
        yield checked
    finally:
        checked.close()


@pytest.fixture
def fault_scenarios(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("psp_fault_scenarios"))


@pytest.fixture
def psp_report(request: pytest.FixtureRequest, psp_target: Target) -> _report.ProviderReport:
    """The report of the provider under test, for checks that add figures (the fault campaign)."""
    return request.config.stash[_STATE].report(psp_target)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    marker = item.get_closest_marker("psp_verifies")
    callspec = getattr(item, "callspec", None)
    if marker is None or callspec is None or "psp_target" not in callspec.params:
        return
    # One entry per phase that decides the test: its call, or a setup that skipped or failed,
    # or a teardown that failed (a failure anywhere fails the capability).
    if not (rep.when == "call" or rep.failed or (rep.when == "setup" and rep.skipped)):
        return
    reason = ""
    if rep.skipped and isinstance(rep.longrepr, tuple):
        reason = str(rep.longrepr[2]).removeprefix("Skipped: ")
    outcome_name = "failed" if rep.failed else ("skipped" if rep.skipped else "passed")
    target: Target = callspec.params["psp_target"]
    item.config.stash[_STATE].report(target).record(marker.args, item.nodeid, outcome_name, reason)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    session = config.stash.get(_STATE, None)
    if session is None or not session.reports:
        return
    terminalreporter.section("psp conformance report")
    for key in sorted(session.reports):
        for line in _report.render(session.reports[key]):
            terminalreporter.write_line(line)
    path = config.getoption("psp_report")
    if path:
        _report.write_json(path, _report.to_json(session.reports, profile=session.profile, seed=session.seed))
        terminalreporter.write_line(f"conformance report written to {path}")
