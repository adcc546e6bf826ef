"""The ``psp_sandbox`` hook, apart from the sandbox itself.

Discovering providers imports this package; a production gateway never needs the PPRO
sandbox, so it is imported only when the contract suite (or a host's tests) asks for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from psp_core import ProviderSandbox, hookimpl


@hookimpl
def psp_sandbox(options: Mapping[str, object]) -> ProviderSandbox:
    from ._contract import sandbox_for

    return sandbox_for(options)
