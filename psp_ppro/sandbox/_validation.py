"""Request-body parsing with PPRO-style 400 messages that name the offending field."""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import UTC, datetime
from urllib.parse import SplitResult, urlsplit

from ._errors import bad_request
from ._models import Json

_COUNTRY = re.compile(r"^[A-Z]{2}$")
# Control characters would end up in a Location header or an outgoing request line.
_CONTROL = re.compile(r"[\x00-\x20\x7f]")

MAX_STRING_LENGTH = 512
"""PPRO's data standards: "any string value may be at most 512 characters"."""
MAX_NESTING_DEPTH = 32
"""Sandbox decision: PPRO's request schemas nest a handful of levels; 32 leaves room and keeps
every later walk over the body (storing, re-serializing into events) far from Python's
recursion limit."""
MAX_INTEGER = 2**63 - 1
"""PPRO's amounts are ``int64``."""
LABEL_KEY_LENGTH = 50
LABEL_VALUE_LENGTH = 200
"""PPRO's OpenAPI ``labels``: at most 50 keys, key up to 50 and value up to 200 characters."""


def _reject_constant(name: str) -> object:
    # Python's json accepts NaN and Infinity; JSON (and PPRO) do not.
    raise ValueError(f"{name} is not valid JSON")

# What PPRO's ``format: email`` plainly excludes; the provider's own check may be stricter.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_object(body: bytes) -> Json:
    if not body.strip():
        raise bad_request("Request body is required")
    try:
        loaded = json.loads(body, parse_constant=_reject_constant)
    # ValueError covers JSONDecodeError, UnicodeDecodeError, NaN/Infinity and integers longer
    # than Python's digit limit; RecursionError is a document nested thousands of levels deep.
    except ValueError as exc:
        raise bad_request(f"Malformed JSON request body: {exc}") from None
    except RecursionError:
        raise bad_request(
            f"Malformed JSON request body: nested more than {MAX_NESTING_DEPTH} levels deep"
        ) from None
    if not isinstance(loaded, dict):
        raise bad_request("Malformed JSON request body: expected a JSON object")
    _check_shape(loaded)
    return loaded


def _check_shape(document: Json) -> None:
    """Depth and string-length limits over the whole body, iteratively (no recursion to exhaust)."""
    stack: list[tuple[object, str, int]] = [(document, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_NESTING_DEPTH:
                raise bad_request(
                    f"{path or 'Request body'} is nested more than {MAX_NESTING_DEPTH} levels deep"
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                child = f"{path}[{key}]" if isinstance(value, list) else f"{path}.{key}" if path else str(key)
                stack.append((item, child, depth + 1))
        elif isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
            raise bad_request(f"{path} must be at most {MAX_STRING_LENGTH} characters")


def opt_object(obj: Json, key: str, path: str) -> Json | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request(f"{path} must be an object")
    return value


def req_object(obj: Json, key: str, path: str) -> Json:
    value = opt_object(obj, key, path)
    if value is None:
        raise bad_request(f"{path} is required")
    return value


def opt_str(obj: Json, key: str, path: str, max_len: int = 512) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{path} must be a string")
    if len(value) > max_len:
        raise bad_request(f"{path} must be at most {max_len} characters")
    return value


def req_str(obj: Json, key: str, path: str, max_len: int = 512) -> str:
    value = opt_str(obj, key, path, max_len)
    if value is None or value == "":
        raise bad_request(f"{path} is required")
    return value


def req_int(obj: Json, key: str, path: str, minimum: int = 1) -> int:
    value = obj.get(key)
    if value is None:
        raise bad_request(f"{path} is required")
    # bool is an int subclass in Python; JSON true is not an amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{path} must be an integer in minor units")
    if value < minimum:
        raise bad_request(f"{path} must be at least {minimum}")
    if value > MAX_INTEGER:
        raise bad_request(f"{path} must be at most {MAX_INTEGER}")
    return value


def opt_bool(obj: Json, key: str, path: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise bad_request(f"{path} must be a boolean")
    return value


def opt_enum(obj: Json, key: str, path: str, allowed: frozenset[str]) -> str | None:
    value = opt_str(obj, key, path)
    if value is not None and value not in allowed:
        raise bad_request(f"{path} must be one of {', '.join(sorted(allowed))}")
    return value


def money(obj: Json, key: str, path: str) -> tuple[int, str]:
    amount = req_object(obj, key, path)
    value = req_int(amount, "value", f"{path}.value")
    currency = req_str(amount, "currency", f"{path}.currency")
    if len(currency) != 3:
        raise bad_request(f"{path}.currency must be a 3-letter ISO 4217 code")
    return value, currency


def consumer(obj: Json, path: str = "consumer") -> Json:
    found = req_object(obj, "consumer", path)
    country = req_str(found, "country", f"{path}.country")
    if not _COUNTRY.match(country):
        raise bad_request(f"{path}.country must be a two-letter ISO 3166-1 code")
    for key in ("name", "email", "phone", "locale", "merchantConsumerReference", "taxIdentification"):
        opt_str(found, key, f"{path}.{key}")
    email = found.get("email")
    if email is not None and not _EMAIL.match(email):
        raise bad_request(f"{path}.email must be an email address")
    address(found, "billingAddress", f"{path}.billingAddress")
    return found


def consumer_update(obj: Json, path: str = "consumer") -> Json | None:
    """An agreement charge's ``ConsumerUpdate``: only ``taxIdentification`` and ``client``."""
    found = opt_object(obj, "consumer", path)
    if found is None:
        return None
    opt_str(found, "taxIdentification", f"{path}.taxIdentification")
    opt_object(found, "client", f"{path}.client")
    return found


def address(obj: Json, key: str, path: str) -> Json | None:
    """PPRO's ``Address``: every field an optional string, ``country`` alpha-2."""
    found = opt_object(obj, key, path)
    if found is None:
        return None
    for name in ("firstName", "lastName", "phoneNumber", "street", "postalCode", "city", "region"):
        opt_str(found, name, f"{path}.{name}")
    country = opt_str(found, "country", f"{path}.country")
    if country is not None and not _COUNTRY.match(country):
        raise bad_request(f"{path}.country must be a two-letter ISO 3166-1 code")
    return found


SHIPPING_METHODS = frozenset(
    {"VIRTUAL", "TRACKED_DELIVERY", "UNTRACKED_DELIVERY", "IN_STORE_PICKUP", "LOCKER_PICKUP", "HYBRID"}
)
INITIATORS = frozenset({"CONSUMER", "MERCHANT"})
SCHEDULE_TYPES = frozenset({"SCHEDULED", "SCHEDULED_RETRY", "UNSCHEDULED", "RECURRING"})


def _opt_int(obj: Json, key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{path} must be an integer")
    return value


def order(obj: Json, path: str = "order") -> Json | None:
    """PPRO's ``Order``: items need ``name``, ``quantity`` and a per-item ``amount``."""
    found = opt_object(obj, "order", path)
    if found is None:
        return None
    items = found.get("orderItems")
    if items is not None:
        if not isinstance(items, list):
            raise bad_request(f"{path}.orderItems must be an array")
        for index, item in enumerate(items):
            where = f"{path}.orderItems[{index}]"
            if not isinstance(item, dict):
                raise bad_request(f"{where} must be an object")
            req_str(item, "name", f"{where}.name")
            req_int(item, "quantity", f"{where}.quantity", minimum=1)
            req_int(item, "amount", f"{where}.amount", minimum=0)
            for key in ("sku", "category", "subCategory"):
                opt_str(item, key, f"{where}.{key}")
    opt_enum(found, "shippingMethod", f"{path}.shippingMethod", SHIPPING_METHODS)
    address(found, "shippingAddress", f"{path}.shippingAddress")
    opt_str(found, "orderReferenceNumber", f"{path}.orderReferenceNumber")
    tax = _opt_int(found, "totalTaxAmount", f"{path}.totalTaxAmount")
    if tax is not None and tax < 0:
        raise bad_request(f"{path}.totalTaxAmount must not be negative")
    return found


def labels(obj: Json, path: str = "labels") -> dict[str, str] | None:
    value = obj.get("labels")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise bad_request(f"{path} must be an object of string values")
    if len(value) > 50:
        raise bad_request(f"{path} must have at most 50 keys")
    for key, item in value.items():
        if len(key) > LABEL_KEY_LENGTH:
            raise bad_request(f"{path} keys must be at most {LABEL_KEY_LENGTH} characters")
        if len(item) > LABEL_VALUE_LENGTH:
            raise bad_request(f"{path}.{key} must be at most {LABEL_VALUE_LENGTH} characters")
    return dict(value)


def is_loopback(hostname: str | None) -> bool:
    if hostname is None:
        return False
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def split_url(url: str, path: str) -> SplitResult:
    """``urlsplit`` with every way it can fail turned into a 400 naming ``path``.

    ``urlsplit`` raises ValueError for a malformed IPv6 host (``http://[``) and ``.port`` for
    a port outside 0..65535; unhandled, both used to surface as a 500.
    """
    if _CONTROL.search(url):
        raise bad_request(f"{path} must not contain spaces or control characters")
    if not url.isascii():
        # It is sent on in an HTTP header (Location) or request line, which carry only ASCII.
        raise bad_request(f"{path} must be ASCII; percent-encode other characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- evaluated for the ValueError an invalid port raises
    except ValueError as exc:
        raise bad_request(f"{path} is not a valid URL: {exc}") from None
    return parts


def effective_port(parts: SplitResult) -> int | None:
    return parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def webhooks_url(obj: Json, path: str = "webhooksUrl") -> str | None:
    """PPRO requires https; the sandbox also allows plain http to loopback for local receivers."""
    url = opt_str(obj, "webhooksUrl", path)
    if url is None:
        return None
    parts = split_url(url, path)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return url
    raise bad_request(f"{path} must be an https:// URL (http:// is allowed only to loopback)")


def redirect_return_url(obj: Json) -> str | None:
    """The REDIRECT ``settings.returnUrl``, or None when no usable REDIRECT setting was sent."""
    settings = obj.get("authenticationSettings")
    if settings is None:
        return None
    if not isinstance(settings, list):
        raise bad_request("authenticationSettings must be an array")
    for index, item in enumerate(settings):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise bad_request(f"authenticationSettings[{index}].type is required")
        if item["type"] != "REDIRECT":
            continue
        inner = item.get("settings")
        url = inner.get("returnUrl") if isinstance(inner, dict) else None
        if not isinstance(url, str):
            continue
        # The consumer is redirected here with a Location header: it must be a URL that
        # cannot break the header (see split_url), or the hosted page would answer 500.
        parts = split_url(url, f"authenticationSettings[{index}].settings.returnUrl")
        if parts.scheme in ("http", "https") and parts.hostname:
            return url
    return None


def date_time(obj: Json, key: str, path: str, required: bool) -> datetime | None:
    raw = opt_str(obj, key, path)
    if raw is None:
        if required:
            raise bad_request(f"{path} is required")
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"{path} must be an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
