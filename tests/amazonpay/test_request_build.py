"""PPRO's requests, built without httpx's encoding step, are the requests it built before.

``_http.get`` and ``_http.post`` hand httpx the headers as the bytes pairs it would end up
with and the body as a stream (issue 18): the reference below is the way they were built
before, ``httpx.Request(method, base_url + path, headers=..., content=...)``.
"""

from __future__ import annotations

import re
import string

import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import CaptureRequest, ProviderConfig, RefundRequest
from psp_ppro import _http, _wire

from .conftest import OPTIONS, Recorder, authorize_request, charge_json, gateway, respond

REFERENCE = "Request-Reference"


def config(base_url: str) -> ProviderConfig:
    with gateway(Recorder(respond(200, {})), base_url=base_url) as gw:
        return gw.config


CONFIGS = [config(url) for url in ("https://ppro.test", "https://ppro.test/", "http://127.0.0.1:8081/ppro")]
IDS = st.text(max_size=30)  # any id, as segment() quotes it; check_id would refuse some before
PATHS = st.one_of(
    IDS.map(lambda value: "/v1/payment-charges/" + _http.segment(value)),
    IDS.map(lambda value: f"/v1/payment-agreements/{_http.segment(value)}/payment-charges"),
    st.text(alphabet=string.printable, max_size=20).map(lambda text: "/" + text),
)
BODIES = st.one_of(
    st.none(),
    st.builds(
        _wire.CaptureBody,
        amount=st.integers(1, 10**12),
        merchant_capture_reference=st.one_of(st.none(), st.text(max_size=20)),
    ),
)


def same_request(ours: httpx.Request, reference: httpx.Request) -> None:
    assert ours.method == reference.method
    assert ours.url == reference.url and str(ours.url) == str(reference.url)
    assert ours.headers.raw == reference.headers.raw
    assert ours.headers.encoding == reference.headers.encoding
    assert ours.content == reference.content
    assert type(ours.stream) is type(reference.stream)
    assert list(ours.stream) == list(reference.stream)  # type: ignore[arg-type]
    assert ours.extensions == reference.extensions


@settings(max_examples=300, deadline=None)
@given(cfg=st.sampled_from(CONFIGS), path=PATHS)
def test_a_get_is_the_request_httpx_builds_from_the_whole_url(cfg: ProviderConfig, path: str) -> None:
    try:
        httpx.URL(cfg.base_url + path)
    except httpx.InvalidURL as refused:  # a malformed path: refused alike, with httpx's words
        with pytest.raises(httpx.InvalidURL, match=re.escape(str(refused))):
            _http.get(cfg, path)
        return
    ours = _http.get(cfg, path)
    reference = ours.headers[REFERENCE]
    same_request(ours, httpx.Request("GET", cfg.base_url + path, headers={REFERENCE: reference}))


@settings(max_examples=300, deadline=None)
@given(cfg=st.sampled_from(CONFIGS), path=PATHS, body=BODIES)
def test_a_post_is_the_request_httpx_builds_from_its_content(
    cfg: ProviderConfig, path: str, body: _wire.CaptureBody | None
) -> None:
    try:
        httpx.URL(cfg.base_url + path)
    except httpx.InvalidURL as refused:
        with pytest.raises(httpx.InvalidURL, match=re.escape(str(refused))):
            _http.post(cfg, path, body)
        return
    ours = _http.post(cfg, path, body)
    content = b"{}" if body is None else _wire.to_json(body)
    headers = {"Content-Type": "application/json", REFERENCE: ours.headers[REFERENCE]}
    same_request(ours, httpx.Request("POST", cfg.base_url + path, headers=headers, content=content))


def test_a_search_still_has_httpx_encode_its_query() -> None:
    cfg = CONFIGS[0]
    ours = _http.get(cfg, "/v1/payment-charges", {"merchantPaymentChargeReference": "order 1&2"})
    reference = httpx.Request(
        "GET",
        cfg.base_url + "/v1/payment-charges",
        params={"merchantPaymentChargeReference": "order 1&2"},
        headers={REFERENCE: ours.headers[REFERENCE]},
    )
    same_request(ours, reference)


def test_every_request_gets_a_fresh_reference_of_32_hex_digits() -> None:
    cfg = CONFIGS[0]
    references = [_http.get(cfg, "/v1/payment-charges/c").headers[REFERENCE] for _ in range(50)]
    references += [_http.post(cfg, "/v1/payment-charges", None).headers[REFERENCE] for _ in range(50)]
    assert len(set(references)) == 100
    assert all(len(value) == 32 and set(value) <= set("0123456789abcdef") for value in references)


# What goes on the wire, header by header in order and case, for the four operations of the
# issue 18 benchmark: as it was before the request build was made cheaper. Random values (the
# reference and the key) are checked for shape only.
FRESH = {b"request-reference", b"request-idempotency-key"}
CLIENT = [
    ("accept-encoding", "gzip, deflate"),
    ("connection", "keep-alive"),
    ("user-agent", f"python-httpx/{httpx.__version__}"),
    ("merchant-id", str(OPTIONS["merchant_id"])),
    ("accept", "application/json"),
    ("Authorization", f"Bearer {OPTIONS['api_key']}"),
]


def wire(request: httpx.Request) -> list[tuple[str, str]]:
    return [
        (name.decode(), "*" if name.lower() in FRESH else value.decode())
        for name, value in request.headers.raw
    ]


def test_the_four_benchmark_requests_go_out_header_for_header_as_before() -> None:
    ppro = Recorder(respond(200, charge_json("CAPTURE_PENDING", amount=1000, authz="AUTHORIZED")))
    with gateway(ppro) as gw:
        authorized = gw.get_payment("charge_1")
        ppro.answers = [respond(200, charge_json())]
        gw.authorize(authorize_request())
        ppro.answers = [respond(200, {"id": "cap_1", "amount": 1000, "status": "CAPTURED"})]
        captured = gw.capture(CaptureRequest(payment=authorized))
        ppro.answers = [respond(200, {"id": "ref_1", "amount": 1000, "status": "REFUNDED"})]
        gw.refund(RefundRequest(payment=captured))
    get, authorize, capture, refund = ppro.requests
    assert wire(get) == [("Host", "ppro.test"), ("Request-Reference", "*"), *CLIENT]
    for post, length in ((authorize, len(authorize.content)), (capture, 15), (refund, 15)):
        assert wire(post) == [
            ("Host", "ppro.test"),
            ("Content-Type", "application/json"),
            ("Request-Reference", "*"),
            ("Content-Length", str(length)),
            *CLIENT,
            ("Request-Idempotency-Key", "*"),
        ]
    assert capture.headers["Request-Idempotency-Key"].startswith("capture:charge_1:")
    assert refund.headers["Request-Idempotency-Key"].startswith("refund:charge_1:")
    assert [request.headers.encoding for request in ppro.requests] == ["ascii"] * 4


def test_a_base_url_without_a_host_gets_no_host_header_as_httpx_adds_none() -> None:
    hostless = attrs.evolve(CONFIGS[0], base_url="")
    ours = _http.get(hostless, "/v1/payment-charges/c")
    same_request(
        ours, httpx.Request("GET", "/v1/payment-charges/c", headers={REFERENCE: ours.headers[REFERENCE]})
    )
    posted = _http.post(hostless, "/v1/payment-charges", None)
    headers = {"Content-Type": "application/json", REFERENCE: posted.headers[REFERENCE]}
    same_request(posted, httpx.Request("POST", "/v1/payment-charges", headers=headers, content=b"{}"))
