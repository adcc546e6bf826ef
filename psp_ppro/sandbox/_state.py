"""Everything one sandbox remembers, plus event emission (state changes emit events)."""

from __future__ import annotations

from typing import Any

from ._clock import SandboxClock
from ._config import SandboxConfig
from ._idempotency import IdempotencyStore
from ._ids import IdFactory
from ._models import Agreement, Charge, Chargeback
from ._webhooks import Event, Outbox, build_event


class SandboxState:
    def __init__(self, config: SandboxConfig, clock: SandboxClock, ids: IdFactory) -> None:
        self.config = config
        self.clock = clock
        self.ids = ids
        self.charges: dict[str, Charge] = {}
        self.agreements: dict[str, Agreement] = {}
        self.chargebacks: list[Chargeback] = []
        self.events: list[Event] = []
        self.outbox = Outbox(config.webhook_retry_base_s, config.webhook_max_attempts)
        self.idempotency = IdempotencyStore(config.idempotency_ttl_s)
        # Mutable because a served sandbox only learns its real address once it listens.
        self.base_url = config.base_url

    def authenticate_url(self, resource_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/__sandbox__/authenticate/{resource_id}"

    def webhook_target(self, own_url: str | None) -> str | None:
        return own_url or self.config.default_webhooks_url

    def emit(self, event_type: str, subject: str, data: dict[str, Any], url: str | None) -> Event:
        """Record an event; queue it for delivery only when some URL wants it."""
        now = self.clock.now()
        event = build_event(self.ids.suffix(), event_type, subject, now, data, url)
        self.events.append(event)
        if url is not None:
            self.outbox.enqueue(event, now)
        return event
