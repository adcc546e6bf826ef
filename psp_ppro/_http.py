"""Building PPRO requests and turning PPRO's error answers into psp's error tree.

The core adds ``Authorization``, ``Merchant-Id`` and the idempotency key; what
is left per request is the body, ``Content-Type`` and a fresh ``Request-Reference``, which
PPRO support asks for when debugging and which every error carries back to the host.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import httpx

from psp_core import IdempotencyConflictError, ProviderConfig, ProviderError, ProviderResponseError

from ._wire import ErrorBody, from_json, loads, structure, to_json

T = TypeVar("T")

REQUEST_REFERENCE = "Request-Reference"


def segment(value: str) -> str:
    """An id as one URL path segment, whatever characters it holds."""
    return quote(value, safe="")


def _reference() -> dict[str, str]:
    return {REQUEST_REFERENCE: uuid.uuid4().hex}


# Requests carry the absolute URL: the core would otherwise join the base URL to a relative
# one, parsing a URL a second time for every request.


def post(config: ProviderConfig, path: str, body: object | None) -> httpx.Request:
    content = b"{}" if body is None else to_json(body)
    headers = {"Content-Type": "application/json", **_reference()}
    return httpx.Request("POST", config.base_url + path, headers=headers, content=content)


def get(config: ProviderConfig, path: str, params: Mapping[str, str] | None = None) -> httpx.Request:
    return httpx.Request("GET", config.base_url + path, params=params, headers=_reference())


def request_id(response: httpx.Response) -> str | None:
    sent = response.request.headers.get(REQUEST_REFERENCE) if _has_request(response) else None
    return response.headers.get(REQUEST_REFERENCE) or sent


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - httpx raises when a response was built without one
    except RuntimeError:
        return False
    return True


def raise_for_error(response: httpx.Response, what: str) -> None:
    """Raise the psp error for any non-2xx answer that reached the flow."""
    status = response.status_code
    if 200 <= status < 300:
        return
    rid = request_id(response)
    message = _error_message(response)
    # The HTTP status and request id follow from ProviderError itself ("| HTTP 400 | request ..."):
    # saying them here too would repeat them.
    text = f"{what}: PPRO refused the request: {message}"
    if status == 409:
        raise IdempotencyConflictError(
            f"{text} (the idempotency key was already used with a different request)",
            http_status=status,
            request_id=rid,
        )
    if status == 401:
        text += " (check the api_key / PPRO_API_KEY and merchant_id / PPRO_MERCHANT_ID)"
    raise ProviderError(text, http_status=status, request_id=rid)


def _error_message(response: httpx.Response) -> str:
    try:
        body = structure(loads(response.content), ErrorBody, "error")
    except Exception:
        # The whole body, never a cut of it: a cut could split a secret an upstream echoed
        # and leave a piece too short to recognize. The core scrubs, then bounds the text.
        snippet = " ".join(response.content.decode("utf-8", "replace").split())
        return snippet or response.reason_phrase or "no details"
    return body.failure_message or body.message or response.reason_phrase or "no details"


class answering:  # lower case: used like the function it replaced, ``with answering(response):``
    """Attribute a ProviderResponseError raised while reading ``response`` to that request.

    A class rather than a ``contextmanager`` generator: it encloses every answer, and a
    generator costs several times as much to enter and leave.
    """

    __slots__ = ("response",)

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if not isinstance(error, ProviderResponseError) or error.request_id is not None:
            return  # nothing raised, or not ours to attribute: it propagates as it is
        raise _attributed(error, self.response) from None


def _attributed(error: ProviderResponseError, response: httpx.Response) -> ProviderResponseError:
    return ProviderResponseError(
        error.message,
        http_status=response.status_code,
        provider_code=error.provider_code,
        request_id=request_id(response),
    )


def parse(response: httpx.Response, cls: type[T], what: str) -> T:
    """A 2xx answer parsed into ``cls``; an error answer raised as its psp error."""
    # What raise_for_error and ``with answering(response)`` do, written out: this encloses
    # every answer, and a try costs nothing where a context manager's enter and exit do.
    if not 200 <= response.status_code < 300:
        raise_for_error(response, what)
    try:
        return from_json(response.content, cls, what)
    except ProviderResponseError as error:
        if error.request_id is not None:
            raise
        raise _attributed(error, response) from None
