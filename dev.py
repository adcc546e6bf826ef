#!/usr/bin/env python3
"""Set up the project's virtual environment and run its main jobs. Needs only Python >= 3.11.

    python3 dev.py demo      # psp demo against the embedded PPRO sandbox
    python3 dev.py test      # the whole test suite, ruff and mypy --strict
    python3 dev.py bench     # the benchmarks (not part of the tests)

Arguments after ``test`` go to pytest, e.g. a deep run:
``python3 dev.py test --hypothesis-profile psp-thorough --psp-profile thorough``.
The result is the same with or without a ``CI`` variable: the tests choose their own
hypothesis profiles (tests/conftest.py) and never depend on the machine's speed.

Each command creates ``.venv`` on first use and reinstalls the project whenever
pyproject.toml changes, so a fresh clone needs nothing else.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".psp-installed"
TYPED_PATHS = [
    "psp_core",
    "psp_ppro",
    "psp_amazonpay",
    "psp_ideal",
    "psp_demo",
    "contracts",
    "psp_stripe",
    "psp_localstripe",
    "psp_store",
    "psp_otel",
]


def run(*args: str | Path) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.call([str(a) for a in args], cwd=ROOT)


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        raise SystemExit(f"psp needs Python >= 3.11; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("installing psp and its test dependencies into .venv", flush=True)
    if run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip") != 0:
        raise SystemExit("could not upgrade pip in .venv; check your connection to the package index")
    if run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[test]") != 0:
        raise SystemExit("could not install the project into .venv; see pip's message above")
    STAMP.write_text(wanted)


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    """Debian's chromium for the demo shop's browser test (tests/shop), installed when missing.

    Playwright's own browser download cannot be used (it needs the internet); the test drives
    the system browser instead. Installing needs root and apt-get; without them, say so.
    """
    if CHROMIUM.exists():
        return
    if os.name != "posix" or os.geteuid() != 0 or not Path("/usr/bin/apt-get").exists():
        print(
            f"{CHROMIUM} is missing and this is not root on a Debian-like system: install the "
            "chromium package yourself (apt-get install chromium); tests/shop fails without it",
            flush=True,
        )
        return
    print("installing Debian's chromium for the demo shop's browser test", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        if subprocess.call(step, cwd=ROOT, env=env) != 0:
            command = " ".join(step)
            print(f"`{command}` failed: tests/shop needs {CHROMIUM}; install chromium yourself", flush=True)
            return


def demo(extra: list[str]) -> int:
    return run(BIN / "psp", "demo", *extra)


def test(extra: list[str]) -> int:
    ensure_chromium()
    failures = []
    if run(BIN / "python", "-m", "pytest", "-n", "2", *extra) != 0:
        failures.append("pytest")
    if run(BIN / "ruff", "check", ".") != 0:
        failures.append("ruff")
    if run(BIN / "mypy", "--strict", *TYPED_PATHS) != 0:
        failures.append("mypy --strict")
    if failures:
        print(f"FAILED: {', '.join(failures)}", flush=True)
        return 1
    print("all checks passed: pytest, ruff, mypy --strict", flush=True)
    return 0


def bench(extra: list[str]) -> int:
    return run(BIN / "python", "benchmarks/run.py", *extra)


COMMANDS = {"demo": demo, "test": test, "bench": bench}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_environment()
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
