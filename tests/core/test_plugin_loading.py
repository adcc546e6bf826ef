"""Plugins are found through two entry-point groups, loaded by pluggy, and can be blocked.

An observer plugin (audit, metrics, risk) installed through ``psp_plugins`` is loaded into
every gateway and called; ``psp providers`` names its distribution and version, as it does a
provider's; ``PSP_BLOCK_PLUGINS`` keeps it out. Provider plugins are type-checked by mypy
against ``ProviderPlugin``.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from psp_core import (
    PLUGINS_ENTRY_POINT_GROUP,
    AuthorizeRequest,
    CaptureMode,
    Consumer,
    Gateway,
    Money,
    OperationBlockedError,
    RetryPolicy,
    create_plugin_manager,
    observer_names,
    plugin_distributions,
)
from psp_core._cli import main
from tests.fakepay import NAME, FakePayPlugin, FakePsp

ROOT = Path(__file__).resolve().parents[2]
AUDIT = "psp_test_audit_trail"

AUDIT_MODULE = textwrap.dedent(
    """
    from psp_core import OperationBlockedError, hookimpl

    calls = []

    @hookimpl
    def psp_operation_started(provider, operation, request):
        calls.append(("started", provider, operation))
        if getattr(request, "merchant_reference", None) == "veto-me":
            raise OperationBlockedError("the audit plugin refuses this order")

    @hookimpl
    def psp_operation_completed(provider, operation, request, result):
        calls.append(("completed", provider, operation))
    """
)


@pytest.fixture
def audit_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A tiny observer distribution, ``psp-test-audit-trail 1.2.3``, installed on sys.path.

    A dist-info folder with METADATA and entry_points.txt is what pip leaves behind; Python's
    importlib.metadata, and so pluggy, finds it on sys.path like any installed distribution.
    """
    (tmp_path / f"{AUDIT}.py").write_text(AUDIT_MODULE, encoding="utf-8")
    dist_info = tmp_path / f"{AUDIT}-1.2.3.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: psp-test-audit-trail\nVersion: 1.2.3\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[{PLUGINS_ENTRY_POINT_GROUP}]\naudit_trail = {AUDIT}\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("PSP_BLOCK_PLUGINS", raising=False)
    monkeypatch.delenv("PSP_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    assert importlib.metadata.version("psp-test-audit-trail") == "1.2.3"
    yield AUDIT
    sys.modules.pop(AUDIT, None)


def authorize_request(reference: str = "order-1") -> AuthorizeRequest:
    return AuthorizeRequest(
        amount=Money(10_000, "EUR"),
        consumer=Consumer(country="DE", name="Erika Mustermann"),
        return_url="https://shop.example/return",
        merchant_reference=reference,
        capture_mode=CaptureMode.SEPARATE,
    )


def gateway(psp: FakePsp, environ: dict[str, str]) -> Gateway:
    return Gateway(
        NAME,
        options={"api_key": psp.api_key},
        environ=environ,
        transport=psp.transport(),
        plugins=[(NAME, FakePayPlugin())],
        retry=RetryPolicy.no_wait(),
        clock=lambda: psp.now,
    )


def test_an_observer_plugin_installed_by_entry_point_is_loaded_and_called(audit_installed: str) -> None:
    psp = FakePsp()
    with gateway(psp, environ={}) as gw:
        gw.authorize(authorize_request())
        assert "audit_trail" in observer_names(gw.plugin_manager)
        assert plugin_distributions(gw.plugin_manager)["audit_trail"] == ("psp-test-audit-trail", "1.2.3")
    audit = sys.modules[audit_installed]
    assert audit.calls == [("started", NAME, "authorize"), ("completed", NAME, "authorize")]


def test_an_observer_plugin_may_veto_and_nothing_is_sent(audit_installed: str) -> None:
    psp = FakePsp()
    with gateway(psp, environ={}) as gw, pytest.raises(OperationBlockedError, match="refuses this order"):
        gw.authorize(authorize_request("veto-me"))
    assert psp.requests == []


def test_a_blocked_observer_plugin_is_neither_loaded_nor_called(audit_installed: str) -> None:
    psp = FakePsp()
    with gateway(psp, environ={"PSP_BLOCK_PLUGINS": "audit_trail"}) as gw:
        gw.authorize(authorize_request())
        assert "audit_trail" not in observer_names(gw.plugin_manager)
    assert audit_installed not in sys.modules


def test_psp_providers_shows_every_plugin_with_its_distribution_and_version(
    audit_installed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    psp_version = importlib.metadata.version("psp")
    assert main(["providers"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"  distribution: psp {psp_version}" in out
    assert "observer plugins (entry-point group psp_plugins):" in out
    assert "  audit_trail  psp-test-audit-trail 1.2.3" in out

    assert main(["providers", "--json"]) == 0
    listed = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert listed["amazon_pay"]["kind"] == "provider"
    assert listed["amazon_pay"]["distribution"] == {"name": "psp", "version": psp_version}
    assert listed["audit_trail"] == {
        "name": "audit_trail",
        "kind": "observer",
        "distribution": {"name": "psp-test-audit-trail", "version": "1.2.3"},
    }


def test_providers_are_loaded_by_pluggy_with_their_distribution() -> None:
    pm = create_plugin_manager(environ={})
    assert plugin_distributions(pm)["amazon_pay"] == ("psp", importlib.metadata.version("psp"))


def test_a_blocked_provider_is_not_loaded() -> None:
    pm = create_plugin_manager(environ={"PSP_BLOCK_PLUGINS": "amazon_pay"})
    assert not pm.has_plugin("amazon_pay")


# -- the ProviderPlugin protocol --------------------------------------------------------------------

CHECKED = textwrap.dedent(
    """
    from __future__ import annotations

    from collections.abc import Mapping

    from psp_amazonpay import plugin as amazon_pay_plugin
    from psp_core import Flow, Payment, ProviderConfig, ProviderPlugin
    from tests.fakepay import FakePayPlugin


    class WrongReturn(FakePayPlugin):
        def psp_get_payment(  # type: ignore[override]
            self, config: ProviderConfig, payment_id: str
        ) -> Payment:
            raise NotImplementedError


    class WrongParameter(FakePayPlugin):
        def psp_configure(  # type: ignore[override]
            self, options: Mapping[str, object], environ: int
        ) -> ProviderConfig:
            raise NotImplementedError


    ppro_plugin: ProviderPlugin = amazon_pay_plugin
    object_plugin: ProviderPlugin = FakePayPlugin()
    wrong_return: ProviderPlugin = WrongReturn()
    wrong_parameter: ProviderPlugin = WrongParameter()
    """
)


def test_mypy_checks_provider_plugins_against_the_protocol(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy checks the protocol; it is a test dependency")
    checked = tmp_path / "checked_plugins.py"
    checked.write_text(CHECKED, encoding="utf-8")
    out, err, status = api.run(
        [
            "--strict",
            "--follow-imports=silent",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--python-executable",
            sys.executable,
            str(checked),
        ]
    )
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1, (out, err)
    lines = CHECKED.splitlines()
    flagged = sorted(lines[int(line.split(":")[1]) - 1].split(":")[0] for line in errors)
    assert flagged == ["wrong_parameter", "wrong_return"], out
