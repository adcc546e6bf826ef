"""The store as a host meets it, on SQLite and on PostgreSQL: the schema made on first use,
payments and mandates kept in their JSON form, the journal written before each write is sent,
webhooks folded once, and faults that leave nothing half-written."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from hypothesis import given
from hypothesis import strategies as st

from psp_core import (
    AsyncGateway,
    CaptureMode,
    CaptureRequest,
    Consumer,
    InitialCharge,
    MandateChargeRequest,
    MandateRequest,
    MandateStatus,
    Money,
    Payment,
    PaymentStatus,
    RefundRequest,
    RetryPolicy,
    RevokeMandateRequest,
    TransportError,
    ValidationError,
    WebhookVerificationError,
)
from psp_core._cli import main
from psp_ppro.sandbox import Sandbox
from psp_store import (
    SCHEMA_VERSION,
    AsyncStoredGateway,
    CorruptRecordError,
    JournalOutcome,
    ReconcileReport,
    SettledBy,
    Store,
    StoredGateway,
    StoreSchemaError,
    StoreUnavailableError,
    reconcile,
)
from psp_store._requests import request_from_json, request_to_json
from psp_store._store import VALID_LOCATIONS, _url_of

from .conftest import OPTIONS, authorize_request, gateway_for

KEY_HEADER = "Request-Idempotency-Key"


class Recorder(httpx.BaseTransport):
    """Forwards to the sandbox; records each request and what the journal held as it went out."""

    def __init__(self, inner: httpx.BaseTransport, store: Store) -> None:
        self.inner, self.store = inner, store
        self.sent: list[tuple[httpx.Request, list[str | None]]] = []
        self.lose_answers = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        open_keys = [entry.idempotency_key for entry in self.store.journal(open_only=True)]
        self.sent.append((request, open_keys))
        response = self.inner.handle_request(request)
        if self.lose_answers:  # the request took effect; its answer never arrives
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def stored_gateway(sandbox: Sandbox, store: Store) -> tuple[StoredGateway, Recorder]:
    recorder = Recorder(sandbox.transport(), store)
    return StoredGateway(gateway_for(sandbox, client=httpx.Client(transport=recorder)), store), recorder


def deliveries(sandbox: Sandbox) -> list[tuple[dict[str, str], bytes]]:
    out: list[tuple[dict[str, str], bytes]] = []
    sandbox.drain_webhooks(lambda delivery: (out.append((delivery.headers, delivery.body)), 200)[1])
    return out


# -- the schema -------------------------------------------------------------------------------


def test_the_schema_is_made_on_first_use_and_found_again(store_url: str) -> None:
    with Store(store_url) as store:
        assert store.payments() == [] and store.journal() == []
    engine = sqlalchemy.create_engine(Store(store_url)._url)
    with engine.connect() as connection:
        version = connection.execute(sqlalchemy.text("SELECT value FROM psp_store_meta")).scalar()
        tables = set(sqlalchemy.inspect(connection).get_table_names())
    engine.dispose()
    assert version == str(SCHEMA_VERSION)
    assert {"psp_payments", "psp_mandates", "psp_journal", "psp_inbox"} <= tables


def test_a_newer_schema_version_is_refused_saying_to_upgrade(store_url: str, sandbox: Sandbox) -> None:
    Store(store_url).close()
    engine = sqlalchemy.create_engine(Store(store_url)._url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE psp_store_meta SET value = '99'"))
    engine.dispose()
    with pytest.raises(StoreSchemaError, match=r"schema version 99.*upgrade psp"):
        Store(store_url)


def test_psp_tables_without_a_version_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE psp_payments (id TEXT)")
    with pytest.raises(StoreSchemaError, match=r"psp_payments.*no psp_store_meta"):
        Store(path)


BAD_LOCATIONS = [
    ("mysql://user:Zpw-in-url@localhost/db", "mysql://user:***@localhost/db names a mysql database"),
    ("http://localhost/db", "http://localhost/db names a http database"),
    ("::://", "is not a database URL;"),
    (
        "postgresql://user:Zpw-in-url@localhost:fivefour/db",
        "is not a database URL (its port is not a number)",
    ),
    ("", "is empty;"),
    ("   ", "is empty;"),
]


@pytest.mark.parametrize(("location", "says"), BAD_LOCATIONS)
def test_urls_that_are_not_a_supported_database_are_refused_by_field(
    location: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError) as refused:
        Store(location)
    assert refused.value.field == "url"  # the Python API's own parameter name
    assert str(refused.value).startswith(f"url: {says}")
    assert str(refused.value).endswith(f"give {VALID_LOCATIONS}")
    assert "Zpw-in-url" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []  # nothing was created


@pytest.mark.parametrize(("location", "says"), BAD_LOCATIONS)
def test_psp_reconcile_names_its_store_option_not_the_apis_parameter(
    location: str,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["reconcile", "--store", location]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"psp reconcile: error: --store: {says}")
    assert line.endswith(f"give {VALID_LOCATIONS}")
    assert "url:" not in line and "Zpw-in-url" not in line
    assert list(tmp_path.iterdir()) == []


@given(
    location=st.text(max_size=40) | st.builds("{}://{}".format, st.text(max_size=12), st.text(max_size=30)),
    field=st.sampled_from(["url", "--store"]),
)
def test_any_location_is_a_database_url_or_a_validation_error_naming_the_field(
    location: str, field: str
) -> None:
    # Never a bare ValueError or a traceback from SQLAlchemy's parser, whatever is typed.
    refused: ValidationError | None = None
    try:
        url = _url_of(location, field=field)
    except ValidationError as error:
        refused = error
    if refused is None:
        assert url.get_backend_name() in ("sqlite", "postgresql")
    else:
        assert refused.field == field
        assert str(refused).startswith(f"{field}: ")
        assert VALID_LOCATIONS in str(refused)


@given(password=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=16))
def test_a_refused_url_never_shows_its_password(password: str) -> None:
    secret = f"Zq{password}"
    for location in (f"mysql://user:{secret}@localhost/db", f"postgresql://user:{secret}@localhost:x/db"):
        with pytest.raises(ValidationError) as refused:
            _url_of(location, field="--store")
        assert secret not in str(refused.value)


# -- payments and the journal -------------------------------------------------------------------


def test_a_write_is_journalled_before_it_is_sent_with_the_key_the_gateway_sends(
    store_url: str, sandbox: Sandbox
) -> None:
    with Store(store_url) as store:
        stored, recorder = stored_gateway(sandbox, store)
        payment = stored.authorize(authorize_request("order-j1"))  # no key given: one is generated
        (entry,) = store.journal()
        request, open_keys_when_sent = recorder.sent[0]
        assert open_keys_when_sent == [entry.idempotency_key]
        assert request.headers[KEY_HEADER].endswith(entry.idempotency_key)
        assert entry.outcome is JournalOutcome.SUCCEEDED and entry.settled_by is SettledBy.CALL
        assert entry.result_id == payment.id
        assert store.get_payment(payment.id) == payment
        sandbox.approve(payment.id)
        payment = stored.get_payment(payment.id)
        captured = stored.capture(CaptureRequest(payment, Money(2000, "USD"), idempotency_key="cap-1"))
        assert store.get_payment(payment.id) == captured and captured.captured == Money(2000, "USD")
        capture_entry = store.journal()[-1]
        assert (capture_entry.call, capture_entry.idempotency_key, capture_entry.resource) == (
            "capture",
            "cap-1",
            payment.id,
        )
        assert capture_entry.request() == CaptureRequest(payment, Money(2000, "USD"), idempotency_key="cap-1")


def test_bad_input_is_journalled_failed_and_nothing_is_sent(store_url: str, sandbox: Sandbox) -> None:
    with Store(store_url) as store:
        stored, recorder = stored_gateway(sandbox, store)
        with pytest.raises(ValidationError, match="amount"):
            stored.authorize(authorize_request("order-bad", minor=0))
        assert recorder.sent == []
        (entry,) = store.journal()
        assert entry.outcome is JournalOutcome.FAILED and "amount" in (entry.detail or "")
        assert store.payments() == []


def test_an_older_answer_never_moves_a_stored_payment_back(store_url: str, sandbox: Sandbox) -> None:
    with Store(store_url) as store:
        stored, _ = stored_gateway(sandbox, store)
        first = stored.authorize(authorize_request("order-old"))
        sandbox.approve(first.id)
        captured = stored.capture(CaptureRequest(stored.get_payment(first.id)))
        kept = store.save(first)  # the REQUIRES_ACTION answer moves nothing back
        assert (kept.status, kept.authorized, kept.captured) == (
            captured.status,
            captured.authorized,
            captured.captured,
        )
        assert store.find_payment("order-old") == kept


def test_a_corrupt_row_is_named_and_left_as_it_is(store_url: str, sandbox: Sandbox) -> None:
    with Store(store_url) as store:
        stored, _ = stored_gateway(sandbox, store)
        payment = stored.authorize(authorize_request("order-corrupt"))
        engine = sqlalchemy.create_engine(store._url)
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("UPDATE psp_payments SET document = '{\"psp_storage\": 1'"))
        engine.dispose()
        with pytest.raises(
            CorruptRecordError, match=rf"psp_payments row amazon_pay/{payment.id}.*Restore it"
        ) as raised:
            store.get_payment(payment.id)
        assert raised.value.table == "psp_payments"
        sandbox.approve(payment.id)
        with pytest.raises(CorruptRecordError):
            stored.get_payment(payment.id)  # the fold refuses too: nothing overwrites the row
        engine = sqlalchemy.create_engine(store._url)
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text("SELECT document FROM psp_payments")).scalar() == (
                '{"psp_storage": 1'
            )
        engine.dispose()


def test_a_database_that_is_down_is_a_clear_error_and_nothing_is_sent(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    with pytest.raises(StoreUnavailableError, match=r"\*\*\*.*check that the database is running") as raised:
        Store(f"postgresql://psp:hunter2@/psp?host={tmp_path}&connect_timeout=2")
    assert "hunter2" not in str(raised.value)


def test_a_locked_sqlite_store_refuses_the_intent_and_nothing_is_sent(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    path = tmp_path / "locked.sqlite3"
    with Store(path, busy_timeout_s=0.05) as store:
        stored, recorder = stored_gateway(sandbox, store)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreUnavailableError, match=r"locked.*write lock; retry"):
                stored.authorize(authorize_request("order-locked"))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert recorder.sent == [] and store.journal() == []


def test_an_answer_that_cannot_be_saved_leaves_the_entry_open_for_the_reconciler(
    store_url: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(store_url) as store:
        stored, _ = stored_gateway(sandbox, store)

        def down(*args: object, **kwargs: object) -> None:
            raise StoreUnavailableError("the database went away")

        with monkeypatch.context() as patch:
            patch.setattr(store, "_close_entry", down)
            with pytest.raises(
                StoreUnavailableError, match=r"answer could not be saved.*psp reconcile"
            ) as raised:
                stored.authorize(authorize_request("order-unsaved"))
        answered = raised.value.result
        assert isinstance(answered, Payment)
        assert store.payments() == [] and [e.outcome for e in store.journal()] == [None]
        report = reconcile(store, stored.gateway, grace_s=0)
        assert report.settled == {"succeeded": 1} and report.left_open == ()
        assert store.get_payment(answered.id) == answered
        assert sandbox.charge_count("order-unsaved") == 1


def test_an_unknown_outcome_stays_open_and_is_settled_once(store_url: str, sandbox: Sandbox) -> None:
    with Store(store_url) as store:
        stored, recorder = stored_gateway(sandbox, store)
        payment = stored.authorize(authorize_request("order-lost"))
        sandbox.approve(payment.id)
        payment = stored.get_payment(payment.id)
        recorder.lose_answers = True
        with pytest.raises(TransportError) as raised:
            stored.capture(CaptureRequest(payment, Money(1000, "USD"), idempotency_key="cap-lost"))
        assert raised.value.outcome_unknown
        recorder.lose_answers = False
        assert [entry.outcome for entry in store.journal(open_only=True)] == [None]
        assert reconcile(store, stored.gateway, grace_s=60).settled == {}  # too young: may be in flight
        assert reconcile(store, stored.gateway, grace_s=0).settled == {"succeeded": 1}
        assert reconcile(store, stored.gateway, grace_s=0).settled == {}  # again: nothing twice
        assert sandbox.effects(payment.id).captures == 1
        assert store.get_payment(payment.id).captured == Money(1000, "USD")


def test_an_authorize_that_never_arrived_is_settled_not_found_and_never_sent_again(
    store_url: str, sandbox: Sandbox
) -> None:
    with Store(store_url) as store:
        stored, recorder = stored_gateway(sandbox, store)
        store._open_entry(
            "amazon_pay",
            "authorize",
            authorize_request("order-ghost", idempotency_key="k1"),
            None,
            "order-ghost",
        )
        report = reconcile(store, stored.gateway, grace_s=0)
        assert report.settled == {"not_found": 1}
        assert sandbox.charge_count("order-ghost") == 0
        assert [request.method for request, _ in recorder.sent] == ["GET"]


# -- the webhook inbox ----------------------------------------------------------------------------


def test_webhooks_fold_once_and_duplicates_change_nothing(store_url: str, sandbox: Sandbox) -> None:
    with Store(store_url) as store:
        stored, _ = stored_gateway(sandbox, store)
        payment = stored.authorize(authorize_request("order-w1", capture_mode=CaptureMode.AUTOMATIC))
        sandbox.approve(payment.id)
        events = deliveries(sandbox)
        assert events
        for headers, body in events + events[::-1]:
            stored.ingest(headers, body)
        folded = store.get_payment(payment.id)
        assert folded is not None and folded.status is PaymentStatus.CAPTURED
        assert folded.captured == Money(5000, "USD")
        assert store.inbox_outcomes() == {"folded": len(events)}


def test_a_webhook_for_a_payment_not_yet_stored_is_stored_when_its_intent_is_journalled(
    store_url: str, sandbox: Sandbox
) -> None:
    with Store(store_url) as store:
        other = gateway_for(sandbox)
        mine = store._open_entry(
            "amazon_pay",
            "authorize",
            authorize_request("order-mine", idempotency_key="k"),
            None,
            "order-mine",
        )
        ours = other.authorize(authorize_request("order-mine", idempotency_key="k"))
        theirs = other.authorize(authorize_request("someone-else"))
        sandbox.approve(ours.id)
        sandbox.approve(theirs.id)
        results = {}
        for headers, body in deliveries(sandbox):
            result = store.ingest(headers, body, gateway=other)
            results[result.id if result is not None else None] = result
        assert ours.id in results and theirs.id not in results and None in results
        assert [p.id for p in store.payments()] == [ours.id]
        assert store.inbox_outcomes()["ignored"] >= 1
        assert mine == store.journal()[0].id


def test_a_webhook_that_is_not_the_providers_is_refused_and_not_recorded(
    store_url: str, sandbox: Sandbox
) -> None:
    with Store(store_url) as store:
        stored, _ = stored_gateway(sandbox, store)
        with pytest.raises(WebhookVerificationError):
            stored.ingest({"PPRO-Signature": "t=1,s=00"}, b"{}")
        assert store.inbox_outcomes() == {}


# -- the async twin and the command line ------------------------------------------------------------


def test_the_async_twin_journals_and_stores_the_same_way(store_url: str, sandbox: Sandbox) -> None:
    async def flow() -> Payment:
        gateway = AsyncGateway(
            "amazon_pay",
            options=OPTIONS,
            environ={},
            transport=sandbox.transport(),
            retry=RetryPolicy.no_wait(),
            clock=lambda: sandbox.clock.now(),
        )
        async with AsyncStoredGateway(gateway, store) as stored:
            payment = await stored.authorize(authorize_request("order-async"))
            sandbox.approve(payment.id)
            payment = await stored.capture(CaptureRequest(await stored.get_payment(payment.id)))
            payment = await stored.refund(RefundRequest(payment, Money(100, "USD")))
            for headers, body in deliveries(sandbox):
                await stored.ingest(headers, body)
            return payment

    with Store(store_url) as store:
        payment = asyncio.run(flow())
        assert store.get_payment(payment.id) == payment or store.get_payment(payment.id).refund_pending
        assert [(e.call, e.outcome) for e in store.journal()] == [
            ("authorize", JournalOutcome.SUCCEEDED),
            ("capture", JournalOutcome.SUCCEEDED),
            ("refund", JournalOutcome.SUCCEEDED),
        ]


def test_psp_reconcile_settles_what_is_open_and_reports(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from psp_ppro.sandbox import serve_in_thread

    running = serve_in_thread(sandbox, "127.0.0.1", 0)
    try:
        for name, value in OPTIONS.items():
            monkeypatch.setenv(f"PPRO_{name.upper()}", str(value))
        monkeypatch.setenv("PPRO_BASE_URL", running.base_url)
        url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        with Store(url) as store:
            store._open_entry(
                "amazon_pay",
                "authorize",
                authorize_request("order-cli", idempotency_key="k"),
                None,
                "order-cli",
            )
        assert main(["reconcile", "--store", url, "--grace", "0"]) == 0
        assert "settled 1 journal entries (1 not_found); 0 open" in capsys.readouterr().out
        assert main(["reconcile", "--store", url, "--grace", "0", "--json"]) == 0
        assert '"settled": {}' in capsys.readouterr().out
    finally:
        running.stop()


def test_psp_reconcile_without_its_extra_names_it_in_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [m for m in sys.modules if m == "psp_store" or m.startswith("psp_store.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # type: ignore[arg-type]
    assert main(["reconcile", "--store", "x.sqlite3"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert "`psp reconcile` needs the psp[store] extra (sqlalchemy is not installed)" in captured.err


@pytest.mark.parametrize("location", ["missing.sqlite3", "sqlite:///{tmp}/missing.sqlite3"])
def test_psp_reconcile_on_a_path_with_no_store_says_so_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], location: str
) -> None:
    # A mistyped path in a cron job must not become an empty store reported as "0 open".
    monkeypatch.chdir(tmp_path)
    assert main(["reconcile", "--store", location.format(tmp=tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert "--store" in captured.err and "there is no store file at" in captured.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("grace", ["-5", "nan", "inf", "soon"])
def test_psp_reconcile_refuses_a_grace_that_is_not_seconds_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], grace: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["reconcile", "--store", str(tmp_path / "s.sqlite3"), "--grace", grace])
    assert exit_.value.code == 2
    assert f"argument --grace: {grace!r} is not a number of seconds; use 0 or more" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("option", "value"),
    [("grace_s", -1.0), ("grace_s", float("nan")), ("lease_s", float("inf")), ("replay_window_s", -0.5)],
)
def test_reconcile_refuses_seconds_that_are_negative_or_not_finite_by_field(
    store_url: str, sandbox: Sandbox, option: str, value: float
) -> None:
    with Store(store_url) as store:
        with pytest.raises(ValidationError, match=rf"^{option}: must be a finite number of seconds"):
            reconcile(store, gateway_for(sandbox), **{option: value})  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match=r"^batch: must be 1 or more"):
            reconcile(store, gateway_for(sandbox), batch=0)


# -- the request form --------------------------------------------------------------------------------


@given(
    minor=st.integers(min_value=1, max_value=10**9),
    key=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
    reference=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
)
def test_a_journalled_request_reads_back_equal(minor: int, key: str, reference: str) -> None:
    request = authorize_request(reference, minor=minor, idempotency_key=key, labels={"k": reference})
    assert request_from_json(request_to_json("authorize", request)) == ("authorize", request)


def test_a_damaged_journal_request_is_named_with_its_entry(store_url: str) -> None:
    with Store(store_url) as store:
        entry_id = store._open_entry(
            "amazon_pay", "authorize", authorize_request("o", idempotency_key="k"), None, "o"
        )
        engine = sqlalchemy.create_engine(store._url)
        with engine.begin() as connection:
            connection.execute(
                sqlalchemy.text('UPDATE psp_journal SET request = \'{"version": 1, "call": "x"}\'')
            )
        engine.dispose()
        (entry,) = store.journal()
        with pytest.raises(CorruptRecordError, match=rf"psp_journal row id {entry_id}.*unknown call 'x'"):
            entry.request()


def test_an_entry_older_than_the_providers_key_memory_is_read_not_replayed(
    store_url: str, sandbox: Sandbox
) -> None:
    with Store(store_url) as store:
        stored, recorder = stored_gateway(sandbox, store)
        payment = stored.authorize(authorize_request("order-old-key"))
        sandbox.approve(payment.id)
        payment = stored.get_payment(payment.id)
        recorder.lose_answers = True
        with pytest.raises(TransportError):
            stored.capture(CaptureRequest(payment, Money(1000, "USD"), idempotency_key="cap-old"))
        recorder.lose_answers = False
        posts = sum(request.method == "POST" for request, _ in recorder.sent)
        written = store.clock()
        store.clock = lambda: written + 25 * 3600  # a day later: PPRO has forgotten the key
        assert reconcile(store, stored.gateway, grace_s=60).settled == {"read": 1}
        assert sum(request.method == "POST" for request, _ in recorder.sent) == posts  # nothing re-sent
        assert sandbox.effects(payment.id).captures == 1
        assert store.get_payment(payment.id).captured == Money(1000, "USD")


def test_the_reconciler_reports_its_progress_entry_by_entry(store_url: str, sandbox: Sandbox) -> None:
    with Store(store_url) as store:
        stored, _ = stored_gateway(sandbox, store)
        for number in range(3):
            request = authorize_request(f"order-p{number}", idempotency_key=f"k{number}")
            store._open_entry("amazon_pay", "authorize", request, None, request.merchant_reference)
        seen: list[tuple[int, int]] = []
        report = reconcile(
            store, stored.gateway, grace_s=0, batch=2, progress=lambda *step: seen.append(step)
        )
        assert seen == [(1, 3), (2, 3), (3, 3)]
        assert report.settled == {"not_found": 3} and store.journal(open_only=True) == []


def test_mandates_are_journalled_stored_and_folded_from_webhooks(store_url: str, sandbox: Sandbox) -> None:
    with Store(store_url) as store:
        stored, _ = stored_gateway(sandbox, store)
        mandate = stored.create_mandate(
            MandateRequest(
                consumer=Consumer(country="US", name="John Smith"),
                return_url="https://shop.example/return",
                start=sandbox.clock.now(),
                merchant_reference="sub-1",
            )
        )
        assert store.get_mandate(mandate.id) == mandate
        sandbox.approve(mandate.id)
        for headers, body in deliveries(sandbox):
            stored.ingest(headers, body)
        active = store.get_mandate(mandate.id)
        assert active is not None and active.status is MandateStatus.ACTIVE
        charge = stored.charge_mandate(
            MandateChargeRequest(mandate.id, Money(900, "USD"), merchant_reference="sub-1-1")
        )
        assert store.get_payment(charge.id) == charge
        revoked = stored.revoke_mandate(RevokeMandateRequest(mandate.id))
        assert store.get_mandate(mandate.id) == revoked and revoked.status is MandateStatus.REVOKED
        assert [(e.call, e.outcome) for e in store.journal()] == [
            ("create_mandate", JournalOutcome.SUCCEEDED),
            ("charge_mandate", JournalOutcome.SUCCEEDED),
            ("revoke_mandate", JournalOutcome.SUCCEEDED),
        ]


def test_reconcilers_running_at_once_settle_each_entry_once(store_url: str, sandbox: Sandbox) -> None:
    with Store(store_url) as store:
        stored, recorder = stored_gateway(sandbox, store)
        payments = []
        for number in range(6):
            payment = stored.authorize(authorize_request(f"order-r{number}"))
            sandbox.approve(payment.id)
            payments.append(stored.get_payment(payment.id))
        recorder.lose_answers = True
        for payment in payments:
            with pytest.raises(TransportError):
                stored.capture(CaptureRequest(payment, Money(1500, "USD")))
        recorder.lose_answers = False
        assert len(store.journal(open_only=True)) == 6
        reports: list[ReconcileReport] = []
        runners = [
            threading.Thread(
                target=lambda: reports.append(reconcile(store, gateway_for(sandbox), grace_s=0, batch=1))
            )
            for _ in range(3)
        ]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join(timeout=120)
        assert sum(report.total_settled for report in reports) == 6
        assert all(report.left_open == () for report in reports)
        assert store.journal(open_only=True) == []
        for payment in payments:
            assert sandbox.effects(payment.id).captures == 1
            assert store.get_payment(payment.id).captured == Money(1500, "USD")


def test_a_webhook_for_the_initial_charge_of_a_stored_mandate_stores_that_charge(
    store_url: str, sandbox: Sandbox
) -> None:
    with Store(store_url) as store:
        stored, _ = stored_gateway(sandbox, store)
        mandate = stored.create_mandate(
            MandateRequest(
                consumer=Consumer(country="US", name="John Smith"),
                return_url="https://shop.example/return",
                start=sandbox.clock.now(),
                merchant_reference="sub-2",
                initial_charge=InitialCharge(Money(1200, "USD"), merchant_reference="sub-2-first"),
            )
        )
        sandbox.approve(mandate.id)
        for headers, body in deliveries(sandbox):
            stored.ingest(headers, body)
        (first,) = store.payments()
        assert first.mandate_id == mandate.id and first.merchant_reference == "sub-2-first"
        assert store.inbox_outcomes().get("ignored", 0) == 0
