"""The Amazon Pay method profile, from PPRO's Amazon Pay page (docs/amazon_pay.md)."""

from __future__ import annotations

from datetime import timedelta

from psp_core import AmountLimits, Money
from psp_ppro import MethodProfile, method_settings

PPRO_AMAZON_PAY_PAGE = "https://developerhub.ppro.com/global-api/docs/amazon-pay"
AMAZON_PAY_CHARGE_PAGE = "https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html"

METHOD_LIMITS = AmountLimits(Money(50, "USD"), Money(2_000_000, "USD"))
"""0.50 to 20,000.00 USD, PPRO's Amazon Pay page; the maximum "can vary by consumer"."""

PROFILE = MethodProfile(
    provider="amazon_pay",
    payment_method="AMAZON_PAY",
    display_name="Amazon Pay (PPRO)",
    description="Amazon Pay through the PPRO Global API: charges, captures, refunds, voids, "
    "recurring agreements and signed webhooks.",
    guide="docs/amazon_pay.md",
    countries=frozenset({"US"}),
    limits=METHOD_LIMITS,
    # The option names and PPRO_* variables of the seed's plugin, kept as they were.
    settings=method_settings("PPRO_", separate_captures=True),
    # PPRO's newer page says separate captures are off for Amazon Pay; a merchant turns them
    # off with separate_captures=False (then capture and void are not offered at all).
    separate_captures=True,
    # "Refund validity 6 months" (PPRO's Amazon Pay page). PPRO does not say where the window
    # starts; psp decides it runs from the first capture, in calendar months.
    refund_window_months=6,
    # Amazon Pay cancels a charge "after 30 days in the Authorized state" (Amazon Pay API v2,
    # Charge); PPRO publishes no period of its own.
    authorization_validity=timedelta(days=30),
    recurring=True,
    chargebacks=True,
    partial_chargebacks=True,
    pending_refunds=True,
    requires_consumer_name=True,
    sources={
        "amount_limits": PPRO_AMAZON_PAY_PAGE,
        "refund_window_months": PPRO_AMAZON_PAY_PAGE,
        "authorization_validity": AMAZON_PAY_CHARGE_PAGE,
        "pending_refunds": "https://developerhub.ppro.com/global-api/docs/refund",
    },
)
