"""PPRO's JSON shapes as frozen attrs models, and the one converter between them and JSON.

Field names are snake_case here and camelCase on the wire; the converter renames. Response
models list only what the plugin reads: PPRO adds fields freely (``_links``, ``order``,
``labels``), and unknown keys are ignored. Primitive types are checked strictly, because
cattrs' lenient defaults would turn ``"12.5"`` or ``12.5`` into an amount of 12.

The cattrs converter defines what is accepted and says why a shape is refused; every answer
and body goes through code generated from the same models, with orjson, first (issue 18:
"the fast reader and writer" below), and reaches cattrs and json only where that code is
not sure.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
import orjson
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from psp_core import ProviderResponseError

T = TypeVar("T")

# -- requests -------------------------------------------------------------------------------


@attrs.frozen
class WireMoney:
    value: int
    currency: str


@attrs.frozen
class WireAddress:
    first_name: str | None = None
    last_name: str | None = None
    phone_number: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None


@attrs.frozen
class WireConsumer:
    """PPRO's ``Consumer``, sent with a charge or agreement and read back from a charge."""

    country: str
    name: str | None = None
    email: str | None = None
    locale: str | None = None
    merchant_consumer_reference: str | None = None
    phone: str | None = None
    billing_address: WireAddress | None = None


@attrs.frozen
class WireOrderItem:
    name: str
    quantity: int
    amount: int
    """The price of one item, in minor units of the charge's currency."""
    sku: str | None = None
    category: str | None = None
    sub_category: str | None = None


@attrs.frozen
class WireOrder:
    """PPRO's ``Order``, sent with a charge and read back from one."""

    order_items: tuple[WireOrderItem, ...] = ()
    shipping_method: str | None = None
    shipping_address: WireAddress | None = None
    order_reference_number: str | None = None
    total_tax_amount: int | None = None


@attrs.frozen
class RedirectSettings:
    return_url: str


@attrs.frozen
class AuthenticationSetting:
    type: str
    settings: RedirectSettings


@attrs.frozen
class ChargeBody:
    """``POST /v1/payment-charges``."""

    payment_method: str
    amount: WireMoney
    consumer: WireConsumer
    authentication_settings: tuple[AuthenticationSetting, ...]
    merchant_payment_charge_reference: str
    auto_capture: bool
    webhooks_url: str | None = None
    payment_descriptor: str | None = None
    labels: Mapping[str, str] | None = None
    order: WireOrder | None = None


@attrs.frozen
class CaptureBody:
    amount: int
    merchant_capture_reference: str | None = None


@attrs.frozen
class VoidBody:
    amount: int
    merchant_void_reference: str | None = None


@attrs.frozen
class RefundBody:
    amount: int
    merchant_refund_reference: str | None = None
    refund_reason: str | None = None


@attrs.frozen
class WireFrequency:
    type: str
    interval: int


@attrs.frozen
class InitialChargeBody:
    """``initialPaymentCharge`` of an agreement (PPRO's ``PaymentCharge``)."""

    amount: WireMoney
    auto_capture: bool
    merchant_payment_charge_reference: str | None = None
    webhooks_url: str | None = None
    payment_descriptor: str | None = None
    labels: Mapping[str, str] | None = None
    order: WireOrder | None = None
    initiator: str | None = None
    schedule_type: str | None = None


@attrs.frozen
class BankAccountDetails:
    """PPRO's ``BankAccountDetails``: for an iDEAL agreement, the SEPA mandate's id."""

    debit_mandate_id: str | None = None
    bank_code: str | None = None


@attrs.frozen
class WireInstrument:
    """PPRO's ``PaymentInstrument``, by its ``type`` (``BANK_ACCOUNT``)."""

    type: str
    details: BankAccountDetails


@attrs.frozen
class AgreementBody:
    """``POST /v1/payment-agreements``."""

    payment_method: str
    consumer: WireConsumer
    authentication_settings: tuple[AuthenticationSetting, ...]
    start_date: str
    merchant_payment_agreement_reference: str
    end_date: str | None = None
    frequency: WireFrequency | None = None
    amount: WireMoney | None = None
    amount_type: str | None = None
    description: str | None = None
    initial_payment_charge: InitialChargeBody | None = None
    webhooks_url: str | None = None
    instrument: WireInstrument | None = None


@attrs.frozen
class AgreementChargeBody:
    """``POST /v1/payment-agreements/{id}/payment-charges``."""

    amount: WireMoney
    merchant_payment_charge_reference: str
    auto_capture: bool
    webhooks_url: str | None = None
    payment_descriptor: str | None = None
    labels: Mapping[str, str] | None = None
    order: WireOrder | None = None
    initiator: str | None = None
    schedule_type: str | None = None


# -- responses ------------------------------------------------------------------------------


@attrs.frozen
class Failure:
    failure_type: str | None = None
    failure_code: str | None = None
    provider_failure_code: str | None = None
    failure_message: str | None = None
    is_retryable: bool | None = None


@attrs.frozen
class AuthenticationDetails:
    request_url: str | None = None
    request_method: str | None = None


@attrs.frozen
class AuthenticationMethod:
    type: str
    details: AuthenticationDetails | None = None


@attrs.frozen
class Authorization:
    id: str
    amount: int
    status: str
    merchant_payment_charge_reference: str | None = None
    failure: Failure | None = None
    created_at: str | None = None
    updated_at: str | None = None


@attrs.frozen
class ChargeOperation:
    """A capture, refund or void: PPRO gives the three one shape, bar the reference's name."""

    id: str
    amount: int
    status: str
    failure: Failure | None = None
    created_at: str | None = None
    updated_at: str | None = None
    merchant_capture_reference: str | None = None
    merchant_refund_reference: str | None = None
    merchant_void_reference: str | None = None
    refund_reason: str | None = None


@attrs.frozen
class Discard:
    """Why a charge was DISCARDED: ``type`` is the consumer's or provider's timeout, or the merchant."""

    id: str | None = None
    status: str | None = None
    type: str | None = None
    created_at: str | None = None


@attrs.frozen
class Charge:
    id: str
    status: str
    payment_method: str | None = None
    currency: str | None = None
    agreement_id: str | None = None
    failure: Failure | None = None
    authentication_methods: tuple[AuthenticationMethod, ...] = ()
    authorizations: tuple[Authorization, ...] = ()
    captures: tuple[ChargeOperation, ...] = ()
    refunds: tuple[ChargeOperation, ...] = ()
    voids: tuple[ChargeOperation, ...] = ()
    created_at: str | None = None
    discards: tuple[Discard, ...] = ()
    consumer: WireConsumer | None = None
    order: WireOrder | None = None


@attrs.frozen
class ChargePage:
    # Required: a search answer without ``data`` is malformed, never "no such payment",
    # because find_payment is how an unknown outcome is resolved.
    data: tuple[Charge, ...]
    next_page: str | None = None


@attrs.frozen
class Agreement:
    id: str
    status: str
    failure: Failure | None = None
    merchant_payment_agreement_reference: str | None = None
    authentication_methods: tuple[AuthenticationMethod, ...] = ()
    initial_payment_charge_id: str | None = None
    created_at: str | None = None


@attrs.frozen
class RevocationResult:
    status: str
    failure: Failure | None = None


@attrs.frozen
class ErrorBody:
    """PPRO's envelope ``{status, failureMessage, timestamp}``, or the 401's ``{message}``."""

    status: int | None = None
    failure_message: str | None = None
    message: str | None = None


@attrs.frozen
class EventData:
    """The flat ``data`` of a CloudEvent, for every event type the plugin maps."""

    type: str | None = None
    payment_method: str | None = None
    payment_charge_id: str | None = None
    payment_charge_status: str | None = None
    merchant_payment_charge_reference: str | None = None
    payment_agreement_id: str | None = None
    payment_agreement_status: str | None = None
    merchant_payment_agreement_reference: str | None = None
    authorization_id: str | None = None
    capture_id: str | None = None
    refund_id: str | None = None
    void_id: str | None = None
    merchant_capture_reference: str | None = None
    merchant_refund_reference: str | None = None
    merchant_void_reference: str | None = None
    amount: WireMoney | None = None
    failure: Failure | None = None
    authentication_methods: tuple[AuthenticationMethod, ...] = ()
    discard_type: str | None = None
    is_multi_step: bool | None = None


@attrs.frozen
class Envelope:
    """A CloudEvents 1.0 envelope as PPRO sends it."""

    specversion: str
    id: str
    type: str
    source: str | None = None
    subject: str | None = None
    time: str | None = None
    data: EventData | None = None


# -- the converter ----------------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _strict(kind: type[Any]) -> Any:
    def check(value: Any, _: Any) -> Any:
        # bool is an int subclass: ``true`` is not an amount.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return check


def _renamed(cls: type[Any], *, omit_if_default: bool = False) -> dict[str, Any]:
    return {
        a.name: override(rename=_camel(a.name), omit_if_default=omit_if_default) for a in attrs.fields(cls)
    }


def _object_only(cls: type[Any], converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    # cattrs happily builds a model whose fields all have defaults from a list or a string;
    # PPRO's objects are JSON objects, and anything else is a malformed answer.
    structure_fields = make_dict_structure_fn(cls, converter, **_renamed(cls))

    def structure_object(value: Any, target: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"{cls.__name__} must be a JSON object, got {type(value).__name__}")
        return structure_fields(value, target)

    return structure_object


def _is_optional(type_: Any) -> bool:
    args = typing.get_args(type_)
    union = typing.get_origin(type_) in (typing.Union, types.UnionType)
    return union and len(args) == 2 and type(None) in args


def _optional(type_: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    # cattrs' own Optional hook looks up the inner type's hook on every value; a charge has
    # dozens of optional fields, so the hook is looked up once, here.
    inner = next(arg for arg in typing.get_args(type_) if arg is not type(None))
    structure_inner = converter.get_structure_hook(inner)

    def structure_optional(value: Any, _: Any) -> Any:
        return None if value is None else structure_inner(value, inner)

    return structure_optional


def _build_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=False)
    for kind in (int, str, bool):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_structure_hook_factory(attrs.has, lambda cls: _object_only(cls, converter))
    converter.register_structure_hook_factory(_is_optional, lambda type_: _optional(type_, converter))
    converter.register_unstructure_hook_factory(
        attrs.has,
        lambda cls: make_dict_unstructure_fn(cls, converter, **_renamed(cls, omit_if_default=True)),
    )
    return converter


_CONVERTER = _build_converter()


# -- the fast reader and writer ----------------------------------------------------------------
#
# Issue 18: cattrs spends ~18 µs structuring a charge read back by get, most of it calling one
# hook per field (``_object_only``, ``_optional``, ``_strict``) and collecting errors for its
# detailed messages. Reading an answer is on every call, so each wire class gets, once and
# lazily, a generated function with the type checks inlined: no hook call per field, no error
# bookkeeping. It only ever *vouches* for a value: anything it is not sure of (a wrong type, a
# missing key, a tuple given as anything but a list, an int subclass) makes it give up, and the
# cattrs converter above decides instead, with its exact acceptance and its exact error text.
# So cattrs stays what defines the semantics; the generated reader is held to it by the
# hypothesis properties in tests/amazonpay/test_wire_reader.py.


class _Unsure(Exception):
    """The generated reader does not vouch for a value: the cattrs converter decides."""


_UNSURE = _Unsure()  # raised, never built per refusal: a refusal is already the slow path
_ABSENT = object()
_PRIMITIVES = (int, str, bool)


class _Unsupported(Exception):
    """A field type the generator does not handle: the class is left to cattrs alone."""


class _Generator:
    """Writes one reader (dict -> model) or writer (model -> dict) per class, on first use.

    Its tables only grow, by pure functions of the classes: two threads building the same
    reader at once build equal ones, and one that finds a class under construction (None)
    leaves that answer to cattrs.
    """

    def __init__(self) -> None:
        self._readers: dict[type[Any], Callable[[Any], Any] | None] = {}
        self._writers: dict[type[Any], Callable[[Any], Any] | None] = {}

    def reader(self, cls: type[Any]) -> Callable[[Any], Any] | None:
        try:
            return self._readers[cls]
        except KeyError:
            pass
        self._readers[cls] = None  # a class that nests itself is left to cattrs
        try:
            built: Callable[[Any], Any] | None = self._build_reader(cls)
        except _Unsupported:
            built = None
        self._readers[cls] = built
        return built

    def writer(self, cls: type[Any]) -> Callable[[Any], Any] | None:
        try:
            return self._writers[cls]
        except KeyError:
            pass
        self._writers[cls] = None
        try:
            built: Callable[[Any], Any] | None = self._build_writer(cls)
        except _Unsupported:
            built = None
        self._writers[cls] = built
        return built

    # Reading. Each value is checked with ``v.__class__ is not T``: exact types only, since
    # JSON gives exactly dict, list, str, int, bool, float and None; anything else (a bool
    # where an int is expected, a subclass) is cattrs' to judge. ``absent`` (a missing key) is
    # of no such class, so a check refuses it with no test of its own.

    def _check(self, type_: Any, var: str, namespace: dict[str, Any], indent: str) -> list[str]:
        """Lines that check ``var`` as ``type_`` and rebind it to its structured value."""
        if type_ in _PRIMITIVES:
            return [f"{indent}if {var}.__class__ is not {type_.__name__}: raise unsure"]
        if _is_optional(type_):
            inner = next(arg for arg in typing.get_args(type_) if arg is not type(None))
            if inner in _PRIMITIVES:  # the common case, one line: a present value tested once
                check = f"{var}.__class__ is not {inner.__name__} and {var} is not None"
                return [f"{indent}if {check}: raise unsure"]
            body = self._check(inner, var, namespace, indent + "    ")
            return [f"{indent}if {var} is not None:", *body]
        if attrs.has(type_):
            nested = self.reader(type_)
            if nested is None:
                raise _Unsupported(type_)
            name = f"read_{type_.__name__}"
            namespace[name] = nested
            return [f"{indent}{var} = {name}({var})"]
        args = typing.get_args(type_)
        if typing.get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis:
            item = args[0]
            # cattrs makes a tuple of any iterable (a string, a dict's keys); only a JSON
            # array is the happy path.
            lines = [f"{indent}if {var}.__class__ is not list: raise unsure"]
            if item in _PRIMITIVES:
                lines += [
                    f"{indent}for item in {var}:",
                    f"{indent}    if item.__class__ is not {item.__name__}: raise unsure",
                    f"{indent}{var} = tuple({var})",
                ]
            elif attrs.has(item) and (nested := self.reader(item)) is not None:
                name = f"read_{item.__name__}"
                namespace[name] = nested
                # map, not a comprehension: no frame of its own; and most of a charge's lists
                # (captures, refunds, voids, discards) are empty, which costs a test alone.
                lines.append(f"{indent}{var} = tuple(map({name}, {var})) if {var} else ()")
            else:
                raise _Unsupported(type_)
            return lines
        raise _Unsupported(type_)

    def _build_reader(self, cls: type[Any]) -> Callable[[Any], Any]:
        hints = typing.get_type_hints(cls)
        namespace: dict[str, Any] = {"unsure": _UNSURE, "absent": _ABSENT, "cls": cls}
        lines = [
            f"def read_{cls.__name__}(raw):",
            "    if raw.__class__ is not dict: raise unsure",
            "    get = raw.get",
        ]
        arguments = []
        for index, field in enumerate(attrs.fields(cls)):
            if not field.init or field.kw_only or isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                raise _Unsupported(cls)
            var, key, type_ = f"v{index}", _camel(field.name), hints[field.name]
            if field.default is None and _is_optional(type_):
                # Absent and null both read as None, the default: one test covers both.
                lines.append(f"    {var} = get({key!r})")
                lines += self._check(type_, var, namespace, "    ")
            elif field.default is attrs.NOTHING:
                lines.append(f"    {var} = get({key!r}, absent)")
                if _is_optional(type_):  # null is fine, a missing key is not
                    lines.append(f"    if {var} is absent: raise unsure")
                lines += self._check(type_, var, namespace, "    ")
            else:
                namespace[f"d{index}"] = field.default
                lines.append(f"    {var} = get({key!r}, absent)")
                lines.append(f"    if {var} is absent: {var} = d{index}")
                lines.append("    else:")
                lines += self._check(type_, var, namespace, "        ")
            arguments.append(var)
        lines += self._construct(cls, arguments, namespace)
        exec("\n".join(lines), namespace)  # noqa: S102 - source built above from the class's fields
        reader: Callable[[Any], Any] = namespace[f"read_{cls.__name__}"]
        return reader

    @staticmethod
    def _construct(cls: type[Any], arguments: list[str], namespace: dict[str, Any]) -> list[str]:
        """The lines that build the model from its checked values."""
        fields = attrs.fields(cls)
        slots = set(cls.__dict__.get("__slots__", ("__dict__",)))
        descriptors: list[Any] = [getattr(cls, field.name, None) for field in fields]
        init = getattr(cls.__init__, "__code__", None)
        plain = (
            init is not None
            and init.co_filename.startswith("<attrs generated")  # not a hand-written __init__
            and all(field.validator is None and field.converter is None for field in fields)
            and not hasattr(cls, "__attrs_pre_init__")
            and not hasattr(cls, "__attrs_post_init__")
            and slots <= {field.name for field in fields} | {"__weakref__"}
            and all(isinstance(descriptor, types.MemberDescriptorType) for descriptor in descriptors)
        )
        if not plain:
            # Positionally, in field order: the model's own __init__ runs, as under cattrs.
            return [f"    return cls({', '.join(arguments)})"]
        # A frozen attrs __init__ sets each slot through object.__setattr__ (~100 ns a field);
        # the slot's own descriptor sets it in about half that. Only for a model whose
        # __init__ does nothing else: attrs' own, no validator, converter, pre/post-init or
        # hash cache.
        namespace["new"] = object.__new__
        lines = ["    model = new(cls)"]
        for field, descriptor, var in zip(fields, descriptors, arguments, strict=True):
            namespace[f"set_{field.name}"] = descriptor.__set__
            lines.append(f"    set_{field.name}(model, {var})")
        return [*lines, "    return model"]

    # Writing: cattrs' dict (renamed keys, fields without a default first, a defaulted field
    # only when it differs from its default, tuples as lists, mappings as dicts) without a hook
    # call per field. Like the reader it vouches only for exact types (str, int, bool, None
    # where optional, the models, tuples, str-to-str dicts), which orjson writes byte for byte
    # as json.dumps does (bar non-ASCII text, see to_json); anything else is cattrs' and json's.

    def _write(self, type_: Any, var: str, namespace: dict[str, Any], indent: str) -> list[str]:
        """Lines that check ``var`` as ``type_`` and rebind it to its unstructured value."""
        if type_ in _PRIMITIVES:
            return [f"{indent}if {var}.__class__ is not {type_.__name__}: raise unsure"]
        if _is_optional(type_):
            inner = next(arg for arg in typing.get_args(type_) if arg is not type(None))
            return [f"{indent}if {var} is not None:", *self._write(inner, var, namespace, indent + "    ")]
        if attrs.has(type_):
            nested = self.writer(type_)
            if nested is None:
                raise _Unsupported(type_)
            namespace[f"write_{type_.__name__}"] = nested
            return [f"{indent}{var} = write_{type_.__name__}({var})"]
        args, origin = typing.get_args(type_), typing.get_origin(type_)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            lines = [f"{indent}if {var}.__class__ is not tuple: raise unsure"]
            if args[0] in _PRIMITIVES:
                return [
                    *lines,
                    f"{indent}for item in {var}:",
                    f"{indent}    if item.__class__ is not {args[0].__name__}: raise unsure",
                    f"{indent}{var} = list({var})",
                ]
            if attrs.has(args[0]) and (nested := self.writer(args[0])) is not None:
                namespace[f"write_{args[0].__name__}"] = nested
                return [*lines, f"{indent}{var} = [write_{args[0].__name__}(item) for item in {var}]"]
        if origin is Mapping and args == (str, str):
            return [
                f"{indent}if {var}.__class__ is not dict: raise unsure",
                f"{indent}for key, item in {var}.items():",
                f"{indent}    if key.__class__ is not str or item.__class__ is not str: raise unsure",
                f"{indent}{var} = dict({var})",
            ]
        raise _Unsupported(type_)

    def _build_writer(self, cls: type[Any]) -> Callable[[Any], Any]:
        hints = typing.get_type_hints(cls)
        namespace: dict[str, Any] = {"unsure": _UNSURE, "cls": cls}
        required, defaulted = [], []
        for index, field in enumerate(attrs.fields(cls)):
            if not field.init or isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                raise _Unsupported(cls)
            var, key, type_ = f"v{index}", _camel(field.name), hints[field.name]
            if field.default is attrs.NOTHING:
                required += [f"    {var} = model.{field.name}", *self._write(type_, var, namespace, "    ")]
                required.append(f"    out[{key!r}] = {var}")
            else:
                # cattrs compares the model's own value with the default, before unstructuring
                namespace[f"d{index}"] = field.default
                defaulted += [f"    {var} = model.{field.name}", f"    if {var} != d{index}:"]
                defaulted += self._write(type_, var, namespace, "        ")
                defaulted.append(f"        out[{key!r}] = {var}")
        lines = [
            f"def write_{cls.__name__}(model):",
            "    if model.__class__ is not cls: raise unsure",
            "    out = {}",
            *required,
            *defaulted,
            "    return out",
        ]
        exec("\n".join(lines), namespace)  # noqa: S102 - source built above from the class's fields
        writer: Callable[[Any], Any] = namespace[f"write_{cls.__name__}"]
        return writer


_GENERATED = _Generator()
# One encoder, built once: json.dumps with any non-default argument builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def to_json(body: object) -> bytes:
    """Serialize a request model to PPRO's compact JSON; unset optional fields are omitted."""
    writer = _GENERATED.writer(body.__class__)
    if writer is not None:
        try:
            fast = orjson.dumps(writer(body))
        except (_Unsure, orjson.JSONEncodeError):
            pass  # a type the writer does not vouch for, an int beyond 64 bits, a lone surrogate
        else:
            # json.dumps escapes everything outside printable ASCII (ensure_ascii), orjson
            # writes UTF-8 and a raw DEL: only a body free of both is the same bytes.
            if fast.isascii() and b"\x7f" not in fast:
                return fast
    return _ENCODER.encode(_CONVERTER.unstructure(body)).encode()


MAX_JSON_DEPTH = 64
"""Far deeper than any PPRO body nests. Deeper JSON is refused before it is parsed: json's
recursion towards Python's limit can run garbage collection, and the finalizers it calls, at
the edge of the stack, where they fail as unraisable errors."""

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


class NestedTooDeeply(ValueError):
    """JSON nested deeper than :data:`MAX_JSON_DEPTH`."""


def loads(content: bytes) -> object:
    """``json.loads`` for an untrusted body, refusing nesting beyond :data:`MAX_JSON_DEPTH`."""
    # json, not orjson: the raw value is the caller's, and orjson reads some bodies otherwise
    # (an int beyond 64 bits as a float). from_json, whose reader refuses such values, is
    # where orjson pays.
    if content.count(b"[") + content.count(b"{") > MAX_JSON_DEPTH:  # else it cannot be that deep
        depth = 0
        for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b'""', content)):
            depth += 1 if bracket in (b"[", b"{") else -1
            if depth > MAX_JSON_DEPTH:
                raise NestedTooDeeply(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return json.loads(content)


def from_json(content: bytes, cls: type[T], what: str) -> T:
    """Parse a response body into ``cls``; anything malformed is a ProviderResponseError."""
    # The happy path: orjson (~3x json.loads on a charge) and the generated reader. Where orjson
    # reads a body json.loads reads differently (NaN, an int beyond 64 bits as a float, a lone
    # surrogate, UTF-16, a BOM) it refuses or the reader does, and json + cattrs below decide,
    # as they always did. Only a body with few brackets skips the depth check (it cannot be
    # deeper than it has brackets); orjson itself would read 1024 levels.
    reader = _GENERATED.reader(cls)
    if reader is not None and content.count(b"[") + content.count(b"{") <= MAX_JSON_DEPTH:
        try:
            read: T = reader(orjson.loads(content))
        except (_Unsure, orjson.JSONDecodeError):
            pass
        else:
            return read
    try:
        raw = loads(content)
    except NestedTooDeeply:
        raise ProviderResponseError(f"{what}: the response is JSON nested too deeply to read") from None
    except (ValueError, UnicodeDecodeError):
        raise ProviderResponseError(f"{what}: the response is not JSON") from None
    return structure(raw, cls, what)


def structure(raw: object, cls: type[T], what: str) -> T:
    if not isinstance(raw, dict):
        raise ProviderResponseError(f"{what}: expected a JSON object, got {type(raw).__name__}")
    reader = _GENERATED.reader(cls)
    if reader is not None:
        try:
            read: T = reader(raw)
        except _Unsure:
            pass  # cattrs decides, and says why it refuses
        else:
            return read
    try:
        return _CONVERTER.structure(raw, cls)
    except cattrs.BaseValidationError as error:
        # Whole: the core bounds exception text after scrubbing it, so no cut splits a secret.
        detail = "; ".join(cattrs.transform_error(error))
        raise ProviderResponseError(f"{what}: unexpected response shape: {detail}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise ProviderResponseError(f"{what}: unexpected response shape: {error}") from None
