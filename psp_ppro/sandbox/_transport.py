"""In-process httpx transport: requests go straight into the simulator (no server, no sockets)."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx

from ._simulator import PproSimulator, SimResponse


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Usable with both ``httpx.Client(transport=...)`` and ``httpx.AsyncClient(transport=...)``.

    Fault mapping: ``drop_connection`` raises ``httpx.RemoteProtocolError`` after the operation
    was stored; an injected ``timeout`` raises ``httpx.ReadTimeout`` without performing it, and
    ``timeout_after_store`` after performing it; ``connection_refused`` raises
    ``httpx.ConnectError`` without performing anything.
    """

    def __init__(self, simulator: PproSimulator) -> None:
        self._simulator = simulator
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def _dispatch(self, request: httpx.Request) -> SimResponse:
        body = request.read()
        with self._lock:
            self.requests.append((request.method, request.url.path))
        query = dict(request.url.params.items())
        return self._simulator.handle(request.method, request.url.path, query, dict(request.headers), body)

    def _to_httpx(self, request: httpx.Request, sim: SimResponse) -> httpx.Response:
        if sim.refused:
            raise httpx.ConnectError("sandbox: injected connection refused", request=request)
        if sim.timeout:
            raise httpx.ReadTimeout("sandbox: injected timeout", request=request)
        if sim.drop_connection:
            raise httpx.RemoteProtocolError(
                "sandbox: server disconnected after storing the operation", request=request
            )
        return httpx.Response(sim.status, headers=sim.headers, content=sim.body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sim = self._dispatch(request)
        if sim.delay_s > 0:
            time.sleep(sim.delay_s)
        return self._to_httpx(request, sim)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        sim = self._dispatch(request)
        if sim.delay_s > 0:
            await asyncio.sleep(sim.delay_s)
        return self._to_httpx(request, sim)
