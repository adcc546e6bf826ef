"""CloudEvents webhooks: envelopes, signatures, and an outbox with exponential-backoff retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from attrs import define, frozen

from ._clock import iso_ms

SIGNATURE_HEADER = "PPRO-Signature"
LEGACY_SIGNATURE_HEADER = "Webhook-Signature"


@frozen
class Event:
    """One emitted CloudEvent; ``body`` is the exact JSON that is signed and delivered."""

    event_id: str
    event_type: str
    subject: str
    time: datetime
    data: dict[str, Any]
    body: bytes
    url: str | None

    @property
    def envelope(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


@frozen
class WebhookDelivery:
    """One delivery attempt, signed at the moment it is handed out."""

    url: str
    headers: dict[str, str]
    body: bytes
    event_id: str
    event_type: str
    subject: str
    attempt: int = 1


def build_event(
    event_id: str, event_type: str, subject: str, time: datetime, data: dict[str, Any], url: str | None
) -> Event:
    envelope = {
        "specversion": "1.0.2",
        "source": "https://www.ppro.com",
        "datacontenttype": "application/json",
        "id": event_id,
        "type": event_type,
        "subject": subject,
        "time": iso_ms(time),
        "data": data,
    }
    body = json.dumps(envelope, separators=(",", ":")).encode()
    return Event(event_id, event_type, subject, time, data, body, url)


def sign(body: bytes, secret: str, timestamp: int, legacy: bool) -> dict[str, str]:
    """PPRO's HMAC header, plus the deprecated plain-SHA-256 header when ``legacy``."""
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: f"t={timestamp},s={digest}"}
    if legacy:
        headers[LEGACY_SIGNATURE_HEADER] = hashlib.sha256(body + b"." + secret.encode()).hexdigest()
    return headers


@define
class _Pending:
    event: Event
    attempts: int
    due_at: datetime
    in_progress: bool = False


class Outbox:
    """Queued deliveries. Not locked itself: the simulator's lock guards every call."""

    def __init__(self, retry_base_s: float, max_attempts: int) -> None:
        self._base = retry_base_s
        self._max = max_attempts
        self._items: list[_Pending] = []
        # Events that ran out of attempts, for the admin API and tests to inspect.
        self.dead_letters: list[Event] = []

    def enqueue(self, event: Event, now: datetime) -> None:
        self._items.append(_Pending(event, 0, now))

    def pending_events(self) -> list[Event]:
        return [p.event for p in self._items]

    def due(self, now: datetime) -> list[_Pending]:
        return [p for p in self._items if p.due_at <= now and not p.in_progress]

    def checkout(self, now: datetime, rng: random.Random, reorder: bool) -> list[_Pending]:
        batch = self.due(now)
        if reorder:
            rng.shuffle(batch)
        for item in batch:
            item.in_progress = True
        return batch

    def settle(self, item: _Pending, status: int, now: datetime) -> bool:
        """Record an attempt's outcome; returns True when the event is done (2xx)."""
        item.in_progress = False
        item.attempts += 1
        if 200 <= status < 300:
            self._items.remove(item)
            return True
        if item.attempts >= self._max:
            self._items.remove(item)
            self.dead_letters.append(item.event)
            return False
        # PPRO: first retry after 15 s, then doubling; base is configurable for local use.
        item.due_at = now + timedelta(seconds=self._base * 2 ** (item.attempts - 1))
        return False


SendFn = Callable[[WebhookDelivery], int]
