"""The host process the crash test kills: a shop taking one order through the stored gateway.

:func:`zygote` runs in one process started once per test (imports and the gateway made
once); for each job it forks a child that plays one order against the served sandbox and
SIGKILLs itself at the crash point the parent chose. Forking a single-threaded, pre-imported
process costs milliseconds; a cold Python start per crash would cost a second. Like a
pre-forking web server, the zygote opens the store and the gateway once, before forking.
"""

from __future__ import annotations

import os
import signal
import ssl
import traceback
from multiprocessing.connection import Connection
from typing import Any

import attrs
import httpx
from sqlalchemy import event

from psp_core import CaptureRequest, Gateway, Money, RefundRequest, RetryPolicy
from psp_store import Store, StoredGateway

from .conftest import OPTIONS, authorize_request

POINTS = ("before_intent", "before_send", "after_send", "before_save", "inside_save")
"""Where a child dies: before the intent commit; after it, before the request leaves; after the
answer arrived; before the answer's transaction; inside it, just before COMMIT."""
WRITES = ("authorize", "capture", "capture_rest", "refund")


@attrs.frozen
class Job:
    reference: str
    write: int
    """The index in WRITES of the write to die in."""
    point: str
    amount: int
    first_capture: int
    refund: int


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _Killer(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, job: Job, progress: dict[str, int]) -> None:
        self.inner, self.job, self.progress = inner, job, progress

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        armed = request.method == "POST" and self.progress["write"] == self.job.write
        if armed and self.job.point == "before_send":
            _die()
        response = self.inner.handle_request(request)
        if armed and self.job.point == "after_send":
            response.read()
            _die()
        return response


def play(gateway: Gateway, store: Store, base_url: str, job: Job, tls: ssl.SSLContext) -> None:
    """One order: authorize, the consumer approves, capture part, capture the rest, refund part.

    ``tls`` is made once by the zygote: loading the CA bundle costs more than the whole order.
    """
    progress = {"write": -1}
    gateway.client = httpx.Client(transport=_Killer(httpx.HTTPTransport(verify=tls), job, progress))
    gateway._endpoint = type(gateway._endpoint).of(gateway.config, gateway.client)
    # The zygote's pooled connections are its own: a forked process opens fresh ones (the
    # pattern SQLAlchemy documents for forking), keeping the engine's compiled statements.
    store._engine.dispose(close=False)
    original_open, original_close = store._open_entry, store._close_entry

    def open_entry(*args: Any, **kwargs: Any) -> int:
        if progress["write"] == job.write and job.point == "before_intent":
            _die()
        return original_open(*args, **kwargs)

    def close_entry(*args: Any, **kwargs: Any) -> Any:
        if progress["write"] == job.write and job.point == "before_save":
            _die()
        if progress["write"] == job.write and job.point == "inside_save":
            event.listen(store._engine, "commit", lambda connection: _die())
        return original_close(*args, **kwargs)

    store._open_entry = open_entry  # type: ignore[method-assign]
    store._close_entry = close_entry  # type: ignore[method-assign]
    stored = StoredGateway(gateway, store)
    progress["write"] = 0
    payment = stored.authorize(authorize_request(job.reference, minor=job.amount))
    with httpx.Client(verify=tls) as consumer:
        consumer.post(f"{base_url}/__sandbox__/consumer/{payment.id}/approve").raise_for_status()
    payment = stored.get_payment(payment.id)
    progress["write"] = 1
    payment = stored.capture(CaptureRequest(payment, Money(job.first_capture, "USD")))
    progress["write"] = 2
    payment = stored.capture(CaptureRequest(payment))
    progress["write"] = 3
    stored.refund(RefundRequest(payment, Money(job.refund, "USD")))


def zygote(connection: Connection, store_url: str, base_url: str) -> None:
    gateway = Gateway(
        "amazon_pay", options={**OPTIONS, "base_url": base_url}, environ={}, retry=RetryPolicy.no_wait()
    )
    tls = ssl.create_default_context()
    store = Store(store_url)
    # One whole order first, uncrashed: what Python, cattrs and SQLAlchemy build on first use
    # (generated converters, compiled statements) is then built once, not once per crash.
    play(gateway, store, base_url, Job(f"warm-up-{os.getpid()}", -2, "none", 5000, 2000, 100), tls)
    while True:
        job: Job | None = connection.recv()
        if job is None:
            return
        pid = os.fork()
        if pid == 0:  # the host process
            code = 0
            try:
                play(gateway, store, base_url, job, tls)
            except BaseException:
                traceback.print_exc()
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        connection.send(status)
