"""Starlette adapter over the simulator (needs the optional ``psp[sandbox]`` extra)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ._simulator import PproSimulator, SimResponse

if TYPE_CHECKING:
    from starlette.applications import Starlette


class ConnectionDroppedError(ConnectionError):
    """Raised mid-body to emulate a connection lost after the operation was stored."""


def build_app(simulator: PproSimulator) -> Starlette:
    # Imported here so the core package works without starlette installed.
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from starlette.types import Receive, Scope, Send

    class _DroppedResponse(Response):
        """Announces the full Content-Length, sends part of the body, then aborts."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2],
                        "more_body": True})
            raise ConnectionDroppedError("sandbox: connection dropped after store")

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        sim: SimResponse = simulator.handle(request.method, request.url.path,
                                            dict(request.query_params), dict(request.headers),
                                            body)
        if sim.delay_s > 0:
            await asyncio.sleep(sim.delay_s)
        response_cls = _DroppedResponse if sim.drop_connection else Response
        return response_cls(content=sim.body, status_code=sim.status, headers=sim.headers)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])
