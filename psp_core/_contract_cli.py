"""``psp contract <provider>``: run the provider contract suite and print the conformance report.

The suite is the ``psp_contracts`` package (the ``psp[contracts]`` extra); this command runs it
with pytest, in-process, against the installed package (``--pyargs psp_contracts``), so a
plugin author needs no test set-up of their own. pytest and hypothesis are imported only when
the command runs; without them it says which extra to install.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

# An empty configuration, so the caller's own pytest settings (addopts, testpaths) do not apply.
_INI = "[pytest]\naddopts =\n"


def add_contract_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "contract", help="run the provider contract suite against a provider's sandbox and report"
    )
    parser.add_argument("provider", help="the provider name (see `psp providers`)")
    parser.add_argument("--json", metavar="PATH", help="also write the conformance report as JSON")
    parser.add_argument(
        "--fault-scenarios", type=_count, default=None, metavar="N", help="random fault scenarios to run"
    )
    parser.add_argument(
        "--profile",
        choices=("ci", "thorough"),
        default="ci",
        help="the suite's hypothesis effort (default: ci; thorough: 2,000 examples per property)",
    )
    parser.add_argument(
        "--live", action="store_true", help="also run against the real PSP sandbox (credentials from env)"
    )
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed, to reproduce a run")
    parser.add_argument(
        "--plugin", action="append", default=[], metavar="NAME=MODULE:ATTR", help="register a provider"
    )
    parser.add_argument("-k", dest="keyword", metavar="EXPR", help="only checks matching EXPR (pytest -k)")
    parser.add_argument(
        "--pytest", dest="pytest_args", action="append", default=[], metavar="ARG", help="pass ARG to pytest"
    )
    parser.set_defaults(
        func=run_contract,
        command_words="contract",
        extra=("psp[contracts]", frozenset({"pytest", "_pytest", "hypothesis"})),
    )


def _count(text: str) -> int:
    """A whole number, 0 or more (argparse names the option in its error)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count; use a whole number, 0 or more")
    return value


def pytest_arguments(args: argparse.Namespace, workdir: Path, report: Path) -> list[str]:
    ini = workdir / "pytest.ini"
    ini.write_text(_INI, encoding="utf-8")
    argv = [
        "-p",
        "psp_contracts.pytest_plugin",
        "--pyargs",
        "psp_contracts",
        "-c",
        str(ini),
        "--rootdir",
        str(workdir),
        "-p",
        "no:cacheprovider",
        "-q",
        "-rs",
        "--psp-provider",
        args.provider,
        "--psp-report",
        str(report),
        "--psp-profile",
        args.profile,
    ]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        # Without autoload, also name hypothesis's plugin (for --hypothesis-seed).
        argv = ["-p", "_hypothesis_pytestplugin", *argv]
    if args.live:
        argv.append("--psp-live")
    if args.fault_scenarios is not None:
        argv += ["--psp-fault-scenarios", str(args.fault_scenarios)]
    if args.seed is not None:
        argv += ["--hypothesis-seed", str(args.seed)]
    for spec in args.plugin:
        argv += ["--psp-plugin", spec]
    if args.keyword:
        argv += ["-k", args.keyword]
    return argv + list(args.pytest_args)


def require_contract_extra() -> None:
    """Raise ModuleNotFoundError (the CLI names the extra) before pytest starts without them."""
    for module in ("pytest", "hypothesis"):
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def run_contract(args: argparse.Namespace) -> int:
    require_contract_extra()
    import pytest

    workdir = Path(tempfile.mkdtemp(prefix="psp-contract-"))
    try:
        report = workdir / "report.json"
        code = int(pytest.main(pytest_arguments(args, workdir, report)))
        if args.json and report.exists():
            payload = json.loads(report.read_text(encoding="utf-8"))
            Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
            print(f"psp contract: report written to {args.json}")
        return code
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
