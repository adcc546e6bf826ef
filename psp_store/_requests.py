"""The JSON form of a write request, as the journal keeps it for the reconciler's replay.

The same conventions as psp_core's storage form (docs/storage.md): amounts as integer minor
units, enums as their values, timestamps ISO 8601, strict primitives when read back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

import cattrs

from psp_core import (
    AuthorizeRequest,
    CaptureRequest,
    MandateChargeRequest,
    MandateRequest,
    Money,
    RefundRequest,
    RevokeMandateRequest,
    VoidRequest,
)

REQUEST_FORM_VERSION: Final = 1

WriteRequest = (
    AuthorizeRequest
    | CaptureRequest
    | VoidRequest
    | RefundRequest
    | MandateRequest
    | MandateChargeRequest
    | RevokeMandateRequest
)

REQUEST_TYPES: Final[dict[str, type[Any]]] = {
    "authorize": AuthorizeRequest,
    "capture": CaptureRequest,
    "void": VoidRequest,
    "refund": RefundRequest,
    "create_mandate": MandateRequest,
    "charge_mandate": MandateChargeRequest,
    "revoke_mandate": RevokeMandateRequest,
}


def _strict(kind: type[Any]) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    return structure


def _structure_money(value: Any, _: Any) -> Money:
    if not isinstance(value, dict) or set(value) != {"minor", "currency"}:
        raise TypeError(f'expected {{"minor": <int>, "currency": "<ISO 4217>"}}, got {value!r}')
    return Money(value["minor"], value["currency"])


def _structure_datetime(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 timestamp string, got {value!r}")
    return datetime.fromisoformat(value)


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    for kind in (str, int, bool):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_unstructure_hook(
        Money, lambda money: {"minor": money.minor, "currency": money.currency}
    )
    converter.register_structure_hook(Money, _structure_money)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, _structure_datetime)
    return converter


_CONVERTER: Final = _converter()


def request_to_json(call: str, request: WriteRequest) -> str:
    data = _CONVERTER.unstructure(request)
    return json.dumps({"version": REQUEST_FORM_VERSION, "call": call, "data": data}, sort_keys=True)


def request_from_json(text: str) -> tuple[str, WriteRequest]:
    """The call and request a journal entry recorded; ``ValueError`` saying what is wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"the request is not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("version") != REQUEST_FORM_VERSION:
        raise ValueError(f"the request is not a version {REQUEST_FORM_VERSION} request document")
    call = document.get("call")
    kind = REQUEST_TYPES.get(call) if isinstance(call, str) else None
    if kind is None or not isinstance(call, str):
        raise ValueError(f"the request names an unknown call {call!r}")
    try:
        request: WriteRequest = _CONVERTER.structure(document.get("data"), kind)
    except (cattrs.BaseValidationError, TypeError, ValueError) as error:
        problems = (
            "; ".join(cattrs.transform_error(error))
            if isinstance(error, cattrs.BaseValidationError)
            else str(error)
        )
        raise ValueError(f"the {call} request cannot be read: {problems}") from None
    return call, request
