"""Starlette adapter over the simulator (needs the optional ``psp[sandbox]`` extra)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ._simulator import MAX_REQUEST_BYTES, PproSimulator, SimResponse

if TYPE_CHECKING:
    from starlette.types import ASGIApp


class ConnectionDroppedError(ConnectionError):
    """Raised mid-body to emulate a connection lost after the operation was stored."""


def build_app(simulator: PproSimulator) -> ASGIApp:
    # Imported here so the core package works without starlette installed.
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send

    class _DroppedResponse(Response):
        """Announces the full Content-Length, sends part of the body, then aborts."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            await send(
                {"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True}
            )
            raise ConnectionDroppedError("sandbox: connection dropped after store")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # No router: every path goes to the simulator, which answers unknown routes with
        # PPRO's envelope. (Starlette's path convertor does not match a decoded line feed,
        # so a routed app answered such ids with a plain-text 404.)
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        # Read at most one byte past the limit: the simulator answers 413 to anything longer,
        # and an endless body must not be buffered first.
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_BYTES:
                break
        # The simulator is synchronous and may wait on its lock or, for the webhook delivery
        # route, on outgoing HTTP: run it off the event loop so the server keeps answering
        # (a delivery to the sandbox's own URL used to stall the loop for the client timeout).
        sim: SimResponse = await run_in_threadpool(
            simulator.handle,
            request.method,
            request.url.path,
            dict(request.query_params),
            dict(request.headers),
            bytes(body),
        )
        if sim.delay_s > 0:
            await asyncio.sleep(sim.delay_s)
        response_cls = _DroppedResponse if sim.drop_connection else Response
        response = response_cls(content=sim.body, status_code=sim.status, headers=sim.headers)
        await response(scope, receive, send)

    return app
