"""Each payment method's rules, as PPRO's method pages state them and the sandbox enforces them.

The sandbox is PPRO, not a plugin: it keeps its own table and imports no profile, so the
contract suite can check that a provider's declared profile matches what PPRO does. A method
not in :data:`METHODS` is refused in-band (INVALID_PAYMENT_METHOD), as PPRO does for a method
a merchant has not contracted.
"""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

BIC = r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?"
"""A BIC (ISO 9362), the ``bankCode`` that skips iDEAL's bank selection."""


@frozen(kw_only=True)
class MethodRules:
    """One method's product rules. Amounts are minor units of ``currency``.

    ``separate_captures``: the method can hold an authorization for a later capture at all
    (the sandbox's ``separate_captures`` switch may still turn it off). Without it a charge is
    captured on approval whatever ``autoCapture`` says. ``refund_window_days``: the refund
    validity in days, for methods that publish it so; otherwise the sandbox's calendar-month
    window applies. ``bank_selection``: the hosted page asks for the consumer's bank unless
    the request's ``instrument`` names one. ``agreement_instrument``: the instrument an
    agreement must carry (with a ``debitMandateId``). ``verification_charge``: the amount
    charged and refunded at once to check the account, when an agreement has no initial charge.
    """

    code: str
    currency: str
    countries: frozenset[str]
    min_amount: int
    max_amount: int
    separate_captures: bool
    authentication_timeout_s: int
    refund_window_days: int | None = None
    chargebacks: bool = True
    buyer_details: bool = False
    bank_selection: bool = False
    agreement_instrument: str | None = None
    verification_charge: int | None = None


AMAZON_PAY = MethodRules(
    # https://developerhub.ppro.com/global-api/docs/amazon-pay: US, USD, 0.50 to 20,000.00,
    # "Authentication timeout 1 hour"; the buyer pays with what is saved at Amazon.
    code="AMAZON_PAY",
    currency="USD",
    countries=frozenset({"US"}),
    min_amount=50,
    max_amount=2_000_000,
    separate_captures=True,
    authentication_timeout_s=3600,
    buyer_details=True,
)

IDEAL = MethodRules(
    # https://developerhub.ppro.com/global-api/docs/ideal: NL, EUR, from 0.01 EUR, separate
    # captures No, refunds within 365 days, chargebacks No, "Timeout 30 minutes", and an
    # optional BANK_ACCOUNT instrument whose bankCode (a BIC) skips the bank selection.
    # PPRO publishes no maximum; the sandbox takes 50,000.00 EUR (docs/ideal.md).
    # https://developerhub.ppro.com/global-api/docs/ideal-recurring: agreements carry a
    # BANK_ACCOUNT instrument with a debitMandateId; without an initial charge "a €0.01
    # verification payment will be made and immediately refunded".
    code="IDEAL",
    currency="EUR",
    countries=frozenset({"NL"}),
    min_amount=1,
    max_amount=5_000_000,
    separate_captures=False,
    authentication_timeout_s=1800,
    refund_window_days=365,
    chargebacks=False,
    bank_selection=True,
    agreement_instrument="BANK_ACCOUNT",
    verification_charge=1,
)

METHODS: Mapping[str, MethodRules] = {rules.code: rules for rules in (AMAZON_PAY, IDEAL)}
