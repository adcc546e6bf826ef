"""The payment store: payments, mandates, the operation journal and the webhook inbox.

One :class:`Store` per process, shared by its threads (SQLAlchemy's pool gives each transaction
its own connection). Every method that writes runs one transaction, all or nothing:

- on SQLite each write transaction is ``BEGIN IMMEDIATE``: it takes the database's write lock
  before reading, so two processes folding into the same payment are serialized instead of
  both reading the old state (WAL mode, so readers never wait for it);
- on PostgreSQL the row a fold changes is read ``SELECT ... FOR UPDATE``, and new rows are
  inserted ``ON CONFLICT DO NOTHING`` and then locked, so concurrent first inserts fold too.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import attrs
from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from psp_core import (
    ConfigurationError,
    Gateway,
    Mandate,
    Payment,
    ValidationError,
    WebhookEvent,
    apply_event,
    apply_mandate_event,
    apply_mandate_update,
    apply_update,
    from_json,
    to_json,
)

from ._errors import CorruptRecordError, StoreSchemaError, StoreUnavailableError
from ._requests import WriteRequest, request_from_json, request_to_json
from ._schema import SCHEMA_VERSION, inbox, journal, mandates, meta, metadata, payments

log = logging.getLogger("psp.store")

DEFAULT_PATH: Final = "psp_store.sqlite3"
"""The SQLite file a :class:`Store` opens when given no URL (relative to the working directory)."""

_Stored = TypeVar("_Stored", Payment, Mandate)
# Any number, as long as every psp_store process uses the same: it names the schema-creation lock.
_SCHEMA_LOCK: Final = 0x70737073746F7265 & 0x7FFFFFFFFFFFFFFF


class JournalOutcome(enum.Enum):
    """How a journal entry was settled; an entry without one is open (its outcome is unknown)."""

    SUCCEEDED = "succeeded"
    """The provider's answer was saved: by the call itself, or by the reconciler's replay or find."""
    FAILED = "failed"
    """A definitive error (refused before sending, or by the provider): the call took no effect."""
    READ = "read"
    """Settled by reading the payment or mandate (no replay): the stored object shows the effect."""
    NOT_FOUND = "not_found"
    """The provider has no payment with the entry's merchant reference: the call never took effect."""


class SettledBy(enum.Enum):
    CALL = "call"
    RECONCILER = "reconciler"


@attrs.frozen
class JournalEntry:
    """One write's intent, committed before it was sent, and its outcome once known."""

    id: int
    provider: str
    call: str
    idempotency_key: str
    resource: str | None
    merchant_reference: str | None
    request_json: str
    created_at: datetime
    outcome: JournalOutcome | None
    result_id: str | None
    detail: str | None
    settled_by: SettledBy | None

    def request(self) -> WriteRequest:
        """The request as it was sent, with the idempotency key it was sent with."""
        try:
            return request_from_json(self.request_json)[1]
        except ValueError as error:
            raise CorruptRecordError("psp_journal", f"id {self.id}", str(error)) from None


def _epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _entry(row: Any) -> JournalEntry:
    return JournalEntry(
        id=row.id,
        provider=row.provider,
        call=row.call,
        idempotency_key=row.idempotency_key,
        resource=row.resource,
        merchant_reference=row.merchant_reference,
        request_json=row.request,
        created_at=_epoch(row.created_at),
        outcome=None if row.outcome is None else JournalOutcome(row.outcome),
        result_id=row.result_id,
        detail=row.detail,
        settled_by=None if row.settled_by is None else SettledBy(row.settled_by),
    )


VALID_LOCATIONS = "a file path, sqlite:///PATH or postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE"
"""What a store location looks like, for the messages that refuse one."""


def _url_of(location: str | os.PathLike[str], *, field: str = "url") -> URL:
    """The database URL of a store location; ``field`` is what the caller named it (``url``,
    or ``--store`` on the command line), so the error names what the user actually typed."""
    text_form = os.fspath(location)
    if not text_form.strip():
        raise ValidationError(field, f"is empty; give {VALID_LOCATIONS}")
    if "://" not in text_form:
        return URL.create("sqlite", database=str(Path(text_form)))
    try:
        url = make_url(text_form)
    except ArgumentError:
        # The value is not echoed (here or below): a URL that does not parse may hold a password.
        raise ValidationError(field, f"is not a database URL; give {VALID_LOCATIONS}") from None
    except ValueError:  # SQLAlchemy parses the port with int()
        raise ValidationError(
            field, f"is not a database URL (its port is not a number); give {VALID_LOCATIONS}"
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        # psycopg 3 is what psp[store] installs; SQLAlchemy's default would be psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        shown = url.render_as_string(hide_password=True)
        raise ValidationError(
            field,
            f"{shown} names a {url.get_backend_name()} database; the store supports SQLite and "
            f"PostgreSQL: give {VALID_LOCATIONS}",
        )
    return url


class Store:
    """Payments, mandates, the operation journal and the webhook inbox in one database.

    ``url`` is a file path or ``sqlite:///PATH`` (the default: ``psp_store.sqlite3``), or
    ``postgresql://USER:PASSWORD@HOST/DB`` for hosts with many processes or machines. The schema is
    created on first use. ``gateway`` is the gateway :meth:`ingest` verifies webhooks with when
    none is passed. ``adopt`` decides whether a payment or mandate the store has never seen, named
    by a webhook, is the host's own (see :meth:`ingest`). ``busy_timeout_s`` is how long a SQLite
    write waits for another process's write lock before :class:`StoreUnavailableError`.
    """

    def __init__(
        self,
        url: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        gateway: Gateway | None = None,
        adopt: Callable[[Payment | Mandate], bool] | None = None,
        busy_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._url = _url_of(url)
        self.gateway = gateway
        self.adopt = adopt
        self.clock = clock
        self.dialect = self._url.get_backend_name()
        options: dict[str, Any] = {"pool_pre_ping": self.dialect == "postgresql", **(engine_options or {})}
        if self.dialect == "sqlite":
            options.setdefault("connect_args", {"timeout": busy_timeout_s})
        try:
            self._engine: Engine = create_engine(self._url, **options)
        except NoSuchModuleError as error:
            raise ConfigurationError(f"{self.url}: {error}; install psp[store]") from None
        if self.dialect == "sqlite":
            self._configure_sqlite(busy_timeout_s)
        try:
            self._ensure_schema()
        except BaseException:
            self._engine.dispose()  # a store that failed to open holds no connections
            raise

    # -- set-up -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL with any password hidden: safe to log and show."""
        return self._url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"<Store {self.url}>"

    def close(self) -> None:
        """Close every pooled connection; a store is not used after this."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _configure_sqlite(self, busy_timeout_s: float) -> None:
        @event.listens_for(self._engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # psp issues BEGIN itself (below): sqlite3's own implicit transactions would start
            # deferred, and a deferred reader that later writes can deadlock another writer.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            # WAL with NORMAL loses no committed transaction when a process is killed; only an
            # OS crash or power loss may undo the last ones (docs/store.md).
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        @event.listens_for(self._engine, "begin")
        def _begin(connection: Connection) -> None:
            write = connection.get_execution_options().get("psp_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        try:
            with self._engine.connect() as connection:
                if write:
                    connection = connection.execution_options(psp_write=True)
                with connection.begin():
                    yield connection
        except DBAPIError as error:
            raise self._unavailable(error) from None

    def _unavailable(self, error: DBAPIError) -> StoreUnavailableError:
        reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
        if "locked" in reason or "busy" in reason:
            advice = "another process holds the database's write lock; retry, or raise busy_timeout_s"
        else:
            advice = "check that the database is running and the URL is right, then retry"
        return StoreUnavailableError(
            f"the store at {self.url} could not complete a transaction ({reason}); nothing of it was "
            f"written: {advice}"
        )

    def _ensure_schema(self) -> None:
        with self._transaction(write=True) as connection:
            if self.dialect == "postgresql":
                # Two processes opening a new database at once must not both create the tables.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            present = set(inspect(connection).get_table_names())
            if meta.name not in present:
                ours = sorted(present & set(metadata.tables))
                if ours:
                    raise StoreSchemaError(
                        f"the store at {self.url} has psp tables ({', '.join(ours)}) but no {meta.name} "
                        "table saying their schema version; restore the database from a backup or point "
                        "the store at another one"
                    )
                metadata.create_all(connection)
                connection.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            value = connection.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
            version = int(value) if value is not None and value.isdigit() else None
            if version is None:
                raise StoreSchemaError(
                    f"the store at {self.url} has no readable schema version in {meta.name} (found "
                    f"{value!r}); restore the database from a backup or point the store at another one"
                )
            if version > SCHEMA_VERSION:
                raise StoreSchemaError(
                    f"the store at {self.url} has schema version {version}, written by a newer psp; this "
                    f"psp_store reads up to version {SCHEMA_VERSION}: upgrade psp"
                )
            # Version 1 is the only one so far; a later version migrates older ones here.

    def _insert(self, table: Table) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # -- payments and mandates --------------------------------------------------------------------

    def _load(self, table: Table, key: str, document: str, kind: type[_Stored]) -> _Stored:
        try:
            return from_json(document, kind)
        except ValidationError as error:
            raise CorruptRecordError(table.name, key, str(error)) from None

    def _read(
        self, table: Table, kind: type[_Stored], column: str, value: str, provider: str | None
    ) -> _Stored | None:
        query = select(table.c.provider, table.c.id, table.c.document).where(table.c[column] == value)
        if provider is not None:
            query = query.where(table.c.provider == provider)
        with self._transaction(write=False) as connection:
            rows = connection.execute(query.order_by(table.c.updated_at.desc()).limit(2)).all()
        if column == "id" and len(rows) > 1:
            raise ValidationError(
                "provider",
                f"{len(rows)} providers have a {kind.__name__.lower()} {value!r}; name the provider",
            )
        if not rows:
            return None
        return self._load(table, f"{rows[0].provider}/{rows[0].id}", rows[0].document, kind)

    def get_payment(self, payment_id: str, *, provider: str | None = None) -> Payment | None:
        """The stored payment with this id, or None."""
        return self._read(payments, Payment, "id", payment_id, provider)

    def find_payment(self, merchant_reference: str, *, provider: str | None = None) -> Payment | None:
        """The most recently updated stored payment with this merchant reference, or None."""
        return self._read(payments, Payment, "merchant_reference", merchant_reference, provider)

    def get_mandate(self, mandate_id: str, *, provider: str | None = None) -> Mandate | None:
        """The stored mandate with this id, or None."""
        return self._read(mandates, Mandate, "id", mandate_id, provider)

    def payments(self, *, provider: str | None = None) -> list[Payment]:
        """Every stored payment (of one provider when named), in id order."""
        return self._all(payments, Payment, provider)

    def mandates(self, *, provider: str | None = None) -> list[Mandate]:
        return self._all(mandates, Mandate, provider)

    def _all(self, table: Table, kind: type[_Stored], provider: str | None) -> list[_Stored]:
        query = select(table.c.provider, table.c.id, table.c.document).order_by(table.c.provider, table.c.id)
        if provider is not None:
            query = query.where(table.c.provider == provider)
        with self._transaction(write=False) as connection:
            rows = connection.execute(query).all()
        return [self._load(table, f"{row.provider}/{row.id}", row.document, kind) for row in rows]

    def save(self, value: _Stored) -> _Stored:
        """Fold a payment or mandate psp returned into the stored one (insert it when new).

        The fold is the reducer's (``apply_update`` / ``apply_mandate_update``): an older answer
        never moves a stored payment back. Returns what is stored now.
        """
        with self._transaction(write=True) as connection:
            return cast(_Stored, self._fold_in(connection, value))

    def _fold_in(self, connection: Connection, value: Payment | Mandate) -> Payment | Mandate:
        if isinstance(value, Payment):
            payment = value
            stored_payment: Payment = self._change(
                connection, payments, Payment, value.provider, value.id,
                lambda current: payment if current is None else apply_update(current, payment),
            )  # fmt: skip
            return stored_payment
        if isinstance(value, Mandate):
            mandate = value
            stored_mandate: Mandate = self._change(
                connection, mandates, Mandate, value.provider, value.id,
                lambda current: mandate if current is None else apply_mandate_update(current, mandate),
            )  # fmt: skip
            return stored_mandate
        raise ValidationError("value", f"must be a Payment or a Mandate, got {type(value).__name__}")

    def _change(
        self,
        connection: Connection,
        table: Table,
        kind: type[_Stored],
        provider: str,
        object_id: str,
        change: Callable[[_Stored | None], _Stored | None],
    ) -> Any:
        """Apply ``change`` to the stored row under its lock; returns the new value (or the old)."""
        where = (table.c.provider == provider) & (table.c.id == object_id)
        row = connection.execute(select(table.c.document).where(where).with_for_update()).first()
        current = None if row is None else self._load(table, f"{provider}/{object_id}", row.document, kind)
        new = change(current)
        if new is None:
            return current
        values = {
            "merchant_reference": new.merchant_reference,
            "status": new.status.value,
            "document": to_json(new),
            "updated_at": self.clock(),
        }
        if row is None:
            inserted = connection.execute(
                self._insert(table).values(provider=provider, id=object_id, **values).on_conflict_do_nothing()
            )
            if inserted.rowcount == 1:
                return new
            # Another transaction inserted it since our read (PostgreSQL): fold into theirs, locked.
            return self._change(connection, table, kind, provider, object_id, change)
        if new != current:
            connection.execute(update(table).where(where).values(**values))
        return new

    # -- the journal --------------------------------------------------------------------------------

    def journal(self, *, open_only: bool = False, provider: str | None = None) -> list[JournalEntry]:
        """The journal's entries in the order they were written; ``open_only``: those without an outcome."""
        query = select(journal).order_by(journal.c.id)
        if open_only:
            query = query.where(journal.c.outcome.is_(None))
        if provider is not None:
            query = query.where(journal.c.provider == provider)
        with self._transaction(write=False) as connection:
            return [_entry(row) for row in connection.execute(query)]

    def _open_entry(
        self,
        provider: str,
        call: str,
        request: WriteRequest,
        resource: str | None,
        merchant_reference: str | None,
    ) -> int:
        """Commit a write's intent before it is sent; the same key again resumes the same entry."""
        key = request.idempotency_key
        assert key is not None
        document = request_to_json(call, request)
        same = (
            (journal.c.provider == provider) & (journal.c.call == call) & (journal.c.idempotency_key == key)
        )
        with self._transaction(write=True) as connection:
            connection.execute(
                self._insert(journal)
                .values(
                    provider=provider,
                    call=call,
                    idempotency_key=key,
                    resource=resource,
                    merchant_reference=merchant_reference,
                    request=document,
                    created_at=self.clock(),
                )
                .on_conflict_do_nothing()
            )
            entry_id: int = connection.execute(select(journal.c.id).where(same)).scalar_one()
        return entry_id

    def _close_entry(
        self,
        entry_id: int,
        result: Payment | Mandate | None,
        outcome: JournalOutcome,
        detail: str | None,
        settled_by: SettledBy,
        *,
        claimed_by: str | None = None,
    ) -> Payment | Mandate | None:
        """Save the answer and the entry's outcome in one transaction; returns what is stored.

        ``claimed_by`` (the reconciler): the outcome is written only while the entry is still
        open and still this reconciler's; the fold of a fresh answer is safe either way.
        """
        with self._transaction(write=True) as connection:
            stored = None if result is None else self._fold_in(connection, result)
            where = journal.c.id == entry_id
            if claimed_by is not None:
                where &= journal.c.outcome.is_(None) & (journal.c.claimed_by == claimed_by)
            connection.execute(
                update(journal)
                .where(where)
                .values(
                    outcome=outcome.value,
                    result_id=None if result is None else result.id,
                    detail=detail,
                    settled_by=settled_by.value,
                    settled_at=self.clock(),
                    claimed_by=None,
                    claimed_until=None,
                )
            )
        return stored

    def _claim(
        self,
        owner: str,
        providers: frozenset[str],
        older_than: float,
        after_id: int,
        limit: int,
        lease_s: float,
    ) -> list[JournalEntry]:
        """Claim open entries (ids above ``after_id``) for one reconciler; others skip them."""
        now = self.clock()
        query = (
            select(journal)
            .where(
                journal.c.outcome.is_(None),
                journal.c.created_at <= older_than,
                journal.c.id > after_id,
                journal.c.provider.in_(sorted(providers)),
                journal.c.claimed_until.is_(None) | (journal.c.claimed_until < now),
            )
            .order_by(journal.c.id)
            .limit(limit)
            # PostgreSQL: rows another reconciler holds are skipped, not waited for. SQLite's
            # BEGIN IMMEDIATE already makes this transaction the only writer.
            .with_for_update(skip_locked=True)
        )
        with self._transaction(write=True) as connection:
            rows = connection.execute(query).all()
            if rows:
                connection.execute(
                    update(journal)
                    .where(journal.c.id.in_([row.id for row in rows]))
                    .values(claimed_by=owner, claimed_until=now + lease_s)
                )
        return [_entry(row) for row in rows]

    def _count_open(self, providers: frozenset[str], older_than: float) -> int:
        query = select(journal.c.id).where(
            journal.c.outcome.is_(None),
            journal.c.created_at <= older_than,
            journal.c.provider.in_(sorted(providers)),
        )
        with self._transaction(write=False) as connection:
            return len(connection.execute(query).all())

    def _has_intent_for(self, connection: Connection, value: Payment | Mandate) -> bool:
        """Did this host start the call that made ``value``? Its intent names its merchant reference."""
        if value.merchant_reference is None:
            return False
        calls = ["authorize", "charge_mandate"] if isinstance(value, Payment) else ["create_mandate"]
        query = select(journal.c.id).where(
            journal.c.provider == value.provider,
            journal.c.merchant_reference == value.merchant_reference,
            journal.c.call.in_(calls),
        )
        return connection.execute(query.limit(1)).first() is not None

    # -- the webhook inbox ------------------------------------------------------------------------

    def ingest(
        self, headers: Mapping[str, str], body: bytes, *, gateway: Gateway | None = None
    ) -> Payment | Mandate | None:
        """Verify a webhook, fold it into the stored payment or mandate once, and return that.

        Raises ``WebhookVerificationError`` (answer HTTP 400) for a webhook that is not the
        provider's. A duplicate (an event id already ingested) changes nothing and returns what
        is stored. An event about a payment or mandate the store has never seen is read from the
        provider and stored when it is the host's own: when the journal holds the intent of the
        call that made it (the webhook overtook the answer), when it is a charge on a stored
        mandate, or when ``adopt`` says so; otherwise it is
        recorded as ignored and None is returned (answer 200 so the provider stops retrying).
        Any other exception: answer HTTP 5xx; nothing was written, and the provider delivers again.
        """
        gateway = self._gateway(gateway)
        event = gateway.parse_webhook(headers, body)
        read_payment, read_mandate = self._unknowns(event)
        # Read outside the transaction: no lock is held across the provider's network call.
        fresh_payment = gateway.get_payment(event.payment_id) if read_payment and event.payment_id else None
        fresh_mandate = gateway.get_mandate(event.mandate_id) if read_mandate and event.mandate_id else None
        return self._fold_event(event, fresh_payment, fresh_mandate)

    def _gateway(self, gateway: Gateway | None) -> Gateway:
        chosen = gateway or self.gateway
        if chosen is None:
            raise ConfigurationError(
                "the store has no gateway to verify webhooks with: pass gateway= to ingest() or to Store()"
            )
        return chosen

    def _unknowns(self, event: WebhookEvent) -> tuple[bool, bool]:
        """Whether the payment and the mandate the event names must be read first: not stored yet."""
        if self._seen(event):
            return False, False
        payment = (
            event.payment_id is not None
            and self.get_payment(event.payment_id, provider=event.provider) is None
        )
        mandate = (
            event.mandate_id is not None
            and self.get_mandate(event.mandate_id, provider=event.provider) is None
        )
        return payment, mandate

    def _seen(self, event: WebhookEvent) -> bool:
        query = select(inbox.c.event_id).where(
            inbox.c.provider == event.provider, inbox.c.event_id == event.event_id
        )
        with self._transaction(write=False) as connection:
            return connection.execute(query).first() is not None

    def _fold_event(
        self, event: WebhookEvent, fresh_payment: Payment | None, fresh_mandate: Mandate | None
    ) -> Payment | Mandate | None:
        with self._transaction(write=True) as connection:
            recorded = connection.execute(
                self._insert(inbox)
                .values(
                    provider=event.provider,
                    event_id=event.event_id,
                    kind=event.kind.value,
                    payment_id=event.payment_id,
                    mandate_id=event.mandate_id,
                    outcome="folded",
                    document=to_json(event),
                    received_at=self.clock(),
                )
                .on_conflict_do_nothing()
            )
            duplicate = recorded.rowcount == 0

            def fold_payment(current: Payment | None) -> Payment | None:
                if duplicate:
                    return current
                if current is not None:
                    return apply_event(current, event)
                if fresh_payment is not None and self._adopted(connection, fresh_payment):
                    return apply_event(fresh_payment, event)
                return None

            def fold_mandate(current: Mandate | None) -> Mandate | None:
                if duplicate:
                    return current
                if current is not None:
                    return apply_mandate_event(current, event)
                if fresh_mandate is not None and self._adopted(connection, fresh_mandate):
                    return apply_mandate_event(fresh_mandate, event)
                return None

            payment = mandate = None
            if event.payment_id is not None:
                payment = self._change(
                    connection, payments, Payment, event.provider, event.payment_id, fold_payment
                )
            if event.mandate_id is not None:
                mandate = self._change(
                    connection, mandates, Mandate, event.provider, event.mandate_id, fold_mandate
                )
            if payment is None and mandate is None and not duplicate:
                connection.execute(
                    update(inbox)
                    .where(inbox.c.provider == event.provider, inbox.c.event_id == event.event_id)
                    .values(outcome="ignored")
                )
                log.info(
                    "%s event %s (%s) names no payment or mandate of this host; recorded as ignored",
                    event.provider,
                    event.event_id,
                    event.kind.value,
                )
        result: Payment | Mandate | None = payment if payment is not None else mandate
        return result

    def _adopted(self, connection: Connection, value: Payment | Mandate) -> bool:
        if self.adopt is not None and self.adopt(value):
            return True
        if isinstance(value, Payment) and value.mandate_id is not None:
            # A charge on a mandate this host stored (its initial charge, say) is the host's own.
            on_ours = select(mandates.c.id).where(
                mandates.c.provider == value.provider, mandates.c.id == value.mandate_id
            )
            if connection.execute(on_ours).first() is not None:
                return True
        return self._has_intent_for(connection, value)

    def inbox_outcomes(self) -> dict[str, int]:
        """How many ingested events were folded and how many ignored."""
        with self._transaction(write=False) as connection:
            rows = connection.execute(select(inbox.c.outcome)).all()
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        return counts
