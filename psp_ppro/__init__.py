"""The PPRO Global API, written once, for every payment method psp offers through PPRO.

A :class:`MethodProfile` says what one PPRO payment method is (its code, markets, currency,
limits, capture and refund rules, recurring); :class:`PproPlugin` makes one psp provider of
one profile. ``psp_amazonpay`` and ``psp_ideal`` are such profiles with their entry points.
The stateful PPRO sandbox (:mod:`psp_ppro.sandbox`) serves every method and imports none of
the plugins; :func:`route_webhook` hands an event from PPRO's one webhook URL to the provider
of its ``paymentMethod``. See docs/ppro.md.
"""

from ._cli import SANDBOX_EXTRA, SANDBOX_MODULES
from ._mapping import AGREEMENT_STATUS, CHARGE_STATUS, FAILURE_CODES, REFUND_REASONS
from ._plugin import PproPlugin
from ._profile import ACCOUNT_SETTINGS, MethodProfile, method_settings
from ._routing import route_webhook
from ._settings import BASE_URL_PRESETS, PproSettings, capabilities
from ._webhooks import EVENT_TYPES, LEGACY_SIGNATURE_HEADER, OTHER_METHOD, SIGNATURE_HEADER

__all__ = [
    "ACCOUNT_SETTINGS",
    "AGREEMENT_STATUS",
    "BASE_URL_PRESETS",
    "CHARGE_STATUS",
    "EVENT_TYPES",
    "FAILURE_CODES",
    "LEGACY_SIGNATURE_HEADER",
    "OTHER_METHOD",
    "REFUND_REASONS",
    "SANDBOX_EXTRA",
    "SANDBOX_MODULES",
    "SIGNATURE_HEADER",
    "MethodProfile",
    "PproPlugin",
    "PproSettings",
    "capabilities",
    "method_settings",
    "route_webhook",
]
