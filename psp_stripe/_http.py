"""Building Stripe requests and turning Stripe's error answers into psp's error tree.

The core adds ``Authorization``, ``Stripe-Version`` and the ``Idempotency-Key``; what is
left per request is the form body. Stripe answers every request with a ``Request-Id``
header (https://docs.stripe.com/api/request_ids), which errors carry back to the host.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import quote, urlencode

import httpx

from psp_core import IdempotencyConflictError, ProviderConfig, ProviderError, ProviderResponseError

from ._wire import ErrorBody, ErrorDetail, FormValue, form, form_pairs, from_json, loads, structure

T = TypeVar("T")

REQUEST_ID = "Request-Id"
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def segment(value: str) -> str:
    """An id as one URL path segment, whatever characters it holds."""
    return quote(value, safe="")


def post(config: ProviderConfig, path: str, fields: Mapping[str, FormValue]) -> httpx.Request:
    return httpx.Request("POST", config.base_url + path, headers=_FORM, content=form(fields))


def get(config: ProviderConfig, path: str, params: Mapping[str, FormValue] | None = None) -> httpx.Request:
    # The query is encoded here, once: httpx merging ``params`` into a parsed URL costs more
    # than the rest of building the request.
    query = urlencode(form_pairs(params)) if params else ""
    return httpx.Request("GET", f"{config.base_url}{path}?{query}" if query else config.base_url + path)


def request_id(response: httpx.Response) -> str | None:
    found: str | None = response.headers.get(REQUEST_ID)
    return found


def error_detail(response: httpx.Response) -> ErrorDetail | None:
    """The ``error`` of an error answer, or None when the body is not Stripe's error shape."""
    try:
        return structure(loads(response.content), ErrorBody, "error").error
    except Exception:
        return None


def raise_for_error(response: httpx.Response, what: str) -> None:
    """Raise the psp error for any non-2xx answer that reached the flow."""
    status = response.status_code
    if 200 <= status < 300:
        return
    rid = request_id(response)
    detail = error_detail(response)
    if detail is None:
        # The whole body, never a cut of it: the core scrubs secrets, then bounds the text.
        message = " ".join(response.content.decode("utf-8", "replace").split()) or response.reason_phrase
        code = None
    else:
        message = detail.message or detail.code or detail.type or response.reason_phrase
        code = detail.decline_code or detail.code or detail.type
        if detail.param:
            message += f" (parameter {detail.param})"
    text = f"{what}: Stripe refused the request: {message}"
    if (detail is not None and detail.type == "idempotency_error") or status == 409:
        raise IdempotencyConflictError(
            f"{text}; the idempotency key was already used with a different request: use a new key "
            "for a new request",
            http_status=status,
            request_id=rid,
            provider_code=code,
        )
    if status == 401:
        text += " (check the secret_key option / STRIPE_SECRET_KEY)"
    elif status == 404:
        text += " (check the id; it may belong to another Stripe account or mode)"
    raise ProviderError(text, http_status=status, request_id=rid, provider_code=code)


def in_flight(response: httpx.Response) -> bool:
    """A 409 that says the first request with this key is still running (retry it later)."""
    detail = error_detail(response) if response.status_code == 409 else None
    return detail is not None and detail.code in ("idempotency_key_in_use", "lock_timeout")


@contextmanager
def answering(response: httpx.Response) -> Iterator[None]:
    """Attribute a ProviderResponseError raised while reading ``response`` to that request."""
    try:
        yield
    except ProviderResponseError as error:
        if error.request_id is not None:
            raise
        raise ProviderResponseError(
            error.message,
            http_status=response.status_code,
            provider_code=error.provider_code,
            request_id=request_id(response),
        ) from None


def parse(response: httpx.Response, cls: type[T], what: str) -> T:
    """A 2xx answer parsed into ``cls``; an error answer raised as its psp error."""
    raise_for_error(response, what)
    with answering(response):
        return from_json(response.content, cls, what)
