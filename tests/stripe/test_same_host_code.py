"""The same host function, unchanged, against Amazon Pay on the PPRO sandbox and Stripe on localstripe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from psp_core import Gateway, Money, PaymentStatus, RetryPolicy
from psp_demo._same_host import Shop, sell_and_refund
from psp_localstripe import LocalStripe, LocalStripeSandbox

pytestmark = pytest.mark.loopback


def _amazon_pay() -> Iterator[Shop]:
    from psp_amazonpay import plugin

    sandbox = plugin.psp_sandbox(options={"seed": 7})
    with Gateway(
        "amazon_pay",
        options=dict(sandbox.options),
        transport=sandbox.transport(),
        retry=RetryPolicy.no_wait(),
        clock=sandbox.now,
        environ={},
    ) as gateway:
        yield Shop(gateway, front_end_token=lambda: "unused", consumer_acts=sandbox.approve)
    sandbox.close()


def _stripe(server: LocalStripe) -> Iterator[Shop]:
    sandbox = LocalStripeSandbox(server)
    with Gateway(
        "stripe",
        options=dict(sandbox.options),
        transport=sandbox.transport(),
        retry=RetryPolicy.no_wait(),
        environ={},
    ) as gateway:
        # A 3-D Secure card: the consumer acts before the payment is authorized, as on Amazon Pay.
        yield Shop(gateway, front_end_token=sandbox.payment_method_token, consumer_acts=sandbox.approve)
    sandbox.close()


@pytest.mark.parametrize("provider", ["amazon_pay", "stripe"])
def test_one_host_function_sells_and_refunds_on_both_psps(provider: str, localstripe: LocalStripe) -> None:
    shops = _amazon_pay() if provider == "amazon_pay" else _stripe(localstripe)
    shop = next(shops)
    amount = Money(2500, "USD")
    payment = sell_and_refund(shop, amount, f"order-{provider}")
    assert payment.provider == provider
    assert payment.captured == amount
    assert payment.refunded + payment.refund_pending == Money(1250, "USD")
    assert payment.status in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED)
    next(shops, None)
