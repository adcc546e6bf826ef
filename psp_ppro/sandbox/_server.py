"""Serve a sandbox over real HTTP on loopback (uvicorn in a background thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from ._errors import ApiError
from ._simulator import targets_sandbox
from ._validation import is_loopback, split_url
from ._webhooks import WebhookDelivery

if TYPE_CHECKING:
    import uvicorn

    from ._facade import Sandbox

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""The hosts the sandbox listens on without being told it may be reached from the network."""
WEBHOOK_TIMEOUT_S = 2.0
"""Bound on one delivery attempt, so a receiver that never answers cannot hold deliveries up."""


def loopback_sender(client: httpx.Client, own_base_url: str) -> Callable[[WebhookDelivery], int]:
    """POST a delivery, refusing anything but loopback: this sandbox never leaves the machine.

    A delivery to the sandbox's own address (``own_base_url``, e.g. a ``default_webhooks_url``
    configured before the port was known) is refused too: the sandbox never posts to itself.
    Refused deliveries count as failed attempts: retried, then dead-lettered.
    """

    def send(delivery: WebhookDelivery) -> int:
        try:
            hostname = split_url(delivery.url, "webhooksUrl").hostname
        except ApiError:  # an unusable URL is a failed attempt, not a crash
            return 0
        if not is_loopback(hostname) or targets_sandbox(delivery.url, own_base_url):
            return 0
        response = client.post(delivery.url, content=delivery.body, headers=delivery.headers)
        return response.status_code

    return send


class RunningSandbox:
    """A sandbox listening on loopback. Use as a context manager; stops itself on exit."""

    def __init__(
        self, sandbox: Sandbox, server: uvicorn.Server, thread: threading.Thread, base_url: str, poll_s: float
    ) -> None:
        self.sandbox = sandbox
        self.base_url = base_url
        self._server = server
        self._thread = thread
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=WEBHOOK_TIMEOUT_S)
        self._send = loopback_sender(self._client, base_url)
        self._send_lock = threading.Lock()
        self._poll_s = poll_s
        self._worker = threading.Thread(target=self._deliver_loop, name="sandbox-webhooks", daemon=True)
        self._worker.start()
        sandbox.simulator.deliver_now = self.deliver_webhooks

    def deliver_webhooks(self) -> int:
        """Deliver what is due now; returns how many were acknowledged.

        Never waits for a run already in progress (the background worker's, or another
        caller's): that run delivers what is due, and waiting could mean waiting on a request
        this very run is sending. Returns 0 then.
        """
        if not self._send_lock.acquire(blocking=False):
            return 0
        try:
            return self.sandbox.drain_webhooks(self._send)
        finally:
            self._send_lock.release()

    def _deliver_loop(self) -> None:
        while not self._stop.wait(self._poll_s):
            self.deliver_webhooks()

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._worker.join(timeout=5)
        self.sandbox.simulator.deliver_now = None
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._client.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_in_thread(
    sandbox: Sandbox,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    realtime_clock: bool = True,
    webhook_poll_s: float = 0.02,
    startup_timeout_s: float = 10.0,
    allow_remote: bool = False,
) -> RunningSandbox:
    """Start uvicorn on ``host:port`` (0 = any free port) and wait until it accepts requests.

    ``realtime_clock`` lets sandbox time follow wall-clock time while served, so webhook retries
    come due on their own; ``sandbox.clock.advance`` still works on top of it. A host beyond
    :data:`LOOPBACK_HOSTS` needs ``allow_remote``: the sandbox accepts any API key and its admin
    routes move money and time.
    """
    import uvicorn

    if host not in LOOPBACK_HOSTS and not allow_remote:
        raise ValueError("the sandbox only listens on loopback unless allow_remote=True")
    config = uvicorn.Config(
        sandbox.asgi_app(), host=host, port=port, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sandbox-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    display_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{display_host}:{bound_port}"
    sandbox.simulator.base_url = base_url
    if realtime_clock:
        sandbox.clock.set_realtime(True)
    return RunningSandbox(sandbox, server, thread, base_url, webhook_poll_s)
