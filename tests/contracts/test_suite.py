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


def test_every_property_of_the_suite_runs_with_the_suites_own_settings() -> None:
    # A check without them would run under whatever profile the caller loaded, or under
    # hypothesis's default 200 ms deadline in a plugin author's bare project.
    import re
    from importlib.resources import files

    unsettled = []
    for entry in files("psp_contracts").iterdir():
        if not (entry.name.startswith("test_") and entry.name.endswith(".py")):
            continue
        source = entry.read_text(encoding="utf-8")
        givens = len(re.findall(r"^\s*@given\(", source, re.MULTILINE))
        settled = len(re.findall(r"^\s*@contract\.hypothesis_settings\n\s*@given\(", source, re.MULTILINE))
        machines = len(re.findall(r"run_state_machine_as_test\(", source))
        suite_machines = r"run_state_machine_as_test\([^)]*settings=settings\(suite"
        settled_machines = len(re.findall(suite_machines, source))
        if givens != settled or machines != settled_machines:
            unsettled.append(entry.name)
    assert not unsettled, f"decorate each @given with @contract.hypothesis_settings in: {unsettled}"
