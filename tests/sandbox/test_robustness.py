"""Issue #12, finding 9: the sandbox cannot be wedged by what a client sends it.

Every bad input gets a 4xx with PPRO's envelope naming the field, never a 500, and leaves the
sandbox as it was; the limits are the ones documented in docs/amazon_pay.md.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psp_core import Gateway, RetryPolicy
from psp_ppro.sandbox import (
    MAX_CHARGE_BYTES,
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    SEARCH_PAGE_SIZE,
    Sandbox,
    SandboxConfig,
)

from .conftest import AUTH, RETURN_URL, agreement_body, charge_body

ENVELOPE = {"status", "failureMessage", "timestamp"}


def _refused(response: httpx.Response, status: int, *words: str) -> str:
    """The failure message of a PPRO-style error answer, checked to name ``words``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ENVELOPE
    assert body["status"] == status
    for word in words:
        assert word in body["failureMessage"], body["failureMessage"]
    message: str = body["failureMessage"]
    return message


def _still_serves(client: httpx.Client) -> None:
    created = client.post("/v1/payment-charges", json=charge_body())
    assert created.status_code == 200
    assert client.get(f"/v1/payment-charges/{created.json()['id']}").status_code == 200


# ----------------------------------------------------------------- admin input


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("error_rate", "0.5", ("error_rate", "number")),
        ("error_rate", 1.5, ("error_rate", "from 0 to 1")),
        ("error_rate", -0.1, ("error_rate",)),
        ("error_rate", True, ("error_rate", "number")),
        ("rate_limit_rate", None, ("rate_limit_rate", "number")),
        ("drop_after_store_rate", [0.1], ("drop_after_store_rate",)),
        ("in_flight_conflict_rate", {"x": 1}, ("in_flight_conflict_rate",)),
        ("latency_s", 1e9, ("latency_s", "from 0 to 10")),
        ("latency_s", "1", ("latency_s", "number")),
        ("retry_after_s", "10", ("retry_after_s", "integer")),
        ("retry_after_s", 1.5, ("retry_after_s", "integer")),
        ("retry_after_s", 10**9, ("retry_after_s",)),
        ("duplicate_webhooks", "yes", ("duplicate_webhooks", "boolean")),
        ("reorder_webhooks", 1, ("reorder_webhooks", "boolean")),
        ("chaos_monkey", 1, ("chaos_monkey", "error_rate")),
    ],
)
def test_a_bad_fault_setting_is_a_400_naming_it_and_changes_nothing(
    client: httpx.Client, setting: str, value: object, words: tuple[str, ...]
) -> None:
    before = client.get("/__sandbox__/faults").json()
    # A valid setting in the same body is not applied either: all or nothing.
    answer = client.post("/__sandbox__/faults", json={"latency_s": 0.5, setting: value})
    _refused(answer, 400, *words)
    assert client.get("/__sandbox__/faults").json() == before
    _still_serves(client)


def test_valid_fault_settings_are_applied(sandbox: Sandbox, client: httpx.Client) -> None:
    answer = client.post(
        "/__sandbox__/faults", json={"error_rate": 0, "retry_after_s": 3, "duplicate_webhooks": True}
    )
    assert answer.status_code == 200
    assert sandbox.faults.retry_after_s == 3
    assert sandbox.faults.duplicate_webhooks is True


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "meteor"}, ("kind", "drop_after_store")),
        ({"kind": None}, ("kind",)),
        ({"kind": "500", "count": "2"}, ("count", "integer")),
        ({"kind": "500", "count": 0}, ("count", "from 1 to 1000")),
        ({"kind": "500", "count": 10**9}, ("count", "from 1 to 1000")),
        ({"kind": "429", "retryAfter": "soon"}, ("retryAfter", "integer")),
        ({"kind": "429", "retryAfter": -1}, ("retryAfter",)),
    ],
)
def test_a_bad_fault_injection_is_a_400_naming_the_field(
    sandbox: Sandbox, client: httpx.Client, body: dict[str, Any], words: tuple[str, ...]
) -> None:
    _refused(client.post("/__sandbox__/faults/inject", json=body), 400, *words)
    assert sandbox.faults.pending_injections == []
    _still_serves(client)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (3e11, ("seconds", "at most")),
        (10**30, ("seconds", "at most")),
        (-1, ("seconds", "at least 0")),
        ("60", ("seconds", "number")),
        (True, ("seconds", "number")),
        (None, ("seconds", "number")),
    ],
)
def test_a_clock_advance_out_of_range_is_a_400_and_time_stands_still(
    sandbox: Sandbox, client: httpx.Client, seconds: object, words: tuple[str, ...]
) -> None:
    before = sandbox.clock.now()
    _refused(client.post("/__sandbox__/clock/advance", json={"seconds": seconds}), 400, *words)
    assert sandbox.clock.now() == before
    _still_serves(client)


def test_an_infinite_clock_advance_is_refused(sandbox: Sandbox, client: httpx.Client) -> None:
    # JSON has no Infinity, but 1e400 parses to an infinite float.
    answer = client.post(
        "/__sandbox__/clock/advance",
        content=b'{"seconds": 1e400}',
        headers={"Content-Type": "application/json"},
    )
    _refused(answer, 400, "seconds")
    with pytest.raises(ValueError, match="seconds must be at most"):
        sandbox.clock.advance(3e11)
    with pytest.raises(ValueError, match="finite"):
        sandbox.clock.advance(float("nan"))


def test_the_clock_can_still_move_a_century(sandbox: Sandbox, client: httpx.Client) -> None:
    answer = client.post("/__sandbox__/clock/advance", json={"seconds": 100 * 365 * 86400})
    assert answer.status_code == 200
    _still_serves(client)


@pytest.mark.parametrize("amount", ["100", 0, -5, 1.5, True, [100]])
def test_a_mistyped_chargeback_amount_is_a_400_not_a_full_chargeback(
    sandbox: Sandbox, client: httpx.Client, amount: object
) -> None:
    cid = client.post("/v1/payment-charges", json=charge_body(5_000)).json()["id"]
    sandbox.approve(cid)
    _refused(client.post(f"/__sandbox__/charges/{cid}/chargeback", json={"amount": amount}), 400, "amount")
    assert sandbox.chargebacks == []


def test_an_unknown_consumer_action_is_a_400(client: httpx.Client) -> None:
    cid = client.post("/v1/payment-charges", json=charge_body()).json()["id"]
    _refused(client.post(f"/__sandbox__/consumer/{cid}/shrug"), 400, "action", "approve")
    assert client.get(f"/v1/payment-charges/{cid}").json()["status"] == "AUTHENTICATION_PENDING"


# ------------------------------------------------------------- request bodies


def _post_raw(
    client: httpx.Client, path: str, raw: bytes, content_type: str = "application/json"
) -> httpx.Response:
    return client.post(path, content=raw, headers={"Content-Type": content_type})


@pytest.mark.parametrize("path", ["/v1/payment-charges", "/__sandbox__/faults"])
def test_a_body_nested_thousands_deep_gets_the_envelope_not_a_500(client: httpx.Client, path: str) -> None:
    raw = b'{"consumer": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    assert len(raw) < MAX_REQUEST_BYTES
    _refused(_post_raw(client, path, raw), 400, "nested")
    _still_serves(client)


def test_a_body_nested_past_the_limit_is_refused_naming_where(sandbox: Sandbox, client: httpx.Client) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = {"d": deep}
    _refused(
        client.post(
            "/v1/payment-charges", json=charge_body(consumer={"name": "J", "country": "US", "x": deep})
        ),
        400,
        "consumer.x",
        "nested more than 32",
    )
    assert sandbox.charge_count("order-1") == 0


def test_a_body_over_the_size_limit_is_a_413_and_nothing_is_stored(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    body = json.dumps(charge_body()).encode()
    padded = body[:-1] + b" " * (MAX_REQUEST_BYTES - len(body)) + b"}"
    assert len(padded) == MAX_REQUEST_BYTES
    assert _post_raw(client, "/v1/payment-charges", padded).status_code == 200
    _refused(_post_raw(client, "/v1/payment-charges", padded + b" "), 413, str(MAX_REQUEST_BYTES))
    assert sandbox.charge_count("order-1") == 1


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"amount": {"value": NaN, "currency": "USD"}}', ("Malformed JSON", "NaN")),
        (b'{"amount": {"value": Infinity, "currency": "USD"}}', ("Malformed JSON",)),
        (b'{"amount": {"value": ' + b"9" * 5_000 + b', "currency": "USD"}}', ("Malformed JSON",)),
        (json.dumps(charge_body(2**63)).encode(), ("amount.value", "at most")),
        (
            json.dumps(charge_body(consumer={"name": "J" * 513, "country": "US"})).encode(),
            ("consumer.name", "512"),
        ),
        (json.dumps(charge_body(labels={"k" * 51: "v"})).encode(), ("labels", "50 characters")),
        (json.dumps(charge_body(labels={"k": "v" * 201})).encode(), ("labels.k", "200 characters")),
    ],
)
def test_numbers_and_strings_out_of_range_are_400s_naming_the_field(
    sandbox: Sandbox, client: httpx.Client, raw: bytes, words: tuple[str, ...]
) -> None:
    _refused(_post_raw(client, "/v1/payment-charges", raw), 400, *words)
    assert sandbox.charge_count("order-1") == 0


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/plain; x=application/json", 415),
        ("application/jsonp", 415),
        ("multipart/form-data; boundary=application/json", 415),
        ("", 415),
        ("application/json", 200),
        ("Application/JSON; charset=utf-8", 200),
    ],
)
def test_the_json_content_type_check_is_exact(client: httpx.Client, content_type: str, status: int) -> None:
    answer = _post_raw(client, "/v1/payment-charges", json.dumps(charge_body()).encode(), content_type)
    assert answer.status_code == status
    if status == 415:
        _refused(answer, 415, "application/json")


# ------------------------------------------------------------------------ URLs

BAD_URLS = [
    "http://[",  # urlsplit: "Invalid IPv6 URL" (the schema fuzz 500)
    "https://[::1",
    "https://shop.example:99999/hooks",  # .port: out of range
    "https://shop.example:port/hooks",
    "https://shop.example/hooks\r\nX-Injected: 1",
    "https://shop.example/ hooks",
    "https://shop.example/\x00",
    "https://shöp.example/hooks",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_malformed_webhooks_url_is_a_400_naming_it_everywhere_it_is_accepted(
    sandbox: Sandbox, client: httpx.Client, url: str
) -> None:
    _refused(client.post("/v1/payment-charges", json=charge_body(webhooksUrl=url)), 400, "webhooksUrl")
    _refused(client.post("/v1/payment-agreements", json=agreement_body(webhooksUrl=url)), 400, "webhooksUrl")
    agreement = client.post("/v1/payment-agreements", json=agreement_body()).json()["id"]
    sandbox.approve(agreement)
    answer = client.post(
        f"/v1/payment-agreements/{agreement}/payment-charges",
        json={"amount": {"value": 1000, "currency": "USD"}, "webhooksUrl": url},
    )
    _refused(answer, 400, "webhooksUrl")
    assert sandbox.charge_count("order-1") == 0


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_malformed_return_url_is_a_400_naming_it(sandbox: Sandbox, client: httpx.Client, url: str) -> None:
    settings_ = [{"type": "REDIRECT", "settings": {"returnUrl": url}}]
    answer = client.post("/v1/payment-charges", json=charge_body(authenticationSettings=settings_))
    _refused(answer, 400, "authenticationSettings[0].settings.returnUrl")
    assert sandbox.charge_count("order-1") == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.text(max_size=80) | st.from_regex(r"\Ahttps?://[^/]{0,12}(:[0-9a-z]{0,7})?/?.{0,10}\Z"))
def test_no_url_text_makes_the_sandbox_fail(url: str) -> None:
    sandbox = Sandbox(SandboxConfig(seed=5))
    with httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.local", headers=AUTH) as client:
        settings_ = [{"type": "REDIRECT", "settings": {"returnUrl": url}}]
        for body in (charge_body(webhooksUrl=url), charge_body(authenticationSettings=settings_)):
            answer = client.post("/v1/payment-charges", json=body)
            assert answer.status_code in (200, 400), answer.text
            if answer.status_code == 200 and answer.json()["status"] == "AUTHENTICATION_PENDING":
                # The hosted page must be able to send the consumer back (a Location header).
                submitted = client.post(
                    f"/__sandbox__/authenticate/{answer.json()['id']}", data={"action": "approve"}
                )
                assert submitted.status_code in (200, 303)
                if submitted.status_code == 303:
                    assert submitted.headers["location"].isascii()


# ------------------------------------------------------------ response sizes


def test_search_pages_hold_at_most_the_page_size_and_link_the_rest(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    total = 2 * SEARCH_PAGE_SIZE + 5
    created = [
        client.post("/v1/payment-charges", json=charge_body(100 + n)).json()["id"] for n in range(total)
    ]
    seen: list[str] = []
    params = {"merchantPaymentChargeReference": "order-1"}
    pages = 0
    while True:
        page = client.get("/v1/payment-charges", params=params).json()
        pages += 1
        assert len(page["data"]) <= SEARCH_PAGE_SIZE
        seen += [c["id"] for c in page["data"]]
        if "nextPage" not in page:
            break
        params = {**params, "page": page["nextPage"]}
    assert pages == 3
    assert seen == created
    for bad in ("x", "-1", "999", "\uff11"):  # the last is a full-width digit one
        _refused(client.get("/v1/payment-charges", params={"agreementId": "agr_x", "page": bad}), 400, "page")


def test_the_gateway_finds_a_payment_beyond_the_first_search_page(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    for n in range(SEARCH_PAGE_SIZE + 3):
        client.post("/v1/payment-charges", json=charge_body(100 + n))
    newest = client.post("/v1/payment-charges", json=charge_body(999))
    gateway = Gateway(
        "amazon_pay",
        options={
            "api_key": "key_sandbox_test",
            "merchant_id": "merch_test",
            "base_url": "https://sandbox.local",
        },
        environ={},
        transport=sandbox.transport(),
        retry=RetryPolicy.no_wait(),
    )
    found = gateway.find_payment("order-1")
    assert found is not None
    assert found.id == newest.json()["id"]


def test_a_charge_stops_growing_at_its_size_limit_and_answers_stay_bounded(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    cid = client.post("/v1/payment-charges", json=charge_body(100_000, autoCapture=False)).json()["id"]
    sandbox.approve(cid)
    # Labels of escaped non-ASCII text make each capture's JSON as large as a request allows.
    labels = {f"{n:02d}" + "é" * 48: "€" * 200 for n in range(50)}
    statuses = []
    for _ in range(30):
        statuses.append(
            client.post(f"/v1/payment-charges/{cid}/captures", json={"amount": 1, "labels": labels})
        )
        if statuses[-1].status_code != 200:
            break
    _refused(statuses[-1], 400, "size limit", "create a new charge")
    assert sandbox.effects(cid).captures == len(statuses) - 1 >= 1
    charge = client.get(f"/v1/payment-charges/{cid}")
    assert len(charge.content) <= MAX_CHARGE_BYTES
    for _ in range(6):  # more such charges than one answer can hold
        other = client.post("/v1/payment-charges", json=charge_body(100_000, autoCapture=False)).json()["id"]
        sandbox.approve(other)
        while client.post(
            f"/v1/payment-charges/{other}/captures", json={"amount": 1, "labels": labels}
        ).is_success:
            pass
    params = {"merchantPaymentChargeReference": "order-1"}
    pages = []
    while True:
        page = client.get("/v1/payment-charges", params=params)
        assert len(page.content) <= MAX_RESPONSE_BYTES
        pages.append(page.json())
        if "nextPage" not in pages[-1]:
            break
        params = {**params, "page": pages[-1]["nextPage"]}
    assert len(pages) >= 2
    assert sum(len(p["data"]) for p in pages) == 7


def test_the_return_url_redirect_still_works_with_a_query(client: httpx.Client, sandbox: Sandbox) -> None:
    settings_ = [{"type": "REDIRECT", "settings": {"returnUrl": RETURN_URL + "?cart=1"}}]
    cid = client.post("/v1/payment-charges", json=charge_body(authenticationSettings=settings_)).json()["id"]
    submitted = client.post(f"/__sandbox__/authenticate/{cid}", data={"action": "approve"})
    assert submitted.headers["location"] == f"{RETURN_URL}?cart=1&paymentChargeId={cid}&result=approved"
