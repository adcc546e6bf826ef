"""Scenario 2: payments that do not complete: declined, cancelled by the consumer, timed out."""

from __future__ import annotations

from psp_core import AuthorizeRequest, Consumer, DeclineCode, EventKind, Payment, PaymentStatus

from ._consumer import press
from ._env import DemoEnv
from ._steps import Page, expect_payment, expect_redirect, expect_return, expect_webhooks, summary, usd
from ._timeline import Scenario, Step

KEY = "failures"
TITLE = "Payments that fail: declined, cancelled by the consumer, timed out (DISCARDED -> expired)"
CONSUMER = Consumer(country="US", name="Jane Doe")
# Amazon Pay's authentication timeout is one hour (PPRO's Amazon Pay page); a minute more.
PAST_TIMEOUT_S = 3600 + 60
# Declined and cancelled charges are FAILED at PPRO; with a *_DECLINE failure psp says declined.
_REFUSED = (PaymentStatus.DECLINED, PaymentStatus.FAILED)


def _expect_refused(step: Step, payment: Payment, code: DeclineCode) -> None:
    step.payment(payment)
    observed = summary(payment)
    step.expect(payment.status in _REFUSED, f"{observed}; expected declined or failed")
    step.expect(
        payment.decline is not None and payment.decline.code is code,
        f"{observed}; expected decline {code.value}",
    )
    step.expect(not payment.captured, f"{observed}; a refused payment must capture nothing")
    step.observed = observed


def run(env: DemoEnv, scenario: Scenario) -> None:
    with (
        env.gateway(scenario.http_log) as gateway,
        env.browser(scenario.http_log) as browser,
        env.operator(scenario.http_log) as operator,
    ):

        def start(step: Step, minor: int, reference: str) -> tuple[Payment, str]:
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
            expect_payment(step, payment, PaymentStatus.REQUIRES_ACTION)
            return payment, expect_redirect(step, payment.next_action.url if payment.next_action else None)

        with scenario.step(
            "authorize 3,000.02 USD (a sandbox decline amount)",
            "requires_action; the decline comes after the consumer approves",
            Page.DECLINE_AMOUNTS,
        ) as step:
            declined, url = start(step, 300_002, "order-2001")

        with scenario.step(
            "consumer approves; the provider declines",
            "back at the return URL; declined, insufficient_funds, webhook verified",
            Page.RETURN,
        ) as step:
            expect_return(
                step, env, press(browser, url, "approve"), "paymentChargeId", declined.id, "approved"
            )
            _expect_refused(step, gateway.get_payment(declined.id), DeclineCode.INSUFFICIENT_FUNDS)
            observed = step.observed
            expect_webhooks(step, env, declined.id, [EventKind.PAYMENT_DECLINED])
            step.observed = f"{observed}; AUTHORIZATION_FAILED webhook verified"

        with scenario.step(
            "authorize 20.00 USD; the consumer cancels",
            "303 back to the return URL with result=canceled",
            Page.CANCEL,
        ) as step:
            cancelled, url = start(step, 2_000, "order-2002")
            expect_return(
                step, env, press(browser, url, "cancel"), "paymentChargeId", cancelled.id, "canceled"
            )

        with scenario.step(
            "read the cancelled payment", "declined, cancelled_by_consumer", Page.CANCEL
        ) as step:
            _expect_refused(step, gateway.get_payment(cancelled.id), DeclineCode.CANCELLED_BY_CONSUMER)

        with scenario.step(
            "authorize 15.00 USD; the consumer never comes back", "requires_action", Page.REDIRECT
        ) as step:
            abandoned, _ = start(step, 1_500, "order-2003")

        with scenario.step(
            "sandbox clock +61 min (past the 1-hour timeout)",
            "the sandbox's admin route moves time",
            Page.TIMEOUT,
        ) as step:
            answer = env.advance_clock(operator, PAST_TIMEOUT_S)
            step.expect(answer.status_code == 200, f"admin route answered {answer.status_code}")
            step.observed = f"sandbox time is now {answer.json().get('now')}"

        with scenario.step(
            "the abandoned payment expired", "DISCARDED -> expired, webhook verified", Page.TIMEOUT
        ) as step:
            expect_webhooks(step, env, abandoned.id, [EventKind.PAYMENT_EXPIRED])
            read = gateway.get_payment(abandoned.id)
            expect_payment(step, read, PaymentStatus.EXPIRED)
            step.expect(
                read.provider_status == "DISCARDED", f"PPRO status {read.provider_status}, expected DISCARDED"
            )
            stored = env.host.payments[abandoned.id]
            step.expect(stored.status is PaymentStatus.EXPIRED, f"shop's record is {summary(stored)}")
            step.observed = f"{read.provider_status} -> {read.status.value}; record agrees"
