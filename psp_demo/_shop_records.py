"""The shop's records: orders, subscriptions, payments, mandates and webhook events, in SQLite.

Payments, mandates and events are kept in psp's stored JSON form (:func:`psp_core.to_json`),
so they read back unchanged with :func:`psp_core.from_json`. Everything goes through this one
small class, so the shop can move to a journalled store without touching its pages.

One connection, guarded by a lock: the shop's request handlers run on a thread pool, and the
sandbox delivers webhooks while a page is being served.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import attrs

from psp_core import Mandate, Money, Payment, WebhookEvent, from_json, to_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    description TEXT NOT NULL,
    country TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    provider TEXT NOT NULL,
    payment_id TEXT,
    subscription_id TEXT
);
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    description TEXT NOT NULL,
    monthly_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    provider TEXT NOT NULL,
    mandate_id TEXT
);
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    owner TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mandates (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    subject TEXT,
    received_at TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
"""


@attrs.frozen
class OrderRecord:
    """What the buyer ordered, and the payment that pays for it (None until authorized)."""

    id: str
    created_at: datetime
    description: str
    country: str
    total: Money
    provider: str
    payment_id: str | None
    subscription_id: str | None = None
    """The subscription a merchant-initiated charge was made under."""


@attrs.frozen
class SubscriptionRecord:
    """A monthly plan, and the mandate that lets the shop charge it (None until created)."""

    id: str
    created_at: datetime
    description: str
    monthly: Money
    provider: str
    mandate_id: str | None


class ShopRecords:
    """The shop's SQLite file (``":memory:"`` for a throwaway shop)."""

    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- orders ----------------------------------------------------------------------------

    def add_order(self, order: OrderRecord) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    order.id,
                    order.created_at.isoformat(),
                    order.description,
                    order.country,
                    order.total.minor,
                    order.total.currency,
                    order.provider,
                    order.payment_id,
                    order.subscription_id,
                ),
            )

    def order(self, order_id: str) -> OrderRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return None if row is None else _order(row)

    def orders(self, subscription_id: str | None = None) -> list[OrderRecord]:
        """Every order, newest first; or only the charges made under ``subscription_id``."""
        with self._lock:
            if subscription_id is None:
                rows = self._db.execute("SELECT * FROM orders ORDER BY created_at DESC, id").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM orders WHERE subscription_id = ? ORDER BY created_at DESC, id",
                    (subscription_id,),
                ).fetchall()
        return [_order(row) for row in rows]

    # -- subscriptions ---------------------------------------------------------------------

    def add_subscription(self, subscription: SubscriptionRecord) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO subscriptions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    subscription.id,
                    subscription.created_at.isoformat(),
                    subscription.description,
                    subscription.monthly.minor,
                    subscription.monthly.currency,
                    subscription.provider,
                    subscription.mandate_id,
                ),
            )

    def subscription(self, subscription_id: str) -> SubscriptionRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM subscriptions WHERE id = ?", (subscription_id,)).fetchone()
        return None if row is None else _subscription(row)

    def subscriptions(self) -> list[SubscriptionRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM subscriptions ORDER BY created_at DESC, id").fetchall()
        return [_subscription(row) for row in rows]

    # -- payments and mandates -------------------------------------------------------------

    def save_payment(
        self, order_id: str, payment_id: str, merge: Callable[[Payment | None], Payment]
    ) -> Payment:
        """Store ``merge(stored)`` for the order's payment, under the lock, and link the order.

        Merging with what is stored (rather than overwriting it) keeps a webhook folded in
        while the call that produced the fresh answer was still running.
        """
        with self._transaction() as db:
            row = db.execute("SELECT document FROM payments WHERE id = ?", (payment_id,)).fetchone()
            payment = merge(None if row is None else from_json(row[0], Payment))
            db.execute(
                "INSERT INTO payments VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET document = excluded.document",
                (payment.id, payment.provider, order_id, to_json(payment)),
            )
            db.execute("UPDATE orders SET payment_id = ? WHERE id = ?", (payment.id, order_id))
        return payment

    def update_payment(self, payment_id: str, change: Callable[[Payment], Payment]) -> Payment | None:
        """Apply ``change`` to the stored payment under the lock (a webhook fold); None if unknown."""
        with self._transaction() as db:
            row = db.execute("SELECT document FROM payments WHERE id = ?", (payment_id,)).fetchone()
            if row is None:
                return None
            changed = change(from_json(row[0], Payment))
            db.execute("UPDATE payments SET document = ? WHERE id = ?", (to_json(changed), payment_id))
        return changed

    def payment(self, payment_id: str) -> Payment | None:
        with self._lock:
            row = self._db.execute("SELECT document FROM payments WHERE id = ?", (payment_id,)).fetchone()
        return None if row is None else from_json(row[0], Payment)

    def save_mandate(
        self, subscription_id: str, mandate_id: str, merge: Callable[[Mandate | None], Mandate]
    ) -> Mandate:
        """Store ``merge(stored)`` for the subscription's mandate, as :meth:`save_payment` does."""
        with self._transaction() as db:
            row = db.execute("SELECT document FROM mandates WHERE id = ?", (mandate_id,)).fetchone()
            mandate = merge(None if row is None else from_json(row[0], Mandate))
            db.execute(
                "INSERT INTO mandates VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET document = excluded.document",
                (mandate.id, mandate.provider, to_json(mandate)),
            )
            db.execute("UPDATE subscriptions SET mandate_id = ? WHERE id = ?", (mandate.id, subscription_id))
        return mandate

    def update_mandate(self, mandate_id: str, change: Callable[[Mandate], Mandate]) -> Mandate | None:
        with self._transaction() as db:
            row = db.execute("SELECT document FROM mandates WHERE id = ?", (mandate_id,)).fetchone()
            if row is None:
                return None
            changed = change(from_json(row[0], Mandate))
            db.execute("UPDATE mandates SET document = ? WHERE id = ?", (to_json(changed), mandate_id))
        return changed

    def mandate(self, mandate_id: str) -> Mandate | None:
        with self._lock:
            row = self._db.execute("SELECT document FROM mandates WHERE id = ?", (mandate_id,)).fetchone()
        return None if row is None else from_json(row[0], Mandate)

    # -- webhook events --------------------------------------------------------------------

    def add_event(self, event: WebhookEvent, received_at: datetime | None = None) -> bool:
        """Keep a verified event; False when it was seen before (a provider's redelivery)."""
        subject = event.payment_id or event.mandate_id
        at = (received_at or datetime.now(UTC)).isoformat()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (event.event_id, event.provider, subject, at, to_json(event)),
            )
            return cursor.rowcount == 1

    def event_ids(self) -> set[str]:
        """The id of every event kept so far."""
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT event_id FROM events")}

    def events_about(self, subjects: list[str]) -> list[WebhookEvent]:
        if not subjects:
            return []
        marks = ", ".join("?" for _ in subjects)
        with self._lock:
            rows = self._db.execute(
                f"SELECT document FROM events WHERE subject IN ({marks}) ORDER BY rowid",  # noqa: S608 (only ?-marks)
                subjects,
            ).fetchall()
        return [from_json(row[0], WebhookEvent) for row in rows]


def _order(row: tuple[str, str, str, str, int, str, str, str | None, str | None]) -> OrderRecord:
    id_, created, description, country, minor, currency, provider, payment_id, subscription_id = row
    return OrderRecord(
        id_,
        datetime.fromisoformat(created),
        description,
        country,
        Money(minor, currency),
        provider,
        payment_id,
        subscription_id,
    )


def _subscription(row: tuple[str, str, str, int, str, str, str | None]) -> SubscriptionRecord:
    id_, created, description, minor, currency, provider, mandate_id = row
    return SubscriptionRecord(
        id_, datetime.fromisoformat(created), description, Money(minor, currency), provider, mandate_id
    )
