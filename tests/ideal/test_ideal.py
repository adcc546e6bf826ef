"""iDEAL through PPRO: the second PPRO provider, from its profile to the sandbox and back.

Each test names the rule it holds to; the rules and their sources are in docs/ideal.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import psp_amazonpay
import psp_ideal
from psp_core import (
    AuthorizeRequest,
    CaptureMode,
    ConfigurationError,
    Consumer,
    EventKind,
    Gateway,
    MandateRequest,
    MandateStatus,
    Money,
    PaymentStatus,
    ProviderResponseError,
    RefundRequest,
    RetryPolicy,
    ValidationError,
    WebhookEvent,
    WebhookVerificationError,
    apply_event,
)
from psp_ppro import OTHER_METHOD, route_webhook
from psp_ppro.sandbox import Sandbox, SandboxConfig, WebhookDelivery

SPECS = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "ppro-openapi"
CHARGES, AGREEMENTS = "ppro-payment-charges.json", "ppro-payment-agreements.json"
RETURN_URL = "https://shop.example/return"
SECRET = "whsec_ideal_test"
OPTIONS: dict[str, object] = {
    "api_key": "key_ideal_test",
    "merchant_id": "merch_nl",
    "base_url": "https://ppro.test",
    "webhook_secret": SECRET,
}
DUTCH = Consumer(country="NL", name="Jan de Vries")


class Recorder(httpx.BaseTransport):
    """Answers every request with one response and keeps what was sent."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.response


def ideal_gateway(transport: httpx.BaseTransport, **options: object) -> Gateway:
    return Gateway(
        "ideal",
        options={**OPTIONS, **options},
        environ={},
        transport=transport,
        retry=RetryPolicy.no_wait(),
    )


def payment_request(minor: int = 1995, **overrides: Any) -> AuthorizeRequest:
    fields: dict[str, Any] = {
        "amount": Money(minor, "EUR"),
        "consumer": DUTCH,
        "return_url": RETURN_URL,
        "merchant_reference": "order-nl-1",
    }
    fields.update(overrides)
    return AuthorizeRequest(**fields)


def mandate_request(reference: str = "mandate-nl-1", **overrides: Any) -> MandateRequest:
    fields: dict[str, Any] = {
        "consumer": DUTCH,
        "return_url": RETURN_URL,
        "start": datetime(2026, 2, 1, tzinfo=UTC),
        "merchant_reference": reference,
    }
    fields.update(overrides)
    return MandateRequest(**fields)


# -- the profile as a provider ------------------------------------------------------------------


def test_ideal_declares_the_netherlands_euros_and_no_separate_capture() -> None:
    with ideal_gateway(Recorder(httpx.Response(500))) as gw:
        caps = gw.config.capabilities
    assert caps.currencies == {"EUR"} and caps.countries == {"NL"}
    assert caps.amount_limits["EUR"].minimum == Money(1, "EUR")
    assert caps.capture_modes == {CaptureMode.AUTOMATIC}
    assert not caps.void and not caps.partial_capture
    assert caps.refund_window == timedelta(days=365) and caps.refund_window_months is None
    assert caps.recurring and not caps.chargebacks
    assert caps.turned_off_by is None  # nothing a merchant turned off: iDEAL has no captures


def test_ideal_has_its_own_method_settings_beside_the_shared_ppro_account() -> None:
    info = psp_ideal.plugin.psp_provider_info()
    assert info.name == "ideal"
    assert info.settings["api_key"] == "PPRO_API_KEY"
    assert info.settings["min_amount"] == "PPRO_IDEAL_MIN_AMOUNT"
    assert "separate_captures" not in info.settings
    config = psp_ideal.plugin.psp_configure(
        {},
        {
            "PPRO_API_KEY": "k",
            "PPRO_MERCHANT_ID": "m",
            "PPRO_IDEAL_MIN_AMOUNT": "1.50",
            "PPRO_MIN_AMOUNT": "9.00",
        },
    )
    assert config.capabilities.amount_limits["EUR"].minimum == Money(150, "EUR")


def test_an_option_ideal_does_not_have_is_refused_not_ignored() -> None:
    with pytest.raises(ConfigurationError, match=r"ideal: unknown option\(s\) \['separate_captures'\]"):
        ideal_gateway(Recorder(httpx.Response(500)), separate_captures=True)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (payment_request(amount=Money(1000, "USD")), "amount"),
        (payment_request(consumer=Consumer(country="BE", name="Jan")), "consumer"),
        (payment_request(capture_mode=CaptureMode.SEPARATE), "capture_mode"),
        (payment_request(0), "amount"),
    ],
    ids=["dollars", "belgium", "separate-capture", "zero"],
)
def test_what_ideal_does_not_take_is_refused_before_any_request(
    request_: AuthorizeRequest, field: str
) -> None:
    ppro = Recorder(httpx.Response(500))
    with ideal_gateway(ppro) as gw, pytest.raises(ValidationError) as caught:
        gw.authorize(request_)
    assert caught.value.field.startswith(field)
    assert ppro.requests == []


@pytest.mark.parametrize("reference", ["x" * 36, "mandate_1", "//mandate", "mandaat-ü"])
def test_a_mandate_reference_that_cannot_be_a_sepa_mandate_id_is_refused_before_any_request(
    reference: str,
) -> None:
    ppro = Recorder(httpx.Response(500))
    with ideal_gateway(ppro) as gw, pytest.raises(ValidationError, match="debitMandateId") as caught:
        gw.create_mandate(mandate_request(reference))
    assert caught.value.field == "merchant_reference"
    assert ppro.requests == []


# -- bodies against PPRO's request schemas --------------------------------------------------------


@cache
def spec(name: str) -> dict[str, Any]:
    path = SPECS / name
    if not path.is_file():
        pytest.skip(f"PPRO's OpenAPI documents are not at {SPECS}; the schema checks need them")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def validator(name: str, schema: str) -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    uri = f"urn:ppro:{name}"
    registry: Registry[Any] = Registry().with_resource(uri, Resource.from_contents(spec(name), DRAFT202012))
    return Draft202012Validator({"$ref": f"{uri}#/components/schemas/{schema}"}, registry=registry)


def _sent(flow: Any) -> dict[str, Any]:
    request: httpx.Request = next(flow)
    body: dict[str, Any] = json.loads(request.content)
    return body


CONFIG = psp_ideal.plugin.psp_configure(OPTIONS, {})
references = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 /?:().,'+-]{0,34}", fullmatch=True)


@given(st.integers(1, 5_000_000), references)
def test_ideal_charge_bodies_name_ideal_and_match_ppros_request_schema(minor: int, reference: str) -> None:
    body = _sent(psp_ideal.plugin.psp_authorize(CONFIG, payment_request(minor, merchant_reference=reference)))
    validator(CHARGES, "AuthorizationRequest").validate(body)
    assert body["paymentMethod"] == "IDEAL"
    assert body["amount"] == {"value": minor, "currency": "EUR"}
    # No separate captures: the request says so rather than leaving it to PPRO's default.
    assert body["autoCapture"] is True


@given(references, st.none() | st.integers(1, 5_000_000))
def test_ideal_agreements_carry_the_sepa_mandate_and_match_ppros_request_schema(
    reference: str, amount: int | None
) -> None:
    request = mandate_request(reference, amount=Money(amount, "EUR") if amount else None)
    body = _sent(psp_ideal.plugin.psp_create_mandate(CONFIG, request))
    validator(AGREEMENTS, "AgreementRequest").validate(body)
    assert body["paymentMethod"] == "IDEAL"
    assert body["instrument"] == {"type": "BANK_ACCOUNT", "details": {"debitMandateId": reference}}


def test_amazon_pay_agreements_carry_no_instrument() -> None:
    config = psp_amazonpay.plugin.psp_configure(OPTIONS, {})
    request = mandate_request(consumer=Consumer(country="US", name="John Smith"))
    body = _sent(psp_amazonpay.plugin.psp_create_mandate(config, request))
    assert body["paymentMethod"] == "AMAZON_PAY" and "instrument" not in body


# -- against the sandbox ---------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(
        SandboxConfig(
            seed=7,
            webhook_secret=SECRET,
            base_url="https://ppro.test",
            default_webhooks_url="https://shop.example/psp/webhooks",
            start_time=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        )
    )


def on(sandbox: Sandbox, provider: str) -> Gateway:
    return Gateway(
        provider,
        options=OPTIONS,
        environ={},
        transport=sandbox.transport(),
        retry=RetryPolicy.no_wait(),
        clock=sandbox.clock.now,
    )


def deliveries(sandbox: Sandbox) -> list[WebhookDelivery]:
    sent: list[WebhookDelivery] = []

    def receive(delivery: WebhookDelivery) -> int:
        sent.append(delivery)
        return 200

    sandbox.drain_webhooks(receive)
    return sent


def test_the_hosted_page_asks_for_the_bank_and_the_payment_captures_on_approval(sandbox: Sandbox) -> None:
    with on(sandbox, "ideal") as gw:
        payment = gw.authorize(payment_request())
        assert payment.status is PaymentStatus.REQUIRES_ACTION and payment.provider == "ideal"
        assert payment.next_action is not None
        page_url = payment.next_action.url
        with httpx.Client(transport=sandbox.transport()) as browser:
            page = browser.get(page_url)
            assert '<select name="bank">' in page.text and "INGBNL2A" in page.text
            # Approving without choosing a bank is not an approval.
            refused = browser.post(page_url, data={"action": "approve"})
            assert refused.status_code == 400 and "choose your bank" in refused.text
            assert gw.get_payment(payment.id).status is PaymentStatus.REQUIRES_ACTION
            chosen = browser.post(page_url, data={"action": "approve", "bank": "INGBNL2A"})
            assert chosen.status_code == 303 and chosen.headers["location"].startswith(RETURN_URL)
        paid = gw.get_payment(payment.id)
    assert paid.status is PaymentStatus.CAPTURED and paid.captured == Money(1995, "EUR")


def test_a_bank_named_in_the_request_skips_the_bank_selection(sandbox: Sandbox) -> None:
    body = {
        "paymentMethod": "IDEAL",
        "amount": {"value": 500, "currency": "EUR"},
        "consumer": {"name": "Jan de Vries", "country": "NL"},
        "authenticationSettings": [{"type": "REDIRECT", "settings": {"returnUrl": RETURN_URL}}],
        "instrument": {"type": "BANK_ACCOUNT", "details": {"bankCode": "RABONL2U"}},
    }
    headers = {"Authorization": "Bearer k", "Merchant-Id": "m"}
    with httpx.Client(transport=sandbox.transport(), base_url="https://ppro.test", headers=headers) as client:
        charge = client.post("/v1/payment-charges", json=body).json()
        page = client.get(charge["authenticationMethods"][0]["details"]["requestUrl"])
        bad = client.post(
            "/v1/payment-charges",
            json={**body, "instrument": {"type": "BANK_ACCOUNT", "details": {"bankCode": "not a bic"}}},
        )
    assert charge["status"] == "AUTHENTICATION_PENDING"
    assert "<select" not in page.text
    assert bad.status_code == 400 and "bankCode" in bad.text


def test_refunds_settle_and_the_sandbox_refuses_what_ideal_does_not_have(sandbox: Sandbox) -> None:
    with on(sandbox, "ideal") as gw:
        payment = gw.authorize(payment_request())
        sandbox.approve(payment.id)
        paid = gw.get_payment(payment.id)
        refunded = gw.refund(RefundRequest(paid, Money(500, "EUR")))
        assert refunded.provider == "ideal"
        sandbox.settle_refunds(payment.id)
        assert gw.get_payment(payment.id).refunded == Money(500, "EUR")
    with pytest.raises(Exception, match="no chargebacks"):
        sandbox.chargeback(payment.id)


def test_the_sandbox_refuses_usd_and_a_refund_after_365_days(sandbox: Sandbox) -> None:
    headers = {"Authorization": "Bearer k", "Merchant-Id": "m"}
    body = {
        "paymentMethod": "IDEAL",
        "amount": {"value": 500, "currency": "USD"},
        "consumer": {"name": "Jan de Vries", "country": "NL"},
        "authenticationSettings": [{"type": "REDIRECT", "settings": {"returnUrl": RETURN_URL}}],
    }
    with httpx.Client(transport=sandbox.transport(), base_url="https://ppro.test", headers=headers) as client:
        dollars = client.post("/v1/payment-charges", json=body).json()
        euros = client.post("/v1/payment-charges", json={**body, "amount": {"value": 500, "currency": "EUR"}})
        sandbox.approve(euros.json()["id"])
        sandbox.clock.advance(366 * 86_400)
        late = client.post(f"/v1/payment-charges/{euros.json()['id']}/refunds", json={"amount": 100}).json()
    assert dollars["status"] == "FAILED" and dollars["failure"]["failureCode"] == "INVALID_CURRENCY"
    assert late["status"] == "FAILED" and late["failure"]["failureCode"] == "REFUND_PERIOD_EXPIRED"


def test_an_agreement_without_an_initial_charge_gets_a_cent_verified_and_refunded(sandbox: Sandbox) -> None:
    with on(sandbox, "ideal") as gw:
        mandate = gw.create_mandate(mandate_request())
        assert mandate.status is MandateStatus.REQUIRES_ACTION and mandate.provider == "ideal"
        sandbox.approve(mandate.id)
        active = gw.get_mandate(mandate.id)
        assert active.status is MandateStatus.ACTIVE
        verification_id = sandbox.verification_charge(mandate.id) or ""
        verification = gw.get_payment(verification_id)
    assert verification.amount == Money(1, "EUR")
    assert verification.status is PaymentStatus.REFUNDED and verification.refunded == Money(1, "EUR")
    assert verification.mandate_id == mandate.id and verification.merchant_reference is None


def test_an_agreement_with_an_initial_charge_has_no_verification_charge(sandbox: Sandbox) -> None:
    from psp_core import InitialCharge

    with on(sandbox, "ideal") as gw:
        mandate = gw.create_mandate(
            mandate_request(initial_charge=InitialCharge(Money(999, "EUR"), "first-1"))
        )
        sandbox.approve(mandate.id)
        first = gw.get_payment(gw.get_mandate(mandate.id).initial_payment_id or "")
    assert first.status is PaymentStatus.CAPTURED and first.amount == Money(999, "EUR")
    assert sandbox.verification_charge(mandate.id) is None


def test_the_sandbox_refuses_an_ideal_agreement_without_a_debit_mandate_id(sandbox: Sandbox) -> None:
    body = {
        "paymentMethod": "IDEAL",
        "startDate": "2026-02-01T00:00:00.000Z",
        "consumer": {"name": "Jan de Vries", "country": "NL"},
        "authenticationSettings": [{"type": "REDIRECT", "settings": {"returnUrl": RETURN_URL}}],
    }
    headers = {"Authorization": "Bearer k", "Merchant-Id": "m"}
    with httpx.Client(transport=sandbox.transport(), base_url="https://ppro.test", headers=headers) as client:
        missing = client.post("/v1/payment-agreements", json=body)
        empty = client.post(
            "/v1/payment-agreements", json={**body, "instrument": {"type": "BANK_ACCOUNT", "details": {}}}
        )
    assert missing.status_code == 400 and "debitMandateId" in missing.text
    assert empty.status_code == 400 and "debitMandateId" in empty.text


# -- sandbox answers against PPRO's response schemas -----------------------------------------------


def _check(document: str, method: str, path: str, body: Any, status: str = "200") -> None:
    import jsonschema  # type: ignore[import-untyped]

    loaded = spec(document)
    content = loaded["paths"][path][method]["responses"][status]["content"]
    schema = next(iter(content.values()))["schema"]
    errors = list(jsonschema.Draft202012Validator({**loaded, **schema}).iter_errors(body))
    assert not errors, f"{method} {path}: {[e.message for e in errors[:3]]}"


def test_the_sandboxs_ideal_answers_match_ppros_response_schemas(sandbox: Sandbox) -> None:
    with on(sandbox, "ideal") as gw:
        payment = gw.authorize(payment_request())
        sandbox.approve(payment.id)
        gw.refund(RefundRequest(gw.get_payment(payment.id), Money(100, "EUR")))
        mandate = gw.create_mandate(mandate_request())
        sandbox.approve(mandate.id)
    # The gateway's own credentials: the sandbox shows a merchant only its own resources.
    headers = {"Authorization": "Bearer key_ideal_test", "Merchant-Id": "merch_nl"}
    charges, agreements = "/v1/payment-charges", "/v1/payment-agreements"
    with httpx.Client(transport=sandbox.transport(), base_url="https://ppro.test", headers=headers) as client:
        charge = client.get(f"{charges}/{payment.id}").json()
        _check(CHARGES, "get", charges + "/{paymentChargeId}", charge)
        _check(
            CHARGES,
            "get",
            charges + "/{paymentChargeId}/refunds",
            client.get(f"{charges}/{payment.id}/refunds").json(),
        )
        _check(
            CHARGES,
            "get",
            charges,
            client.get(charges, params={"merchantPaymentChargeReference": "order-nl-1"}).json(),
        )
        _check(
            AGREEMENTS, "get", agreements + "/{agreement-id}", client.get(f"{agreements}/{mandate.id}").json()
        )
        verification = sandbox.verification_charge(mandate.id) or ""
        _check(CHARGES, "get", charges + "/{paymentChargeId}", client.get(f"{charges}/{verification}").json())
    assert charge["paymentMethod"] == "IDEAL" and charge["currency"] == "EUR"


# -- one webhook URL for every PPRO method ----------------------------------------------------------


def test_one_webhook_endpoint_routes_each_event_to_the_provider_of_its_payment_method(
    sandbox: Sandbox,
) -> None:
    with on(sandbox, "amazon_pay") as amazon, on(sandbox, "ideal") as ideal:
        dollars = amazon.authorize(
            AuthorizeRequest(
                Money(2500, "USD"), Consumer(country="US", name="John Smith"), RETURN_URL, "order-us-1"
            )
        )
        euros = ideal.authorize(payment_request())
        sandbox.approve(dollars.id)
        sandbox.approve(euros.id)
        sent = deliveries(sandbox)
        events: list[WebhookEvent] = [
            route_webhook([amazon, ideal], delivery.headers, delivery.body) for delivery in sent
        ]
        # Either order of gateways gives the same answer: the event names its own provider.
        again = [route_webhook([ideal, amazon], d.headers, d.body) for d in sent]
        for delivery in sent:
            method = json.loads(delivery.body)["data"]["paymentMethod"]
            other = ideal if method == "AMAZON_PAY" else amazon
            with pytest.raises(WebhookVerificationError) as refused:
                other.parse_webhook(delivery.headers, delivery.body)
            assert refused.value.reason == OTHER_METHOD
    by_payment = {event.payment_id: event.provider for event in events}
    assert by_payment == {dollars.id: "amazon_pay", euros.id: "ideal"}
    assert [e.provider for e in again] == [e.provider for e in events]
    assert {e.kind for e in events if e.payment_id == euros.id} >= {EventKind.PAYMENT_CAPTURED}
    assert len(events) == len(sent) > 4


def test_an_event_of_a_method_no_gateway_serves_is_refused(sandbox: Sandbox) -> None:
    with on(sandbox, "amazon_pay") as amazon, on(sandbox, "ideal") as ideal:
        ideal.authorize(payment_request())
        sent = deliveries(sandbox)
        with pytest.raises(WebhookVerificationError) as refused:
            route_webhook([amazon], sent[0].headers, sent[0].body)
    assert refused.value.reason == OTHER_METHOD and "add a gateway" in str(refused.value)
    with pytest.raises(ValueError, match="at least one"):
        route_webhook([], sent[0].headers, sent[0].body)


def test_one_ppro_account_many_methods_each_provider_reads_and_finds_only_its_own_charges(
    sandbox: Sandbox,
) -> None:
    with on(sandbox, "amazon_pay") as amazon, on(sandbox, "ideal") as ideal:
        dollars = amazon.authorize(
            AuthorizeRequest(
                Money(2500, "USD"), Consumer(country="US", name="John Smith"), RETURN_URL, "shared-ref-1"
            )
        )
        with pytest.raises(ProviderResponseError, match="AMAZON_PAY payment, not IDEAL"):
            ideal.get_payment(dollars.id)
        assert ideal.find_payment("shared-ref-1") is None
        found = amazon.find_payment("shared-ref-1")
        assert found is not None and (found.id, found.provider) == (dollars.id, "amazon_pay")


def test_a_chargeback_which_names_no_method_reaches_the_provider_of_the_payment_it_names(
    sandbox: Sandbox,
) -> None:
    with on(sandbox, "amazon_pay") as amazon, on(sandbox, "ideal") as ideal:
        dollars = amazon.authorize(
            AuthorizeRequest(
                Money(2500, "USD"), Consumer(country="US", name="John Smith"), RETURN_URL, "order-cb-1"
            )
        )
        sandbox.approve(dollars.id)
        deliveries(sandbox)  # the approval's events
        sandbox.chargeback(dollars.id, 1000)
        (sent,) = [d for d in deliveries(sandbox) if json.loads(d.body)["type"] == "CHARGEBACK_SUCCEEDED"]
        assert "paymentMethod" not in json.loads(sent.body)["data"]
        for order in ([ideal, amazon], [amazon, ideal]):
            event = route_webhook(order, sent.headers, sent.body)
            assert (event.provider, event.payment_id) == ("amazon_pay", dollars.id)
            assert apply_event(amazon.get_payment(dollars.id), event).charged_back == Money(1000, "USD")
