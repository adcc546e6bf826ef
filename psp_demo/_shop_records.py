"""The shop's own records: orders, subscriptions and the webhook history its pages show, in SQLite.

Payments and mandates are not here: the payment store (:class:`psp_store.Store`, in the same
SQLite file) holds them, journals every write and folds every webhook. These tables hold only
what the store does not: what the buyer ordered, which payment or mandate pays for it, and the
events received about it, in psp's stored JSON form (:func:`psp_core.to_json`), for the order
page's history.

One connection, guarded by a lock: the shop's request handlers run on a thread pool, and the
sandbox delivers webhooks while a page is being served.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import attrs

from psp_core import Money, WebhookEvent, from_json, to_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS shop_orders (
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
CREATE TABLE IF NOT EXISTS shop_subscriptions (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    description TEXT NOT NULL,
    monthly_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    provider TEXT NOT NULL,
    mandate_id TEXT
);
CREATE TABLE IF NOT EXISTS shop_history (
    event_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    subject TEXT,
    received_at TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
"""


_BUSY_TIMEOUT_S = 10.0
"""How long a write waits for the store's write lock on the shared SQLite file."""


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
    """The shop's tables in its SQLite file (the file the store uses too)."""

    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=_BUSY_TIMEOUT_S
        )
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
                "INSERT INTO shop_orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            row = self._db.execute("SELECT * FROM shop_orders WHERE id = ?", (order_id,)).fetchone()
        return None if row is None else _order(row)

    def orders(self, subscription_id: str | None = None) -> list[OrderRecord]:
        """Every order, newest first; or only the charges made under ``subscription_id``."""
        with self._lock:
            if subscription_id is None:
                rows = self._db.execute("SELECT * FROM shop_orders ORDER BY created_at DESC, id").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM shop_orders WHERE subscription_id = ? ORDER BY created_at DESC, id",
                    (subscription_id,),
                ).fetchall()
        return [_order(row) for row in rows]

    # -- subscriptions ---------------------------------------------------------------------

    def add_subscription(self, subscription: SubscriptionRecord) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO shop_subscriptions VALUES (?, ?, ?, ?, ?, ?, ?)",
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
            row = self._db.execute(
                "SELECT * FROM shop_subscriptions WHERE id = ?", (subscription_id,)
            ).fetchone()
        return None if row is None else _subscription(row)

    def subscriptions(self) -> list[SubscriptionRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM shop_subscriptions ORDER BY created_at DESC, id"
            ).fetchall()
        return [_subscription(row) for row in rows]

    # -- what pays for what ---------------------------------------------------------------

    def link_payment(self, order_id: str, payment_id: str) -> None:
        """Record the payment (held by the store) that pays for the order."""
        with self._transaction() as db:
            db.execute("UPDATE shop_orders SET payment_id = ? WHERE id = ?", (payment_id, order_id))

    def link_mandate(self, subscription_id: str, mandate_id: str) -> None:
        """Record the mandate (held by the store) that the subscription is charged under."""
        with self._transaction() as db:
            db.execute(
                "UPDATE shop_subscriptions SET mandate_id = ? WHERE id = ?", (mandate_id, subscription_id)
            )

    # -- webhook events --------------------------------------------------------------------

    def add_event(self, event: WebhookEvent, received_at: datetime | None = None) -> bool:
        """Keep a verified event for the history view; False when it was kept before (a redelivery).

        The store's inbox is what de-duplicates and folds it; this is only what the pages list.
        """
        subject = event.payment_id or event.mandate_id
        at = (received_at or datetime.now(UTC)).isoformat()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO shop_history VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (event.event_id, event.provider, subject, at, to_json(event)),
            )
            return cursor.rowcount == 1

    def event_ids(self) -> set[str]:
        """The id of every event kept so far."""
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT event_id FROM shop_history")}

    def events_about(self, subjects: list[str]) -> list[WebhookEvent]:
        if not subjects:
            return []
        marks = ", ".join("?" for _ in subjects)
        with self._lock:
            rows = self._db.execute(
                f"SELECT document FROM shop_history WHERE subject IN ({marks}) ORDER BY rowid",  # noqa: S608 (only ?-marks)
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
