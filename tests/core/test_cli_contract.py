"""``psp contract``'s bad input is psp's usage error: one line on stderr, exit 2, nothing started.

An unknown provider, a ``--plugin`` that does not load, or a ``--json`` path that cannot be
written is found before pytest starts; a ``-k`` expression or ``--pytest`` argument that pytest
itself refuses exits 2 as well, not with pytest's own usage code 4. (The console command's
exit code and its one line: tests/packaging/test_cli.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import ValidationError, create_plugin_manager, provider_names
from psp_core._cli import build_parser, main
from psp_core._contract_cli import check_arguments

INSTALLED = provider_names(create_plugin_manager(environ={}))
HONEST_FAKEPAY = "fakepay=tests.contracts.fakepay_sandbox:PLUGIN"


@pytest.fixture
def pytest_never_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def started(*args: object, **kwargs: object) -> int:
        raise AssertionError("pytest.main was called for input psp contract should have refused")

    monkeypatch.setattr(pytest, "main", started)


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run ``psp contract ARGV``; assert it is a usage error; return its one line on stderr."""
    assert main(["contract", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("psp contract: error: ")
    assert captured.out == ""
    return lines[0]


@pytest.mark.usefixtures("pytest_never_starts")
def test_an_unknown_provider_is_named_with_the_installed_ones_and_how_to_add_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert INSTALLED  # the check below is about real installed providers
    line = refusal(capsys, "no_such_psp")
    assert line.startswith("psp contract: error: PROVIDER: unknown provider 'no_such_psp'")
    assert f"(installed: {', '.join(INSTALLED)})" in line
    assert "`psp providers` lists them" in line and "--plugin NAME=MODULE:ATTR" in line


@pytest.mark.usefixtures("pytest_never_starts")
@given(name=st.text(min_size=1, max_size=20).filter(lambda n: n not in INSTALLED and not n.startswith("-")))
def test_any_name_that_is_not_a_provider_is_a_usage_error(name: str) -> None:
    # A property over names: the check is not a list of known typos.
    args = build_parser().parse_args(["contract", name])
    with pytest.raises(ValidationError, match=r"unknown provider") as refused:
        check_arguments(args)
    assert refused.value.field == "PROVIDER"
    assert repr(name) in str(refused.value)


@pytest.mark.usefixtures("pytest_never_starts")
@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("fakepay", "--plugin: 'fakepay' is not NAME=MODULE:ATTR"),
        ("fakepay=tests.contracts.fakepay_sandbox", "not NAME=MODULE:ATTR"),
        ("=tests.contracts.fakepay_sandbox:PLUGIN", "not NAME=MODULE:ATTR"),
        ("fakepay=no_such_module_here:PLUGIN", "module no_such_module_here cannot be imported"),
        ("fakepay=tests.contracts.fakepay_sandbox:NO_SUCH", "has no attribute NO_SUCH"),
        (
            "fakepay=json:dumps",
            "registered as 'fakepay' has no psp_provider_info hook, so it is not a provider",
        ),
    ],
)
def test_a_plugin_that_does_not_load_as_a_provider_is_named_with_its_option(
    capsys: pytest.CaptureFixture[str], spec: str, says: str
) -> None:
    line = refusal(capsys, "fakepay", "--plugin", spec)
    assert line.startswith("psp contract: error: --plugin: ")
    assert says in line


def test_a_plugin_given_right_makes_its_provider_known() -> None:
    args = build_parser().parse_args(["contract", "fakepay", "--plugin", HONEST_FAKEPAY])
    check_arguments(args)  # no error: the suite will see fakepay


@pytest.mark.usefixtures("pytest_never_starts")
def test_a_report_path_in_a_missing_folder_is_refused_before_the_suite_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "report.json"
    line = refusal(capsys, INSTALLED[0], "--json", str(target))
    assert f"--json: {target}: there is no folder {target.parent}; create it" in line
    assert not target.parent.exists()


@pytest.mark.usefixtures("pytest_never_starts")
def test_a_report_path_that_is_a_folder_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = refusal(capsys, INSTALLED[0], "--json", str(tmp_path))
    assert f"--json: {tmp_path} is a folder; name a file for the report" in line


@pytest.mark.parametrize(
    "option", [["--fault-scenarios", "-1"], ["--fault-scenarios", "x"], ["--seed", "1.5"]]
)
def test_bad_option_values_are_argparse_usage_errors(
    capsys: pytest.CaptureFixture[str], option: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["contract", INSTALLED[0], *option])
    assert exited.value.code == 2
    assert f"argument {option[0]}:" in capsys.readouterr().err


def test_what_pytest_refuses_as_usage_exits_2_like_psps_own_usage_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[str]] = []

    def refusing_main(argv: list[str]) -> pytest.ExitCode:
        seen.append(argv)
        return pytest.ExitCode.USAGE_ERROR  # what pytest answers to a bad -k or --pytest argument

    monkeypatch.setattr(pytest, "main", refusing_main)
    assert main(["contract", INSTALLED[0], "-k", "and ("]) == 2
    assert seen and seen[0][-2:] == ["-k", "and ("]


@pytest.mark.parametrize("pytest_code", [pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED])
def test_the_suites_own_outcome_is_still_the_exit_code(
    monkeypatch: pytest.MonkeyPatch, pytest_code: pytest.ExitCode
) -> None:
    monkeypatch.setattr(pytest, "main", lambda argv: pytest_code)
    assert main(["contract", INSTALLED[0]]) == int(pytest_code)
