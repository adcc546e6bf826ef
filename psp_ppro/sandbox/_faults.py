"""Fault injection settings: random rates plus one-shot "next N requests" injections."""

from __future__ import annotations

import json
import random
import threading
from collections import deque
from collections.abc import Callable, Mapping

from attrs import frozen


def _json_edit(edit: Callable[[dict[str, object]], object]) -> Callable[[bytes], bytes]:
    def broken(body: bytes) -> bytes:
        payload = json.loads(body)
        if isinstance(payload, dict):
            edit(payload)
        return json.dumps(payload).encode()

    return broken


def _other_amount(payload: dict[str, object]) -> None:
    """The first amount in the answer, one minor unit off (the operation's, else the first
    authorization's): an answer that contradicts the request it answers."""
    if isinstance(payload.get("amount"), int):
        payload["amount"] = int(payload["amount"]) + 1  # type: ignore[call-overload]
        return
    authorizations = payload.get("authorizations")
    if isinstance(authorizations, list) and authorizations and isinstance(authorizations[0], dict):
        first = authorizations[0]
        if isinstance(first.get("amount"), int):
            first["amount"] += 1


BROKEN_ANSWERS: Mapping[str, Callable[[bytes], bytes]] = {
    "garbled_after_store": lambda body: b"<html><body>502 Bad Gateway</body></html>",
    "truncated_after_store": lambda body: body[: len(body) // 2],
    "wrong_type_after_store": lambda body: b'["accepted"]',
    "missing_id_after_store": _json_edit(lambda payload: payload.pop("id", None)),
    "unknown_status_after_store": _json_edit(lambda payload: payload.update(status="SETTLED")),
    "wrong_amount_after_store": _json_edit(_other_amount),
    # Deep enough that Python's json module raises RecursionError.
    "deep_nesting_after_store": lambda body: b"[" * 100_000 + b"]" * 100_000,
}
"""Broken 2xx answers: the operation is performed and stored (a retry with its key replays
the real answer), and the answer that reaches the client is mangled in one of these ways."""


def break_answer(kind: str, status: int, body: bytes) -> bytes:
    """The body a client receives under injection ``kind``; only 2xx answers are broken."""
    breaker = BROKEN_ANSWERS.get(kind)
    if breaker is None or not 200 <= status < 300:
        return body
    return breaker(body)


#: One-shot fault kinds accepted by :meth:`Faults.inject_next`.
FAULT_KINDS = frozenset(
    {
        *BROKEN_ANSWERS,
        "drop_after_store",
        "timeout_after_store",
        "connection_refused",
        "latency",
        "500",
        "503",
        "429",
        "timeout",
        "409_in_flight",
    }
)
INJECTED_LATENCY_S = 0.02
"""How long a one-shot ``latency`` injection delays its request."""


@frozen
class Injection:
    kind: str
    retry_after: int | None = None


class Faults:
    """Mutable fault knobs shared by every adapter of one sandbox.

    Rates are probabilities in [0, 1] drawn from ``rng`` (seeded from the config) so a failing
    run can be replayed. Only ``/v1`` API requests are affected, never ``/__sandbox__`` routes.

    - ``latency_s``: adapters wait this long before answering (the simulator itself never sleeps).
    - ``error_rate``: 500 envelope, operation not performed.
    - ``rate_limit_rate``: 429 envelope, with ``Retry-After`` when ``retry_after_s`` is set.
    - ``drop_after_store_rate``: the operation is performed and stored, then the connection drops.
    - ``in_flight_conflict_rate``: requests carrying ``Request-Idempotency-Key`` get the 409 PPRO
      sends while the first request with that key is still being processed.
    - ``duplicate_webhooks``: every webhook attempt is delivered twice.
    - ``reorder_webhooks``: each batch of due webhooks is shuffled.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.latency_s: float = 0.0
        self.error_rate: float = 0.0
        self.rate_limit_rate: float = 0.0
        self.retry_after_s: int | None = None
        self.drop_after_store_rate: float = 0.0
        self.in_flight_conflict_rate: float = 0.0
        self.duplicate_webhooks: bool = False
        self.reorder_webhooks: bool = False
        self._queue: deque[Injection] = deque()
        self._lock = threading.Lock()

    def inject_next(self, kind: str, count: int = 1, retry_after: int | None = None) -> None:
        """Make the next ``count`` API requests fail with ``kind`` (see ``FAULT_KINDS``).

        ``409_in_flight`` injections are consumed only by requests with an idempotency key.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queue.extend(Injection(kind, retry_after) for _ in range(count))

    def clear(self) -> None:
        """Reset every knob and drop pending injections."""
        with self._lock:
            self._queue.clear()
        self.latency_s = self.error_rate = self.rate_limit_rate = 0.0
        self.drop_after_store_rate = self.in_flight_conflict_rate = 0.0
        self.retry_after_s = None
        self.duplicate_webhooks = self.reorder_webhooks = False

    @property
    def pending_injections(self) -> list[str]:
        with self._lock:
            return [i.kind for i in self._queue]

    def take(self, has_idempotency_key: bool) -> Injection | None:
        """Pop the injection (or random fault) that applies to the request being handled."""
        with self._lock:
            if self._queue:
                head = self._queue[0]
                if head.kind != "409_in_flight" or has_idempotency_key:
                    return self._queue.popleft()
        if has_idempotency_key and self._roll(self.in_flight_conflict_rate):
            return Injection("409_in_flight")
        if self._roll(self.error_rate):
            return Injection("500")
        if self._roll(self.rate_limit_rate):
            return Injection("429", self.retry_after_s)
        if self._roll(self.drop_after_store_rate):
            return Injection("drop_after_store")
        return None

    def _roll(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate
