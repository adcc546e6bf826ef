"""Whatever PPRO answers, the host gets a normalized result or a typed ``PspError``; nothing else.

A scripted PPRO (``httpx.MockTransport``) answers every operation with malformed, truncated,
mis-shaped, mis-typed, contradicting or non-JSON bodies; hypothesis then fuzzes the plugin's
parsing with arbitrary JSON and with charge-shaped objects whose fields have random types.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import (
    CaptureRequest,
    Gateway,
    Mandate,
    MandateChargeRequest,
    MandateRequest,
    Money,
    Payment,
    PaymentStatus,
    ProviderResponseError,
    PspError,
    RefundRequest,
    RetryPolicy,
    RevokeMandateRequest,
    TransportError,
    VoidRequest,
)

from .conftest import START, authorize_request, options

USD = "USD"
AUTHORIZED = Payment.new(
    "amazon_pay", "charge_1", PaymentStatus.AUTHORIZED, Money(1_000, USD), authorized=Money(1_000, USD)
)
CAPTURED = attrs.evolve(
    AUTHORIZED, status=PaymentStatus.CAPTURED, captured=Money(1_000, USD), captured_at=START
)


def charge(
    status: str = "AUTHENTICATION_PENDING", amount: int = 1_000, authz: str = "AUTHENTICATION_PENDING"
) -> dict[str, Any]:
    return {
        "id": "charge_1",
        "status": status,
        "currency": USD,
        "authorizations": [{"id": "authz_1", "amount": amount, "status": authz}],
        "captures": [],
        "refunds": [],
        "voids": [],
        "createdAt": "2026-01-15T12:00:00.000Z",
    }


def agreement(status: str = "AUTHENTICATION_PENDING") -> dict[str, Any]:
    return {"id": "agr_1", "status": status, "createdAt": "2026-01-15T12:00:00.000Z"}


@attrs.frozen
class Op:
    """One gateway operation, the PPRO answer it expects, and what kind of answer that is."""

    name: str
    call: Callable[[Gateway], Any]
    valid: Callable[[], Any]
    shape: str  # charge | page | operation | agreement | revocation


OPERATIONS = [
    Op("authorize", lambda gw: gw.authorize(authorize_request(1_000)), charge, "charge"),
    Op("get_payment", lambda gw: gw.get_payment("charge_1"), charge, "charge"),
    Op("find_payment", lambda gw: gw.find_payment("order-1"), lambda: {"data": [charge()]}, "page"),
    Op(
        "capture",
        lambda gw: gw.capture(CaptureRequest(AUTHORIZED, Money(600, USD))),
        lambda: {"id": "capture_1", "amount": 600, "status": "CAPTURED"},
        "operation",
    ),
    Op(
        "void",
        lambda gw: gw.void(VoidRequest(AUTHORIZED, Money(400, USD))),
        lambda: {"id": "void_1", "amount": 400, "status": "VOIDED"},
        "operation",
    ),
    Op(
        "refund",
        lambda gw: gw.refund(RefundRequest(CAPTURED, Money(300, USD))),
        lambda: {"id": "refund_1", "amount": 300, "status": "REFUNDED"},
        "operation",
    ),
    Op(
        "create_mandate",
        lambda gw: gw.create_mandate(
            MandateRequest(
                consumer=authorize_request().consumer,
                return_url="https://shop.example/return",
                start=START,
                merchant_reference="agreement-1",
            )
        ),
        agreement,
        "agreement",
    ),
    Op("get_mandate", lambda gw: gw.get_mandate("agr_1"), lambda: agreement("ACTIVE"), "agreement"),
    Op(
        "charge_mandate",
        lambda gw: gw.charge_mandate(MandateChargeRequest("agr_1", Money(1_000, USD), "renewal-1")),
        lambda: charge("CAPTURE_PENDING", authz="AUTHORIZED"),
        "charge",
    ),
    Op(
        "revoke_mandate",
        lambda gw: gw.revoke_mandate(RevokeMandateRequest("agr_1")),
        lambda: {"status": "REVOKED"},
        "revocation",
    ),
]


class Scripted:
    """A PPRO that answers every request from ``answer``; a revocation's GET gets ``follow_up``."""

    def __init__(self) -> None:
        self.answer: tuple[int, bytes] = (200, b"{}")
        self.follow_up: tuple[int, bytes] = (200, json.dumps(agreement("REVOKED_BY_MERCHANT")).encode())
        self.requests = 0
        self.revoking = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        # Revoking is a POST then a GET of the agreement; the mutation is on the POST's answer.
        second = self.revoking and request.method == "GET"
        status, content = self.follow_up if second else self.answer
        return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})


def scripted_gateway(script: Scripted) -> Gateway:
    return Gateway(
        "amazon_pay",
        options=options(base_url="https://ppro.test"),
        environ={},
        transport=httpx.MockTransport(script),
        retry=RetryPolicy.no_wait(2),
        clock=lambda: START,
    )


def _outcome(op: Op, script: Scripted, gw: Gateway) -> Any:
    script.revoking = op.name == "revoke_mandate"
    return op.call(gw)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_the_valid_answers_are_understood(op: Op) -> None:
    script = Scripted()
    script.answer = (200, json.dumps(op.valid()).encode())
    with scripted_gateway(script) as gw:
        result = _outcome(op, script, gw)
    assert isinstance(result, Payment | Mandate)


def _target(body: Any, shape: str) -> dict[str, Any]:
    """The object a field mutation applies to: the charge inside a page, else the body."""
    return body["data"][0] if shape == "page" else body  # type: ignore[no-any-return]


def _with(shape_path: str, value: Any) -> Callable[[Any, str], Any]:
    def mutate(body: Any, shape: str) -> Any:
        target = _target(body, shape)
        if value is _DELETE:
            target.pop(shape_path, None)
        else:
            target[shape_path] = value
        return body

    return mutate


_DELETE = object()


def _authz(field: str, value: Any) -> Callable[[Any, str], Any]:
    def mutate(body: Any, shape: str) -> Any:
        _target(body, shape)["authorizations"][0][field] = value
        return body

    return mutate


def _raw(content: bytes) -> Callable[[Any, str], bytes]:
    return lambda body, shape: content


# name -> (mutation, shapes it applies to). A mutation returns a new JSON body or raw bytes.
ALL = {"charge", "page", "operation", "agreement", "revocation"}
CHARGES = {"charge", "page"}
MUTATIONS: dict[str, tuple[Callable[[Any, str], Any], set[str]]] = {
    "malformed JSON": (_raw(b'{"id": "charge_1", "status": '), ALL),
    "JSON nested too deeply to parse": (_raw(b"[" * 100_000 + b"]" * 100_000), ALL),
    "empty body": (_raw(b""), ALL),
    "binary garbage": (_raw(b"\xff\xfe\x00\x01"), ALL),
    "an HTML page": (_raw(b"<html><body>Bad Gateway</body></html>"), ALL),
    "a JSON list": (lambda body, shape: [body], ALL),
    "a JSON string": (lambda body, shape: "ok", ALL),
    "JSON null": (lambda body, shape: None, ALL),
    "a JSON number": (lambda body, shape: 200, ALL),
    "JSON true": (lambda body, shape: True, ALL),
    "an empty object": (lambda body, shape: {}, ALL - {"page"}),
    "missing id": (_with("id", _DELETE), ALL - {"revocation"}),
    "missing status": (_with("status", _DELETE), ALL),
    "id is a number": (_with("id", 12345), ALL - {"revocation"}),
    "id is an object": (_with("id", {"value": "charge_1"}), ALL - {"revocation"}),
    "status is a number": (_with("status", 3), ALL),
    "status is null": (_with("status", None), ALL),
    "unknown status": (_with("status", "SETTLED"), ALL),
    "lowercase status": (
        lambda body, shape: _with("status", str(_target(body, shape)["status"]).lower())(body, shape),
        ALL,
    ),
    "amount is a string": (_with("amount", "6.00"), {"operation"}),
    "amount is a float": (_with("amount", 600.0), {"operation"}),
    "amount is a bool": (_with("amount", True), {"operation"}),
    "amount is NaN": (_with("amount", float("nan")), {"operation"}),
    "amount other than requested": (_with("amount", 601), {"operation"}),
    "negative amount": (_with("amount", -600), {"operation"}),
    "authorization amount is a string": (_authz("amount", "10.00"), CHARGES),
    "authorization amount is a float": (_authz("amount", 1000.0), CHARGES),
    "authorization amount is a bool": (_authz("amount", False), CHARGES),
    "authorization amount is negative": (_authz("amount", -1000), CHARGES),
    "authorization status unknown": (_authz("status", "MAYBE"), CHARGES),
    "authorizations is an object": (_with("authorizations", {"id": "authz_1"}), CHARGES),
    "authorizations is a string": (_with("authorizations", "authz_1"), CHARGES),
    "captures hold a number": (_with("captures", [7]), CHARGES),
    "currency not ISO 4217": (_with("currency", "ZZZ"), CHARGES),
    "currency is a number": (_with("currency", 840), CHARGES),
    "createdAt that is not a time": (_with("createdAt", "yesterday"), CHARGES | {"agreement"}),
    "captured more than authorized": (
        lambda body, shape: _with("captures", [{"id": "c1", "amount": 2_000, "status": "CAPTURED"}])(
            _authz("status", "AUTHORIZED")(body, shape), shape
        ),
        CHARGES,
    ),
    "refunded more than captured": (
        lambda body, shape: _with("refunds", [{"id": "r1", "amount": 500, "status": "REFUNDED"}])(
            _authz("status", "AUTHORIZED")(body, shape), shape
        ),
        CHARGES,
    ),
}

# Contradicting the request is only detectable where the request said an amount.
CONTRADICTIONS: dict[str, Callable[[Any, str], Any]] = {
    "authorization other than requested": _authz("amount", 999),
    "currency other than requested": _with("currency", "EUR"),
}


def _content(mutated: Any) -> bytes:
    return mutated if isinstance(mutated, bytes) else json.dumps(mutated).encode()


def _cases() -> list[Any]:
    cases = []
    for op in OPERATIONS:
        for name, (mutate, shapes) in MUTATIONS.items():
            if op.shape in shapes:
                cases.append(pytest.param(op, name, mutate, id=f"{op.name}: {name}"))
        if op.name in ("authorize", "charge_mandate"):
            for name, mutate in CONTRADICTIONS.items():
                cases.append(pytest.param(op, name, mutate, id=f"{op.name}: {name}"))
    return cases


CASES = _cases()


WRITES = {"authorize", "capture", "void", "refund", "create_mandate", "charge_mandate", "revoke_mandate"}


@pytest.mark.parametrize(("op", "name", "mutate"), CASES)
def test_a_malformed_200_to_a_read_is_a_provider_response_error_and_to_a_write_an_unknown_outcome(
    op: Op, name: str, mutate: Callable[[Any, str], Any]
) -> None:
    # A 2xx to a write means PPRO performed it: an answer the plugin cannot read or check
    # does not undo that, so the host must resume with the key, never retry with a new one
    # (issue #12, finding 1: a host retried such a capture and PPRO captured twice).
    script = Scripted()
    script.answer = (200, _content(mutate(op.valid(), op.shape)))
    with scripted_gateway(script) as gw, pytest.raises(PspError) as caught:
        _outcome(op, script, gw)
    error = caught.value
    if op.name in WRITES:
        assert isinstance(error, TransportError), repr(error)
        assert error.outcome_unknown
        assert error.idempotency_key is not None
        assert error.operation == op.name
    else:
        assert isinstance(error, ProviderResponseError), repr(error)
        assert error.http_status == 200
    assert error.request_id is not None  # the Request-Reference PPRO support asks for
    assert error.__context__ is None and error.__cause__ is None  # no unscrubbed original rides along
    assert script.requests == 1  # a malformed answer is never retried blindly


def test_the_malformed_table_covers_every_operation() -> None:
    per_op = {op.name: sum(1 for case in CASES if case.values[0] is op) for op in OPERATIONS}
    assert all(count >= 14 for count in per_op.values()), per_op
    assert len(CASES) >= 250


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
@pytest.mark.parametrize("status", [502, 503, 504])
def test_an_html_error_page_from_a_proxy_is_a_psp_error(op: Op, status: int) -> None:
    script = Scripted()
    script.answer = (status, b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
    with scripted_gateway(script) as gw, pytest.raises(PspError) as caught:
        _outcome(op, script, gw)
    assert "<html>" not in str(caught.value)
    assert script.requests == 2  # retried, within the policy's two attempts


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
@pytest.mark.parametrize("status", [400, 404, 409, 422])
@pytest.mark.parametrize(
    "body", [b"<html>oops</html>", b"", b"[]", b'{"status": "x"}'], ids=["html", "empty", "list", "odd"]
)
def test_an_error_status_with_any_body_is_a_provider_error(op: Op, status: int, body: bytes) -> None:
    script = Scripted()
    script.answer = (status, body)
    with scripted_gateway(script) as gw, pytest.raises(PspError) as caught:
        _outcome(op, script, gw)
    assert getattr(caught.value, "http_status", None) == status


# Found by this suite: nested models with all-default fields used to accept a list or a string.


@pytest.mark.parametrize("value", ["declined", ["INSUFFICIENT_FUNDS"]], ids=["string", "list"])
def test_a_failure_that_is_not_an_object_is_a_provider_response_error(value: object) -> None:
    script = Scripted()
    body = charge("FAILED", authz="FAILED")
    body["failure"] = value
    script.answer = (200, json.dumps(body).encode())
    with scripted_gateway(script) as gw, pytest.raises(ProviderResponseError):
        gw.get_payment("charge_1")


# Found by this suite: a search answer without 'data' used to read as 'not found', which is
# how a host resolves an unknown outcome, so it invited a second charge.


@pytest.mark.parametrize(
    "body", [{}, {"nextPage": "abc"}, {"items": [charge()]}], ids=["empty", "next-page-only", "misnamed"]
)
def test_a_search_answer_without_data_is_not_read_as_not_found(body: dict[str, Any]) -> None:
    script = Scripted()
    script.answer = (200, json.dumps(body).encode())
    with scripted_gateway(script) as gw, pytest.raises(ProviderResponseError):
        gw.find_payment("order-1")


# -- fuzzing -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

plausible = {
    "id": st.sampled_from(["charge_1", "agr_1", "capture_1", ""]) | json_values,
    "status": st.sampled_from(
        ["AUTHENTICATION_PENDING", "CAPTURED", "FAILED", "REFUNDED", "VOIDED", "ACTIVE", "REVOKED"]
    )
    | json_values,
    "amount": st.integers(-10, 3_000) | json_values,
    "currency": st.sampled_from([USD, "EUR", "ZZZ"]) | json_values,
}
sub_object = st.fixed_dictionaries(
    {"id": plausible["id"], "amount": plausible["amount"], "status": plausible["status"]},
    optional={"createdAt": st.sampled_from(["2026-01-15T12:00:00.000Z", "soon"]) | json_values},
)
charge_shaped = st.fixed_dictionaries(
    {"id": plausible["id"], "status": plausible["status"]},
    optional={
        "currency": plausible["currency"],
        "authorizations": st.lists(sub_object, max_size=2) | json_values,
        "captures": st.lists(sub_object, max_size=2) | json_values,
        "refunds": st.lists(sub_object, max_size=2) | json_values,
        "voids": st.lists(sub_object, max_size=2) | json_values,
        "failure": json_values,
        "authenticationMethods": json_values,
        "amount": plausible["amount"],
        "data": st.lists(json_values, max_size=2),
    },
)

FUZZ_STATUS = st.sampled_from([200, 200, 200, 201, 400, 404, 409, 429, 500])


def _fuzz(op: Op, status: int, body: Any) -> None:
    script = Scripted()
    script.answer = (status, json.dumps(body).encode())
    script.follow_up = script.answer
    with scripted_gateway(script) as gw:
        try:
            result = _outcome(op, script, gw)
        except PspError as error:
            failure: PspError | None = error
        else:
            failure = None
    if failure is not None:
        if op.name in WRITES and 200 <= status < 300:
            # The one rule for writes: PPRO answered 2xx, so it acted; whatever the body,
            # the host is told the outcome is unknown and given the key, never "nothing".
            assert isinstance(failure, TransportError), repr(failure)
            assert failure.outcome_unknown and failure.idempotency_key, repr(failure)
        return
    assert result is None or isinstance(result, Payment | Mandate)
    if op.name == "find_payment":
        assert result is None or isinstance(result, Payment)


@settings(max_examples=40)
@given(op=st.sampled_from(OPERATIONS), status=FUZZ_STATUS, body=json_values)
def test_arbitrary_json_from_ppro_is_a_result_or_a_psp_error(op: Op, status: int, body: Any) -> None:
    _fuzz(op, status, body)


@settings(max_examples=60)
@given(op=st.sampled_from(OPERATIONS), body=charge_shaped, wrap=st.booleans())
def test_charge_shaped_answers_with_random_field_types_are_a_result_or_a_psp_error(
    op: Op, body: dict[str, Any], wrap: bool
) -> None:
    _fuzz(op, 200, {"data": [body]} if wrap else body)


# -- nesting is bounded before parsing ---------------------------------------------------------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=30,
)


@given(_JSON_VALUES)
def test_bounded_loads_reads_what_json_reads_whatever_brackets_its_strings_hold(value: object) -> None:
    from psp_ppro._wire import loads

    assert loads(json.dumps(value).encode()) == value


@given(st.integers(1, 300), st.sampled_from([("[", "]"), ('{"k":', "}")]))
def test_json_deeper_than_the_bound_is_refused_before_it_is_parsed(
    depth: int, brackets: tuple[str, str]
) -> None:
    # json's own recursion towards Python's limit can run finalizers at the edge of the stack,
    # where they fail as unraisable errors: depth is checked first, so parsing never gets there.
    from psp_ppro._wire import MAX_JSON_DEPTH, NestedTooDeeply, loads

    opening, closing = brackets
    body = (opening * depth + "1" + closing * depth).encode()
    if depth > MAX_JSON_DEPTH:
        with pytest.raises(NestedTooDeeply):
            loads(body)
    else:
        assert loads(body) is not None
