"""The store's tables (SQLAlchemy Core), created on first use and versioned in ``psp_store_meta``.

Payments and mandates are kept as their versioned JSON documents (``psp_core.to_json``), so the
store never duplicates the model's fields; the few columns beside the document are what the store
looks rows up by. Timestamps are seconds since the epoch (UTC): comparable on every database.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION: Final = 1
"""The schema version this psp_store writes and reads. Version 1 is the first."""

metadata = MetaData()

meta = Table(
    "psp_store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

payments = Table(
    "psp_payments",
    metadata,
    Column("provider", String(64), primary_key=True),
    Column("id", String(255), primary_key=True),
    Column("merchant_reference", String(255), nullable=True),
    Column("status", String(32), nullable=False),
    Column("document", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("psp_payments_by_reference", "provider", "merchant_reference"),
)

mandates = Table(
    "psp_mandates",
    metadata,
    Column("provider", String(64), primary_key=True),
    Column("id", String(255), primary_key=True),
    Column("merchant_reference", String(255), nullable=True),
    Column("status", String(32), nullable=False),
    Column("document", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

journal = Table(
    "psp_journal",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("call", String(32), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    # The payment or mandate the call acts on (None for authorize and create_mandate).
    Column("resource", String(255), nullable=True),
    Column("merchant_reference", String(255), nullable=True),
    Column("request", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    # None while the outcome is unknown; see JournalOutcome for the values.
    Column("outcome", String(16), nullable=True),
    Column("result_id", String(255), nullable=True),
    Column("detail", Text, nullable=True),
    Column("settled_by", String(16), nullable=True),
    Column("settled_at", Float, nullable=True),
    # A reconciler's claim: no second reconciler settles the entry while the claim holds.
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", Float, nullable=True),
    UniqueConstraint("provider", "call", "idempotency_key", name="psp_journal_one_key_per_call"),
    Index("psp_journal_open", "outcome", "created_at"),
)

inbox = Table(
    "psp_inbox",
    metadata,
    Column("provider", String(64), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("payment_id", String(255), nullable=True),
    Column("mandate_id", String(255), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("document", Text, nullable=False),
    Column("received_at", Float, nullable=False),
)
