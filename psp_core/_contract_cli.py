"""``psp contract <provider>``: run the provider contract suite and print the conformance report.

The suite is the ``psp_contracts`` package (the ``psp[contracts]`` extra); this command runs it
with pytest, in-process, against the installed package (``--pyargs psp_contracts``), so a
plugin author needs no test set-up of their own. pytest and hypothesis are imported only when
the command runs; without them it says which extra to install.

Bad input is psp's usage error, not pytest's: an unknown provider, a ``--plugin`` that does not
load or a ``--json`` path that cannot be written is one line on stderr and exit 2, before pytest
starts; a ``-k`` expression or ``--pytest`` argument that pytest refuses also exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pluggy

from ._errors import ValidationError
from ._plugins import create_plugin_manager, load_providers, provider_names

EXIT_USAGE = 2
PYTEST_USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR, without importing pytest at module level

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


def _registered_plugin(spec: str) -> tuple[str, object]:
    """``NAME=MODULE:ATTR`` -> ``(NAME, the object)``, as the suite's ``--psp-plugin`` loads it."""
    name, sep, target = spec.partition("=")
    module_name, colon, attribute = target.partition(":")
    name, module_name, attribute = name.strip(), module_name.strip(), attribute.strip()
    if not (sep and colon and name and module_name and attribute):
        raise ValidationError(
            "--plugin",
            f"{spec!r} is not NAME=MODULE:ATTR; give the provider's name, the module that holds its "
            "plugin and the plugin's attribute, e.g. --plugin mypsp=mypsp.plugin:PLUGIN",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValidationError(
            "--plugin",
            f"{spec!r}: module {module_name} cannot be imported ({error}); install it, or add its "
            "folder to PYTHONPATH",
        ) from None
    if not hasattr(module, attribute):
        raise ValidationError(
            "--plugin",
            f"{spec!r}: module {module_name} has no attribute {attribute}; name the attribute that "
            "holds the provider's plugin",
        )
    return name, getattr(module, attribute)


def check_arguments(args: argparse.Namespace) -> None:
    """Raise ValidationError, naming the option, for input the suite could not run with.

    Nothing is started. The providers are those the suite itself will see: the installed ones
    plus ``--plugin``'s, in a plugin manager built as ``psp_contracts`` builds its own.
    """
    plugins = [_registered_plugin(spec) for spec in args.plugin]
    try:
        manager = create_plugin_manager(plugins, environ={})
    except pluggy.PluginValidationError as error:
        raise ValidationError(
            "--plugin", f"{error}; a plugin implements only the hooks in psp_core.hookspecs"
        ) from None
    load_providers(manager)
    names = provider_names(manager)
    if args.provider in {name for name, _ in plugins} - set(names):
        raise ValidationError(
            "--plugin",
            f"the object registered as {args.provider!r} has no psp_provider_info hook, so it is not a "
            "provider; name the attribute that holds the provider's plugin",
        )
    if args.provider not in names:
        installed = ", ".join(names) or "none"
        raise ValidationError(
            "PROVIDER",
            f"unknown provider {args.provider!r} (installed: {installed}); name an installed one "
            "(`psp providers` lists them), or register yours with --plugin NAME=MODULE:ATTR",
        )
    if args.json:
        target = Path(args.json)
        if target.is_dir():
            raise ValidationError("--json", f"{args.json} is a folder; name a file for the report")
        if not target.parent.is_dir():
            raise ValidationError(
                "--json",
                f"{args.json}: there is no folder {target.parent}; create it, or name a file in an "
                "existing folder",
            )


def run_contract(args: argparse.Namespace) -> int:
    try:
        check_arguments(args)
    except ValidationError as error:
        print(f"psp contract: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    require_contract_extra()
    import pytest

    workdir = Path(tempfile.mkdtemp(prefix="psp-contract-"))
    try:
        report = workdir / "report.json"
        code = int(pytest.main(pytest_arguments(args, workdir, report)))
        if code == PYTEST_USAGE_ERROR:
            # pytest refused a -k expression or a --pytest argument (its message is above):
            # that is a usage error of psp contract, so it exits as psp's own usage errors do.
            return EXIT_USAGE
        if args.json and report.exists():
            payload = json.loads(report.read_text(encoding="utf-8"))
            Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
            print(f"psp contract: report written to {args.json}")
        return code
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
