"""Steps the demo's scenarios share, and the product-page statements they check.

Each helper records what it saw on the :class:`Step` and fails it, with the observed value,
when the behaviour differs from what PPRO's Amazon Pay page (or a documented sandbox rule)
promises.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from psp_core import EventKind, Money, Payment, PaymentStatus, WebhookEvent

from ._consumer import BrowserVisit
from ._env import DemoEnv
from ._receiver import ReturnHit
from ._timeline import Step

WEBHOOK_WAIT_S = 5.0


class Page:
    """What PPRO's Amazon Pay product page says, quoted where a step checks it."""

    REDIRECT = "product page: response AUTHENTICATION_PENDING with a REDIRECT requestUrl"
    RETURN = "product page: the consumer is redirected to the returnUrl (success, failure or cancel)"
    SEPARATE = "product page: Separate captures: Yes"
    CAPTURED = "product page: after the consumer confirms, the charge transitions to CAPTURED"
    WEBHOOKS = "product page: you can receive webhooks for all changes to the payment charge state"
    PENDING_REFUND = "PPRO spec: a refund is PENDING until it is REFUNDED or FAILED; psp reserves it"
    PARTIAL_CHARGEBACK = "psp: a partial chargeback is recorded; the rest stays refundable"
    REFUND_WINDOW = "product page: Refund validity: 6 months"
    TIMEOUT = "product page: not authenticated within the timeout window -> DISCARDED"
    CHARGEBACK = "product page: Chargeback: Yes"
    AGREEMENT = "product page: consumer confirms the agreement -> ACTIVE"
    INITIAL = "product page: initialPaymentCharge initiates the first payment immediately"
    SUBSEQUENT = "product page: subsequent charges need no consumer interaction (autoCapture: true)"
    AGREEMENT_WEBHOOKS = "product page: webhooks for charges under an agreement, the same way"
    DECLINE_AMOUNTS = "sandbox rule: 3,000.00-4,000.00 USD decline on approval; ..02 INSUFFICIENT_FUNDS"
    CANCEL = "product page: the user cancelled/aborted the flow"
    REVOKED = "PPRO: charging a revoked agreement fails with AGREEMENT_REVOKED"
    GATEWAY_WINDOW = "psp: the gateway checks the refund window before any I/O"
    PPRO_WINDOW = "PPRO: a refund after the window is refused in-band, REFUND_PERIOD_EXPIRED"


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def summary(payment: Payment) -> str:
    """``captured 40.00 USD of 100.00 USD`` style words for the status and the totals that matter."""
    parts = [payment.status.value]
    if payment.captured:
        parts.append(f"captured {payment.captured.format()}")
    elif payment.authorized:
        parts.append(f"authorized {payment.authorized.format()}")
    if payment.refunded:
        parts.append(f"refunded {payment.refunded.format()}")
    if payment.refund_pending:
        parts.append(f"refund pending {payment.refund_pending.format()}")
    if payment.charged_back:
        parts.append(f"charged back {payment.charged_back.format()}")
    if payment.refunded or payment.refund_pending or payment.charged_back:
        parts.append(f"refundable {payment.refundable.format()}")
    if payment.decline is not None:
        parts.append(f"decline {payment.decline.code.value} ({payment.decline.provider_code})")
    return ", ".join(parts)


def expect_payment(step: Step, payment: Payment, status: PaymentStatus, **totals: Money) -> None:
    """The payment is in ``status`` and each named total (``captured=...``) has this value."""
    step.payment(payment)
    observed = summary(payment)
    step.expect(payment.status is status, f"{observed}; expected {status.value}")
    for name, value in totals.items():
        actual: Money = getattr(payment, name)
        step.expect(actual == value, f"{observed}; expected {name} {value.format()}, got {actual.format()}")
    step.observed = observed


def expect_redirect(step: Step, url: str | None) -> str:
    """The next action is a redirect to an absolute URL (the hosted page); returns it."""
    step.expect(url is not None and url.startswith("http"), f"next action {url!r}; expected a redirect URL")
    assert url is not None
    return url


def expect_return(
    step: Step, env: DemoEnv, visit: BrowserVisit, key: str, subject: str, result: str
) -> ReturnHit:
    """The hosted page answered, the form post was redirected to the shop, and the shop saw it."""
    step.expect(visit.page_status == 200, f"hosted page answered {visit.page_status}")
    step.expect(
        visit.submit_status == 303 and visit.redirected_to is not None,
        f"submitting the form answered {visit.submit_status}, expected a 303 redirect",
    )
    assert visit.redirected_to is not None
    step.expect(
        visit.redirected_to.startswith(env.receiver.return_url),
        f"redirected to {visit.redirected_to}, not the shop's return URL",
    )
    hit = env.receiver.wait_for_return(key, subject, timeout_s=2.0)
    step.expect(hit is not None, "the shop's return URL never saw the consumer")
    assert hit is not None
    step.expect(
        hit.query.get("result") == result,
        f"returned with result={hit.query.get('result')!r}, expected {result!r}",
    )
    step.observed = f"303 -> return URL reached ({key}={subject}, result={result})"
    return hit


def expect_webhooks(step: Step, env: DemoEnv, subject: str, kinds: Sequence[EventKind]) -> list[WebhookEvent]:
    """Each of ``kinds`` arrived for ``subject``, verified; new events are folded into the host."""
    events = env.receiver.wait_for_kinds(subject, kinds, WEBHOOK_WAIT_S)
    fresh = env.host.fold(events)
    step.received(fresh)
    seen = Counter(event.kind for event in events)
    missing = [kind.value for kind, n in Counter(kinds).items() if seen[kind] < n]
    step.expect(
        not missing,
        f"no verified webhook {', '.join(missing)} for {subject} "
        f"within {WEBHOOK_WAIT_S:.0f} s (got {sorted(k.value for k in seen)})",
    )
    step.observed = f"{len(fresh)} verified: " + ", ".join(event.provider_type for event in fresh)
    return events
