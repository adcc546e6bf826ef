"""Stripe: a psp provider plugin for cards and SEPA Direct Debit through Stripe's API.

Registered through the ``psp_providers`` entry point as ``stripe`` (the object
:data:`plugin`); hosts use it with ``psp_core.Gateway("stripe", options={"secret_key": ...})``
and pass the PaymentMethod id Stripe.js gave their front end as
``AuthorizeRequest.payment_method_token``. See ``docs/stripe.md``. This package holds the
runtime plugin only: the localstripe harness the tests use lives in ``psp_localstripe``.
"""

from __future__ import annotations

from psp_core import ProviderPlugin

from ._amounts import (
    THREE_DECIMAL,
    TWO_DECIMAL_EXCEPTIONS,
    ZERO_DECIMAL,
    from_stripe,
    stripe_exponent,
    to_stripe,
)
from ._mapping import DECLINE_CODES, INTENT_STATUSES, MERCHANT_REFERENCE_KEY, REFUND_STATUSES, SETUP_STATUSES
from ._plugin import REFUND_REASONS, StripePlugin
from ._settings import API_VERSION, BASE_URL, PROVIDER, SETTINGS, StripeSettings, capabilities
from ._webhooks import MANDATE_EVENTS, PAYMENT_EVENTS, REFUND_EVENTS, SIGNATURE_HEADER

plugin = StripePlugin()
"""The object the ``stripe`` entry point registers."""

# mypy checks every provider hook's signature against the spec's.
_checked: ProviderPlugin = plugin

__all__ = [
    "API_VERSION",
    "BASE_URL",
    "DECLINE_CODES",
    "INTENT_STATUSES",
    "MANDATE_EVENTS",
    "MERCHANT_REFERENCE_KEY",
    "PAYMENT_EVENTS",
    "PROVIDER",
    "REFUND_EVENTS",
    "REFUND_REASONS",
    "REFUND_STATUSES",
    "SETTINGS",
    "SETUP_STATUSES",
    "SIGNATURE_HEADER",
    "THREE_DECIMAL",
    "TWO_DECIMAL_EXCEPTIONS",
    "ZERO_DECIMAL",
    "StripePlugin",
    "StripeSettings",
    "capabilities",
    "from_stripe",
    "plugin",
    "stripe_exponent",
    "to_stripe",
]
