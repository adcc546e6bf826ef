"""Scenario 1: a one-time payment, captured separately in two parts and refunded in two parts."""

from __future__ import annotations

from psp_core import (
    AuthorizeRequest,
    CaptureMode,
    CaptureRequest,
    Consumer,
    EventKind,
    PaymentStatus,
    RefundReason,
    RefundRequest,
)

from ._demo_consumer import press
from ._demo_env import DemoEnv
from ._demo_steps import Page, expect_payment, expect_redirect, expect_return, expect_webhooks, summary, usd
from ._demo_timeline import Scenario

KEY = "one_time"
TITLE = "One-time payment: separate capture, two partial captures, two partial refunds"
CONSUMER = Consumer(country="US", name="John Smith", email="john.smith@example.com")

_K = EventKind


def run(env: DemoEnv, scenario: Scenario) -> None:
    total, first_capture = usd(10_000), usd(4_000)
    first_refund, second_refund = usd(2_500), usd(3_000)
    with env.gateway(scenario.http_log) as gateway, env.browser(scenario.http_log) as browser:
        with scenario.step(
            "authorize 100.00 USD, capture mode SEPARATE",
            "requires_action with a redirect to the hosted page",
            Page.REDIRECT,
        ) as step:
            payment = env.host.store(
                gateway.authorize(
                    AuthorizeRequest(
                        amount=total,
                        consumer=CONSUMER,
                        return_url=env.receiver.return_url,
                        merchant_reference="order-1001",
                        capture_mode=CaptureMode.SEPARATE,
                        description="Order 1001",
                    )
                )
            )
            expect_payment(step, payment, PaymentStatus.REQUIRES_ACTION)
            url = expect_redirect(step, payment.next_action.url if payment.next_action else None)
            step.observed = f"requires_action, redirect to {url}"

        with scenario.step(
            "consumer approves on the hosted page",
            "303 to the shop's return URL with the charge id",
            Page.RETURN,
        ) as step:
            visit = press(browser, url, "approve")
            expect_return(step, env, visit, "paymentChargeId", payment.id, "approved")

        with scenario.step(
            "read the payment after the return", "authorized 100.00 USD, awaiting capture", Page.SEPARATE
        ) as step:
            payment = env.host.store(gateway.get_payment(payment.id))
            expect_payment(step, payment, PaymentStatus.AUTHORIZED, authorized=total)

        with scenario.step(
            "webhooks: created, authentication pending, authorized",
            "each verified and folded into the shop's record",
            Page.WEBHOOKS,
        ) as step:
            expect_webhooks(
                step, env, payment.id, [_K.PAYMENT_CREATED, _K.PAYMENT_REQUIRES_ACTION, _K.PAYMENT_AUTHORIZED]
            )
            stored = env.host.payments[payment.id]
            step.payment(stored)
            step.expect(
                stored.status is PaymentStatus.AUTHORIZED,
                f"shop's record is {summary(stored)}, expected authorized",
            )
            step.observed += "; record authorized"

        with scenario.step(
            "capture 40.00 USD", "partially_captured, 60.00 USD still capturable", Page.SEPARATE
        ) as step:
            payment = env.host.store(
                gateway.capture(
                    CaptureRequest(payment, amount=first_capture, merchant_reference="order-1001-ship-1")
                )
            )
            expect_payment(step, payment, PaymentStatus.PARTIALLY_CAPTURED, captured=first_capture)
            step.expect(
                payment.capturable == total - first_capture,
                f"{payment.capturable.format()} capturable, expected 60.00 USD",
            )
            step.observed += f", {payment.capturable.format()} still capturable"

        with scenario.step(
            "capture the remaining 60.00 USD", "captured 100.00 USD in two captures", Page.SEPARATE
        ) as step:
            payment = env.host.store(
                gateway.capture(CaptureRequest(payment, merchant_reference="order-1001-ship-2"))
            )
            expect_payment(step, payment, PaymentStatus.CAPTURED, captured=total)

        with scenario.step(
            "webhooks: two captures", "two CAPTURE_SUCCEEDED, verified; record captured", Page.CAPTURED
        ) as step:
            expect_webhooks(step, env, payment.id, [_K.PAYMENT_CAPTURED, _K.PAYMENT_CAPTURED])
            stored = env.host.payments[payment.id]
            step.payment(stored)
            step.expect(
                stored.status is PaymentStatus.CAPTURED and stored.captured == total,
                f"shop's record is {summary(stored)}, expected captured 100.00 USD",
            )
            step.observed += f"; record captured {stored.captured.format()}"

        with scenario.step(
            "refund 25.00 USD", "partially_refunded, 25.00 USD refunded", Page.REFUNDS
        ) as step:
            payment = env.host.store(
                gateway.refund(
                    RefundRequest(
                        payment,
                        amount=first_refund,
                        reason=RefundReason.RETURN,
                        merchant_reference="order-1001-return-1",
                    )
                )
            )
            expect_payment(step, payment, PaymentStatus.PARTIALLY_REFUNDED, refunded=first_refund)

        with scenario.step(
            "refund 30.00 USD", "partially_refunded, 55.00 USD refunded", Page.REFUNDS
        ) as step:
            payment = env.host.store(
                gateway.refund(
                    RefundRequest(
                        payment,
                        amount=second_refund,
                        reason=RefundReason.CUSTOMER_REQUEST,
                        merchant_reference="order-1001-return-2",
                    )
                )
            )
            expect_payment(
                step, payment, PaymentStatus.PARTIALLY_REFUNDED, refunded=first_refund + second_refund
            )

        with scenario.step(
            "final state: PPRO and the shop's record agree",
            "partially_refunded, captured 100.00 USD, refunded 55.00 USD",
            Page.WEBHOOKS,
        ) as step:
            expect_webhooks(step, env, payment.id, [_K.PAYMENT_REFUNDED, _K.PAYMENT_REFUNDED])
            read = gateway.get_payment(payment.id)
            expect_payment(
                step,
                read,
                PaymentStatus.PARTIALLY_REFUNDED,
                captured=total,
                refunded=first_refund + second_refund,
            )
            stored = env.host.payments[payment.id]
            same = (stored.status, stored.captured, stored.refunded) == (
                read.status,
                read.captured,
                read.refunded,
            )
            step.expect(same, f"PPRO says {summary(read)}; the shop's record says {summary(stored)}")
            step.observed = f"{summary(read)}; record agrees"
