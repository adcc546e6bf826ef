"""Middleware: what every request goes through whatever its route.

The response type, who is calling (an API key and a Merchant-Id), injected faults that answer
before anything is performed, the body size and content type, and PPRO's error envelope.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import field, frozen

from ._clock import iso_ms
from ._config import SandboxConfig
from ._errors import ApiError
from ._faults import BROKEN_ANSWERS, Injection
from ._models import Json
from ._validation import parse_object

JSON_HEADERS = {"Content-Type": "application/json"}

MAX_REQUEST_BYTES = 64 * 1024
"""Sandbox decision: a larger request body is answered 413 before it is parsed. PPRO's largest
documented request (a charge with consumer, order and labels) is a few KiB."""
MAX_RESPONSE_BYTES = 1024 * 1024
"""No ``/v1`` answer is larger: a search page stops adding charges before it passes this."""
MAX_CHARGE_BYTES = 256 * 1024
"""A capture, refund or void that could grow a charge's JSON past this is refused with 400."""
SEARCH_PAGE_SIZE = 20
"""Charges per search page; the rest follow through ``nextPage``."""


@frozen
class SimResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    drop_connection: bool = False
    # Fault extras the adapters act on; the simulator itself never sleeps or raises.
    delay_s: float = 0.0
    timeout: bool = False
    refused: bool = False
    """Nothing was performed; the httpx transport raises ConnectError, as for a refused connection."""

    def json(self) -> Any:
        return json.loads(self.body)


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> SimResponse:
    return SimResponse(
        status, {**JSON_HEADERS, **(headers or {})}, json.dumps(payload, separators=(",", ":")).encode()
    )


@frozen
class Caller:
    """Who is asking: the sandbox treats an API key and a Merchant-Id together as one merchant.

    Resources belong to the caller that created them; any other caller is told they do not
    exist. Only a digest of the key is kept, so no credential sits in the sandbox's state.
    """

    merchant_id: str
    key_digest: str

    @property
    def scope(self) -> str:
        return f"{self.merchant_id} {self.key_digest}"


@frozen
class ApiRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    caller: Caller
    params: tuple[str, ...] = field(default=())

    @property
    def merchant_id(self) -> str:
        return self.caller.merchant_id

    def json(self) -> Json:
        return parse_object(self.body)


def check_auth(config: SandboxConfig, headers: Mapping[str, str]) -> Caller | None:
    """The caller, or None for PPRO's 401: a bearer key and a Merchant-Id, matching the config's if set."""
    auth = headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    merchant = headers.get("merchant-id", "").strip()
    ok = bool(token) and bool(merchant)
    if ok and config.api_key is not None:
        ok = token == config.api_key
    if ok and config.merchant_id is not None:
        ok = merchant == config.merchant_id
    if not ok:
        return None
    return Caller(merchant, hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest())


def early_fault(injection: Injection | None, now: datetime, delay: float) -> SimResponse | None:
    """The answer an injected fault gives before the request is performed, if it does."""
    if injection is None or injection.kind in ("drop_after_store", "timeout_after_store", "latency"):
        return None
    if injection.kind in BROKEN_ANSWERS:  # performed and stored; only the answer breaks
        return None
    if injection.kind == "connection_refused":
        err = error_response(now, ApiError(503, "Connection refused"), delay)
        return SimResponse(err.status, err.headers, err.body, drop_connection=True, refused=True)
    if injection.kind == "timeout":
        # The httpx transport raises ReadTimeout; over HTTP the client sees PPRO's 504.
        err = error_response(now, ApiError(504, "Call to the upstream dependency timed out."), delay)
        return SimResponse(err.status, err.headers, err.body, delay_s=delay, timeout=True)
    if injection.kind == "429":
        extra = {} if injection.retry_after is None else {"Retry-After": str(injection.retry_after)}
        return error_response(now, ApiError(429, "Too many requests", extra), delay)
    if injection.kind == "409_in_flight":
        return error_response(
            now, ApiError(409, "A request with the same Request-Idempotency-Key is still in progress"), delay
        )
    status = int(injection.kind)
    message = "Internal server error" if status == 500 else "Service unavailable"
    return error_response(now, ApiError(status, message), delay)


def error_response(now: datetime, exc: ApiError, delay: float = 0.0) -> SimResponse:
    """PPRO's error envelope for ``exc``."""
    payload = {"status": exc.status, "failureMessage": exc.message, "timestamp": iso_ms(now)}
    response = json_response(exc.status, payload, exc.headers)
    return SimResponse(response.status, response.headers, response.body, delay_s=delay)


def media_type(headers: Mapping[str, str]) -> str:
    """The media type without parameters: ``text/plain; x=application/json`` is text/plain."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()
