"""psp installs into a real shop without surprises.

The wheel is built from this checkout with the project's own build backend, then installed
into one fresh virtual environment beside two small host projects: a shop with its own
hypothesis profile and conftest, and a plain shop with pytest but no hypothesis. Their pytest
runs must pass untouched by psp (no plugin, no ``--psp-*`` option, their own profile), a
missing extra must be named in one line, and the contract suite must load when, and only when,
asked for.

Building the wheel and the environment takes a while (about a minute; the dependencies come
from the package index, usually from pip's cache), so this module builds one environment and
walks through every step in one test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "psp_core",
    "psp_ppro",
    "psp_amazonpay",
    "psp_ideal",
    "psp_demo",
    "psp_stripe",
    "psp_localstripe",
    "contracts",
    "psp_store",
    "psp_otel",
)
BIN = "Scripts" if os.name == "nt" else "bin"
# What the caller's environment must not smuggle into the host's runs.
SCRUBBED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "VIRTUAL_ENV",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_CURRENT_TEST",
    "HYPOTHESIS_PROFILE",
    "PSP_DISABLE_PLUGIN_AUTOLOAD",
    "PSP_BLOCK_PLUGINS",
)

pytestmark = pytest.mark.packaging


def build_wheel(tmp: Path) -> tuple[Path, str]:
    """The wheel of a copy of this checkout, and everything the build backend printed."""
    source = tmp / "source"
    source.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    dist = tmp / "dist"
    dist.mkdir()
    # The backend itself, in this interpreter (the test extra brings setuptools): any warning
    # it prints is in the output, as a host's `pip install` would show it with -v.
    built = subprocess.run(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-W",
            "default",
            "-c",
            "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))",
            str(dist),
        ],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    output = built.stdout + built.stderr
    assert built.returncode == 0, output
    return dist / built.stdout.strip().splitlines()[-1], output


def test_the_wheel_has_only_namespaced_packages_no_pytest_plugin_and_builds_without_deprecations(
    tmp_path: Path,
) -> None:
    wheel, output = build_wheel(tmp_path)
    assert "Deprecat" not in output and "deprecat" not in output, output
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    top_level = {name.split("/")[0] for name in names} - {dist_info}
    assert top_level == {
        "psp_core",
        "psp_ppro",
        "psp_amazonpay",
        "psp_ideal",
        "psp_demo",
        "psp_stripe",
        "psp_localstripe",
        "psp_contracts",
        "psp_store",
        "psp_otel",
    }
    assert "psp_contracts/pytest_plugin.py" in names and "psp_contracts/py.typed" in names
    assert "[pytest11]" not in entry_points
    assert "[psp_providers]" in entry_points and "amazon_pay = psp_amazonpay:plugin" in entry_points
    assert "ideal = psp_ideal:plugin" in entry_points
    assert "stripe = psp_stripe:plugin" in entry_points
    assert "[psp_plugins]" in entry_points and "otel = psp_otel:plugin" in entry_points
    assert "License-Expression: MIT" in metadata
    assert f"{dist_info}/licenses/LICENSE" in names
    assert "Provides-Extra: contracts" in metadata and "Provides-Extra: sandbox" in metadata


SHOP_CONFTEST = """
    from hypothesis import settings

    # The shop's own profile: psp must neither replace it nor load another.
    settings.register_profile("shop", max_examples=500, deadline=None)
    settings.load_profile("shop")
"""

SHOP_TESTS = """
    import pytest
    from hypothesis import given, settings, strategies as st

    from psp_core import Money, Payment, PaymentStatus, from_json, to_json

    examples = []


    def test_the_shop_profile_is_the_one_in_force():
        assert settings.get_current_profile_name() == "shop"
        assert settings.default.max_examples == 500


    @given(st.integers(0, 10**9))
    def test_a_stored_payment_loads_back(minor):
        examples.append(minor)
        payment = Payment.new("amazon_pay", "charge_1", PaymentStatus.PENDING, Money(minor, "USD"))
        assert from_json(to_json(payment), Payment) == payment


    def test_the_property_ran_the_shop_profile_budget():
        assert len(examples) == 500


    def test_psp_added_no_plugin_and_no_option(pytestconfig):
        names = {name for name, _ in pytestconfig.pluginmanager.list_name_plugin()}
        assert not [name for name in names if name and "psp" in name], names
        with pytest.raises(ValueError):
            pytestconfig.getoption("psp_profile")
"""

PLAIN_SHOP_TESTS = """
    import importlib.util

    from psp_core import Money, Payment, PaymentStatus, from_json, to_json


    def test_psp_works_in_a_project_without_hypothesis():
        assert importlib.util.find_spec("hypothesis") is None
        payment = Payment.new("amazon_pay", "charge_1", PaymentStatus.PENDING, Money(4990, "USD"))
        assert from_json(to_json(payment), Payment) == payment


    def test_psp_installs_no_top_level_contracts_package():
        assert importlib.util.find_spec("contracts") is None
        assert importlib.util.find_spec("psp_contracts") is not None
"""

INI = "[pytest]\naddopts = -p no:cacheprovider\n"


def write_project(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


class Env:
    """The fresh environment: run its python, pip, pytest and psp with a scrubbed environment."""

    def __init__(self, root: Path) -> None:
        self.root = root
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
        self.bin = root / BIN
        self.variables = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        self.variables["PATH"] = f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"
        self.variables["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        self.variables["PIP_NO_INPUT"] = "1"

    def run(self, *command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own environment's executables
            [str(self.bin / command[0]), *command[1:]],
            cwd=cwd,
            env=self.variables,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    def ok(self, *command: str, cwd: Path) -> str:
        done = self.run(*command, cwd=cwd)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr


def assert_names_the_extra(done: subprocess.CompletedProcess[str], command: str, extra: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and f"psp[{extra}]" in lines[0], lines
    assert f"`psp {command}`" in lines[0] or f"psp {command}" in lines[0], lines


def test_a_host_project_installs_psp_without_surprises(tmp_path: Path) -> None:
    wheel, _ = build_wheel(tmp_path)
    shop = write_project(
        tmp_path / "shop", {"pytest.ini": INI, "conftest.py": SHOP_CONFTEST, "test_shop.py": SHOP_TESTS}
    )
    plain_shop = write_project(
        tmp_path / "plain_shop", {"pytest.ini": INI, "test_plain.py": PLAIN_SHOP_TESTS}
    )
    env = Env(tmp_path / "venv")

    # 1. psp with its contracts extra (pytest and hypothesis), as a shop that tests with both.
    env.ok("python", "-m", "pip", "install", "--quiet", f"{wheel}[contracts]", cwd=tmp_path)
    assert env.ok("psp", "--version", cwd=tmp_path).strip() == "psp 0.1.0"
    providers = env.ok("psp", "providers", cwd=tmp_path)
    assert providers.startswith("amazon_pay") and "  distribution: psp 0.1.0" in providers

    # The shop's own pytest run: passes, under its own profile, with no psp plugin or option.
    env.ok("python", "-m", "pytest", "-q", cwd=shop)
    shop_help = env.ok("python", "-m", "pytest", "--help", cwd=shop)
    assert "--psp-" not in shop_help
    # Opting in is one flag (or one pytest_plugins line): the suite's options appear.
    opted_in = env.ok("python", "-m", "pytest", "-p", "psp_contracts.pytest_plugin", "--help", cwd=shop)
    assert "--psp-provider" in opted_in and "--psp-profile" in opted_in
    # Even opted in, the shop's own tests keep the shop's profile and its 500 examples.
    env.ok(
        "python", "-m", "pytest", "-q", "-p", "psp_contracts.pytest_plugin", "-k", "not no_plugin", cwd=shop
    )
    # ...and the suite runs from the installed package against the shipped provider.
    report = tmp_path / "report.json"
    contract = env.ok("psp", "contract", "amazon_pay", "-k", "undeclared", "--json", str(report), cwd=shop)
    assert "1 passed" in contract and report.exists(), contract
    # The sandbox extra was not installed: its commands name it, in one line, exit 2.
    served = env.run("psp", "sandbox", "amazon_pay", "--port", "0", cwd=tmp_path)
    assert_names_the_extra(served, "sandbox amazon_pay", "sandbox")
    # `psp demo` plays every demo it can: one line per demo whose extra is missing, and with
    # none left to play, the usage exit code.
    every = env.run("psp", "demo", cwd=tmp_path)
    assert every.returncode == 2 and "Traceback" not in every.stderr, every.stderr
    assert sorted(every.stderr.strip().splitlines()) == [
        "psp: skipped `psp demo amazon_pay`: it needs the psp[sandbox] extra (starlette is not "
        'installed); install it with: pip install "psp[sandbox]"',
        "psp: skipped `psp demo stripe`: it needs the psp[localstripe] extra (localstripe is not "
        'installed); install it with: pip install "psp[localstripe]"',
    ]
    # Nor the store extra: the reconciler names it.
    reconciled = env.run("psp", "reconcile", "--store", "shop.sqlite3", cwd=tmp_path)
    assert_names_the_extra(reconciled, "reconcile", "store")

    # 2. The same environment without hypothesis: a shop that tests with pytest alone.
    env.ok("python", "-m", "pip", "uninstall", "--yes", "--quiet", "hypothesis", cwd=tmp_path)
    plain = env.ok("python", "-m", "pytest", "-q", cwd=plain_shop)
    assert "2 passed" in plain, plain
    assert_names_the_extra(env.run("psp", "contract", "amazon_pay", cwd=tmp_path), "contract", "contracts")
