"""Webhook signature checks shared by every provider, so no plugin does them its own way.

Constant-time comparison, timestamp tolerance in both directions, and parsing of
``t=...,s=...`` style signature headers.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta

from ._errors import WebhookVerificationError


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup over a plain mapping."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def parse_signature_header(value: str) -> dict[str, list[str]]:
    """``t=1700000000,s=ab12,s=cd34`` -> ``{"t": ["1700000000"], "s": ["ab12", "cd34"]}``."""
    parts: dict[str, list[str]] = {}
    for item in value.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep or not key or not val:
            raise WebhookVerificationError("malformed_signature", f"cannot parse signature part {item!r}")
        parts.setdefault(key.strip(), []).append(val.strip())
    return parts


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def matches_any(expected: str, candidates: list[str]) -> bool:
    """Constant-time comparison against every candidate (no early exit on the first match)."""
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(expected.encode(), candidate.strip().lower().encode())
    return found


_MAX_TIMESTAMP_DIGITS = 12


def check_timestamp(timestamp: str, now: datetime, tolerance: timedelta) -> None:
    # A Unix time in seconds has at most 11 digits for millennia to come; a longer one would
    # only overflow the arithmetic below (OverflowError) before the signature was checked.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        raise WebhookVerificationError(
            "malformed_signature", f"timestamp {timestamp!r} is not a Unix time in seconds"
        )
    seconds = int(timestamp)
    age = now.timestamp() - seconds
    if age > tolerance.total_seconds():
        raise WebhookVerificationError(
            "stale_timestamp", f"signed {int(age)} s ago; tolerance is {int(tolerance.total_seconds())} s"
        )
    if -age > tolerance.total_seconds():
        raise WebhookVerificationError(
            "future_timestamp",
            f"signed {int(-age)} s in the future; tolerance is {int(tolerance.total_seconds())} s",
        )


__all__ = [
    "check_timestamp",
    "header_value",
    "hmac_sha256_hex",
    "matches_any",
    "parse_signature_header",
]
