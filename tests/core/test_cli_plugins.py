"""Plugins add commands through psp's CommandLine, each under its owner, so providers never collide.

Two providers that both offer a sandbox, a demo and a command of their own live side by side:
``psp sandbox PROVIDER``, ``psp demo [PROVIDER]``, ``psp PROVIDER COMMAND``. A plugin cannot
claim another's name, a core command's name, or the same command twice.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

import attrs
import pytest

from psp_core import CommandLine, ConfigurationError, Option, ProviderInfo, create_plugin_manager, hookimpl
from psp_core._cli import main
from tests.fakepay import FakePayPlugin


class CliProvider(FakePayPlugin):
    """fakepay under another name, with a sandbox, a demo and a ``status`` command of its own."""

    def __init__(self, name: str, calls: list[tuple[str, str, dict[str, Any]]]) -> None:
        super().__init__()
        self.name = name
        self.calls = calls

    def _runner(self, what: str, code: int = 0) -> Any:
        def run(args: argparse.Namespace) -> int:
            options = {k: v for k, v in vars(args).items() if k in ("port", "json", "verbose")}
            self.calls.append((self.name, what, options))
            return code

        return run

    @hookimpl
    def psp_provider_info(self) -> ProviderInfo:
        return attrs.evolve(super().psp_provider_info(), name=self.name)

    @hookimpl
    def psp_cli_commands(self, cli: CommandLine) -> None:
        cli.add_sandbox(
            self.name,
            self._runner("sandbox"),
            help=f"serve {self.name}'s sandbox",
            options=[Option(("--port",), "port to listen on", default=9000, type=int)],
        )
        cli.add_demo(
            self.name,
            self._runner("demo", code=1 if self.name == "beta" else 0),
            help=f"{self.name}'s demo",
            options=[Option(("--json",), "print JSON", flag=True)],
        )
        cli.add_command(
            self.name,
            "status",
            self._runner("status"),
            help=f"{self.name}'s status",
            options=[Option(("--verbose", "-v"), "say more", flag=True)],
        )


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """``psp`` with two CLI-bearing providers, alpha and beta, and nothing else installed."""
    recorded: list[tuple[str, str, dict[str, Any]]] = []
    providers = [("alpha", CliProvider("alpha", recorded)), ("beta", CliProvider("beta", recorded))]

    def manager() -> Any:
        return create_plugin_manager(providers, load_entrypoints=False)

    monkeypatch.setattr("psp_core._cli.create_plugin_manager", manager)
    return recorded


def test_two_providers_with_commands_coexist_each_under_its_own_name(
    calls: list[tuple[str, str, dict[str, Any]]],
) -> None:
    assert main(["sandbox", "alpha", "--port", "9100"]) == 0
    assert main(["sandbox", "beta"]) == 0
    assert main(["alpha", "status", "-v"]) == 0
    assert main(["beta", "status"]) == 0
    assert main(["demo", "alpha", "--json"]) == 0
    assert calls == [
        ("alpha", "sandbox", {"port": 9100}),
        ("beta", "sandbox", {"port": 9000}),
        ("alpha", "status", {"verbose": True}),
        ("beta", "status", {"verbose": False}),
        ("alpha", "demo", {"json": True}),
    ]


def test_psp_demo_alone_runs_every_demo_with_its_defaults_and_fails_if_one_does(
    calls: list[tuple[str, str, dict[str, Any]]],
) -> None:
    assert main(["demo"]) == 1
    assert calls == [("alpha", "demo", {"json": False}), ("beta", "demo", {"json": False})]


def test_every_provider_with_a_sandbox_is_listed_under_psp_sandbox(
    calls: list[tuple[str, str, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    out = capsys.readouterr().out
    assert {"alpha", "beta"} <= set(out.split())


def test_psp_sandbox_without_a_provider_shows_the_choices_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sandbox"]) == 2
    assert "amazon_pay" in capsys.readouterr().out


# -- what the CommandLine refuses ------------------------------------------------------------------


def _noop(args: argparse.Namespace) -> int:
    return 0


def test_a_command_under_a_name_no_plugin_has_is_refused() -> None:
    cli = CommandLine(["alpha"])
    with pytest.raises(ConfigurationError, match="no plugin is registered under that name"):
        cli.add_sandbox("amazon_pay", _noop, help="someone else's sandbox")


def test_the_same_command_twice_is_refused() -> None:
    cli = CommandLine(["alpha"])
    cli.add_demo("alpha", _noop, help="demo")
    with pytest.raises(ConfigurationError, match="psp demo alpha` was added twice"):
        cli.add_demo("alpha", _noop, help="demo again")


@pytest.mark.parametrize("owner", ["providers", "contract", "sandbox", "demo"])
def test_a_plugin_named_like_a_core_command_cannot_own_commands(owner: str) -> None:
    cli = CommandLine([owner])
    with pytest.raises(ConfigurationError, match="one of psp's own"):
        cli.add_command(owner, "run", _noop, help="x")


@pytest.mark.parametrize("name", ["", "Run", "two words", "-x"])
def test_a_command_name_must_be_one_lower_case_word(name: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a command name"):
        CommandLine(["alpha"]).add_command("alpha", name, _noop, help="x")


# -- extras ---------------------------------------------------------------------------------------------


class NeedsAnExtra:
    @hookimpl
    def psp_cli_commands(self, cli: CommandLine) -> None:
        def run(args: argparse.Namespace) -> int:
            import psp_fictional_server  # type: ignore[import-not-found]  # noqa: F401

            return 0

        cli.add_command(
            "gadget",
            "serve",
            run,
            help="serve",
            extra="psp-gadget[server]",
            extra_modules=("psp_fictional_server",),
        )
        cli.add_command("gadget", "other", run, help="needs no extra")


def test_a_missing_module_of_the_declared_extra_names_that_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "psp_core._cli.create_plugin_manager", lambda: create_plugin_manager([("gadget", NeedsAnExtra())])
    )
    assert main(["gadget", "serve"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "psp: error: `psp gadget serve` needs the psp-gadget[server] extra (psp_fictional_server is not "
        'installed); install it with: pip install "psp-gadget[server]"'
    ]
    # A command that declared no extra is not excused: the error is a bug, and it shows.
    with pytest.raises(ModuleNotFoundError):
        main(["gadget", "other"])


class DemoNeedsAnExtra:
    """A provider whose demo needs a module that is not installed."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    @hookimpl
    def psp_cli_commands(self, cli: CommandLine) -> None:
        def run(args: argparse.Namespace) -> int:
            self.calls.append("gadget demo")
            return 0

        cli.add_demo(
            "gadget", run, help="demo", extra="psp-gadget[demo]", extra_modules=("psp_fictional_server",)
        )


def test_psp_demo_alone_skips_a_demo_whose_extra_is_missing_and_names_the_extra(
    calls: list[tuple[str, str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gadget_calls: list[str] = []
    alpha = CliProvider("alpha", calls)
    monkeypatch.setattr(
        "psp_core._cli.create_plugin_manager",
        lambda: create_plugin_manager(
            [("alpha", alpha), ("gadget", DemoNeedsAnExtra(gadget_calls))], load_entrypoints=False
        ),
    )
    assert main(["demo"]) == 0
    assert calls == [("alpha", "demo", {"json": False})]
    assert gadget_calls == []
    assert capsys.readouterr().err.splitlines() == [
        "psp: skipped `psp demo gadget`: it needs the psp-gadget[demo] extra (psp_fictional_server is "
        'not installed); install it with: pip install "psp-gadget[demo]"'
    ]


def test_psp_demo_alone_with_every_extra_missing_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "psp_core._cli.create_plugin_manager",
        lambda: create_plugin_manager([("gadget", DemoNeedsAnExtra([]))], load_entrypoints=False),
    )
    assert main(["demo"]) == 2
    assert "psp-gadget[demo]" in capsys.readouterr().err


# -- the demo lives outside the provider package -------------------------------------------------------


def test_importing_the_provider_imports_no_demo_module() -> None:
    code = (
        "import sys, psp_amazonpay, psp_core; "
        "print(sorted(m for m in sys.modules if 'demo' in m or m.endswith('_serve')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip() == "[]"


def test_building_the_command_line_imports_no_demo_module() -> None:
    code = (
        "import sys; from psp_core._cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith('psp_demo')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip() == "[]"


def test_a_demo_cannot_take_a_positional_argument() -> None:
    # `psp demo` alone runs every demo with no arguments at all.
    with pytest.raises(ConfigurationError, match="positional"):
        CommandLine(["alpha"]).add_demo("alpha", _noop, help="demo", options=[Option(("scenario",), "which")])
