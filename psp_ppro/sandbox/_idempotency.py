"""Idempotency store for ``Request-Idempotency-Key`` (PPRO: 24 h retention, 409 on mismatch)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from attrs import frozen

IdempotencyScope = tuple[str, str, str, str]  # (merchant: key digest + Merchant-Id, method, path, key)


@frozen
class StoredResponse:
    body_hash: str
    status: int
    body: bytes
    stored_at: datetime


def body_fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class IdempotencyStore:
    """Remembers successful outcomes; not thread-safe on its own (the simulator lock guards it)."""

    def __init__(self, ttl_s: int) -> None:
        self._ttl = timedelta(seconds=ttl_s)
        self._entries: dict[IdempotencyScope, StoredResponse] = {}

    def lookup(self, scope: IdempotencyScope, now: datetime) -> StoredResponse | None:
        entry = self._entries.get(scope)
        if entry is not None and now - entry.stored_at >= self._ttl:
            # Expired keys behave as if never seen, exactly like PPRO after 24 h.
            del self._entries[scope]
            return None
        return entry

    def store(self, scope: IdempotencyScope, entry: StoredResponse) -> None:
        self._entries[scope] = entry

    def __len__(self) -> int:
        return len(self._entries)
