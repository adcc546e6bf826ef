"""One host function, written once against psp's interface, for any provider.

``sell_and_refund`` is what a shop's checkout and after-sale code does: authorize with a
separate capture, let the consumer act when the provider asks, capture, refund half. It
reads the provider's capabilities (does it take a token from the front end?) and never its
name, so the same code runs against Amazon Pay on the PPRO sandbox and Stripe on localstripe
(tests/stripe/test_same_host_code.py, ``psp demo stripe``).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from psp_core import (
    AuthorizeRequest,
    CaptureMode,
    CaptureRequest,
    Consumer,
    Gateway,
    Money,
    Payment,
    PaymentStatus,
    RefundReason,
    RefundRequest,
    Requirement,
)

RETURN_URL = "https://shop.example/checkout/return"


@attrs.frozen
class Shop:
    """What the host's code is given: a gateway, its front end, and the consumer's browser."""

    gateway: Gateway
    front_end_token: Callable[[], str]
    """The host's checkout page: the token a token-based provider's client library returns."""
    consumer_acts: Callable[[str], None]
    """The consumer following the payment's next action (a redirect, a 3-D Secure challenge)."""


def sell_and_refund(shop: Shop, amount: Money, reference: str) -> Payment:
    """Authorize, let the consumer act, capture, refund half; the payment as last read."""
    gateway = shop.gateway
    needs_token = gateway.capabilities.payment_method_token is not Requirement.NOT_ACCEPTED
    payment = gateway.authorize(
        AuthorizeRequest(
            amount=amount,
            consumer=Consumer(country="US", name="Jane Doe", email="jane@example.com"),
            return_url=RETURN_URL,
            merchant_reference=reference,
            capture_mode=CaptureMode.SEPARATE,
            payment_method_token=shop.front_end_token() if needs_token else None,
        )
    )
    if payment.status is PaymentStatus.REQUIRES_ACTION:
        shop.consumer_acts(payment.id)
        payment = gateway.get_payment(payment.id)
    if payment.status is not PaymentStatus.AUTHORIZED:
        return payment
    payment = gateway.capture(CaptureRequest(payment))
    half = Money(amount.minor // 2, amount.currency)
    payment = gateway.refund(RefundRequest(payment, half, reason=RefundReason.CUSTOMER_REQUEST))
    return gateway.get_payment(payment.id)
