"""The store's errors: a branch of psp's one error tree (:class:`psp_core.PspError`).

::

    PspError
    └── StoreError                    the payment store cannot do what was asked; nothing was half-written
        ├── StoreUnavailableError     the database is down, unreachable or locked; retry once it is back
        ├── StoreSchemaError          the database holds a schema this psp_store cannot use
        └── CorruptRecordError        a stored row cannot be read back; names the table and key
"""

from __future__ import annotations

from psp_core import PspError


class StoreError(PspError):
    """The payment store could not do what was asked. Every transaction is all or nothing."""


class StoreUnavailableError(StoreError):
    """The database is down, unreachable, or locked by another writer past the busy timeout.

    Nothing was written by the failed transaction. When it follows a provider call whose answer
    could not be saved, the journal entry stays open and ``psp reconcile`` settles it later;
    ``result`` is then the provider's answer that was not saved.
    """

    def __init__(self, message: str, *, result: object = None) -> None:
        self.result = result
        super().__init__(message)


class StoreSchemaError(StoreError):
    """The database's schema version is not one this psp_store reads (a newer psp wrote it)."""


class CorruptRecordError(StoreError):
    """A row's stored document cannot be read back; ``table`` and ``key`` say which row."""

    def __init__(self, table: str, key: str, problem: str) -> None:
        self.table = table
        self.key = key
        super().__init__(
            f"{table} row {key} cannot be read: {problem}; the row was left as it is. Restore it from a "
            "backup, or delete it and read the object again from the provider (psp reconcile, or "
            "the gateway's get_payment / get_mandate) to store a fresh copy"
        )


__all__ = ["CorruptRecordError", "StoreError", "StoreSchemaError", "StoreUnavailableError"]
