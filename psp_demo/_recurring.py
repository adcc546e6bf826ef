"""Scenario 3: recurring payments through the AsyncGateway.

A mandate (PPRO payment agreement) with an initial charge, approved once by the consumer;
two merchant-initiated charges with automatic capture; revocation; and a charge after the
revocation, which PPRO refuses in-band and psp reports as a declined result, not an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from psp_core import (
    AmountType,
    CaptureMode,
    Consumer,
    DeclineCode,
    EventKind,
    Frequency,
    FrequencyUnit,
    InitialCharge,
    MandateChargeRequest,
    MandateRequest,
    MandateStatus,
    PaymentStatus,
    RevokeMandateRequest,
    WebhookEvent,
)

from ._consumer import press_async
from ._env import DemoEnv
from ._steps import Page, expect_payment, expect_redirect, expect_return, expect_webhooks, summary, usd
from ._timeline import Scenario, Step

KEY = "recurring"
TITLE = "Recurring: mandate with initial charge, two merchant-initiated charges, revocation"
CONSUMER = Consumer(country="US", name="Ada Lovelace", email="ada@example.com")


async def _webhooks(step: Step, env: DemoEnv, subject: str, kinds: Sequence[EventKind]) -> list[WebhookEvent]:
    # The receiver waits on a condition variable; keep the event loop free meanwhile.
    return await asyncio.to_thread(expect_webhooks, step, env, subject, kinds)


async def run(env: DemoEnv, scenario: Scenario) -> None:
    initial, monthly, extra = usd(1_000), usd(9_000), usd(4_550)
    async with (
        env.async_gateway(scenario.http_log) as gateway,
        env.async_browser(scenario.http_log) as browser,
    ):
        with scenario.step(
            "create a mandate with an initial charge of 10.00 USD",
            "requires_action with a redirect; names the initial charge",
            Page.INITIAL,
        ) as step:
            now = env.sandbox.clock.now()
            mandate = await gateway.create_mandate(
                MandateRequest(
                    consumer=CONSUMER,
                    return_url=env.receiver.return_url,
                    start=now,
                    end=now + timedelta(days=365),
                    merchant_reference="subscription-3001",
                    frequency=Frequency(FrequencyUnit.MONTHLY),
                    amount=monthly,
                    amount_type=AmountType.MAX,
                    description="Monthly coffee subscription",
                    initial_charge=InitialCharge(initial, merchant_reference="subscription-3001-1"),
                )
            )
            step.mandate(mandate)
            step.expect(
                mandate.status is MandateStatus.REQUIRES_ACTION,
                f"mandate is {mandate.status.value}, expected requires_action",
            )
            url = expect_redirect(step, mandate.next_action.url if mandate.next_action else None)
            step.expect(mandate.initial_payment_id is not None, "no initial charge id on the mandate")
            assert mandate.initial_payment_id is not None
            initial_id = mandate.initial_payment_id
            step.observed = f"requires_action, initial charge {initial_id}"

        with scenario.step(
            "consumer approves the agreement on the hosted page",
            "303 to the shop's return URL with the agreement id",
            Page.RETURN,
        ) as step:
            visit = await press_async(browser, url, "approve")
            await asyncio.to_thread(
                expect_return, step, env, visit, "paymentAgreementId", mandate.id, "approved"
            )

        with scenario.step(
            "the mandate is active", "active; PAYMENT_AGREEMENT_ACTIVE verified", Page.AGREEMENT
        ) as step:
            mandate = await gateway.get_mandate(mandate.id)
            step.mandate(mandate)
            step.expect(
                mandate.status is MandateStatus.ACTIVE,
                f"mandate is {mandate.status.value} ({mandate.provider_status}), expected active",
            )
            await _webhooks(step, env, mandate.id, [EventKind.MANDATE_ACTIVE])
            step.observed = f"active ({mandate.provider_status}); webhook verified"

        with scenario.step(
            "the initial charge was captured", "captured 10.00 USD, webhook verified", Page.INITIAL
        ) as step:
            payment = env.host.store(await gateway.get_payment(initial_id))
            await _webhooks(step, env, initial_id, [EventKind.PAYMENT_CAPTURED])
            expect_payment(step, payment, PaymentStatus.CAPTURED, captured=initial)

        charges = []
        for number, amount in ((1, monthly), (2, extra)):
            with scenario.step(
                f"merchant-initiated charge {amount.format()}, automatic capture",
                f"captured {amount.format()} with no consumer action",
                Page.SUBSEQUENT,
            ) as step:
                payment = env.host.store(
                    await gateway.charge_mandate(
                        MandateChargeRequest(
                            mandate_id=mandate.id,
                            amount=amount,
                            capture_mode=CaptureMode.AUTOMATIC,
                            merchant_reference=f"subscription-3001-{number + 1}",
                        )
                    )
                )
                expect_payment(step, payment, PaymentStatus.CAPTURED, captured=amount)
                step.expect(payment.next_action is None, "a merchant-initiated charge asked for the consumer")
                step.expect(
                    payment.mandate_id == mandate.id,
                    f"charge belongs to mandate {payment.mandate_id}, expected {mandate.id}",
                )
                charges.append(payment)

        with scenario.step(
            "webhooks for both agreement charges",
            "CAPTURE_SUCCEEDED for each, verified",
            Page.AGREEMENT_WEBHOOKS,
        ) as step:
            for payment in charges:
                await _webhooks(step, env, payment.id, [EventKind.PAYMENT_CAPTURED])
            step.observed = f"{len(step.webhooks)} verified, both charges captured"

        with scenario.step(
            "revoke the mandate", "revoked; PAYMENT_AGREEMENT_REVOKED_BY_MERCHANT verified", Page.REVOKED
        ) as step:
            mandate = await gateway.revoke_mandate(RevokeMandateRequest(mandate.id))
            step.mandate(mandate)
            step.expect(
                mandate.status is MandateStatus.REVOKED,
                f"mandate is {mandate.status.value}, expected revoked",
            )
            await _webhooks(step, env, mandate.id, [EventKind.MANDATE_REVOKED])
            step.observed = f"revoked ({mandate.provider_status}); webhook verified"

        with scenario.step(
            "charge 10.00 USD after the revocation",
            "a declined result (mandate_revoked), nothing captured",
            Page.REVOKED,
        ) as step:
            refused = await gateway.charge_mandate(
                MandateChargeRequest(
                    mandate_id=mandate.id, amount=initial, merchant_reference="subscription-3001-4"
                )
            )
            step.payment(refused)
            observed = summary(refused)
            step.expect(
                refused.status in (PaymentStatus.DECLINED, PaymentStatus.FAILED),
                f"{observed}; expected declined",
            )
            step.expect(
                refused.decline is not None and refused.decline.code is DeclineCode.MANDATE_REVOKED,
                f"{observed}; expected decline mandate_revoked",
            )
            step.expect(not refused.captured, f"{observed}; expected nothing captured")
            step.observed = observed


def run_sync(env: DemoEnv, scenario: Scenario) -> None:
    asyncio.run(run(env, scenario))
