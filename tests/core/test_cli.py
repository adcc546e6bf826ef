"""The ``psp`` command line: providers, listed with their capability profiles."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from psp_core import AsyncGateway, Gateway
from psp_core._cli import main


def test_providers_json_lists_amazon_pay_with_its_capabilities(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    amazon = listed["amazon_pay"]
    caps = amazon["capabilities"]
    assert caps["currencies"] == ["USD"]
    assert caps["countries"] == ["US"]
    assert caps["amount_limits"] == {"USD": {"minimum": "0.50 USD", "maximum": "20000.00 USD"}}
    assert caps["refund_window_months"] == 6 and caps["refund_window_days"] is None
    assert caps["authorization_validity_days"] == 30
    assert caps["recurring"] is True
    assert amazon["settings"]["api_key"] == "PPRO_API_KEY"


def test_providers_prints_a_readable_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("amazon_pay")
    assert "currencies: ['USD']" in out


def test_no_providers_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PSP_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert main(["providers"]) == 0
    assert "No providers installed" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "providers" in capsys.readouterr().out


def test_the_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "psp_core._cli", "providers", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "amazon_pay" in result.stdout


def test_the_sync_and_async_gateways_offer_the_same_operations() -> None:
    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}

    assert public(Gateway) - {"close"} == public(AsyncGateway) - {"aclose"}
    assert {"authorize", "capture", "refund", "void", "get_payment", "charge_mandate"} <= public(Gateway)
