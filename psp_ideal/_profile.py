"""The iDEAL method profile, from PPRO's iDEAL pages; each rule and decision is in docs/ideal.md."""

from __future__ import annotations

from psp_core import AmountLimits, Money
from psp_ppro import MethodProfile, method_settings

PPRO_IDEAL_PAGE = "https://developerhub.ppro.com/global-api/docs/ideal"
PPRO_IDEAL_RECURRING_PAGE = "https://developerhub.ppro.com/global-api/docs/ideal-recurring"

METHOD_LIMITS = AmountLimits(Money(1, "EUR"), Money(5_000_000, "EUR"))
"""From 0.01 EUR (PPRO's iDEAL page). PPRO publishes no maximum ("subject to the consumer's
bank"); psp decides 50,000.00 EUR, the cap iDEAL acquirers publish (docs/ideal.md)."""

PROFILE = MethodProfile(
    provider="ideal",
    payment_method="IDEAL",
    display_name="iDEAL (PPRO)",
    description="iDEAL through the PPRO Global API: redirect payments with bank selection, "
    "refunds, recurring SEPA Direct Debit agreements and signed webhooks.",
    guide="docs/ideal.md",
    countries=frozenset({"NL"}),
    limits=METHOD_LIMITS,
    # The PPRO account's settings are shared with every PPRO method (PPRO_API_KEY...); the
    # method's own limits and refund window are PPRO_IDEAL_*. iDEAL has no separate captures.
    settings=method_settings("PPRO_IDEAL_", separate_captures=False),
    separate_captures=False,
    refund_window_days=365,
    recurring=True,
    mandate_instrument="BANK_ACCOUNT",
    bank_selection=True,
    chargebacks=False,
    pending_refunds=True,
    requires_consumer_name=True,
    sources={
        "countries": PPRO_IDEAL_PAGE,
        "currencies": PPRO_IDEAL_PAGE,
        "amount_limits": PPRO_IDEAL_PAGE,
        "capture_modes": PPRO_IDEAL_PAGE,
        "refund_window": PPRO_IDEAL_PAGE,
        "chargebacks": PPRO_IDEAL_PAGE,
        "recurring": PPRO_IDEAL_RECURRING_PAGE,
        "pending_refunds": "https://developerhub.ppro.com/global-api/docs/refund",
    },
)
