"""Properties over the request and response spaces, checked against PPRO's own OpenAPI documents.

The documents are read from the shared reference folder beside the repository, never copied
into the project; without them the schema tests skip.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psp_amazonpay import plugin
from psp_core import (
    AmountType,
    CaptureMode,
    CaptureRequest,
    ConfigurationError,
    Consumer,
    Frequency,
    FrequencyUnit,
    InitialCharge,
    MandateChargeRequest,
    MandateRequest,
    Money,
    Payment,
    PaymentStatus,
    PspError,
    RefundReason,
    RefundRequest,
    ValidationError,
    VoidRequest,
    refund_deadline,
)

from .conftest import OPTIONS, RETURN_URL, Recorder, authorize_request, gateway

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "ppro-openapi"
CHARGES, AGREEMENTS = "ppro-payment-charges.json", "ppro-payment-agreements.json"

with gateway(Recorder(httpx.Response(500))) as _gw:
    CONFIG = _gw.config

texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40).filter(
    str.strip
)
minor_amounts = st.integers(50, 2_000_000)
consumers = st.builds(
    Consumer,
    country=st.just("US"),
    name=texts,
    email=st.none() | st.emails(),
    locale=st.none() | st.just("en-US"),
)
authorize_requests = st.builds(
    authorize_request,
    minor=minor_amounts,
    consumer=consumers,
    merchant_reference=texts,
    capture_mode=st.sampled_from(CaptureMode),
    webhook_url=st.none() | st.just("https://shop.example/hooks"),
    description=st.none() | texts,
)

psp_authorize = plugin.psp_authorize
psp_capture = plugin.psp_capture
psp_charge_mandate = plugin.psp_charge_mandate
psp_create_mandate = plugin.psp_create_mandate
psp_get_mandate = plugin.psp_get_mandate
psp_get_payment = plugin.psp_get_payment
psp_refund = plugin.psp_refund
psp_void = plugin.psp_void


def first_request(flow: Any) -> httpx.Request:
    request: httpx.Request = next(flow)
    return request


# -- the request space ---------------------------------------------------------------------


@given(authorize_requests)
def test_every_valid_authorize_request_sends_exact_minor_units(request: Any) -> None:
    sent = first_request(psp_authorize(CONFIG, request))
    body = json.loads(sent.content)
    assert body["amount"] == {"value": request.amount.minor, "currency": "USD"}
    assert isinstance(body["amount"]["value"], int)
    assert body["autoCapture"] is (request.capture_mode is CaptureMode.AUTOMATIC)
    assert body["merchantPaymentChargeReference"] == request.merchant_reference
    assert body["consumer"]["name"] == request.consumer.name


def _invalid_authorize_requests() -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = [
        ("below minimum", lambda: authorize_request(49)),
        ("above maximum", lambda: authorize_request(2_000_001)),
        ("zero", lambda: authorize_request(0)),
        ("currency", lambda: authorize_request(amount=Money(1000, "EUR"))),
        ("country", lambda: authorize_request(consumer=Consumer(country="DE", name="Jo"))),
        ("no name", lambda: authorize_request(consumer=Consumer(country="US"))),
        ("blank name", lambda: authorize_request(consumer=Consumer(country="US", name="  "))),
        ("no return url", lambda: authorize_request(return_url=None)),
        ("http return url", lambda: authorize_request(return_url="http://shop.example/r")),
        ("float amount", lambda: authorize_request(amount=10.0)),
    ]
    return cases


@pytest.mark.parametrize(
    ("case", "make"), _invalid_authorize_requests(), ids=[c for c, _ in _invalid_authorize_requests()]
)
def test_invalid_requests_are_refused_before_any_request(case: str, make: Any) -> None:
    ppro = Recorder(httpx.Response(500))
    with gateway(ppro) as gw, pytest.raises(ValidationError):
        gw.authorize(make())
    assert ppro.requests == []


@given(st.integers(-5, 5), st.sampled_from([50, 2_000_000]))
def test_limits_are_exact_to_the_minor_unit(delta: int, edge: int) -> None:
    ppro = Recorder(httpx.Response(500))
    minor = edge + delta
    inside = 50 <= minor <= 2_000_000
    with gateway(ppro) as gw:
        if inside:
            assert first_request(psp_authorize(gw.config, authorize_request(minor)))
        else:
            with pytest.raises(ValidationError):
                gw.authorize(authorize_request(minor))
    assert ppro.requests == []


# -- requests against PPRO's OpenAPI request schemas ---------------------------------------------


@cache
def spec(name: str) -> dict[str, Any]:
    path = SPECS / name
    if not path.is_file():
        pytest.skip(f"PPRO's OpenAPI documents are not at {SPECS}; the schema checks need them")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def request_validator(name: str, schema: str) -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    uri = f"urn:ppro:{name}"
    registry: Registry[Any] = Registry().with_resource(uri, Resource.from_contents(spec(name), DRAFT202012))
    return Draft202012Validator({"$ref": f"{uri}#/components/schemas/{schema}"}, registry=registry)


def _paid() -> Payment:
    return Payment.new(
        "amazon_pay",
        "charge_1",
        PaymentStatus.CAPTURED,
        Money(1000, "USD"),
        authorized=Money(1000, "USD"),
        captured=Money(1000, "USD"),
    )


@given(authorize_requests)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_authorize_bodies_match_ppros_request_schema(request: Any) -> None:
    validator = request_validator(CHARGES, "AuthorizationRequest")
    validator.validate(json.loads(first_request(psp_authorize(CONFIG, request)).content))


@given(minor_amounts, st.none() | texts, st.none() | st.sampled_from(RefundReason))
def test_operation_bodies_match_ppros_request_schemas(
    minor: int, reference: str | None, reason: RefundReason | None
) -> None:
    amount = Money(min(minor, 1000), "USD")
    payment = _paid()
    authorized = Payment.new(
        "amazon_pay", "charge_1", PaymentStatus.AUTHORIZED, Money(1000, "USD"), authorized=Money(1000, "USD")
    )
    for flow, schema in (
        (
            psp_capture(CONFIG, CaptureRequest(authorized, merchant_reference=reference), amount),
            "CaptureRequest",
        ),
        (psp_void(CONFIG, VoidRequest(authorized, merchant_reference=reference), amount), "VoidRequest"),
        (
            psp_refund(CONFIG, RefundRequest(payment, reason=reason, merchant_reference=reference), amount),
            "RefundRequest",
        ),
    ):
        request_validator(CHARGES, schema).validate(json.loads(first_request(flow).content))


@given(
    st.none() | minor_amounts,
    st.none() | st.sampled_from(FrequencyUnit),
    st.none() | st.sampled_from(AmountType),
    st.none() | minor_amounts,
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_agreement_bodies_match_ppros_request_schemas(
    amount: int | None,
    unit: FrequencyUnit | None,
    amount_type: AmountType | None,
    initial: int | None,
    start: datetime,
) -> None:
    request = MandateRequest(
        consumer=Consumer(country="US", name="John Smith"),
        return_url=RETURN_URL,
        start=start,
        merchant_reference="sub-1",
        frequency=Frequency(unit, 2) if unit else None,
        amount=Money(amount, "USD") if amount else None,
        amount_type=amount_type,
        description="Monthly",
        initial_charge=InitialCharge(Money(initial, "USD"), "first") if initial else None,
    )
    request_validator(AGREEMENTS, "AgreementRequest").validate(
        json.loads(first_request(psp_create_mandate(CONFIG, request)).content)
    )
    charge = MandateChargeRequest("agr_1", Money(amount or 1000, "USD"), "order-9")
    request_validator(AGREEMENTS, "AgreementChargeRequest").validate(
        json.loads(first_request(psp_charge_mandate(CONFIG, charge)).content)
    )


# -- responses generated from PPRO's response schemas ----------------------------------------------

# Large, optional sub-trees the plugin never reads: dropped so generation stays fast.
_HEAVY = frozenset({"order", "_links", "consumer", "labels", "instrument", "additionalData", "history"})


def _inline(node: Any, components: dict[str, Any], depth: int = 0) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            if depth > 6:
                return {}
            target = components[node["$ref"].rsplit("/", 1)[-1]]
            return _inline(target, components, depth + 1)
        out = {
            k: _inline(v, components, depth)
            for k, v in node.items()
            if k not in ("discriminator", "example", "examples", "format")
        }
        if isinstance(out.get("properties"), dict):
            out["properties"] = {k: v for k, v in out["properties"].items() if k not in _HEAVY}
            out["properties"] = {
                k: {**v, "maxLength": 12}
                if v.get("type") == "string" and "enum" not in v
                else ({**v, "maxItems": 2} if v.get("type") == "array" else v)
                for k, v in out["properties"].items()
            }
        return out
    if isinstance(node, list):
        return [_inline(item, components, depth) for item in node]
    return node


def _strategy(schema: Any) -> st.SearchStrategy[Any]:
    """A small JSON Schema -> strategy translator for the subset PPRO's response schemas use.

    hypothesis-jsonschema 0.23.1 breaks on object schemas with this hypothesis release
    (``'many' object has no attribute 'more'``), so the schemas are drawn from directly.
    """
    if not isinstance(schema, dict) or not schema:
        return st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return st.one_of([_strategy(option) for option in schema[key]])
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(part.get("properties", {}))
        return _strategy(merged)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type", "object" if "properties" in schema else None)
    if isinstance(kind, list):
        return st.one_of([_strategy({**schema, "type": k}) for k in kind])
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: _strategy(v) for k, v in properties.items() if k in required},
            optional={k: _strategy(v) for k, v in properties.items() if k not in required},
        )
    if kind == "array":
        return st.lists(_strategy(schema.get("items", {})), max_size=2)
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**40)), schema.get("maximum", 2**40))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return st.text(max_size=12)


@cache
def response_strategy(name: str, path: str, method: str) -> st.SearchStrategy[Any]:
    """Draws the 200 answer PPRO's document declares for ``method path``."""
    document = spec(name)
    content = document["paths"][path][method]["responses"]["200"]["content"]
    schema = next(iter(content.values()))["schema"]
    return _strategy(_inline(schema, document["components"]["schemas"]))


def _run(flow: Any, body: Any) -> object:
    next(flow)
    try:
        flow.send(httpx.Response(200, json=body, request=httpx.Request("GET", "https://ppro.test/x")))
    except StopIteration as done:
        return done.value
    raise AssertionError("the flow asked for a second request")


CHARGE = "/v1/payment-charges/{paymentChargeId}"
AGREEMENT = "/v1/payment-agreements/{agreement-id}"
RESPONSE_CASES = [
    (CHARGES, CHARGE, "get", lambda: psp_get_payment(CONFIG, "charge_1")),
    (CHARGES, "/v1/payment-charges", "post", lambda: psp_authorize(CONFIG, authorize_request())),
    (
        CHARGES,
        CHARGE + "/captures",
        "post",
        lambda: psp_capture(CONFIG, CaptureRequest(_paid()), Money(1, "USD")),
    ),
    (
        CHARGES,
        CHARGE + "/refunds",
        "post",
        lambda: psp_refund(CONFIG, RefundRequest(_paid()), Money(1, "USD")),
    ),
    (AGREEMENTS, AGREEMENT, "get", lambda: psp_get_mandate(CONFIG, "agr_1")),
    (
        AGREEMENTS,
        AGREEMENT + "/payment-charges",
        "post",
        lambda: psp_charge_mandate(CONFIG, MandateChargeRequest("agr_1", Money(1000, "USD"), "o")),
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "method", "make_flow"), RESPONSE_CASES, ids=[f"{m}-{p}" for _, p, m, _ in RESPONSE_CASES]
)
def test_schema_generated_responses_give_a_result_or_a_typed_error(
    name: str, path: str, method: str, make_flow: Any
) -> None:
    strategy = response_strategy(name, path, method)

    @given(strategy)
    @settings(max_examples=25, suppress_health_check=list(HealthCheck))
    def check(body: Any) -> None:
        try:
            result = _run(make_flow(), body)
        except PspError:
            return
        assert result is not None

    check()


def test_no_options_leak_into_the_module_config() -> None:
    assert CONFIG.headers["Merchant-Id"] == OPTIONS["merchant_id"]


# -- merchant options: narrower limits, a shorter refund window ---------------------------------


@settings(max_examples=40)
@given(
    low=st.integers(50, 2_000_000),
    high=st.integers(50, 2_000_000),
    amount=st.integers(1, 2_100_000),
)
def test_merchant_limits_narrow_the_method_limits_and_are_enforced_before_any_request(
    low: int, high: int, amount: int
) -> None:
    low, high = min(low, high), max(low, high)
    recorder = Recorder(httpx.Response(500))
    options = {"min_amount": Money(low, "USD").format().split()[0], "max_amount": Money(high, "USD")}
    with gateway(recorder, **options) as gw:
        limits = gw.capabilities.amount_limits["USD"]
        assert (limits.minimum.minor, limits.maximum.minor) == (low, high)
        if low <= amount <= high:
            return
        with pytest.raises(ValidationError) as refused:
            gw.authorize(authorize_request(amount))
        assert refused.value.field == "amount"
        assert recorder.requests == []


@pytest.mark.parametrize(
    "options",
    [
        {"max_amount": "20000.01"},
        {"min_amount": "0.49"},
        {"min_amount": "10.00", "max_amount": "5.00"},
        {"max_amount": "ten dollars"},
        {"max_amount": Money(1000, "EUR")},
    ],
)
def test_merchant_limits_never_widen_the_method_limits(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="max_amount|min_amount"):
        gateway(Recorder(httpx.Response(500)), **options)


def test_a_merchant_refund_window_shortens_the_six_months_and_never_lengthens_them() -> None:
    with gateway(Recorder(httpx.Response(500)), refund_window_days="30") as gw:
        caps = gw.capabilities
        captured = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
        assert refund_deadline(caps, captured) == datetime(2026, 7, 31, 12, 0, tzinfo=UTC)
    with gateway(Recorder(httpx.Response(500)), refund_window_days=366) as gw:
        # Longer than six months: the six months still apply.
        assert refund_deadline(gw.capabilities, captured) == datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    for bad in ("0", "-3", "a month", 400, True):
        with pytest.raises(ConfigurationError, match="refund_window_days"):
            gateway(Recorder(httpx.Response(500)), refund_window_days=bad)
