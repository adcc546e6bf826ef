"""``PproSimulator``: the pure-Python, thread-safe heart of the sandbox (no web framework).

One entry point, :meth:`PproSimulator.handle`, takes a raw HTTP request and returns a
:class:`SimResponse`; the httpx transport and the Starlette app are thin adapters over it.
Controller actions (approve, chargeback, webhook draining, ...) take the same lock.
"""

from __future__ import annotations

import hashlib
import json
import math
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
from ._faults import BROKEN_ANSWERS, FAULT_KINDS, INJECTED_LATENCY_S, Faults, Injection, break_answer
from ._hosted_page import ACTIONS, SANDBOX_BANKS, render_page, render_result
from ._idempotency import StoredResponse, body_fingerprint
from ._ids import IdFactory
from ._methods import METHODS
from ._models import Agreement, Charge, Chargeback, Effects, Json, Operation
from ._state import SandboxState
from ._validation import effective_port, is_loopback, parse_object, split_url
from ._webhooks import Event, SendFn, WebhookDelivery, _Pending, sign

_JSON = {"Content-Type": "application/json"}

MAX_REQUEST_BYTES = 64 * 1024
"""Sandbox decision: a larger request body is answered 413 before it is parsed. PPRO's largest
documented request (a charge with consumer, order and labels) is a few KiB."""
MAX_RESPONSE_BYTES = 1024 * 1024
"""No ``/v1`` answer is larger: a search page stops adding charges before it passes this."""
MAX_CHARGE_BYTES = 256 * 1024
"""A capture, refund or void that could grow a charge's JSON past this is refused with 400."""
SEARCH_PAGE_SIZE = 20
"""Charges per search page; the rest follow through ``nextPage``."""
MAX_FAULT_LATENCY_S = 10.0
MAX_RETRY_AFTER_S = 3600
MAX_INJECTIONS = 1000
_RATE_KNOBS = frozenset({"error_rate", "rate_limit_rate", "drop_after_store_rate", "in_flight_conflict_rate"})
_SWITCH_KNOBS = frozenset({"duplicate_webhooks", "reorder_webhooks"})


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
class _Caller:
    """Who is asking: the sandbox treats an API key and a Merchant-Id together as one merchant.

    Resources belong to the caller that created them; any other caller is told they do not
    exist. Only a digest of the key is kept, so no credential sits in the sandbox's state.
    """

    merchant_id: str
    key_digest: str

    @property
    def scope(self) -> str:
        return f"{self.merchant_id} {self.key_digest}"


@frozen
class _Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    caller: _Caller
    params: tuple[str, ...] = field(default=())

    @property
    def merchant_id(self) -> str:
        return self.caller.merchant_id

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
        # Which caller created each charge and agreement (see _Caller); a resource missing here
        # belongs to nobody who can ask for it.
        self._owners: dict[str, _Caller] = {}
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
            if len(body) > MAX_REQUEST_BYTES:
                return self._error(ApiError(413, f"Request body must be at most {MAX_REQUEST_BYTES} bytes"))
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
        caller = self._check_auth(headers)
        if caller is None:
            # PPRO's 401 body is not the usual envelope.
            return _json_response(401, {"message": "Unauthorized"})
        key = headers.get("request-idempotency-key") if method == "POST" else None
        injection = self.faults.take(has_idempotency_key=bool(key))
        delay = self.faults.latency_s
        if injection is not None and injection.kind == "latency":
            delay += INJECTED_LATENCY_S
        early = self._early_fault(injection, delay)
        if early is not None:
            return early
        if method == "POST" and _media_type(headers) != "application/json":
            return self._error(ApiError(415, "Content-Type must be application/json"), delay)
        scope = (caller.scope, method, path, key) if key else None
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
        request = _Request(method, path, query, headers, body, caller, params)
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
            break_answer(after_store, response.status, response.body) if after_store else response.body,
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

    def _check_auth(self, headers: dict[str, str]) -> _Caller | None:
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        merchant = headers.get("merchant-id", "").strip()
        ok = bool(token) and bool(merchant)
        if ok and self.config.api_key is not None:
            ok = token == self.config.api_key
        if ok and self.config.merchant_id is not None:
            ok = merchant == self.config.merchant_id
        if not ok:
            return None
        return _Caller(merchant, hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest())

    def _early_fault(self, injection: Injection | None, delay: float) -> SimResponse | None:
        if injection is None or injection.kind in ("drop_after_store", "timeout_after_store", "latency"):
            return None
        if injection.kind in BROKEN_ANSWERS:  # performed and stored; only the answer breaks
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
    def _charge_or(self, charge_id: str, status: int, caller: _Caller | None) -> Charge:
        """The charge, or PPRO's answer for an unknown id; ``caller`` None is the controller.

        Another merchant's charge gets exactly the answer an id never issued gets, so ids
        cannot be probed across merchants.
        """
        charge = self._state.charges.get(charge_id)
        if charge is None or (caller is not None and self._owners.get(charge_id) != caller):
            raise ApiError(status, "Payment charge not found")
        return charge

    def _agreement_or(self, agreement_id: str, status: int, caller: _Caller | None) -> Agreement:
        agreement = self._state.agreements.get(agreement_id)
        if agreement is None or (caller is not None and self._owners.get(agreement_id) != caller):
            raise ApiError(status, "Payment agreement not found")
        return agreement

    def _body_with_webhooks_url(self, req: _Request) -> Json:
        """The JSON body, refused when its ``webhooksUrl`` points back at this sandbox.

        A sandbox delivering webhooks to its own routes would drive its own state (an
        approval route, the delivery route) and could wait on itself.
        """
        body = req.json()
        url = body.get("webhooksUrl")
        if isinstance(url, str) and targets_sandbox(url, self._state.base_url):
            raise bad_request(
                f"webhooksUrl must not point at the sandbox itself ({self._state.base_url}); "
                "use your own webhook receiver's URL"
            )
        return body

    def _create_charge(self, req: _Request) -> tuple[int, object]:
        charge = self._charges.create(self._body_with_webhooks_url(req), req.merchant_id)
        self._owners[charge.id] = req.caller
        return 200, charge.to_json()

    def _search_charges(self, req: _Request) -> tuple[int, object]:
        reference = req.query.get("merchantPaymentChargeReference")
        agreement_id = req.query.get("agreementId")
        if (reference is None) == (agreement_id is None):
            raise bad_request("Exactly one of merchantPaymentChargeReference or agreementId is required")
        found = [
            c
            for c in self._state.charges.values()
            if self._owners.get(c.id) == req.caller
            and (
                (reference is not None and c.merchant_reference == reference)
                or (agreement_id is not None and c.agreement_id == agreement_id)
            )
        ]
        return 200, _search_page(found, req.query.get("page"))

    def _get_charge(self, req: _Request) -> tuple[int, object]:
        return 200, self._charge_or(req.params[0], 404, req.caller).to_json()

    def _charge_operation(self, req: _Request) -> tuple[int, object]:
        # PPRO answers an operation on an unknown charge id with 400, not 404.
        charge = self._charge_or(req.params[0], 400, req.caller)
        body = req.json()
        kind = req.params[1]
        # The new operation's JSON is at most the request's fields plus fixed keys, so this
        # bounds the charge (and every answer that carries it) before anything is stored.
        growth = len(json.dumps(body)) + 1024
        if len(json.dumps(charge.to_json())) + growth > MAX_CHARGE_BYTES:
            raise bad_request(
                f"Payment charge {charge.id} has reached the sandbox's size limit of "
                f"{MAX_CHARGE_BYTES} bytes; create a new charge for further operations"
            )
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
        charge = self._charge_or(req.params[0], 404, req.caller)
        return 200, {"data": self._sub_objects(charge, req.params[1])}

    def _get_sub(self, req: _Request) -> tuple[int, object]:
        charge = self._charge_or(req.params[0], 404, req.caller)
        for item in self._sub_objects(charge, req.params[1]):
            if item["id"] == req.params[2]:
                return 200, item
        raise ApiError(404, f"{req.params[1][:-1].capitalize()} not found")

    def _create_agreement(self, req: _Request) -> tuple[int, object]:
        agreement = self._agreements.create(self._body_with_webhooks_url(req), req.merchant_id)
        self._owners[agreement.id] = req.caller
        if agreement.initial_charge_id is not None:
            self._owners[agreement.initial_charge_id] = req.caller
        return 200, agreement.to_json()

    def _get_agreement(self, req: _Request) -> tuple[int, object]:
        return 200, self._agreement_or(req.params[0], 404, req.caller).to_json()

    def _agreement_charge(self, req: _Request) -> tuple[int, object]:
        agreement = self._agreement_or(req.params[0], 400, req.caller)
        charge = self._agreements.charge(agreement, self._body_with_webhooks_url(req))
        self._owners[charge.id] = req.caller
        return 200, charge.to_json()

    def _revoke(self, req: _Request) -> tuple[int, object]:
        agreement = self._agreement_or(req.params[0], 400, req.caller)
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
                verification = agreement.verification_charge_id
                if verification is not None and agreement.id in self._owners:
                    # PPRO's verification charge belongs to the merchant whose agreement it checks.
                    self._owners.setdefault(verification, self._owners[agreement.id])
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
            return self._charge_or(charge_id, 404, None).to_json()

    def agreement_json(self, agreement_id: str) -> Json:
        with self._lock:
            return self._agreement_or(agreement_id, 404, None).to_json()

    def verification_charge(self, agreement_id: str) -> str | None:
        with self._lock:
            return self._agreement_or(agreement_id, 404, None).verification_charge_id

    def effects(self, charge_id: str) -> Effects:
        with self._lock:
            charge = self._state.charges.get(charge_id)
            if charge is None:
                raise UnknownResourceError(charge_id)
            return Effects(
                captures=sum(op.is_effect for op in charge.captures),
                refunds=sum(op.is_effect for op in charge.refunds),
                voids=sum(op.is_effect for op in charge.voids),
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
            return list(self._state.outbox.dead_letters)

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
                seconds = _number(self._admin_json(body), "seconds")
                try:
                    now = self.clock.advance(seconds)
                except ValueError as exc:
                    raise bad_request(str(exc)) from None
                self._expire_locked()
                return _json_response(200, {"now": iso_ms(now)})
            case ("GET", ["faults"]):
                return _json_response(200, self._faults_json())
            case ("POST", ["faults"]):
                self._set_faults(self._admin_json(body))
                return _json_response(200, self._faults_json())
            case ("POST", ["faults", "inject"]):
                data = self._admin_json(body)
                kind = data.get("kind")
                if kind not in FAULT_KINDS:
                    raise bad_request(f"kind must be one of {', '.join(sorted(FAULT_KINDS))}")
                count = _whole(data, "count", 1, MAX_INJECTIONS)
                retry_after = _whole(data, "retryAfter", 0, MAX_RETRY_AFTER_S)
                self.faults.inject_next(kind, 1 if count is None else count, retry_after)
                return _json_response(200, self._faults_json())
            case ("POST", ["faults", "clear"]):
                self.faults.clear()
                return _json_response(200, self._faults_json())
            case ("POST", ["consumer", rid, action]):
                if action not in ACTIONS:
                    raise bad_request(f"action must be one of {', '.join(ACTIONS)}")
                return _json_response(200, {"id": rid, "status": self.consumer_action(rid, action)})
            case (_, ["scenarios"]) | (
                "POST",
                ["charges", _, "provider-confirmation" | "release" | "discard"],
            ):
                return _json_response(200, self._charges.admin(method, parts, self._admin_json(body)))
            case ("POST", ["expire"]):
                return _json_response(200, {"expired": self._expire_locked()})
            case ("POST", ["charges", cid, "chargeback"]):
                # A mistyped amount used to be ignored, charging back everything.
                amount = _whole(self._admin_json(body), "amount", 1, None)
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
                # Delivery calls out over HTTP: release the lock while it runs. The hook never
                # waits for another delivery run (see RunningSandbox.deliver_webhooks).
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
        """Check every setting first, then apply them all: a bad one changes nothing.

        (A string ``error_rate`` used to be stored as is and turn every later API request
        into a 500.)
        """
        allowed = set(self._faults_json()) - {"pending"}
        checked: dict[str, object] = {}
        for name in data:
            if name not in allowed:
                expected = ", ".join(sorted(allowed))
                raise bad_request(f"unknown fault setting {name}; expected one of {expected}")
            if name in _RATE_KNOBS:
                checked[name] = _number(data, name, maximum=1.0)
            elif name in _SWITCH_KNOBS:
                if not isinstance(data[name], bool):
                    raise bad_request(f"{name} must be a boolean")
                checked[name] = data[name]
            elif name == "latency_s":
                checked[name] = _number(data, name, maximum=MAX_FAULT_LATENCY_S)
            else:  # retry_after_s: null switches the header off
                checked[name] = _whole(data, name, 0, MAX_RETRY_AFTER_S)
        for name, value in checked.items():
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
        html = render_page(
            rid,
            resource.status,
            amount,
            currency,
            f"/__sandbox__/authenticate/{rid}",
            method=resource.payment_method,
            choose_bank=_chooses_bank(resource),
        )
        return SimResponse(200, {"Content-Type": "text/html; charset=utf-8"}, html.encode())

    def _hosted_submit(self, rid: str, body: bytes) -> SimResponse:
        form = parse_qs(body.decode("utf-8", "replace"))
        action = (form.get("action") or form.get("submit") or [""])[0]
        resource = self._resource(rid)
        if resource.status != "AUTHENTICATION_PENDING":
            html = render_result(rid, f"already {resource.status}")
            return SimResponse(409, {"Content-Type": "text/html; charset=utf-8"}, html.encode())
        if action == "approve" and _chooses_bank(resource):
            bank = (form.get("bank") or [""])[0]
            if bank not in SANDBOX_BANKS:
                html = render_result(rid, f"choose your bank first (one of {', '.join(SANDBOX_BANKS)})")
                return SimResponse(400, {"Content-Type": "text/html; charset=utf-8"}, html.encode())
            resource.bank_code = bank
        status = self.consumer_action(rid, action)
        result = {"approve": "approved", "decline": "declined", "cancel": "canceled"}[action]
        if resource.return_url is None:
            html = render_result(rid, f"{result} ({status})")
            return SimResponse(200, {"Content-Type": "text/html; charset=utf-8"}, html.encode())
        key = "paymentAgreementId" if isinstance(resource, Agreement) else "paymentChargeId"
        return SimResponse(
            303, {"Location": _append_query(resource.return_url, {key: rid, "result": result})}, b""
        )


def _chooses_bank(resource: Charge | Agreement) -> bool:
    """The consumer picks a bank on the page: the method has bank selection, the request named none."""
    rules = METHODS.get(resource.payment_method)
    return rules is not None and rules.bank_selection and resource.bank_code is None


def _media_type(headers: Mapping[str, str]) -> str:
    """The media type without parameters: ``text/plain; x=application/json`` is text/plain."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _number(data: Json, name: str, maximum: float | None = None) -> float:
    """A required finite number from 0 to ``maximum``."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_request(f"{name} must be a number")
    if value < 0 or (maximum is not None and value > maximum):
        bound = f"from 0 to {maximum:g}" if maximum is not None else "at least 0"
        raise bad_request(f"{name} must be {bound}")
    return value


def _whole(data: Json, name: str, minimum: int, maximum: int | None) -> int | None:
    """An optional integer setting (None when absent or null)."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{name} must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise bad_request(f"{name} must be {bound}")
    return value


def _search_page(found: list[Charge], page: str | None) -> Json:
    """One page of a search: at most SEARCH_PAGE_SIZE charges and MAX_RESPONSE_BYTES of JSON.

    ``nextPage`` is the index of the first charge not shown, as a string; it is omitted on the
    last page (PPRO's schema has no null).
    """
    start = 0
    if page is not None:
        if not page.isascii() or not page.isdigit() or int(page) > len(found):
            raise bad_request("page must be a nextPage value from an earlier search")
        start = int(page)
    data: list[Json] = []
    size = 64  # the envelope and nextPage
    index = start
    while index < len(found) and len(data) < SEARCH_PAGE_SIZE:
        item = found[index].to_json()
        item_size = len(json.dumps(item, separators=(",", ":"))) + 1
        if data and size + item_size > MAX_RESPONSE_BYTES:
            break
        data.append(item)
        size += item_size
        index += 1
    result: Json = {"data": data}
    if index < len(found):
        result["nextPage"] = str(index)
    return result


def targets_sandbox(url: str, base_url: str) -> bool:
    """True when ``url`` would reach the sandbox served at ``base_url`` itself.

    Every loopback name counts as the same host: the sandbox may be reached as localhost,
    127.0.0.1 or [::1] alike.
    """
    try:
        target, own = split_url(url, "url"), split_url(base_url, "base_url")
    except ApiError:
        return False
    same_host = (is_loopback(target.hostname) and is_loopback(own.hostname)) or (
        target.hostname is not None and target.hostname == own.hostname
    )
    return same_host and effective_port(target) == effective_port(own)


def _append_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
