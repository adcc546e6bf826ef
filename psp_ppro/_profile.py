"""A payment-method profile: what one PPRO payment method is, as a psp provider sees it.

PPRO serves many payment methods through one API; what differs between them is data (the
method code, markets, currencies, limits, capture and refund rules, recurring, required
fields), not code. A profile holds that data, and :class:`psp_ppro.PproPlugin` turns one
profile into one provider plugin. Each field names its source in ``sources`` or in the
method's guide (``docs/amazon_pay.md``, ``docs/ideal.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import attrs

from psp_core import AmountLimits

ACCOUNT_SETTINGS: Mapping[str, str] = {
    "api_key": "PPRO_API_KEY",
    "merchant_id": "PPRO_MERCHANT_ID",
    "base_url": "PPRO_BASE_URL",
    "webhook_secret": "PPRO_WEBHOOK_SECRET",
    "timeout_s": "PPRO_TIMEOUT_S",
    "legacy_webhook_signature": "PPRO_LEGACY_WEBHOOK_SIGNATURE",
    "webhook_tolerance_s": "PPRO_WEBHOOK_TOLERANCE_S",
}
"""Settings of the PPRO account, the same for every method a merchant runs through it."""


def method_settings(prefix: str, *, separate_captures: bool) -> Mapping[str, str]:
    """Option name -> environment variable for a method: the account's, then the method's own.

    The method's own (its amount limits and refund window, and the capture switch where the
    method has separate captures) take ``prefix`` so two methods on one account never share one.
    """
    own = {
        "refund_window_days": f"{prefix}REFUND_WINDOW_DAYS",
        "min_amount": f"{prefix}MIN_AMOUNT",
        "max_amount": f"{prefix}MAX_AMOUNT",
    }
    if separate_captures:
        own = {"separate_captures": f"{prefix}SEPARATE_CAPTURES", **own}
    return {**ACCOUNT_SETTINGS, **own}


@attrs.frozen
class MethodProfile:
    """One PPRO payment method as one psp provider.

    ``limits`` are the method's, in its one currency; a merchant's configured limits may only
    narrow them. ``separate_captures`` says whether the method offers separate captures at
    all (then a merchant may still turn them off); ``refund_window_months`` and
    ``refund_window_days`` are the method's published refund validity, whichever PPRO states.
    ``mandate_instrument`` is the instrument type an agreement of this method carries
    (iDEAL's SEPA mandate is a ``BANK_ACCOUNT``), or None when PPRO takes none.
    """

    provider: str
    payment_method: str
    display_name: str
    description: str
    guide: str
    countries: frozenset[str]
    limits: AmountLimits
    settings: Mapping[str, str]
    separate_captures: bool = False
    refund_window_months: int | None = None
    refund_window_days: int | None = None
    authorization_validity: timedelta | None = None
    recurring: bool = False
    mandate_instrument: str | None = None
    bank_selection: bool = False
    chargebacks: bool = False
    partial_chargebacks: bool = False
    pending_refunds: bool = True
    requires_consumer_name: bool = True
    sources: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def currency(self) -> str:
        return self.limits.minimum.currency

    def refund_validity(self) -> str:
        """The method's refund validity in words, for error messages."""
        if self.refund_window_months is not None:
            return f"{self.refund_window_months} months"
        if self.refund_window_days is not None:
            return f"{self.refund_window_days} days"
        return "refund validity"
