"""The command line a host meets first: its version, where each provider comes from, a
missing extra named in one line, and no traceback when its output is cut short."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

from psp_core._cli import main

PSP = [sys.executable, "-m", "psp_core._cli"]


def test_version_prints_the_installed_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"psp {importlib.metadata.version('psp')}"


def test_providers_name_the_distribution_each_provider_comes_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert listed["amazon_pay"]["distribution"] == {
        "name": "psp",
        "version": importlib.metadata.version("psp"),
    }
    assert main(["providers"]) == 0
    assert f"  distribution: psp {importlib.metadata.version('psp')}" in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("module", ["pytest", "hypothesis"])
def test_contract_without_its_extra_names_the_extra_in_one_line_and_exits_2(
    module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # None in sys.modules is how Python spells "this module cannot be imported".
    monkeypatch.setitem(sys.modules, module, None)  # type: ignore[arg-type]
    assert main(["contract", "amazon_pay"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "`psp contract` needs the psp[contracts] extra" in lines[0]
    assert f"{module} is not installed" in lines[0]
    assert 'pip install "psp[contracts]"' in lines[0]


def test_a_sandbox_command_without_its_extra_names_the_extra_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # type: ignore[arg-type]
    assert main(["sandbox", "amazon_pay", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert "psp[sandbox]" in err and "Traceback" not in err


def test_an_unrelated_missing_module_is_not_blamed_on_an_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: object) -> int:
        raise ModuleNotFoundError("No module named 'not_an_extra'", name="not_an_extra")

    monkeypatch.setattr("psp_core._cli._providers", broken)
    with pytest.raises(ModuleNotFoundError):
        main(["providers"])


@pytest.mark.parametrize(
    "command", [["providers"], ["providers", "--json"], ["--help"], ["contract", "--help"]]
)
def test_output_into_a_closed_pipe_ends_without_a_traceback(command: list[str]) -> None:
    # The reading end is closed before the child writes anything: every write meets EPIPE,
    # as when `psp providers | head -1` has read its line and gone.
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*PSP, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read().decode()
    returncode = process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == ""
    assert returncode in (0, 1)


def test_contract_for_an_unknown_provider_is_one_usage_error_saying_what_to_do() -> None:
    # Not one collection error per test module: one line naming the provider and the way out.
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*PSP, "contract", "no_such_psp"], capture_output=True, text=True, timeout=120, check=False
    )
    # psp's own usage error (exit 2, one line on stderr), not pytest's (exit 4): pytest never starts.
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    (error,) = done.stderr.splitlines()
    assert error.startswith("psp contract: error: PROVIDER: unknown provider 'no_such_psp' (installed: ")
    assert "`psp providers` lists them" in error and "--plugin NAME=MODULE:ATTR" in error


@pytest.mark.parametrize("count", ["-1", "many", "1.5"])
def test_contract_refuses_a_fault_scenario_count_that_is_not_a_count(
    count: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["contract", "amazon_pay", "--fault-scenarios", count])
    assert exited.value.code == 2
    assert f"argument --fault-scenarios: {count!r} is not a count; use a whole number, 0 or more" in (
        capsys.readouterr().err
    )
