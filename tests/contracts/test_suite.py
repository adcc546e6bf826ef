"""This repository's own run of the provider contract suite, against every installed provider.

The suite is installed as ``psp_contracts`` and collected here by importing its checks, as a
dialect imports SQLAlchemy's suite: the project opts in to the suite's pytest plugin in its
pytest configuration (``-p psp_contracts.pytest_plugin``), and installing psp opts no one in.
"""

from psp_contracts.test_amounts import *  # noqa: F403
from psp_contracts.test_capabilities import *  # noqa: F403
from psp_contracts.test_faults import *  # noqa: F403
from psp_contracts.test_idempotency import *  # noqa: F403
from psp_contracts.test_lifecycle import *  # noqa: F403
from psp_contracts.test_mandates import *  # noqa: F403
from psp_contracts.test_webhooks import *  # noqa: F403


def test_every_module_of_the_suite_is_collected_here() -> None:
    from importlib.resources import files
    from pathlib import Path

    modules = {
        entry.name.removesuffix(".py")
        for entry in files("psp_contracts").iterdir()
        if entry.name.startswith("test_") and entry.name.endswith(".py")
    }
    source = Path(__file__).read_text(encoding="utf-8")
    missing = sorted(name for name in modules if f"from psp_contracts.{name} import *" not in source)
    assert modules, "found no contract modules in the installed psp_contracts package"
    assert not missing, f"add these contract modules to {__file__}: {missing}"
