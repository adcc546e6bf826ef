"""The psp provider contract suite, installed as ``psp_contracts`` (the ``psp[contracts]`` extra).

Importing it registers nothing: pytest sees the suite only when asked, through
``psp contract PROVIDER``, ``pytest -p psp_contracts.pytest_plugin``, or a
``pytest_plugins = ["psp_contracts.pytest_plugin"]`` line in a project's conftest.py.
"""
