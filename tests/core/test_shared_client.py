"""Several gateways on one ``httpx.Client``: each sends its own credentials, none closes it."""

from __future__ import annotations

import httpx

from psp_core import AuthorizeRequest, CaptureMode, Consumer, Gateway, Money, RetryPolicy
from tests.fakepay import NAME, FakePayPlugin, FakePsp


def _gateway(psp: FakePsp, client: httpx.Client, api_key: str) -> Gateway:
    return Gateway(
        NAME,
        options={"api_key": api_key},
        client=client,
        plugins=[(NAME, FakePayPlugin())],
        load_entrypoints=False,
        retry=RetryPolicy.no_wait(),
        clock=lambda: psp.now,
    )


def _authorize(reference: str) -> AuthorizeRequest:
    return AuthorizeRequest(
        amount=Money(1_000, "EUR"),
        consumer=Consumer(country="DE"),
        return_url="https://shop.example/return",
        merchant_reference=reference,
        capture_mode=CaptureMode.SEPARATE,
    )


def test_gateways_sharing_one_client_each_send_their_own_credentials_and_leave_it_open() -> None:
    psp = FakePsp()
    seen: list[str | None] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        # The fake PSP accepts one key: answer the other gateway as if it had sent that one.
        request.headers["Authorization"] = f"Bearer {psp.api_key}"
        return psp.handle(request)

    with httpx.Client(transport=httpx.MockTransport(handle)) as shared:
        first = _gateway(psp, shared, psp.api_key)
        second = _gateway(psp, shared, "fk_second_key")
        assert first.authorize(_authorize("order-1")).merchant_reference == "order-1"
        first.close()  # a gateway never closes a client it was given
        assert not shared.is_closed
        assert second.authorize(_authorize("order-2")).merchant_reference == "order-2"
        second.close()
        assert not shared.is_closed
    assert seen == [f"Bearer {psp.api_key}", "Bearer fk_second_key"]
