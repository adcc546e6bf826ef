"""iDEAL through the PPRO Global API: a psp provider plugin.

Registered through the ``psp_providers`` entry point as ``ideal`` (the object :data:`plugin`);
hosts use it with ``psp_core.Gateway("ideal", options={...})``. The PPRO client is
:mod:`psp_ppro`, shared with every PPRO method; this package is iDEAL's profile. See
``docs/ideal.md`` for its rules, their sources, and what psp decided where PPRO is silent.
"""

from psp_core import ProviderPlugin
from psp_ppro import PproPlugin

from ._profile import METHOD_LIMITS, PROFILE

plugin = PproPlugin(PROFILE)
"""The object the ``ideal`` entry point registers."""

# mypy checks every provider hook's signature against the spec's.
_checked: ProviderPlugin = plugin

__all__ = ["METHOD_LIMITS", "PROFILE", "plugin"]
