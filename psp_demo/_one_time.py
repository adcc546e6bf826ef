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
    ValidationError,
)

from ._consumer import press
from ._env import DemoEnv
from ._steps import Page, expect_payment, expect_redirect, expect_return, expect_webhooks, summary, usd
from ._timeline import Scenario

KEY = "one_time"
TITLE = (
    "One-time payment: separate capture, two partial captures, two partial refunds (pending, then settled)"
)
# The sandbox settles a pending refund after 30 s of its clock (SandboxConfig.refund_settlement_s).
SETTLEMENT_S = 30
CONSUMER = Consumer(country="US", name="John Smith", email="john.smith@example.com")

_K = EventKind


def run(env: DemoEnv, scenario: Scenario) -> None:
    total, first_capture = usd(10_000), usd(4_000)
    first_refund, second_refund = usd(2_500), usd(3_000)
    with (
        env.gateway(scenario.http_log) as gateway,
        env.browser(scenario.http_log) as browser,
        env.operator(scenario.http_log) as operator,
    ):
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
            "refund 25.00 USD",
            "PPRO answers PENDING: captured, refund pending 25.00 USD, 75.00 USD refundable",
            Page.PENDING_REFUND,
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
            expect_payment(
                step, payment, PaymentStatus.CAPTURED, refunded=usd(0), refund_pending=first_refund
            )
            step.expect(
                payment.refundable == total - first_refund,
                f"{payment.refundable.format()} refundable, expected 75.00 USD",
            )

        with scenario.step(
            "refund 80.00 USD while 25.00 USD is pending",
            "ValidationError on amount naming the pending refund; no request sent",
            Page.PENDING_REFUND,
        ) as step:
            step.payment(payment)
            sent_before = len(scenario.http_log)
            (pending,) = payment.pending_refunds
            try:
                gateway.refund(RefundRequest(payment, amount=usd(8_000)))
            except ValidationError as error:
                step.expect(error.field == "amount", f"ValidationError on {error.field!r}, expected 'amount'")
                step.expect(pending.id in str(error), f"the error does not name the pending refund: {error}")
                step.expect(len(scenario.http_log) == sent_before, "the refused refund still sent a request")
                step.observed = f"ValidationError: {error}"
            else:
                step.expect(False, "the gateway sent a refund that could overdraw the payment")

        with scenario.step(
            "sandbox clock +30 s: the refund settles",
            "REFUND_PENDING then REFUND_SUCCEEDED, verified; partially_refunded 25.00 USD",
            Page.PENDING_REFUND,
        ) as step:
            answer = env.advance_clock(operator, SETTLEMENT_S)
            step.expect(answer.status_code == 200, f"admin route answered {answer.status_code}")
            expect_webhooks(step, env, payment.id, [_K.PAYMENT_REFUND_PENDING, _K.PAYMENT_REFUNDED])
            payment = env.host.store(gateway.get_payment(payment.id))
            expect_payment(
                step,
                payment,
                PaymentStatus.PARTIALLY_REFUNDED,
                refunded=first_refund,
                refund_pending=usd(0),
            )

        with scenario.step(
            "refund 30.00 USD; the operator settles it",
            "pending 30.00 USD, then partially_refunded 55.00 USD",
            Page.PENDING_REFUND,
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
            (pending,) = payment.pending_refunds
            step.expect(pending.amount == second_refund, f"pending {pending.amount.format()}, expected 30.00")
            settled = operator.post(f"/__sandbox__/charges/{payment.id}/refunds/{pending.id}/settle", json={})
            step.expect(settled.status_code == 200, f"admin route answered {settled.status_code}")
            payment = env.host.store(gateway.get_payment(payment.id))
            expect_payment(
                step, payment, PaymentStatus.PARTIALLY_REFUNDED, refunded=first_refund + second_refund
            )

        with scenario.step(
            "final state: PPRO and the shop's record agree",
            "partially_refunded, captured 100.00 USD, refunded 55.00 USD, 45.00 USD refundable",
            Page.WEBHOOKS,
        ) as step:
            expect_webhooks(
                step,
                env,
                payment.id,
                [
                    _K.PAYMENT_REFUND_PENDING,
                    _K.PAYMENT_REFUND_PENDING,
                    _K.PAYMENT_REFUNDED,
                    _K.PAYMENT_REFUNDED,
                ],
            )
            read = gateway.get_payment(payment.id)
            expect_payment(
                step,
                read,
                PaymentStatus.PARTIALLY_REFUNDED,
                captured=total,
                refunded=first_refund + second_refund,
                refundable=total - first_refund - second_refund,
            )
            stored = env.host.payments[payment.id]
            same = (stored.status, stored.captured, stored.refunded, stored.refund_pending) == (
                read.status,
                read.captured,
                read.refunded,
                read.refund_pending,
            )
            step.expect(same, f"PPRO says {summary(read)}; the shop's record says {summary(stored)}")
            step.observed = f"{summary(read)}; record agrees"
