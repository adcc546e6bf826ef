"""The benchmark profile counts the PPRO layer as the framework's own code, not a library."""

from __future__ import annotations

import pytest

from benchmarks._profile import _package


@pytest.mark.parametrize(
    ("path", "package"),
    [
        ("/repo/psp_core/_flow.py", "psp_core"),
        ("/repo/psp_ppro/_wire.py", "psp_ppro"),
        ("/repo/psp_ppro/_mapping.py", "psp_ppro"),
        ("/repo/psp_amazonpay/__init__.py", "psp_amazonpay"),
        ("/venv/lib/python3.11/site-packages/httpx/_models.py", "httpx"),
    ],
)
def test_frames_are_attributed_to_their_package(path: str, package: str) -> None:
    assert _package(path) == package
