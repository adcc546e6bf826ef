"""Issue #12, finding 6: the sandbox keeps merchants apart.

A merchant is an API key and a Merchant-Id together. A charge or agreement belongs to the
merchant that created it; to anyone else it does not exist, and every answer is exactly the
one PPRO gives for an id it never issued (404 for a read, 400 for an operation: "an operation
attempted against an unknown charge id (HTTP 400)", docs/amazon_pay.md cites the page).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from psp_core import Gateway, ProviderError, RetryPolicy
from psp_ppro.sandbox import Effects, Sandbox

from .conftest import AUTH, agreement_body, charge_body

OWNER_KEY = AUTH["Authorization"]
OWNER_MERCHANT = AUTH["Merchant-Id"]

INTRUDERS = {
    "other key, other merchant": {"Authorization": "Bearer key_other", "Merchant-Id": "merch_other"},
    "same key, other merchant": {"Authorization": OWNER_KEY, "Merchant-Id": "merch_other"},
    "other key, same merchant": {"Authorization": "Bearer key_other", "Merchant-Id": OWNER_MERCHANT},
}


def _without_timestamp(response: httpx.Response) -> tuple[int, dict[str, Any]]:
    body = response.json()
    assert set(body) == {"status", "failureMessage", "timestamp"}
    return response.status_code, {k: v for k, v in body.items() if k != "timestamp"}


@pytest.fixture
def owned(sandbox: Sandbox, client: httpx.Client) -> dict[str, str]:
    """The owner's partly captured charge and active agreement with one merchant charge."""
    charge = client.post("/v1/payment-charges", json=charge_body(5_000, autoCapture=False)).json()["id"]
    sandbox.approve(charge)
    capture = client.post(f"/v1/payment-charges/{charge}/captures", json={"amount": 1_000}).json()["id"]
    agreement = client.post(
        "/v1/payment-agreements", json=agreement_body(merchantPaymentAgreementReference="agr-1")
    ).json()["id"]
    sandbox.approve(agreement)
    agreement_charge = client.post(
        f"/v1/payment-agreements/{agreement}/payment-charges",
        json={"amount": {"value": 700, "currency": "USD"}, "merchantPaymentChargeReference": "sub-1"},
    ).json()["id"]
    return {
        "charge": charge,
        "capture": capture,
        "agreement": agreement,
        "agreement_charge": agreement_charge,
    }


@pytest.fixture(params=sorted(INTRUDERS))
def intruder(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = INTRUDERS[request.param]
    with httpx.Client(transport=sandbox.transport(), base_url="http://sandbox.local", headers=headers) as c:
        yield c


READS = [
    "/v1/payment-charges/{charge}",
    "/v1/payment-charges/{charge}/captures",
    "/v1/payment-charges/{charge}/captures/{capture}",
    "/v1/payment-charges/{charge}/authorizations",
    "/v1/payment-charges/{agreement_charge}",
    "/v1/payment-agreements/{agreement}",
]


@pytest.mark.parametrize("template", READS)
def test_another_merchant_reads_nothing_and_gets_the_unknown_id_answer(
    owned: dict[str, str], intruder: httpx.Client, client: httpx.Client, template: str
) -> None:
    path = template.format(**owned)
    unknown = path.replace(owned["charge"], "charge_neverissued").replace(
        owned["agreement"], "agr_neverissued"
    )
    unknown = unknown.replace(owned["agreement_charge"], "charge_neverissued2")
    assert client.get(path).status_code == 200  # the owner still reads it
    answer = intruder.get(path)
    assert answer.status_code == 404
    assert (
        _without_timestamp(answer)[1]["failureMessage"]
        == _without_timestamp(client.get(unknown))[1]["failureMessage"]
    )


WRITES = [
    ("/v1/payment-charges/{charge}/captures", {"amount": 500}),
    ("/v1/payment-charges/{charge}/voids", {"amount": 500}),
    ("/v1/payment-charges/{charge}/refunds", {"amount": 500}),
    ("/v1/payment-agreements/{agreement}/payment-charges", {"amount": {"value": 900, "currency": "USD"}}),
    ("/v1/payment-agreements/{agreement}/revocations", {}),
]


@pytest.mark.parametrize(("template", "body"), WRITES)
def test_another_merchant_cannot_move_money_or_revoke(
    sandbox: Sandbox,
    owned: dict[str, str],
    intruder: httpx.Client,
    client: httpx.Client,
    template: str,
    body: dict[str, Any],
) -> None:
    path = template.format(**owned)
    charges_before = sandbox.charge_count("sub-1") + sandbox.charge_count("order-1")
    answer = intruder.post(path, json=body, headers={"Request-Idempotency-Key": "intruder-1"})
    never_issued = client.post(
        path.replace(owned["charge"], "charge_neverissued").replace(owned["agreement"], "agr_neverissued"),
        json=body,
    )
    assert _without_timestamp(answer) == _without_timestamp(never_issued)
    assert answer.status_code == 400
    # Nothing moved: same operations, same agreement status, no new charge anywhere.
    assert sandbox.effects(owned["charge"]) == Effects(captures=1, refunds=0, voids=0)
    assert sandbox.agreement(owned["agreement"])["status"] == "ACTIVE"
    assert sandbox.charge_count("sub-1") + sandbox.charge_count("order-1") == charges_before
    assert sum(1 for e in sandbox.events if e.event_type == "PAYMENT_CHARGE_CREATED") == 2


@pytest.mark.parametrize(
    "query", [{"merchantPaymentChargeReference": "order-1"}, {"agreementId": "{agreement}"}]
)
def test_another_merchant_finds_nothing_by_search(
    owned: dict[str, str], intruder: httpx.Client, client: httpx.Client, query: dict[str, str]
) -> None:
    params = {k: v.format(**owned) for k, v in query.items()}
    assert len(client.get("/v1/payment-charges", params=params).json()["data"]) == 1
    assert intruder.get("/v1/payment-charges", params=params).json() == {"data": []}


def test_each_merchant_sees_only_its_own_charges_under_a_shared_reference(
    sandbox: Sandbox, client: httpx.Client, intruder: httpx.Client
) -> None:
    mine = client.post("/v1/payment-charges", json=charge_body(1_000)).json()["id"]
    theirs = intruder.post("/v1/payment-charges", json=charge_body(2_000)).json()["id"]
    query = {"merchantPaymentChargeReference": "order-1"}
    assert [c["id"] for c in client.get("/v1/payment-charges", params=query).json()["data"]] == [mine]
    assert [c["id"] for c in intruder.get("/v1/payment-charges", params=query).json()["data"]] == [theirs]
    assert sandbox.charge_count("order-1") == 2


def test_an_idempotency_key_never_replays_another_merchants_answer(
    sandbox: Sandbox, client: httpx.Client, intruder: httpx.Client
) -> None:
    key = {"Request-Idempotency-Key": "shared-key"}
    first = client.post("/v1/payment-charges", json=charge_body(), headers=key)
    second = intruder.post("/v1/payment-charges", json=charge_body(), headers=key)
    assert second.status_code == 200
    assert "Request-Idempotency" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert sandbox.charge_count("order-1") == 2


def test_a_gateway_with_another_merchants_credentials_is_told_the_payment_does_not_exist(
    sandbox: Sandbox, owned: dict[str, str]
) -> None:
    options = {"api_key": "key_other", "merchant_id": "merch_other", "base_url": "https://sandbox.local"}
    gateway = Gateway(
        "amazon_pay", options=options, environ={}, transport=sandbox.transport(), retry=RetryPolicy.no_wait()
    )
    with pytest.raises(ProviderError) as raised:
        gateway.get_payment(owned["charge"])
    assert raised.value.http_status == 404
    assert gateway.find_payment("order-1") is None
