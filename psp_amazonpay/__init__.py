"""Amazon Pay through the PPRO Global API: a psp provider plugin.

Registered through the ``psp_providers`` entry point as ``amazon_pay`` (the object
:data:`plugin`); hosts use it with ``psp_core.Gateway("amazon_pay", options={...})``. The
PPRO client is :mod:`psp_ppro`, shared with every PPRO method; this package is Amazon Pay's
profile. A stateful PPRO sandbox ships in :mod:`psp_ppro.sandbox`. See ``docs/amazon_pay.md``
for the host-developer guide.
"""

from __future__ import annotations

from datetime import timedelta

from psp_core import AmountLimits, Capabilities, CommandLine, ProviderPlugin, hookimpl
from psp_ppro import (
    AGREEMENT_STATUS,
    BASE_URL_PRESETS,
    CHARGE_STATUS,
    EVENT_TYPES,
    FAILURE_CODES,
    LEGACY_SIGNATURE_HEADER,
    REFUND_REASONS,
    SIGNATURE_HEADER,
    PproPlugin,
    PproSettings,
)
from psp_ppro import capabilities as _capabilities

from ._cli import add_demo_command
from ._profile import METHOD_LIMITS, PROFILE

PROVIDER = PROFILE.provider
SETTINGS = PROFILE.settings


class AmazonPayPlugin(PproPlugin):
    """The PPRO plugin for the Amazon Pay profile, with the seed's ``psp demo``/``psp sandbox``."""

    @hookimpl
    def psp_cli_commands(self, cli: CommandLine) -> None:
        super().psp_cli_commands(cli)
        add_demo_command(cli)


plugin = AmazonPayPlugin(PROFILE)
"""The object the ``amazon_pay`` entry point registers."""

# mypy checks every provider hook's signature against the spec's.
_checked: ProviderPlugin = plugin


def capabilities(
    separate_captures: bool = True,
    *,
    limits: AmountLimits = METHOD_LIMITS,
    refund_window: timedelta | None = None,
) -> Capabilities:
    """Amazon Pay's capabilities as a merchant configured them (see :func:`psp_ppro.capabilities`)."""
    return _capabilities(PROFILE, separate_captures, limits=limits, refund_window=refund_window)

__all__ = [
    "AGREEMENT_STATUS",
    "BASE_URL_PRESETS",
    "CHARGE_STATUS",
    "EVENT_TYPES",
    "FAILURE_CODES",
    "LEGACY_SIGNATURE_HEADER",
    "PROFILE",
    "PROVIDER",
    "REFUND_REASONS",
    "SETTINGS",
    "SIGNATURE_HEADER",
    "AmazonPayPlugin",
    "PproSettings",
    "capabilities",
    "plugin",
]
