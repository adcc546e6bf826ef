"""Serve a sandbox over real HTTP on loopback (uvicorn in a background thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from ._webhooks import WebhookDelivery

if TYPE_CHECKING:
    import uvicorn

    from ._facade import Sandbox

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def loopback_sender(client: httpx.Client) -> Callable[[WebhookDelivery], int]:
    """POST a delivery, refusing anything but loopback: this sandbox never leaves the machine."""

    def send(delivery: WebhookDelivery) -> int:
        if urlsplit(delivery.url).hostname not in _LOOPBACK:
            return 0  # counted as a failed attempt, retried, then dead-lettered
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
        self._client = httpx.Client(timeout=2.0)
        self._send = loopback_sender(self._client)
        self._send_lock = threading.Lock()
        self._poll_s = poll_s
        self._worker = threading.Thread(target=self._deliver_loop, name="sandbox-webhooks", daemon=True)
        self._worker.start()
        sandbox.simulator.deliver_now = self.deliver_webhooks

    def deliver_webhooks(self) -> int:
        with self._send_lock:
            return self.sandbox.drain_webhooks(self._send)

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
) -> RunningSandbox:
    """Start uvicorn on ``host:port`` (0 = any free port) and wait until it accepts requests.

    ``realtime_clock`` lets sandbox time follow wall-clock time while served, so webhook retries
    come due on their own; ``sandbox.clock.advance`` still works on top of it.
    """
    import uvicorn

    if host not in _LOOPBACK:
        raise ValueError("the sandbox only listens on loopback")
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
