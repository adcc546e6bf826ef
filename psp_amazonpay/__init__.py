"""Amazon Pay through the PPRO Global API: a psp provider plugin.

Registered through the ``psp_providers`` entry point as ``amazon_pay``; hosts use it with
``psp_core.Gateway("amazon_pay", options={...})``. The hook implementations below are what
pluggy finds on this module. A stateful PPRO sandbox ships in :mod:`psp_amazonpay.sandbox`.
See ``docs/amazon_pay.md`` for the host-developer guide.
"""

from psp_core import ProviderPlugin

from . import _plugin
from ._cli import psp_cli_commands
from ._mapping import AGREEMENT_STATUS, CHARGE_STATUS, FAILURE_CODES, REFUND_REASONS
from ._plugin import (
    psp_authorize,
    psp_capture,
    psp_charge_mandate,
    psp_configure,
    psp_create_mandate,
    psp_find_payment,
    psp_get_mandate,
    psp_get_payment,
    psp_parse_webhook,
    psp_provider_info,
    psp_refund,
    psp_revoke_mandate,
    psp_void,
)
from ._sandbox_hook import psp_sandbox
from ._settings import BASE_URL_PRESETS, PROVIDER, SETTINGS, AmazonPaySettings, capabilities
from ._webhooks import EVENT_TYPES, LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER

# mypy checks every provider hook's signature against the spec's.
_provider: ProviderPlugin = _plugin

__all__ = [
    "AGREEMENT_STATUS",
    "BASE_URL_PRESETS",
    "CHARGE_STATUS",
    "EVENT_TYPES",
    "FAILURE_CODES",
    "LEGACY_SIGNATURE_HEADER",
    "PROVIDER",
    "REFUND_REASONS",
    "SETTINGS",
    "SIGNATURE_HEADER",
    "AmazonPaySettings",
    "capabilities",
    "psp_authorize",
    "psp_capture",
    "psp_charge_mandate",
    "psp_cli_commands",
    "psp_configure",
    "psp_create_mandate",
    "psp_find_payment",
    "psp_get_mandate",
    "psp_get_payment",
    "psp_parse_webhook",
    "psp_provider_info",
    "psp_refund",
    "psp_revoke_mandate",
    "psp_sandbox",
    "psp_void",
]
