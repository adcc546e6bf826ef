"""The demo's stand-in for the host's web server: the return URL and the webhook endpoint.

A stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) in a daemon thread. Webhooks are
verified as they arrive, exactly as a host must do it: the raw body and the headers go to
``verify`` (``Gateway.parse_webhook``), a bad signature is answered 400 so the sender retries
or gives up, and only verified events are kept. Waiting is done on a condition variable,
so the demo never sleeps longer than it must.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import attrs

from psp_core import EventKind, PspError, WebhookEvent

RETURN_PATH = "/shop/return"
WEBHOOK_PATH = "/shop/webhooks"

T = TypeVar("T")
Verify = Callable[[dict[str, str], bytes], WebhookEvent]


@attrs.frozen
class ReturnHit:
    """One browser arrival at the return URL, with its query parameters."""

    path: str
    query: dict[str, str]


@attrs.frozen
class Rejected:
    """A webhook that failed verification, and why."""

    reason: str


class Receiver:
    """Records return-URL hits and verified webhook events; a context manager that shuts down."""

    def __init__(self, verify: Verify | None = None, host: str = "127.0.0.1") -> None:
        self._verify = verify
        self._cond = threading.Condition()
        self.returns: list[ReturnHit] = []
        self.events: list[WebhookEvent] = []
        self.rejected: list[Rejected] = []
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            name="demo-receiver",
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        port = self._server.server_address[1]
        self.base_url = f"http://{host}:{port}"

    @property
    def return_url(self) -> str:
        return self.base_url + RETURN_PATH

    @property
    def webhook_url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    def set_verifier(self, verify: Verify) -> None:
        # The gateway that verifies needs the receiver's URL first, so it is attached later.
        with self._cond:
            self._verify = verify

    # -- recording (handler threads) -----------------------------------------------------

    def _record_return(self, path: str, query: str) -> None:
        flat = {key: values[-1] for key, values in parse_qs(query).items()}
        with self._cond:
            self.returns.append(ReturnHit(path, flat))
            self._cond.notify_all()

    def _record_webhook(self, headers: dict[str, str], body: bytes) -> bool:
        with self._cond:
            verify = self._verify
        if verify is None:
            with self._cond:
                self.rejected.append(Rejected("no verifier attached yet"))
            return False
        try:
            event = verify(headers, body)
        except PspError as error:  # a bad signature, or no secret configured: refuse it
            with self._cond:
                self.rejected.append(Rejected(str(error)))
                self._cond.notify_all()
            return False
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()
        return True

    # -- waiting (demo thread) -----------------------------------------------------------

    def wait_for_return(self, key: str, value: str, timeout_s: float = 5.0) -> ReturnHit | None:
        """The return-URL hit whose query has ``key=value``, or None when none came in time."""

        def find() -> ReturnHit | None:
            return next((hit for hit in self.returns if hit.query.get(key) == value), None)

        return self._wait(find, timeout_s)

    def wait_for_kinds(
        self, subject: str, kinds: Sequence[EventKind], timeout_s: float = 5.0
    ) -> list[WebhookEvent]:
        """Every verified event about ``subject`` once each of ``kinds`` arrived (as often as
        listed), or all that arrived in time; the caller compares."""
        needed = Counter(kinds)

        def about(event: WebhookEvent) -> bool:
            return subject in (event.payment_id, event.mandate_id)

        def find() -> list[WebhookEvent] | None:
            found = [event for event in self.events if about(event)]
            seen = Counter(event.kind for event in found)
            return found if all(seen[kind] >= n for kind, n in needed.items()) else None

        found = self._wait(find, timeout_s)
        if found is not None:
            return found
        with self._cond:
            return [event for event in self.events if about(event)]

    def wait_for_event_ids(self, event_ids: set[str], timeout_s: float = 5.0) -> set[str]:
        """Wait until every one of ``event_ids`` arrived verified; returns those still missing."""

        def find() -> set[str] | None:
            missing = event_ids - {event.event_id for event in self.events}
            return None if missing else missing

        self._wait(find, timeout_s)
        with self._cond:
            return event_ids - {event.event_id for event in self.events}

    def _wait(self, find: Callable[[], T | None], timeout_s: float) -> T | None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                found = find()
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self._cond.wait(remaining)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 keep-alive would pin a handler thread per sandbox connection.
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != RETURN_PATH:
                    self._answer(HTTPStatus.NOT_FOUND, b"not found\n")
                    return
                receiver._record_return(parts.path, parts.query)
                self._answer(
                    HTTPStatus.OK,
                    b"<!doctype html><p>Thank you for your order.</p>\n",
                    "text/html; charset=utf-8",
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)  # the raw bytes: the signature covers exactly these
                if urlsplit(self.path).path != WEBHOOK_PATH:
                    self._answer(HTTPStatus.NOT_FOUND, b"not found\n")
                    return
                headers = dict(self.headers.items())
                ok = receiver._record_webhook(headers, body)
                self._answer(HTTPStatus.OK if ok else HTTPStatus.BAD_REQUEST, b"")

            def _answer(self, status: HTTPStatus, body: bytes, content_type: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the demo prints its own timeline; access logs would interleave with it

        return Handler
