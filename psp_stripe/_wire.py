"""Stripe's shapes as frozen attrs models, the one converter that reads them, and form encoding.

Stripe takes ``application/x-www-form-urlencoded`` bodies with nested keys in brackets
(``metadata[order]=42``, ``payment_method_types[0]=card``) and answers JSON
(https://docs.stripe.com/api). Response models list only what the plugin reads: Stripe adds
fields freely, and unknown keys are ignored. Primitive types are checked strictly, because
cattrs' lenient defaults would turn ``"12.5"`` into an amount of 12. Expandable fields
(``latest_charge``) arrive either as an id or as the object; the plugin always expands them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn

from psp_core import ProviderResponseError

T = TypeVar("T")

MAX_JSON_DEPTH = 64
"""Deeper JSON is refused before parsing: Stripe's objects nest a handful of levels."""


# -- answers --------------------------------------------------------------------------------


@attrs.frozen
class ErrorDetail:
    """``error`` of an error answer (https://docs.stripe.com/api/errors)."""

    type: str | None = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    param: str | None = None


@attrs.frozen
class ErrorBody:
    error: ErrorDetail


@attrs.frozen
class Refund:
    """https://docs.stripe.com/api/refunds/object"""

    id: str
    amount: int
    currency: str
    status: str | None = None
    created: int | None = None
    reason: str | None = None
    failure_reason: str | None = None
    payment_intent: str | None = None
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class RefundList:
    data: tuple[Refund, ...] = ()
    has_more: bool = False


@attrs.frozen
class Charge:
    """https://docs.stripe.com/api/charges/object: only what a PaymentIntent's totals need."""

    id: str
    amount: int
    status: str | None = None
    captured: bool = False
    amount_captured: int | None = None
    disputed: bool = False
    created: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    refunds: RefundList | None = None


@attrs.frozen
class ChargeRef:
    """A charge read only to learn its PaymentIntent."""

    id: str
    payment_intent: str | None = None


@attrs.frozen
class RedirectToUrl:
    url: str
    return_url: str | None = None


@attrs.frozen
class NextAction:
    type: str
    redirect_to_url: RedirectToUrl | None = None


@attrs.frozen
class PaymentError:
    """``last_payment_error`` / ``last_setup_error``."""

    type: str | None = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None


@attrs.frozen
class PaymentIntent:
    """https://docs.stripe.com/api/payment_intents/object"""

    id: str
    amount: int
    currency: str
    status: str
    capture_method: str | None = None
    amount_capturable: int | None = None
    amount_received: int | None = None
    latest_charge: Charge | None = None
    last_payment_error: PaymentError | None = None
    next_action: NextAction | None = None
    cancellation_reason: str | None = None
    customer: str | None = None
    payment_method: str | None = None
    created: int | None = None
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class SearchResult:
    """https://docs.stripe.com/api/pagination/search"""

    data: tuple[PaymentIntent, ...] = ()
    has_more: bool = False
    next_page: str | None = None


@attrs.frozen
class PaymentMethodRef:
    """The part of a PaymentMethod a mandate needs: whose it is now."""

    id: str
    type: str | None = None
    customer: str | None = None


@attrs.frozen
class SetupIntent:
    """https://docs.stripe.com/api/setup_intents/object"""

    id: str
    status: str
    customer: str | None = None
    payment_method: PaymentMethodRef | None = None
    next_action: NextAction | None = None
    last_setup_error: PaymentError | None = None
    created: int | None = None
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Customer:
    id: str


@attrs.frozen
class EventData:
    object: Mapping[str, Any]


@attrs.frozen
class Event:
    """https://docs.stripe.com/api/events/object"""

    id: str
    type: str
    data: EventData
    created: int | None = None


# -- the converter --------------------------------------------------------------------------


def _strict(kind: type[Any]) -> Any:
    def check(value: Any, _: Any) -> Any:
        # bool is an int subclass: ``true`` is not an amount.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return check


def _expanded(cls: type[Any], converter: cattrs.Converter) -> Any:
    """An expandable field: the object, or None when Stripe sent only its id (not expanded)."""

    def structure(value: Any, _: Any) -> Any:
        if value is None or isinstance(value, str):
            return None
        return converter.structure(value, cls)

    return structure


def _object_only(cls: type[Any], converter: cattrs.Converter) -> Any:
    structure_fields = make_dict_structure_fn(cls, converter)

    def structure_object(value: Any, target: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"{cls.__name__} must be a JSON object, got {type(value).__name__}")
        return structure_fields(value, target)

    return structure_object


def _converter() -> cattrs.Converter:
    # detailed_validation off: the plain error names the field and the wrong type well enough,
    # and the detailed path costs a fifth of a read's CPU.
    converter = cattrs.Converter(forbid_extra_keys=False, detailed_validation=False)
    for kind in (str, int, bool):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_structure_hook_factory(attrs.has, lambda cls: _object_only(cls, converter))
    for cls in (Charge, PaymentMethodRef):
        converter.register_structure_hook(cls | None, _expanded(cls, converter))
    converter.register_structure_hook_func(
        lambda kind: kind == Mapping[str, Any], lambda value, _: _mapping(value)
    )
    return converter


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


_CONVERTER = _converter()


def loads(content: bytes) -> object:
    """``json.loads`` for an untrusted body, refusing nesting beyond :data:`MAX_JSON_DEPTH`."""
    depth = deepest = 0
    in_string = escaped = False
    if content.count(b"[") + content.count(b"{") > MAX_JSON_DEPTH:
        for byte in content:
            if in_string:
                if escaped:
                    escaped = False
                elif byte == 0x5C:
                    escaped = True
                elif byte == 0x22:
                    in_string = False
            elif byte == 0x22:
                in_string = True
            elif byte in (0x5B, 0x7B):
                depth += 1
                deepest = max(deepest, depth)
            elif byte in (0x5D, 0x7D):
                depth -= 1
        if deepest > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(content)


def structure(raw: object, cls: type[T], what: str) -> T:
    if not isinstance(raw, dict):
        raise ProviderResponseError(f"{what}: expected a JSON object, got {type(raw).__name__}")
    try:
        return _CONVERTER.structure(raw, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError, AttributeError) as error:
        details = (
            "; ".join(cattrs.transform_error(error))
            if isinstance(error, cattrs.BaseValidationError)
            else repr(error)
        )
        raise ProviderResponseError(
            f"{what}: the answer does not match Stripe's documented shape: {details}"
        ) from None


def from_json(content: bytes, cls: type[T], what: str) -> T:
    """Parse a response body into ``cls``; anything malformed is a ProviderResponseError."""
    try:
        raw = loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProviderResponseError(f"{what}: the answer is not JSON") from None
    return structure(raw, cls, what)


# -- requests -------------------------------------------------------------------------------

FormValue = str | int | bool | None | Mapping[str, "FormValue"] | list["FormValue"]


def _flatten(prefix: str, value: FormValue, into: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        into.append((prefix, "true" if value else "false"))
    elif isinstance(value, int | str):
        into.append((prefix, str(value)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, into)
    else:
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]" if prefix else key, item, into)


def form(fields: Mapping[str, FormValue]) -> bytes:
    """``fields`` as Stripe's form body: nested keys in brackets, lists indexed, None left out."""
    pairs: list[tuple[str, str]] = []
    _flatten("", fields, pairs)
    return urlencode(pairs).encode("ascii")


def form_pairs(fields: Mapping[str, FormValue]) -> list[tuple[str, str]]:
    """The same pairs as :func:`form`, for a query string."""
    pairs: list[tuple[str, str]] = []
    _flatten("", fields, pairs)
    return pairs
