"""Hypothesis profiles are chosen explicitly: this repository's by its conftest and hypothesis's
own ``--hypothesis-profile`` option, the contract suite's by ``--psp-profile``; never by an
environment variable hypothesis does not read, and the same with or without ``CI``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings
from psp_contracts.hypothesis_profiles import PROFILES, suite_settings

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).relative_to(ROOT).as_posix()


def test_this_run_uses_the_repositorys_profile_unless_one_is_named(pytestconfig: pytest.Config) -> None:
    named = pytestconfig.getoption("hypothesis_profile")
    expected = named or "psp-ci"
    assert settings.get_current_profile_name() == expected
    if expected == "psp-ci":
        assert settings.default.max_examples == PROFILES["ci"]["max_examples"]
        assert settings.default.deadline is None  # no test depends on the machine's speed


@pytest.mark.parametrize("ci", ["", "true"])
def test_the_profile_is_the_same_with_and_without_a_ci_variable(ci: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS"))}
    env.pop("CI", None)
    if ci:
        env["CI"] = ci  # hypothesis alone would switch to its own "ci" profile here
    done = subprocess.run(  # noqa: S603 - our own interpreter and test
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            f"{HERE}::test_this_run_uses_the_repositorys_profile_unless_one_is_named",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_a_named_profile_of_this_repository_is_loaded() -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and test
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--hypothesis-profile",
            "psp-thorough",
            f"{HERE}::test_this_run_uses_the_repositorys_profile_unless_one_is_named",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_the_suite_settings_have_no_deadline_and_ignore_the_loaded_profiles_budget() -> None:
    settings.register_profile("strict-host", max_examples=3, deadline=50)
    previous = settings.get_current_profile_name()
    settings.load_profile("strict-host")
    try:
        for name, chosen in PROFILES.items():
            suite = suite_settings(name)
            assert suite.deadline is None
            assert suite.max_examples == chosen["max_examples"]
        assert settings.default.max_examples == 3, "building the suite's settings changed the host's"
    finally:
        settings.load_profile(previous)


def test_an_unknown_suite_profile_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="choose one of: ci, thorough"):
        suite_settings("fast")
