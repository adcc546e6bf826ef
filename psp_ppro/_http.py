"""Building PPRO requests and turning PPRO's error answers into psp's error tree.

The core adds ``Authorization``, ``Merchant-Id`` and the idempotency key; what
is left per request is the body, ``Content-Type`` and a fresh ``Request-Reference``, which
PPRO support asks for when debugging and which every error carries back to the host.
"""

from __future__ import annotations

import os
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


def _fresh_reference() -> str:
    # 32 random hex digits, fresh per request, as uuid4().hex gave them: PPRO takes any text
    # here (its example is "abc-unique-value-for-tracing"), and os.urandom costs a fifth of
    # building a UUID.
    return os.urandom(16).hex()


def _reference() -> dict[str, str]:
    return {REQUEST_REFERENCE: _fresh_reference()}


# Requests carry the absolute URL (``config.url``: the base URL parsed once per config): the
# core would otherwise join the base URL to a relative one, parsing a URL a second time.
#
# The headers are given as the bytes pairs httpx itself would end up with, in its order (Host
# first; a POST's Content-Length after the flow's own headers), and the body as a stream, so
# httpx skips its encoding step and the second header list it builds to add Host and
# Content-Length (~10 µs a request). tests/amazonpay/test_request_build.py holds both to
# ``httpx.Request(method, url, headers=..., content=...)``, the way they were built before.
_REFERENCE = REQUEST_REFERENCE.encode("ascii")
_JSON = (b"Content-Type", b"application/json")


def post(config: ProviderConfig, path: str, body: object | None) -> httpx.Request:
    content = b"{}" if body is None else to_json(body)
    url = config.url(path)
    headers = [
        (b"Host", url.netloc),
        _JSON,
        (_REFERENCE, _fresh_reference().encode("ascii")),
        (b"Content-Length", str(len(content)).encode("ascii")),
    ]
    if not url.host:  # httpx adds Host only for a URL with a host
        del headers[0]
    request = httpx.Request("POST", url, headers=headers, stream=httpx.ByteStream(content))
    request.read()  # what httpx does for content=: the body is then request.content
    return request


def get(config: ProviderConfig, path: str, params: Mapping[str, str] | None = None) -> httpx.Request:
    if params is not None:  # a search: httpx encodes the query
        return httpx.Request("GET", config.base_url + path, params=params, headers=_reference())
    url = config.url(path)
    headers = [(b"Host", url.netloc), (_REFERENCE, _fresh_reference().encode("ascii"))]
    if not url.host:
        del headers[0]
    request = httpx.Request("GET", url, headers=headers, stream=httpx.ByteStream(b""))
    request.read()
    return request


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
