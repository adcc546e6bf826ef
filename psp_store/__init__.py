"""psp_store: payments that survive a crash (the ``psp[store]`` extra).

A :class:`Store` (SQLAlchemy Core: an SQLite file by default, PostgreSQL by URL) keeps payments
and mandates in their versioned JSON form, an operation journal and a webhook inbox.
:class:`StoredGateway` / :class:`AsyncStoredGateway` journal every write before it is sent and
store its answer; :meth:`Store.ingest` folds each webhook once, under a row lock; :func:`reconcile`
(``psp reconcile --store URL``) settles what a crash left open. See docs/store.md.
"""

from ._errors import CorruptRecordError, StoreError, StoreSchemaError, StoreUnavailableError
from ._gateway import AsyncStoredGateway, StoredGateway
from ._reconcile import ReconcileReport, reconcile
from ._schema import SCHEMA_VERSION
from ._store import DEFAULT_PATH, JournalEntry, JournalOutcome, SettledBy, Store

__all__ = [
    "DEFAULT_PATH",
    "SCHEMA_VERSION",
    "AsyncStoredGateway",
    "CorruptRecordError",
    "JournalEntry",
    "JournalOutcome",
    "ReconcileReport",
    "SettledBy",
    "Store",
    "StoreError",
    "StoreSchemaError",
    "StoreUnavailableError",
    "StoredGateway",
    "reconcile",
]
