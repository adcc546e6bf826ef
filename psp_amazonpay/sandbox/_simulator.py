"""``PproSimulator``: the pure-Python, thread-safe heart of the sandbox (no web framework).

One entry point, :meth:`PproSimulator.handle`, takes a raw HTTP request and returns a
:class:`SimResponse`; the httpx transport and the Starlette app are thin adapters over it.
Controller actions (approve, chargeback, webhook draining, ...) take the same lock.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from attrs import field, frozen

from ._agreements import AgreementService
from ._charges import ChargeService
from ._clock import SandboxClock, iso_ms
from ._config import SandboxConfig
from ._errors import ApiError, SandboxStateError, UnknownResourceError, bad_request
from ._faults import INJECTED_LATENCY_S, Faults, Injection
from ._hosted_page import ACTIONS, render_page, render_result
from ._idempotency import StoredResponse, body_fingerprint
from ._ids import IdFactory
from ._models import Agreement, Charge, Chargeback, Effects, Json, Operation
from ._state import SandboxState
from ._validation import parse_object
from ._webhooks import Event, SendFn, WebhookDelivery, _Pending, sign

_JSON = {"Content-Type": "application/json"}


@frozen
class SimResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    drop_connection: bool = False
    # Fault extras the adapters act on; the simulator itself never sleeps or raises.
    delay_s: float = 0.0
    timeout: bool = False
    refused: bool = False
    """Nothing was performed; the httpx transport raises ConnectError, as for a refused connection."""

    def json(self) -> Any:
        return json.loads(self.body)


def _json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> SimResponse:
    return SimResponse(
        status, {**_JSON, **(headers or {})}, json.dumps(payload, separators=(",", ":")).encode()
    )


_Handler = Callable[["_Request"], tuple[int, object]]


@frozen
class _Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    params: tuple[str, ...] = field(default=())
    merchant_id: str = ""

    def json(self) -> Json:
        return parse_object(self.body)


class PproSimulator:
    """All sandbox state behind one lock. See the package docstring for the rules."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        seed = self.config.seed
        self.clock = SandboxClock(self.config.start_time)
        # Separate streams so that e.g. turning a fault on does not change the ids generated.
        self.faults = Faults(random.Random(None if seed is None else f"faults:{seed}"))
        self._webhook_rng = random.Random(None if seed is None else f"webhooks:{seed}")
        ids = IdFactory(random.Random(None if seed is None else f"ids:{seed}"))
        self._state = SandboxState(self.config, self.clock, ids)
        self._charges = ChargeService(self._state)
        self._agreements = AgreementService(self._state, self._charges)
        self._lock = threading.RLock()
        self.request_count = 0
        #: Set by the HTTP server so ``POST /__sandbox__/webhooks/deliver`` can deliver now.
        self.deliver_now: Callable[[], int] | None = None
        self._api_routes: list[tuple[str, re.Pattern[str], _Handler]] = [
            ("POST", re.compile(r"/v1/payment-charges"), self._create_charge),
            ("GET", re.compile(r"/v1/payment-charges"), self._search_charges),
            ("GET", re.compile(r"/v1/payment-charges/([^/]+)"), self._get_charge),
            (
                "POST",
                re.compile(r"/v1/payment-charges/([^/]+)/(captures|refunds|voids)"),
                self._charge_operation,
            ),
            (
                "GET",
                re.compile(r"/v1/payment-charges/([^/]+)/(authorizations|captures|refunds|voids|discards)"),
                self._list_sub,
            ),
            (
                "GET",
                re.compile(
                    r"/v1/payment-charges/([^/]+)/(authorizations|captures|refunds|voids|discards)"
                    r"/([^/]+)"
                ),
                self._get_sub,
            ),
            ("POST", re.compile(r"/v1/payment-agreements"), self._create_agreement),
            ("GET", re.compile(r"/v1/payment-agreements/([^/]+)"), self._get_agreement),
            ("POST", re.compile(r"/v1/payment-agreements/([^/]+)/payment-charges"), self._agreement_charge),
            ("POST", re.compile(r"/v1/payment-agreements/([^/]+)/revocations"), self._revoke),
        ]

    # ================================================================ entry point
    def handle(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> SimResponse:
        lowered = {k.lower(): val for k, val in headers.items()}
        method = method.upper()
        with self._lock:
            self.request_count += 1
            self._expire_locked()
            if path.startswith("/__sandbox__/"):
                return self._admin(method, path, dict(query), lowered, body)
            return self._api(method, path, dict(query), lowered, body)

    def _api(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> SimResponse:
        match = self._match(method, path)
        if isinstance(match, SimResponse):
            return match
        handler, params = match
        unauthorized = self._check_auth(headers)
        if unauthorized is not None:
            return unauthorized
        key = headers.get("request-idempotency-key") if method == "POST" else None
        injection = self.faults.take(has_idempotency_key=bool(key))
        delay = self.faults.latency_s
        if injection is not None and injection.kind == "latency":
            delay += INJECTED_LATENCY_S
        early = self._early_fault(injection, delay)
        if early is not None:
            return early
        if method == "POST" and "application/json" not in headers.get("content-type", ""):
            return self._error(ApiError(415, "Content-Type must be application/json"), delay)
        merchant = headers.get("merchant-id", "")
        scope = (merchant, method, path, key) if key else None
        if scope is not None:
            stored = self._state.idempotency.lookup(scope, self.clock.now())
            if stored is not None:
                if stored.body_hash != body_fingerprint(body):
                    return self._error(
                        ApiError(
                            409, "Request-Idempotency-Key was already used with a different request body"
                        ),
                        delay,
                    )
                return SimResponse(
                    stored.status, {**_JSON, "Request-Idempotency": "true"}, stored.body, delay_s=delay
                )
        request = _Request(method, path, query, headers, body, params, merchant)
        try:
            status, payload = handler(request)
        except ApiError as exc:
            return self._error(exc, delay)
        response = _json_response(status, payload)
        if scope is not None and 200 <= status < 300:
            # Only successes are remembered: PPRO lets a key be reused after a 4xx.
            self._state.idempotency.store(
                scope, StoredResponse(body_fingerprint(body), status, response.body, self.clock.now())
            )
        after_store = injection.kind if injection is not None else None
        # A read timeout after the operation was stored is the other unknown outcome: over
        # HTTP both look like a connection lost mid-answer.
        dropped = after_store in ("drop_after_store", "timeout_after_store")
        return SimResponse(
            response.status,
            response.headers,
            response.body,
            drop_connection=dropped,
            delay_s=delay,
            timeout=after_store == "timeout_after_store",
        )

    def _match(self, method: str, path: str) -> tuple[_Handler, tuple[str, ...]] | SimResponse:
        path_matched = False
        for route_method, pattern, handler in self._api_routes:
            found = pattern.fullmatch(path)
            if found is None:
                continue
            path_matched = True
            if route_method == method:
                return handler, found.groups()
        if path_matched:
            return self._error(ApiError(405, f"Method {method} is not allowed on {path}"))
        return self._error(ApiError(404, f"No resource at {path}"))

    def _check_auth(self, headers: dict[str, str]) -> SimResponse | None:
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        merchant = headers.get("merchant-id", "").strip()
        ok = bool(token) and bool(merchant)
        if ok and self.config.api_key is not None:
            ok = token == self.config.api_key
        if ok and self.config.merchant_id is not None:
            ok = merchant == self.config.merchant_id
        # PPRO's 401 body is not the usual envelope.
        return None if ok else _json_response(401, {"message": "Unauthorized"})

    def _early_fault(self, injection: Injection | None, delay: float) -> SimResponse | None:
        if injection is None or injection.kind in ("drop_after_store", "timeout_after_store", "latency"):
            return None
        if injection.kind == "connection_refused":
            err = self._error(ApiError(503, "Connection refused"), delay)
            return SimResponse(err.status, err.headers, err.body, drop_connection=True, refused=True)
        if injection.kind == "timeout":
            # The httpx transport raises ReadTimeout; over HTTP the client sees PPRO's 504.
            err = self._error(ApiError(504, "Call to the upstream dependency timed out."), delay)
            return SimResponse(err.status, err.headers, err.body, delay_s=delay, timeout=True)
        if injection.kind == "429":
            extra = {} if injection.retry_after is None else {"Retry-After": str(injection.retry_after)}
            return self._error(ApiError(429, "Too many requests", extra), delay)
        if injection.kind == "409_in_flight":
            return self._error(
                ApiError(409, "A request with the same Request-Idempotency-Key is still in progress"), delay
            )
        status = int(injection.kind)
        message = "Internal server error" if status == 500 else "Service unavailable"
        return self._error(ApiError(status, message), delay)

    def _error(self, exc: ApiError, delay: float = 0.0) -> SimResponse:
        payload = {"status": exc.status, "failureMessage": exc.message, "timestamp": iso_ms(self.clock.now())}
        response = _json_response(exc.status, payload, exc.headers)
        return SimResponse(response.status, response.headers, response.body, delay_s=delay)

    # ============================================================ API handlers
    def _charge_or(self, charge_id: str, status: int) -> Charge:
        charge = self._state.charges.get(charge_id)
        if charge is None:
            raise ApiError(status, "Payment charge not found")
        return charge

    def _agreement_or(self, agreement_id: str, status: int) -> Agreement:
        agreement = self._state.agreements.get(agreement_id)
        if agreement is None:
            raise ApiError(status, "Payment agreement not found")
        return agreement

    def _create_charge(self, req: _Request) -> tuple[int, object]:
        return 200, self._charges.create(req.json(), req.merchant_id).to_json()

    def _search_charges(self, req: _Request) -> tuple[int, object]:
        reference = req.query.get("merchantPaymentChargeReference")
        agreement_id = req.query.get("agreementId")
        if (reference is None) == (agreement_id is None):
            raise bad_request("Exactly one of merchantPaymentChargeReference or agreementId is required")
        found = [
            c
            for c in self._state.charges.values()
            if (reference is not None and c.merchant_reference == reference)
            or (agreement_id is not None and c.agreement_id == agreement_id)
        ]
        # Everything fits on one page, so ``nextPage`` is omitted (the schema has no null).
        return 200, {"data": [c.to_json() for c in found]}

    def _get_charge(self, req: _Request) -> tuple[int, object]:
        return 200, self._charge_or(req.params[0], 404).to_json()

    def _charge_operation(self, req: _Request) -> tuple[int, object]:
        # PPRO answers an operation on an unknown charge id with 400, not 404.
        charge = self._charge_or(req.params[0], 400)
        body = req.json()
        kind = req.params[1]
        op: Operation
        if kind == "captures":
            op = self._charges.capture(charge, body)
        elif kind == "voids":
            op = self._charges.void(charge, body)
        else:
            op = self._charges.refund(charge, body)
        return 200, op.to_json()

    def _sub_objects(self, charge: Charge, kind: str) -> list[Json]:
        items: dict[str, list[Any]] = {
            "authorizations": charge.authorizations,
            "captures": charge.captures,
            "refunds": charge.refunds,
            "voids": charge.voids,
            "discards": charge.discards,
        }
        return [item.to_json() for item in items[kind]]

    def _list_sub(self, req: _Request) -> tuple[int, object]:
        charge = self._charge_or(req.params[0], 404)
        return 200, {"data": self._sub_objects(charge, req.params[1])}

    def _get_sub(self, req: _Request) -> tuple[int, object]:
        charge = self._charge_or(req.params[0], 404)
        for item in self._sub_objects(charge, req.params[1]):
            if item["id"] == req.params[2]:
                return 200, item
        raise ApiError(404, f"{req.params[1][:-1].capitalize()} not found")

    def _create_agreement(self, req: _Request) -> tuple[int, object]:
        return 200, self._agreements.create(req.json(), req.merchant_id).to_json()

    def _get_agreement(self, req: _Request) -> tuple[int, object]:
        return 200, self._agreement_or(req.params[0], 404).to_json()

    def _agreement_charge(self, req: _Request) -> tuple[int, object]:
        agreement = self._agreement_or(req.params[0], 400)
        return 200, self._agreements.charge(agreement, req.json()).to_json()

    def _revoke(self, req: _Request) -> tuple[int, object]:
        agreement = self._agreement_or(req.params[0], 400)
        req.json()  # the body must be a JSON object (PPRO sends ``{}``)
        return 200, self._agreements.revoke(agreement)

    # ========================================================== controller API
    @property
    def base_url(self) -> str:
        with self._lock:
            return self._state.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        with self._lock:
            self._state.base_url = value

    def _expire_locked(self) -> int:
        expired = 0
        for agreement in list(self._state.agreements.values()):
            expired += self._agreements.expire_if_due(agreement)
        for charge in list(self._state.charges.values()):
            expired += self._charges.expire_if_due(charge)
            self._charges.settle_due(charge)
        return expired

    def expire_pending(self) -> int:
        with self._lock:
            return self._expire_locked()

    def consumer_action(self, resource_id: str, action: str) -> str:
        """Apply a hosted-page button; returns the resulting status."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}")
        with self._lock:
            self._expire_locked()
            agreement = self._state.agreements.get(resource_id)
            if agreement is not None:
                getattr(self._agreements, action)(agreement)
                return agreement.status
            charge = self._state.charges.get(resource_id)
            if charge is None:
                raise UnknownResourceError(resource_id)
            getattr(self._charges, action)(charge)
            return charge.status

    def chargeback(self, charge_id: str, amount: int | None = None) -> Chargeback:
        with self._lock:
            charge = self._state.charges.get(charge_id)
            if charge is None:
                raise UnknownResourceError(charge_id)
            return self._charges.chargeback(charge, amount)

    def settle_refund(self, charge_id: str, refund_id: str, *, succeed: bool = True) -> Json:
        """Settle a PENDING refund now (REFUNDED, or FAILED releasing its amount)."""
        with self._lock:
            charge = self._state.charges.get(charge_id)
            if charge is None:
                raise UnknownResourceError(charge_id)
            return self._charges.settle_refund(charge, refund_id, succeed=succeed).to_json()

    def charge_json(self, charge_id: str) -> Json:
        with self._lock:
            return self._charge_or(charge_id, 404).to_json()

    def agreement_json(self, agreement_id: str) -> Json:
        with self._lock:
            return self._agreement_or(agreement_id, 404).to_json()

    def effects(self, charge_id: str) -> Effects:
        with self._lock:
            charge = self._state.charges.get(charge_id)
            if charge is None:
                raise UnknownResourceError(charge_id)
            return Effects(
                captures=len(charge.captures), refunds=len(charge.refunds), voids=len(charge.voids)
            )

    def charge_count(self, merchant_reference: str) -> int:
        with self._lock:
            return sum(1 for c in self._state.charges.values() if c.merchant_reference == merchant_reference)

    def agreement_count(self, merchant_reference: str) -> int:
        with self._lock:
            return sum(
                1 for a in self._state.agreements.values() if a.merchant_reference == merchant_reference
            )

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._state.events)

    @property
    def chargebacks(self) -> list[Chargeback]:
        with self._lock:
            return list(self._state.chargebacks)

    @property
    def dead_letters(self) -> list[Event]:
        with self._lock:
            return [d.event for d in self._state.outbox.dead_letters]

    @property
    def outbox(self) -> list[Event]:
        """Events still waiting for a successful delivery."""
        with self._lock:
            return self._state.outbox.pending_events()

    def _delivery(self, item: _Pending, now: datetime) -> WebhookDelivery:
        event = item.event
        assert event.url is not None  # only events with a URL are queued
        headers = sign(
            event.body, self.config.webhook_secret, int(now.timestamp()), self.config.legacy_signature
        )
        return WebhookDelivery(
            event.url, headers, event.body, event.event_id, event.event_type, event.subject, item.attempts + 1
        )

    def pending_webhooks(self) -> list[WebhookDelivery]:
        """Deliveries due now on the sandbox clock, signed as they would be sent."""
        with self._lock:
            now = self.clock.now()
            return [self._delivery(item, now) for item in self._state.outbox.due(now)]

    def drain_webhooks(self, send: SendFn) -> int:
        """Deliver every due webhook through ``send`` (returns an HTTP status; raising counts as
        a connection error). Failures are rescheduled on the sandbox clock with exponential
        backoff. Returns how many events were acknowledged with 2xx. ``send`` runs outside the
        lock so a receiver may call back into the sandbox."""
        with self._lock:
            now = self.clock.now()
            batch = self._state.outbox.checkout(now, self._webhook_rng, self.faults.reorder_webhooks)
            work = [(item, self._delivery(item, now)) for item in batch]
            copies = 2 if self.faults.duplicate_webhooks else 1
        acknowledged = 0
        for item, delivery in work:
            status = 0
            for _ in range(copies):
                try:
                    status = send(delivery)
                except Exception:  # a receiver that cannot be reached is a failed attempt
                    status = 0
            with self._lock:
                acknowledged += self._state.outbox.settle(item, status, self.clock.now())
        return acknowledged

    # ============================================================ admin routes
    def _admin(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> SimResponse:
        parts = path.strip("/").split("/")[1:]
        try:
            return self._admin_route(method, parts, headers, body)
        except ApiError as exc:
            return self._error(exc)
        except UnknownResourceError as exc:
            return self._error(ApiError(404, f"Unknown id {exc.args[0]}"))
        except (SandboxStateError, ValueError) as exc:
            return self._error(ApiError(409, str(exc)))

    def _admin_json(self, body: bytes) -> Json:
        return parse_object(body) if body.strip() else {}

    def _admin_route(
        self, method: str, parts: list[str], headers: dict[str, str], body: bytes
    ) -> SimResponse:
        match (method, parts):
            case ("GET", ["authenticate", rid]):
                return self._hosted_page(rid)
            case ("POST", ["authenticate", rid]):
                return self._hosted_submit(rid, body)
            case ("GET", ["clock"]):
                return _json_response(200, {"now": iso_ms(self.clock.now())})
            case ("POST", ["clock", "advance"]):
                seconds = self._admin_json(body).get("seconds")
                if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                    raise bad_request("seconds must be a number")
                now = self.clock.advance(seconds)
                self._expire_locked()
                return _json_response(200, {"now": iso_ms(now)})
            case ("GET", ["faults"]):
                return _json_response(200, self._faults_json())
            case ("POST", ["faults"]):
                self._set_faults(self._admin_json(body))
                return _json_response(200, self._faults_json())
            case ("POST", ["faults", "inject"]):
                data = self._admin_json(body)
                self.faults.inject_next(
                    str(data.get("kind")), int(data.get("count", 1)), data.get("retryAfter")
                )
                return _json_response(200, self._faults_json())
            case ("POST", ["faults", "clear"]):
                self.faults.clear()
                return _json_response(200, self._faults_json())
            case ("POST", ["consumer", rid, action]):
                return _json_response(200, {"id": rid, "status": self.consumer_action(rid, action)})
            case ("POST", ["expire"]):
                return _json_response(200, {"expired": self._expire_locked()})
            case ("POST", ["charges", cid, "chargeback"]):
                amount = self._admin_json(body).get("amount")
                if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
                    raise bad_request("amount must be a whole number of minor units, or omitted for all")
                chargeback = self.chargeback(cid, amount)
                return _json_response(
                    200, {"paymentChargeId": chargeback.charge_id, "amount": chargeback.amount}
                )
            case ("POST", ["charges", cid, "refunds", rid, "settle"]):
                outcome = self._admin_json(body).get("outcome", "succeed")
                if outcome not in ("succeed", "fail"):
                    raise bad_request("outcome must be 'succeed' or 'fail'")
                return _json_response(200, self.settle_refund(cid, rid, succeed=outcome == "succeed"))
            case ("GET", ["events"]):
                return _json_response(200, {"data": [e.envelope for e in self._state.events]})
            case ("GET", ["webhooks"]):
                return _json_response(
                    200, {"pending": [e.envelope for e in self._state.outbox.pending_events()]}
                )
            case ("POST", ["webhooks", "deliver"]):
                if self.deliver_now is None:
                    raise ApiError(409, "No webhook sender is attached (served mode only)")
                # Delivery calls out over HTTP: release the lock while it runs.
                hook = self.deliver_now
                self._lock.release()
                try:
                    delivered = hook()
                finally:
                    self._lock.acquire()
                return _json_response(200, {"delivered": delivered})
        raise ApiError(404, f"No sandbox admin route {method} /__sandbox__/{'/'.join(parts)}")

    def _faults_json(self) -> Json:
        f = self.faults
        return {
            "latency_s": f.latency_s,
            "error_rate": f.error_rate,
            "rate_limit_rate": f.rate_limit_rate,
            "retry_after_s": f.retry_after_s,
            "drop_after_store_rate": f.drop_after_store_rate,
            "in_flight_conflict_rate": f.in_flight_conflict_rate,
            "duplicate_webhooks": f.duplicate_webhooks,
            "reorder_webhooks": f.reorder_webhooks,
            "pending": f.pending_injections,
        }

    def _set_faults(self, data: Json) -> None:
        allowed = set(self._faults_json()) - {"pending"}
        for name, value in data.items():
            if name not in allowed:
                raise bad_request(f"unknown fault setting {name}")
            setattr(self.faults, name, value)

    def _resource(self, rid: str) -> Charge | Agreement:
        found = self._state.agreements.get(rid) or self._state.charges.get(rid)
        if found is None:
            raise UnknownResourceError(rid)
        return found

    def _hosted_page(self, rid: str) -> SimResponse:
        resource = self._resource(rid)
        amount = currency = None
        if isinstance(resource, Charge):
            amount, currency = resource.amount, resource.currency
        elif resource.initial_charge_id is not None:
            initial = self._state.charges[resource.initial_charge_id]
            amount, currency = initial.amount, initial.currency
        html = render_page(rid, resource.status, amount, currency, f"/__sandbox__/authenticate/{rid}")
        return SimResponse(200, {"Content-Type": "text/html; charset=utf-8"}, html.encode())

    def _hosted_submit(self, rid: str, body: bytes) -> SimResponse:
        form = parse_qs(body.decode("utf-8", "replace"))
        action = (form.get("action") or form.get("submit") or [""])[0]
        resource = self._resource(rid)
        if resource.status != "AUTHENTICATION_PENDING":
            html = render_result(rid, f"already {resource.status}")
            return SimResponse(409, {"Content-Type": "text/html; charset=utf-8"}, html.encode())
        status = self.consumer_action(rid, action)
        result = {"approve": "approved", "decline": "declined", "cancel": "canceled"}[action]
        if resource.return_url is None:
            html = render_result(rid, f"{result} ({status})")
            return SimResponse(200, {"Content-Type": "text/html; charset=utf-8"}, html.encode())
        key = "paymentAgreementId" if isinstance(resource, Agreement) else "paymentChargeId"
        return SimResponse(
            303, {"Location": _append_query(resource.return_url, {key: rid, "result": result})}, b""
        )


def _append_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
