"""PPRO's answers read, and request bodies written, by generated code held to cattrs and json.

``psp_ppro._wire`` reads an answer with orjson and a reader generated per wire class, and
writes a body with a generated writer and orjson (issue 18). Each only vouches for what it is
sure of and otherwise hands over to the code that was there before (json.loads + cattrs for an
answer, cattrs + json.dumps for a body). These specs hold the whole to that older code, kept
here verbatim as the reference: for answers shaped like every wire model PPRO sends (valid,
broken field by field, mangled byte by byte) both read equal models or both refuse with the
same ``ProviderResponseError`` text; for any body both write the same bytes or fail alike.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psp_core import ProviderError, ProviderResponseError
from psp_ppro import _http, _wire

# -- the reference: the reading and writing code as it was before the generated paths --------


def reference_from_json(content: bytes, cls: type[Any], what: str) -> Any:
    try:
        raw = _wire.loads(content)
    except _wire.NestedTooDeeply:
        raise ProviderResponseError(f"{what}: the response is JSON nested too deeply to read") from None
    except (ValueError, UnicodeDecodeError):
        raise ProviderResponseError(f"{what}: the response is not JSON") from None
    return reference_structure(raw, cls, what)


def reference_structure(raw: object, cls: type[Any], what: str) -> Any:
    if not isinstance(raw, dict):
        raise ProviderResponseError(f"{what}: expected a JSON object, got {type(raw).__name__}")
    try:
        return _wire._CONVERTER.structure(raw, cls)
    except cattrs.BaseValidationError as error:
        detail = "; ".join(cattrs.transform_error(error))
        raise ProviderResponseError(f"{what}: unexpected response shape: {detail}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise ProviderResponseError(f"{what}: unexpected response shape: {error}") from None


def reference_to_json(body: object) -> bytes:
    return json.dumps(_wire._CONVERTER.unstructure(body), separators=(",", ":")).encode()


def outcome(function: Callable[..., Any], *args: Any) -> tuple[object, ...]:
    """What a call gives, comparable across two implementations: the value, or the refusal."""
    try:
        value = function(*args)
    except ProviderResponseError as error:
        return ("refused", error.message, error.http_status, error.provider_code)
    except Exception as error:  # anything else must at least be the same failure
        return ("raised", type(error), str(error))
    # repr as well as ==: a tuple is not a list, and a float equal to an int is not an int
    return ("read", value, repr(value))


# Every model read from a PPRO answer or webhook, the top-level ones and those they nest.
ANSWERS = (
    _wire.Charge,
    _wire.ChargeOperation,
    _wire.ChargePage,
    _wire.Agreement,
    _wire.RevocationResult,
    _wire.ErrorBody,
    _wire.Envelope,
)
NESTED = (
    _wire.Authorization,
    _wire.Failure,
    _wire.AuthenticationMethod,
    _wire.AuthenticationDetails,
    _wire.Discard,
    _wire.WireConsumer,
    _wire.WireAddress,
    _wire.WireOrder,
    _wire.WireOrderItem,
    _wire.WireMoney,
    _wire.EventData,
)
BODIES = (
    _wire.ChargeBody,
    _wire.CaptureBody,
    _wire.VoidBody,
    _wire.RefundBody,
    _wire.AgreementBody,
    _wire.AgreementChargeBody,
    _wire.InitialChargeBody,
)

# -- answers shaped like the wire models ------------------------------------------------------

TEXT = st.one_of(
    st.sampled_from(["", "US", "AMAZON_PAY", "CAPTURED", "charge_1", "2026-12-02T09:30:11.457Z"]),
    # where json and orjson differ: escapes, DEL, non-ASCII, a lone surrogate, NUL
    st.sampled_from(["Zoë", "\x7f", "\ud800", "a\x00b", "€", '"\\/', "\U0001f600"]),
    # every code point, lone surrogates and DEL included: json reads an escaped lone
    # surrogate, orjson refuses it
    st.text(st.characters(exclude_categories=()), max_size=4),
)
INTS = st.one_of(
    st.integers(-3, 3000),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 2**70, -(2**80)]),
)
JUNK = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        7,
        2**70,
        1.5,
        1.0,
        float("nan"),
        float("inf"),
        "",
        "x",
        "ab",
        [],
        ["x"],
        [{}],
        {},
        {"x": 1},
    ]
)
EXTRA_KEYS = st.sampled_from(["_links", "paymentMedium", "labels", "x", "ID", "Id", "payment_method"])


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _optional_inner(type_: Any) -> Any | None:
    args = typing.get_args(type_)
    if typing.get_origin(type_) in (typing.Union, types.UnionType) and type(None) in args:
        return next(arg for arg in args if arg is not type(None))
    return None


def shaped(type_: Any, broken: bool) -> st.SearchStrategy[Any]:
    """JSON-ish values of ``type_``'s shape; ``broken``: any value anywhere may be junk."""
    valid = _valid(type_, broken)
    # one value in eight or so is junk: enough to break most answers somewhere, and few
    # enough that some break only deep inside
    return st.one_of(*[valid] * 7, JUNK) if broken else valid


def _valid(type_: Any, broken: bool) -> st.SearchStrategy[Any]:
    if type_ is str:
        return TEXT
    if type_ is int:
        return INTS
    if type_ is bool:
        return st.booleans()
    if (inner := _optional_inner(type_)) is not None:
        return st.none() | shaped(inner, broken)
    if attrs.has(type_):
        return _objects(type_, broken)
    args = typing.get_args(type_)
    if typing.get_origin(type_) is tuple:
        return st.lists(shaped(args[0], broken), max_size=2)
    raise AssertionError(f"no strategy for {type_}")


@st.composite
def _objects(draw: st.DrawFn, cls: type[Any], broken: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    hints = _hints(cls)
    for field in attrs.fields(cls):
        required = field.default is attrs.NOTHING
        # a required key goes missing only in a broken answer; an optional one at will
        if (required and not (broken and draw(st.integers(0, 7)) == 0)) or (
            not required and draw(st.booleans())
        ):
            out[_wire._camel(field.name)] = draw(shaped(hints[field.name], broken))
    for key in draw(st.lists(EXTRA_KEYS, max_size=2)):
        out[key] = draw(JUNK)
    return out


def as_bytes(value: Any, ascii_only: bool) -> bytes:
    """The answer as PPRO's bytes: escaped ASCII, or UTF-8 (raw lone surrogates as WTF-8)."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


MODELS = st.sampled_from(ANSWERS + NESTED)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cls=MODELS, ascii_only=st.booleans())
def test_a_well_formed_answer_reads_as_the_reference_reads_it(
    data: st.DataObject, cls: type[Any], ascii_only: bool
) -> None:
    content = as_bytes(data.draw(_objects(cls, broken=False)), ascii_only)
    assert outcome(_wire.from_json, content, cls, "get") == outcome(reference_from_json, content, cls, "get")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cls=MODELS, ascii_only=st.booleans())
def test_a_broken_answer_is_read_or_refused_as_the_reference_does_with_its_text(
    data: st.DataObject, cls: type[Any], ascii_only: bool
) -> None:
    content = as_bytes(data.draw(shaped(cls, broken=True)), ascii_only)
    assert outcome(_wire.from_json, content, cls, "capture") == outcome(
        reference_from_json, content, cls, "capture"
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cls=MODELS)
def test_structure_of_a_parsed_answer_agrees_with_cattrs(data: st.DataObject, cls: type[Any]) -> None:
    # webhooks and error answers are parsed by json and then structured
    raw = data.draw(shaped(cls, broken=data.draw(st.booleans())))
    assert outcome(_wire.structure, raw, cls, "webhook") == outcome(reference_structure, raw, cls, "webhook")


@st.composite
def mangled(draw: st.DrawFn, content: bytes) -> bytes:
    """``content`` with a few bytes replaced, inserted or deleted."""
    out = bytearray(content)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(out)))
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        piece = draw(
            st.sampled_from(
                [b"\x00", b"\x7f", b"\xff", b"\xed\xa0\x80", b"\xc3", b"NaN", b"-", b"1e999", b'"', b"\\"]
            )
            | st.binary(min_size=1, max_size=2)
        )
        if kind == "insert":
            out[at:at] = piece
        elif kind == "replace":
            out[at : at + len(piece)] = piece
        else:
            del out[at : at + draw(st.integers(1, 4))]
    return bytes(out)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cls=st.sampled_from(ANSWERS), ascii_only=st.booleans())
def test_an_answer_mangled_byte_by_byte_reads_or_fails_as_the_reference(
    data: st.DataObject, cls: type[Any], ascii_only: bool
) -> None:
    content = data.draw(mangled(as_bytes(data.draw(_objects(cls, broken=False)), ascii_only)))
    assert outcome(_wire.from_json, content, cls, "get") == outcome(reference_from_json, content, cls, "get")


# -- the happy path is the generated one ------------------------------------------------------


@pytest.mark.parametrize("cls", ANSWERS + NESTED, ids=lambda cls: cls.__name__)
def test_every_answer_model_has_a_generated_reader(cls: type[Any]) -> None:
    # else it silently falls back to cattrs, correct but as slow as before
    assert _wire._GENERATED.reader(cls) is not None


@pytest.mark.parametrize("cls", BODIES, ids=lambda cls: cls.__name__)
def test_every_body_model_has_a_generated_writer(cls: type[Any]) -> None:
    assert _wire._GENERATED.writer(cls) is not None


CHARGE = {
    "id": "charge_1",
    "paymentMethod": "AMAZON_PAY",
    "currency": "USD",
    "status": "CAPTURE_PENDING",
    "consumer": {"country": "US", "name": "John Smith", "billingAddress": {"city": "Seattle"}},
    "authorizations": [{"id": "authz_1", "amount": 1000, "status": "AUTHORIZED"}],
    "captures": [],
    "order": {"orderItems": [{"name": "Tea", "quantity": 2, "amount": 500}], "totalTaxAmount": 0},
    "_links": {"self": {"href": "/v1/payment-charges/charge_1"}},
}


def test_a_charge_is_read_by_the_generated_reader_alone() -> None:
    charge = _wire._GENERATED.reader(_wire.Charge)(CHARGE)  # type: ignore[misc]
    assert charge == _wire._CONVERTER.structure(CHARGE, _wire.Charge)
    assert charge.authorizations == (_wire.Authorization(id="authz_1", amount=1000, status="AUTHORIZED"),)
    assert charge.order.order_items == (_wire.WireOrderItem(name="Tea", quantity=2, amount=500),)
    assert charge.consumer.billing_address == _wire.WireAddress(city="Seattle")
    assert charge.refunds == () and charge.failure is None


@pytest.mark.parametrize(
    "change",
    [
        {"amount": True},  # a bool is not an amount
        {"amount": 10.0},
        {"amount": "1000"},
        {"id": None},
        {"status": 1},
        {"failure": []},
        {"failure": {"isRetryable": "yes"}},
        {"createdAt": 1},
    ],
    ids=repr,
)
def test_the_generated_reader_refuses_what_cattrs_refuses_and_cattrs_says_why(change: dict[str, Any]) -> None:
    raw = {"id": "capture_1", "amount": 1000, "status": "CAPTURED", **change}
    with pytest.raises(_wire._Unsure):
        _wire._GENERATED.reader(_wire.ChargeOperation)(raw)  # type: ignore[misc]
    content = json.dumps(raw).encode()
    with pytest.raises(ProviderResponseError) as refused:
        _wire.from_json(content, _wire.ChargeOperation, "capture")
    assert refused.value.message.startswith("capture: unexpected response shape: ")
    assert outcome(_wire.from_json, content, _wire.ChargeOperation, "capture") == outcome(
        reference_from_json, content, _wire.ChargeOperation, "capture"
    )


def test_a_missing_required_field_is_named_in_the_refusal() -> None:
    with pytest.raises(ProviderResponseError, match=r"required field missing @ \$\.status"):
        _wire.from_json(b'{"id":"capture_1","amount":1}', _wire.ChargeOperation, "capture")


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("", ()),  # cattrs makes a tuple of any iterable: the generated reader leaves it to cattrs
        ({}, ()),
    ],
)
def test_a_list_given_as_another_iterable_is_still_read_as_cattrs_reads_it(
    value: object, read: tuple[()]
) -> None:
    raw = {"id": "charge_1", "status": "AUTHORIZED", "captures": value}
    with pytest.raises(_wire._Unsure):
        _wire._GENERATED.reader(_wire.Charge)(raw)  # type: ignore[misc]
    assert _wire.structure(raw, _wire.Charge, "get").captures == read


# -- how the reader builds a model: through its slots only where __init__ does nothing more --


@attrs.frozen
class Checked:
    amount: int = attrs.field(validator=attrs.validators.ge(0))
    note: str | None = None


@attrs.frozen
class Counted:
    amount: int
    seen: list[int] = attrs.field(factory=list, init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self.seen.append(self.amount)


@attrs.frozen
class Guarded:
    amount: int

    def __attrs_post_init__(self) -> None:
        if self.amount > 100:
            raise ValueError("amount over 100")


@attrs.frozen
class Based:
    id: str


@attrs.frozen
class Derived(Based):
    status: str | None = None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"amount": 3, "note": "n"}, Checked(3, "n")),
        ({"amount": -1}, ValueError),  # the model's own validator still refuses it
    ],
)
def test_a_model_with_a_validator_is_built_by_its_own_init(raw: dict[str, Any], expected: object) -> None:
    reader = _wire._Generator().reader(Checked)
    assert reader is not None
    if expected is ValueError:
        with pytest.raises(ValueError, match="amount"):
            reader(raw)
    else:
        assert reader(raw) == expected == _wire._CONVERTER.structure(raw, Checked)


def test_models_with_post_init_or_inherited_fields_read_as_cattrs_reads_them() -> None:
    generated = _wire._Generator()
    # a field with init=False is left to cattrs whole
    assert generated.reader(Counted) is None
    guarded = generated.reader(Guarded)
    assert guarded is not None and guarded({"amount": 100}) == Guarded(100)
    with pytest.raises(ValueError, match="amount over 100"):
        guarded({"amount": 101})  # the post-init hook ran
    derived = generated.reader(Derived)
    assert derived is not None
    raw = {"id": "charge_1", "status": "CAPTURED"}
    read = derived(raw)
    assert read == Derived("charge_1", "CAPTURED") == _wire._CONVERTER.structure(raw, Derived)
    assert repr(read) == repr(Derived("charge_1", "CAPTURED"))


def test_a_plain_model_is_built_through_its_slots_and_equals_its_init() -> None:
    raw = {"firstName": "Sandbox", "city": "Seattle"}
    read = _wire._GENERATED.reader(_wire.WireAddress)(raw)  # type: ignore[misc]
    assert read == _wire.WireAddress(first_name="Sandbox", city="Seattle")
    assert hash(read) == hash(_wire.WireAddress(first_name="Sandbox", city="Seattle"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        read.city = "Portland"  # type: ignore[misc]


# -- what orjson reads differently from json.loads: the answer is read as json.loads reads it --

OPERATION = b'{"id":"capture_1","status":"CAPTURED","amount":%s%s}'


def _operation(amount: bytes, extra: bytes = b"") -> bytes:
    return OPERATION % (amount, extra)


def test_an_amount_beyond_64_bits_is_read_exactly_as_json_reads_it() -> None:
    # orjson reads it as a float, which the reader refuses; json.loads reads the int
    read = _wire.from_json(_operation(b"123456789012345678901234567890"), _wire.ChargeOperation, "capture")
    assert read.amount == 123456789012345678901234567890 and type(read.amount) is int


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_nan_and_infinity_are_ignored_where_unread_and_refused_as_amounts(literal: bytes) -> None:
    # json.loads accepts these literals (and 1e999 as inf); orjson refuses them: json decides
    read = _wire.from_json(_operation(b"1", b',"extra":' + literal), _wire.ChargeOperation, "capture")
    assert read.amount == 1
    with pytest.raises(ProviderResponseError, match=r"invalid value for type, expected int @ \$\.amount$"):
        _wire.from_json(_operation(literal), _wire.ChargeOperation, "capture")


def test_a_lone_surrogate_is_read_as_json_reads_it() -> None:
    escaped = b'{"id":"capture_\\ud800","status":"CAPTURED","amount":1}'
    raw_wtf8 = b'{"id":"capture_\xed\xa0\x80","status":"CAPTURED","amount":1}'
    for content in (escaped, raw_wtf8):
        assert _wire.from_json(content, _wire.ChargeOperation, "capture").id == "capture_\ud800"


@pytest.mark.parametrize(
    "content", [b'{"id":"\xff","status":"CAPTURED","amount":1}', b"\xc3", b"", b"{", b"{}}"]
)
def test_what_is_not_json_is_refused_as_such(content: bytes) -> None:
    with pytest.raises(ProviderResponseError, match="^capture: the response is not JSON$"):
        _wire.from_json(content, _wire.ChargeOperation, "capture")


def test_a_duplicate_key_reads_its_last_value_as_json_does() -> None:
    read = _wire.from_json(
        _operation(b"1", b',"amount":2,"status":"FAILED"'), _wire.ChargeOperation, "capture"
    )
    assert (read.amount, read.status) == (2, "FAILED")


def test_a_byte_order_mark_and_utf16_are_read_as_json_reads_them() -> None:
    body = '{"id":"capture_1","status":"CAPTURED","amount":1}'
    for content in (b"\xef\xbb\xbf" + body.encode(), body.encode("utf-16")):
        assert _wire.from_json(content, _wire.ChargeOperation, "capture").id == "capture_1"


def test_nesting_beyond_the_limit_is_refused_and_up_to_it_read() -> None:
    def nested(depth: int) -> bytes:
        # the operation object is one level: depth - 1 more inside an unread key
        return _operation(b"1", b',"extra":' + b"[" * (depth - 1) + b"]" * (depth - 1))

    assert _wire.from_json(nested(_wire.MAX_JSON_DEPTH), _wire.ChargeOperation, "capture").amount == 1
    with pytest.raises(
        ProviderResponseError, match="^capture: the response is JSON nested too deeply to read$"
    ):
        _wire.from_json(nested(_wire.MAX_JSON_DEPTH + 1), _wire.ChargeOperation, "capture")


@pytest.mark.parametrize(
    ("content", "kind"), [(b"[]", "list"), (b'"x"', "str"), (b"1", "int"), (b"null", "NoneType")]
)
def test_an_answer_that_is_not_an_object_is_refused_naming_what_it_is(content: bytes, kind: str) -> None:
    with pytest.raises(ProviderResponseError, match=f"^get: expected a JSON object, got {kind}$"):
        _wire.from_json(content, _wire.Charge, "get")


# -- request bodies ------------------------------------------------------------------------


class Method(enum.StrEnum):
    AMAZON_PAY = "AMAZON_PAY"


class Cents(enum.IntEnum):
    TEN = 10


# What a body field could hold if a caller broke its types: json.dumps and orjson differ on
# several (floats, big ints, non-ASCII and DEL, enums, mappings that are not dicts).
ODD = st.sampled_from(
    [
        None,
        1.5,
        1e16,
        float("nan"),
        2**64,
        2**70,
        -(2**63) - 1,
        True,
        "é",
        "\x7f",
        "\ud800",
        Method.AMAZON_PAY,
        Cents.TEN,
        [1],
        (),
        types.MappingProxyType({"a": "b"}),
        {1: "a"},
        {"a": 1},
    ]
)


def body_value(type_: Any, broken: bool) -> st.SearchStrategy[Any]:
    valid = _body_valid(type_, broken)
    return st.one_of(*[valid] * 7, ODD) if broken else valid


def _body_valid(type_: Any, broken: bool) -> st.SearchStrategy[Any]:
    if type_ is str:
        return TEXT
    if type_ is int:
        return INTS
    if type_ is bool:
        return st.booleans()
    if (inner := _optional_inner(type_)) is not None:
        return st.none() | body_value(inner, broken)
    if attrs.has(type_):
        hints = _hints(type_)
        return st.builds(
            type_, **{field.name: body_value(hints[field.name], broken) for field in attrs.fields(type_)}
        )
    args, origin = typing.get_args(type_), typing.get_origin(type_)
    if origin is tuple:
        return st.lists(body_value(args[0], broken), max_size=2).map(tuple)
    if origin is Mapping:
        return st.dictionaries(TEXT, TEXT, max_size=2)
    raise AssertionError(f"no strategy for {type_}")


def bodies(broken: bool) -> st.SearchStrategy[Any]:
    return st.one_of([_body_valid(cls, broken) for cls in BODIES])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(broken=False))
def test_a_body_is_written_byte_for_byte_as_json_dumps_wrote_it(body: object) -> None:
    assert outcome(_wire.to_json, body) == outcome(reference_to_json, body)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(broken=True))
def test_a_body_with_odd_values_is_written_or_refused_as_before(body: object) -> None:
    assert outcome(_wire.to_json, body) == outcome(reference_to_json, body)


def test_a_body_is_written_compact_with_unset_fields_omitted() -> None:
    body = _wire.CaptureBody(amount=1000)
    assert _wire._GENERATED.writer(_wire.CaptureBody)(body) == {"amount": 1000}  # type: ignore[misc]
    assert _wire.to_json(body) == b'{"amount":1000}'
    labelled = _wire.AgreementChargeBody(
        amount=_wire.WireMoney(value=5, currency="EUR"),
        merchant_payment_charge_reference="order-1",
        auto_capture=True,
        labels={"b": "1", "a": "2"},
    )
    assert _wire.to_json(labelled) == (
        b'{"amount":{"value":5,"currency":"EUR"},"merchantPaymentChargeReference":"order-1",'
        b'"autoCapture":true,"labels":{"b":"1","a":"2"}}'
    )


def test_non_ascii_text_is_escaped_as_json_dumps_escapes_it() -> None:
    # orjson would write UTF-8; PPRO gets the same bytes as before
    assert _wire.to_json(_wire.CaptureBody(amount=1, merchant_capture_reference="Zoë\x7f")) == (
        b'{"amount":1,"merchantCaptureReference":"Zo\\u00eb\\u007f"}'
    )


# -- _http.parse: the answer's status, then its body, attributed to its request ------------------


def reference_parse(response: httpx.Response, cls: type[Any], what: str) -> Any:
    """``_http.parse`` as it was: raise_for_error, then the body read inside ``answering``."""
    _http.raise_for_error(response, what)
    with _http.answering(response):
        return reference_from_json(response.content, cls, what)


def answer(status: int, content: bytes, reference: str | None = "ref-answer") -> httpx.Response:
    headers = {_http.REQUEST_REFERENCE: reference} if reference else {}
    request = httpx.Request(
        "GET", "https://ppro.test/v1/payment-charges/c", headers={_http.REQUEST_REFERENCE: "ref-sent"}
    )
    return httpx.Response(status, content=content, headers=headers, request=request)


def parse_outcome(
    function: Callable[..., Any], response: httpx.Response, cls: type[Any]
) -> tuple[object, ...]:
    try:
        return ("read", function(response, cls, "get payment"))
    except ProviderError as error:
        return (type(error), error.message, error.http_status, error.request_id, error.provider_code)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    cls=st.sampled_from(ANSWERS),
    status=st.sampled_from([200, 201, 204, 299, 300, 400, 401, 404, 409, 422, 500, 503]),
    reference=st.sampled_from(["ref-answer", None]),
)
def test_parse_reads_refuses_and_attributes_as_before(
    data: st.DataObject, cls: type[Any], status: int, reference: str | None
) -> None:
    content = as_bytes(data.draw(shaped(cls, broken=data.draw(st.booleans()))), ascii_only=True)
    response = answer(status, content, reference)
    assert parse_outcome(_http.parse, response, cls) == parse_outcome(reference_parse, response, cls)


def test_a_malformed_success_names_the_call_and_carries_the_answers_status_and_request() -> None:
    with pytest.raises(ProviderResponseError) as refused:
        _http.parse(answer(200, b'{"id":"c"}'), _wire.Charge, "get payment")
    assert (
        refused.value.message == "get payment: unexpected response shape: required field missing @ $.status"
    )
    assert (refused.value.http_status, refused.value.request_id) == (200, "ref-answer")
    with pytest.raises(ProviderResponseError) as unsigned:
        _http.parse(answer(200, b"[]", reference=None), _wire.Charge, "get payment")
    assert (unsigned.value.http_status, unsigned.value.request_id) == (200, "ref-sent")


def test_an_error_answer_is_raised_as_its_psp_error_before_its_body_is_read() -> None:
    body = b'{"status":404,"failureMessage":"charge not found","timestamp":"2026-12-02T09:30:11Z"}'
    with pytest.raises(ProviderError) as refused:
        _http.parse(answer(404, body), _wire.Charge, "get payment")
    assert type(refused.value) is ProviderError
    assert refused.value.message == "get payment: PPRO refused the request: charge not found"
    assert (refused.value.http_status, refused.value.request_id) == (404, "ref-answer")
