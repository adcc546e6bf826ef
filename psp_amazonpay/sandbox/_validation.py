"""Request-body parsing with PPRO-style 400 messages that name the offending field."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from ._errors import bad_request
from ._models import Json

_COUNTRY = re.compile(r"^[A-Z]{2}$")
# What PPRO's ``format: email`` plainly excludes; the provider's own check may be stricter.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def parse_object(body: bytes) -> Json:
    if not body.strip():
        raise bad_request("Request body is required")
    try:
        loaded = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"Malformed JSON request body: {exc}") from None
    if not isinstance(loaded, dict):
        raise bad_request("Malformed JSON request body: expected a JSON object")
    return loaded


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
    for key, text in value.items():
        if len(key) > 50 or len(text) > 200:
            raise bad_request(f"{path}[{key[:50]!r}]: keys are at most 50 characters, values at most 200")
    return dict(value)


def webhooks_url(obj: Json, path: str = "webhooksUrl") -> str | None:
    """PPRO requires https; the sandbox also allows plain http to loopback for local receivers."""
    url = opt_str(obj, "webhooksUrl", path)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
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
        if isinstance(url, str) and urlsplit(url).scheme in ("http", "https"):
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
