"""psp_core's names load on first use, and the lazy table says exactly what the imports say."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import psp_core

ROOT = Path(__file__).resolve().parents[2]


def _type_checking_imports() -> dict[str, str]:
    tree = ast.parse((ROOT / "psp_core" / "__init__.py").read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If))
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            found[alias.asname or alias.name] = (
                f".{alias.name}:" if node.module is None else f".{node.module}"
            )
    return found


def test_the_lazy_table_names_every_export_where_the_imports_say() -> None:
    assert _type_checking_imports() == psp_core._EXPORTS
    assert set(psp_core.__all__) == set(psp_core._EXPORTS)


def test_every_exported_name_resolves_and_unknown_names_raise_attribute_error() -> None:
    for name in psp_core.__all__:
        assert getattr(psp_core, name) is not None
    assert psp_core.hookspecs.PROJECT_NAME == "psp"
    with pytest.raises(AttributeError, match="NoSuchThing"):
        psp_core.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_importing_psp_core_and_listing_providers_builds_no_models_and_imports_no_provider() -> None:
    code = (
        "import sys, psp_core; psp_core.provider_names(psp_core.create_plugin_manager()); "
        "print(sorted(m for m in sys.modules if m.startswith(('psp_core._models', 'psp_ppro', "
        "'psp_amazonpay', 'cattrs', 'stamina', 'iso4217'))))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"
