"""The JSON form of a write request, as the journal keeps it for the reconciler's replay.

The same conventions as psp_core's storage form (docs/storage.md): amounts as integer minor
units, enums as their values, timestamps ISO 8601, strict primitives when read back.
"""

from __future__ import annotations

import json
from typing import Any, Final

import cattrs

from psp_core import (
    AuthorizeRequest,
    CaptureRequest,
    MandateChargeRequest,
    MandateRequest,
    RefundRequest,
    RevokeMandateRequest,
    VoidRequest,
    storage_converter,
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


_CONVERTER: Final = storage_converter()


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
