"""Payments survive a crash: a host process killed with SIGKILL at random points of its writes,
then the reconciler, on SQLite and on PostgreSQL.

Each round is one order played by a fresh host process (forked from a pre-imported one, see
_crash_host.py) against the PPRO sandbox served on loopback; the process kills itself at the
point the test chose: before the intent commit, before the request leaves, after the answer
arrived, before the answer's transaction, or inside it. After each crash the reconciler runs,
and the round is checked: no second payment and no second capture or refund at the sandbox (its
own count of effects), no journal entry left open, and the stored payment equal to the
sandbox's view of it.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from psp_core import Gateway, Payment, RetryPolicy
from psp_ppro.sandbox import RunningSandbox, serve_in_thread
from psp_store import JournalOutcome, Store, reconcile

from ._crash_host import POINTS, WRITES, Job, zygote
from .conftest import OPTIONS, make_sandbox

CRASHES = 200


@pytest.fixture(scope="module")
def served() -> Iterator[RunningSandbox]:
    # A still clock: nothing settles or expires on its own between a crash and the checks.
    running = serve_in_thread(make_sandbox(refund_settlement_s=None), "127.0.0.1", 0, realtime_clock=False)
    try:
        yield running
    finally:
        running.stop()


def wait_until_the_dead_hosts_sessions_end(store: Store) -> None:
    """PostgreSQL rolls a killed client's open transaction back once it reads the closed socket;
    until then that transaction's row locks stand, and a reconciler rightly skips those rows
    (another process may be settling them). Wait for the server to notice, as a later run would."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state <> 'idle'"
    )
    with store._engine.connect() as connection:
        for _ in range(10_000):
            busy = connection.execute(query).scalar()
            connection.rollback()  # pg_stat_activity is a snapshot per transaction
            if busy == 0:
                return
            time.sleep(0.001)
    with store._engine.connect() as connection:
        rows = connection.execute(
            text("SELECT pid, state, backend_type, query FROM pg_stat_activity WHERE pid <> pg_backend_pid()")
        ).all()
    raise AssertionError(f"the killed host's database sessions never ended: {rows}")


def view(payment: Payment) -> tuple[object, ...]:
    operations = sorted((op.kind.value, op.id, op.status.value, op.amount.minor) for op in payment.operations)
    return (
        payment.status,
        payment.authorized,
        payment.captured,
        payment.refunded,
        payment.refund_pending,
        payment.voided,
        tuple(operations),
    )


def test_two_hundred_crashes_leave_no_double_effect_no_open_entry_and_the_sandboxs_state(
    store_url: str, served: RunningSandbox
) -> None:
    sandbox = served.sandbox
    rng = random.Random(f"crash-{store_url.split(':')[0]}")
    tag = os.urandom(3).hex()
    gateway = Gateway(
        "amazon_pay",
        options={**OPTIONS, "base_url": served.base_url},
        environ={},
        retry=RetryPolicy.no_wait(),
    )
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    host = context.Process(target=zygote, args=(child_end, store_url, served.base_url), daemon=True)
    host.start()
    crashed: Counter[str] = Counter()
    settled: Counter[str] = Counter()
    try:
        with Store(store_url) as store:
            for round_number in range(CRASHES):
                amount = rng.randrange(1000, 90000)
                first = rng.randrange(1, amount)
                job = Job(
                    reference=f"crash-{tag}-{round_number}",
                    write=rng.randrange(len(WRITES)),
                    point=rng.choice(POINTS),
                    amount=amount,
                    first_capture=first,
                    refund=rng.randrange(1, amount + 1),
                )
                parent_end.send(job)
                status = parent_end.recv()
                assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (job, status)
                crashed[job.point] += 1

                if store.dialect == "postgresql":
                    wait_until_the_dead_hosts_sessions_end(store)
                report = reconcile(store, gateway, grace_s=0)
                assert report.left_open == (), report.left_open
                settled.update(report.settled)
                assert store.journal(open_only=True) == []

                charges = sandbox.charge_count(job.reference)
                assert charges <= 1, f"{job}: {charges} payments at the sandbox"
                stored = store.find_payment(job.reference)
                if charges == 0:
                    assert stored is None
                    continue
                assert stored is not None, job
                assert view(stored) == view(gateway.get_payment(stored.id)), job
                effects = sandbox.effects(stored.id)
                entries = [e for e in store.journal() if e.resource == stored.id]
                succeeded = Counter(e.call for e in entries if e.outcome is JournalOutcome.SUCCEEDED)
                assert (effects.captures, effects.refunds) == (succeeded["capture"], succeeded["refund"]), job
            every_stored = store.payments()
            assert all(view(p) == view(gateway.get_payment(p.id)) for p in every_stored)
    finally:
        parent_end.send(None)
        host.join(timeout=30)
        gateway.close()
    assert sum(crashed.values()) == CRASHES
    assert set(crashed) == set(POINTS)
    # The reconciler had real work: answers found, replayed and intents that never left.
    assert settled["succeeded"] > 0 and settled["not_found"] > 0
