"""Scenario 4: after the sale: a chargeback, and a refund asked for after the 6-month window.

The refund window is checked twice, and the demo shows both: the gateway refuses before any
I/O when the stored payment knows when it was captured (a ``ValidationError`` naming
``payment.captured_at``), and PPRO refuses in-band (REFUND_PERIOD_EXPIRED, mapped to a
declined refund with the totals unchanged) when the host did not keep that date.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from psp_core import (
    AuthorizeRequest,
    Consumer,
    DeclineCode,
    EventKind,
    Payment,
    PaymentStatus,
    RefundRequest,
    ValidationError,
)

from ._consumer import press
from ._env import DemoEnv
from ._steps import Page, expect_payment, expect_return, expect_webhooks, summary, usd
from ._timeline import Scenario, Step

KEY = "after_sale"
TITLE = "After the sale: partial and full chargebacks, and a refund after the 6-month window"
CONSUMER = Consumer(country="US", name="Grace Hopper")
# Seven months: past PPRO's 6-month refund validity (six calendar months after the capture).
SEVEN_MONTHS = timedelta(days=7 * 30)


def run(env: DemoEnv, scenario: Scenario) -> None:
    with (
        env.gateway(scenario.http_log) as gateway,
        env.browser(scenario.http_log) as browser,
        env.operator(scenario.http_log) as operator,
    ):

        def paid(step: Step, minor: int, reference: str) -> Payment:
            """Authorize with automatic capture, let the consumer approve, read it back."""
            payment = env.host.store(
                gateway.authorize(
                    AuthorizeRequest(
                        amount=usd(minor),
                        consumer=CONSUMER,
                        return_url=env.receiver.return_url,
                        merchant_reference=reference,
                    )
                )
            )
            step.expect(payment.next_action is not None, f"{summary(payment)}; expected a redirect")
            assert payment.next_action is not None
            expect_return(
                step,
                env,
                press(browser, payment.next_action.url, "approve"),
                "paymentChargeId",
                payment.id,
                "approved",
            )
            payment = env.host.store(gateway.get_payment(payment.id))
            expect_webhooks(step, env, payment.id, [EventKind.PAYMENT_CAPTURED])
            expect_payment(step, payment, PaymentStatus.CAPTURED, captured=usd(minor))
            return payment

        with scenario.step(
            "pay 50.00 USD, automatic capture; consumer approves", "captured 50.00 USD", Page.CAPTURED
        ) as step:
            disputed = paid(step, 5_000, "order-4001")

        with scenario.step(
            "consumer disputes 20.00 USD: chargeback",
            "the sandbox records a partial chargeback of 20.00 USD",
            Page.CHARGEBACK,
        ) as step:
            answer = operator.post(f"/__sandbox__/charges/{disputed.id}/chargeback", json={"amount": 2_000})
            step.expect(
                answer.status_code == 200, f"admin route answered {answer.status_code}: {answer.text}"
            )
            step.observed = f"chargeback of {usd(int(answer.json()['amount'])).format()} filed"

        with scenario.step(
            "CHARGEBACK_SUCCEEDED webhook, partial",
            "verified; record captured, charged back 20.00 USD, 30.00 USD still refundable",
            Page.PARTIAL_CHARGEBACK,
        ) as step:
            expect_webhooks(step, env, disputed.id, [EventKind.PAYMENT_CHARGED_BACK])
            stored = env.host.payments[disputed.id]
            expect_payment(
                step, stored, PaymentStatus.CAPTURED, charged_back=usd(2_000), refundable=usd(3_000)
            )

        with scenario.step(
            "refund 40.00 USD: more than is left",
            "ValidationError on amount: only 30.00 USD is left to refund",
            Page.PARTIAL_CHARGEBACK,
        ) as step:
            stored = env.host.payments[disputed.id]
            step.payment(stored)
            sent_before = len(scenario.http_log)
            try:
                gateway.refund(RefundRequest(stored, usd(4_000)))
            except ValidationError as error:
                step.expect(error.field == "amount", f"ValidationError on {error.field!r}, expected 'amount'")
                step.expect(len(scenario.http_log) == sent_before, "the refused refund still sent a request")
                step.observed = f"ValidationError: {error}"
            else:
                step.expect(False, "the gateway sent a refund beyond what the chargeback left")

        with scenario.step(
            "consumer disputes the rest: chargeback",
            "the sandbox records 30.00 USD more; the shop's record is charged_back 50.00 USD",
            Page.CHARGEBACK,
        ) as step:
            answer = operator.post(f"/__sandbox__/charges/{disputed.id}/chargeback", json={})
            step.expect(
                answer.status_code == 200 and answer.json()["amount"] == 3_000,
                f"admin route answered {answer.status_code}: {answer.text}",
            )
            expect_webhooks(step, env, disputed.id, [EventKind.PAYMENT_CHARGED_BACK] * 2)
            stored = env.host.payments[disputed.id]
            expect_payment(
                step, stored, PaymentStatus.CHARGED_BACK, charged_back=usd(5_000), refundable=usd(0)
            )
            over = operator.post(f"/__sandbox__/charges/{disputed.id}/chargeback", json={"amount": 1})
            step.expect(
                over.status_code == 409, f"a chargeback beyond the balance answered {over.status_code}"
            )
            step.observed = f"{summary(stored)}; a further chargeback is refused ({over.status_code})"

        with scenario.step(
            "pay 80.00 USD, automatic capture; consumer approves",
            "captured 80.00 USD, capture time known",
            Page.CAPTURED,
        ) as step:
            late = paid(step, 8_000, "order-4002")
            step.expect(late.captured_at is not None, "the payment does not say when it was captured")

        with scenario.step(
            "sandbox clock +7 months", "the admin route moves time past the refund window", Page.REFUND_WINDOW
        ) as step:
            answer = env.advance_clock(operator, int(SEVEN_MONTHS.total_seconds()))
            step.expect(answer.status_code == 200, f"admin route answered {answer.status_code}")
            step.observed = f"sandbox time is now {answer.json().get('now')}"

        with scenario.step(
            "refund 80.00 USD: the gateway refuses before any I/O",
            "ValidationError on payment.captured_at; no request sent",
            Page.GATEWAY_WINDOW,
        ) as step:
            step.payment(late)
            sent_before = len(scenario.http_log)
            try:
                gateway.refund(RefundRequest(late, merchant_reference="order-4002-return"))
            except ValidationError as error:
                step.expect(
                    error.field == "payment.captured_at",
                    f"ValidationError on {error.field!r}, expected 'payment.captured_at'",
                )
                step.expect(len(scenario.http_log) == sent_before, "the refused refund still sent a request")
                step.observed = f"ValidationError: {error}"
            else:
                step.expect(False, "the gateway sent a refund outside the 6-month window")

        with scenario.step(
            "same refund, capture date unknown: PPRO refuses",
            "declined refund, refund_period_expired, refunded stays 0.00 USD",
            Page.PPRO_WINDOW,
        ) as step:
            # A host that did not keep captured_at: the gateway cannot check, PPRO must.
            unknown = attrs.evolve(late, captured_at=None)
            refused = gateway.refund(RefundRequest(unknown, merchant_reference="order-4002-return"))
            step.payment(refused)
            observed = summary(refused)
            step.expect(
                refused.decline is not None and refused.decline.code is DeclineCode.REFUND_PERIOD_EXPIRED,
                f"{observed}; expected decline refund_period_expired",
            )
            step.expect(
                not refused.refunded and refused.status is PaymentStatus.CAPTURED,
                f"{observed}; expected captured with nothing refunded",
            )
            step.observed = observed
