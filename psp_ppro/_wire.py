"""PPRO's JSON shapes as frozen attrs models, and the one converter between them and JSON.

Field names are snake_case here and camelCase on the wire; the converter renames. Response
models list only what the plugin reads: PPRO adds fields freely (``_links``, ``order``,
``labels``), and unknown keys are ignored. Primitive types are checked strictly, because
cattrs' lenient defaults would turn ``"12.5"`` or ``12.5`` into an amount of 12.
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


def to_json(body: object) -> bytes:
    """Serialize a request model to PPRO's compact JSON; unset optional fields are omitted."""
    return json.dumps(_CONVERTER.unstructure(body), separators=(",", ":")).encode()


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
    if content.count(b"[") + content.count(b"{") > MAX_JSON_DEPTH:  # else it cannot be that deep
        depth = 0
        for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b'""', content)):
            depth += 1 if bracket in (b"[", b"{") else -1
            if depth > MAX_JSON_DEPTH:
                raise NestedTooDeeply(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return json.loads(content)


def from_json(content: bytes, cls: type[T], what: str) -> T:
    """Parse a response body into ``cls``; anything malformed is a ProviderResponseError."""
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
    try:
        return _CONVERTER.structure(raw, cls)
    except cattrs.BaseValidationError as error:
        # Whole: the core bounds exception text after scrubbing it, so no cut splits a secret.
        detail = "; ".join(cattrs.transform_error(error))
        raise ProviderResponseError(f"{what}: unexpected response shape: {detail}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise ProviderResponseError(f"{what}: unexpected response shape: {error}") from None
