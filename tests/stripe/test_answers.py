"""Stripe's documented answers, served by a MockTransport: what localstripe does not send."""

from __future__ import annotations

import json

import httpx
import pytest

from psp_core import ConfigurationError, DeclineCode, Gateway, PaymentStatus, ProviderError, RetryPolicy

from .conftest import authorize_request

INTENT = {
    "id": "pi_3",
    "object": "payment_intent",
    "amount": 1000,
    "currency": "eur",
    "status": "requires_payment_method",
    "metadata": {"merchant_reference": "order-1"},
    "last_payment_error": {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    },
}


def gateway_answering(status: int, body: bytes, seen: list[httpx.Request]) -> Gateway:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body, headers={"Request-Id": "req_123"})

    return Gateway(
        "stripe",
        options={"secret_key": "sk_test_answers"},
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy.no_wait(),
        environ={},
    )


def test_a_402_carrying_the_intent_is_a_declined_payment_with_stripes_codes() -> None:
    body = json.dumps({"error": {**INTENT["last_payment_error"], "payment_intent": INTENT}}).encode()
    seen: list[httpx.Request] = []
    with gateway_answering(402, body, seen) as gateway:
        payment = gateway.authorize(authorize_request("pm_card_visa"))
    assert payment.status is PaymentStatus.DECLINED and payment.decline is not None
    assert payment.decline.code is DeclineCode.INSUFFICIENT_FUNDS
    assert (
        payment.decline.provider_code == "insufficient_funds"
        and payment.decline.provider_type == "card_error"
    )
    assert len(seen) == 1  # the answer said it all: no second request


def test_the_request_is_form_encoded_with_the_idempotency_key_and_the_pinned_version() -> None:
    body = json.dumps({**INTENT, "status": "requires_capture", "amount_capturable": 1000}).encode()
    seen: list[httpx.Request] = []
    with gateway_answering(200, body, seen) as gateway:
        gateway.authorize(authorize_request("pm_card_visa", idempotency_key="host-key-1"))
    sent = seen[0]
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["stripe-version"] == "2024-06-20"
    assert sent.headers["authorization"] == "Bearer sk_test_answers"
    assert "host-key-1" in sent.headers["idempotency-key"]
    form = dict(httpx.QueryParams(sent.content.decode()))
    assert form["amount"] == "1000" and form["currency"] == "eur" and form["capture_method"] == "manual"
    assert form["payment_method"] == "pm_card_visa" and form["metadata[merchant_reference]"] == "order-1"
    assert form["confirm"] == "true" and form["return_url"] == "https://shop.example/return"


@pytest.mark.parametrize("body", [b"<html>Payment Required</html>", b'{"error": "declined"}'])
def test_a_402_naming_no_payment_is_a_provider_error_with_the_request_id(body: bytes) -> None:
    with gateway_answering(402, body, []) as gateway, pytest.raises(ProviderError) as failed:
        gateway.get_payment("pi_3")
    assert failed.value.http_status == 402 and failed.value.request_id == "req_123"


def test_a_long_host_key_is_sent_within_stripes_255_characters_and_the_same_on_every_attempt() -> None:
    body = json.dumps({**INTENT, "status": "requires_capture", "amount_capturable": 1000}).encode()
    seen: list[httpx.Request] = []
    long_key = "k" * 255  # the longest key psp takes from a host; scoped, it would be longer
    with gateway_answering(200, body, seen) as gateway:
        gateway.authorize(authorize_request("pm_card_visa", idempotency_key=long_key))
        gateway.authorize(authorize_request("pm_card_visa", idempotency_key=long_key))
    sent = [request.headers["idempotency-key"] for request in seen]
    assert all(len(key) <= 255 for key in sent) and sent[0] == sent[1]


def test_find_payment_searches_the_reference_in_metadata_and_returns_the_newest_attempt() -> None:
    older = {**INTENT, "id": "pi_old", "created": 1_700_000_000, "metadata": {"merchant_reference": "o'1"}}
    newer = {**INTENT, "id": "pi_new", "created": 1_700_000_100, "metadata": {"merchant_reference": "o'1"}}
    other = {**INTENT, "id": "pi_other", "created": 1_700_000_200, "metadata": {"merchant_reference": "o'10"}}
    body = json.dumps({"object": "search_result", "data": [older, newer, other], "has_more": False}).encode()
    seen: list[httpx.Request] = []
    with gateway_answering(200, body, seen) as gateway:
        found = gateway.find_payment("o'1")
    assert found is not None and found.id == "pi_new" and found.merchant_reference == "o'1"
    assert seen[0].url.path == "/v1/payment_intents/search"
    # The reference is a quoted, escaped literal of Stripe's search language.
    assert seen[0].url.params["query"] == "metadata['merchant_reference']:'o\\'1'"


def test_find_payment_with_no_match_is_none() -> None:
    body = json.dumps({"object": "search_result", "data": [], "has_more": False}).encode()
    with gateway_answering(200, body, []) as gateway:
        assert gateway.find_payment("order-404") is None


def test_a_misspelt_option_is_refused_naming_it_and_the_options_stripe_takes() -> None:
    # Ignored, `webhook_secert` would leave the webhook secret unset and every delivery refused.
    with pytest.raises(ConfigurationError) as refused:
        Gateway("stripe", options={"secret_key": "sk_test_x", "webhook_secert": "whsec_x"}, environ={})
    message = str(refused.value)
    assert message.startswith("stripe: unknown option(s) ['webhook_secert']; check the spelling")
    assert "'webhook_secret'" in message and "whsec_x" not in message
