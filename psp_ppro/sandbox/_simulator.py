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

from ._admin import AdminApi
from ._agreements import AgreementService
from ._charges import ChargeService
from ._clock import SandboxClock
from ._config import SandboxConfig
from ._errors import ApiError, UnknownResourceError, bad_request
from ._faults import INJECTED_LATENCY_S, Faults, break_answer
from ._hosted_page import ACTIONS
from ._idempotency import StoredResponse, body_fingerprint
from ._ids import IdFactory
from ._middleware import (
    JSON_HEADERS,
    MAX_CHARGE_BYTES,
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    SEARCH_PAGE_SIZE,
    ApiRequest,
    Caller,
    SimResponse,
    check_auth,
    early_fault,
    error_response,
    json_response,
    media_type,
)
from ._models import Agreement, Charge, Chargeback, Effects, Json, Operation, to_json
from ._routing import Handler, Route, match, search_page, targets_sandbox
from ._state import SandboxState
from ._webhooks import Event, SendFn, WebhookDelivery, _Pending, sign

__all__ = [
    "MAX_CHARGE_BYTES",
    "MAX_REQUEST_BYTES",
    "MAX_RESPONSE_BYTES",
    "SEARCH_PAGE_SIZE",
    "PproSimulator",
    "SimResponse",
    "targets_sandbox",
]


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
        # Which caller created each charge and agreement (see Caller); a resource missing here
        # belongs to nobody who can ask for it.
        self._owners: dict[str, Caller] = {}
        self.request_count = 0
        #: Set by the HTTP server so ``POST /__sandbox__/webhooks/deliver`` can deliver now.
        self.deliver_now: Callable[[], int] | None = None
        self._admin = AdminApi(self)
        self._api_routes: list[Route] = [
            Route("POST", re.compile(r"/v1/payment-charges"), self._create_charge),
            Route("GET", re.compile(r"/v1/payment-charges"), self._search_charges),
            Route("GET", re.compile(r"/v1/payment-charges/([^/]+)"), self._get_charge),
            Route(
                "POST",
                re.compile(r"/v1/payment-charges/([^/]+)/(captures|refunds|voids)"),
                self._charge_operation,
            ),
            Route(
                "GET",
                re.compile(r"/v1/payment-charges/([^/]+)/(authorizations|captures|refunds|voids|discards)"),
                self._list_sub,
            ),
            Route(
                "GET",
                re.compile(
                    r"/v1/payment-charges/([^/]+)/(authorizations|captures|refunds|voids|discards)"
                    r"/([^/]+)"
                ),
                self._get_sub,
            ),
            Route("POST", re.compile(r"/v1/payment-agreements"), self._create_agreement),
            Route("GET", re.compile(r"/v1/payment-agreements/([^/]+)"), self._get_agreement),
            Route(
                "POST", re.compile(r"/v1/payment-agreements/([^/]+)/payment-charges"), self._agreement_charge
            ),
            Route("POST", re.compile(r"/v1/payment-agreements/([^/]+)/revocations"), self._revoke),
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
                return self._admin.handle(method, path, body)
            return self._api(method, path, dict(query), lowered, body)

    def _api(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> SimResponse:
        match = self._match(method, path)
        if isinstance(match, SimResponse):
            return match
        handler, params = match
        caller = check_auth(self.config, headers)
        if caller is None:
            # PPRO's 401 body is not the usual envelope.
            return json_response(401, {"message": "Unauthorized"})
        key = headers.get("request-idempotency-key") if method == "POST" else None
        injection = self.faults.take(has_idempotency_key=bool(key))
        delay = self.faults.latency_s
        if injection is not None and injection.kind == "latency":
            delay += INJECTED_LATENCY_S
        early = early_fault(injection, self.clock.now(), delay)
        if early is not None:
            return early
        if method == "POST" and media_type(headers) != "application/json":
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
                    stored.status, {**JSON_HEADERS, "Request-Idempotency": "true"}, stored.body, delay_s=delay
                )
        request = ApiRequest(method, path, query, headers, body, caller, params)
        try:
            status, payload = handler(request)
        except ApiError as exc:
            return self._error(exc, delay)
        response = json_response(status, payload)
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

    def _match(self, method: str, path: str) -> tuple[Handler, tuple[str, ...]] | SimResponse:
        try:
            return match(self._api_routes, method, path)
        except ApiError as exc:
            return self._error(exc)

    def _error(self, exc: ApiError, delay: float = 0.0) -> SimResponse:
        return error_response(self.clock.now(), exc, delay)

    def _charge_or(self, charge_id: str, status: int, caller: Caller | None) -> Charge:
        """The charge, or PPRO's answer for an unknown id; ``caller`` None is the controller.

        Another merchant's charge gets exactly the answer an id never issued gets, so ids
        cannot be probed across merchants.
        """
        charge = self._state.charges.get(charge_id)
        if charge is None or (caller is not None and self._owners.get(charge_id) != caller):
            raise ApiError(status, "Payment charge not found")
        return charge

    def _agreement_or(self, agreement_id: str, status: int, caller: Caller | None) -> Agreement:
        agreement = self._state.agreements.get(agreement_id)
        if agreement is None or (caller is not None and self._owners.get(agreement_id) != caller):
            raise ApiError(status, "Payment agreement not found")
        return agreement

    def _body_with_webhooks_url(self, req: ApiRequest) -> Json:
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

    def _create_charge(self, req: ApiRequest) -> tuple[int, object]:
        charge = self._charges.create(self._body_with_webhooks_url(req), req.merchant_id)
        self._owners[charge.id] = req.caller
        return 200, to_json(charge)

    def _search_charges(self, req: ApiRequest) -> tuple[int, object]:
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
        return 200, search_page(found, req.query.get("page"))

    def _get_charge(self, req: ApiRequest) -> tuple[int, object]:
        return 200, to_json(self._charge_or(req.params[0], 404, req.caller))

    def _charge_operation(self, req: ApiRequest) -> tuple[int, object]:
        # PPRO answers an operation on an unknown charge id with 400, not 404.
        charge = self._charge_or(req.params[0], 400, req.caller)
        body = req.json()
        kind = req.params[1]
        # The new operation's JSON is at most the request's fields plus fixed keys, so this
        # bounds the charge (and every answer that carries it) before anything is stored.
        growth = len(json.dumps(body)) + 1024
        if len(json.dumps(to_json(charge))) + growth > MAX_CHARGE_BYTES:
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
        return 200, to_json(op)

    def _sub_objects(self, charge: Charge, kind: str) -> list[Json]:
        items: dict[str, list[Any]] = {
            "authorizations": charge.authorizations,
            "captures": charge.captures,
            "refunds": charge.refunds,
            "voids": charge.voids,
            "discards": charge.discards,
        }
        return [to_json(item) for item in items[kind]]

    def _list_sub(self, req: ApiRequest) -> tuple[int, object]:
        charge = self._charge_or(req.params[0], 404, req.caller)
        return 200, {"data": self._sub_objects(charge, req.params[1])}

    def _get_sub(self, req: ApiRequest) -> tuple[int, object]:
        charge = self._charge_or(req.params[0], 404, req.caller)
        for item in self._sub_objects(charge, req.params[1]):
            if item["id"] == req.params[2]:
                return 200, item
        raise ApiError(404, f"{req.params[1][:-1].capitalize()} not found")

    def _create_agreement(self, req: ApiRequest) -> tuple[int, object]:
        agreement = self._agreements.create(self._body_with_webhooks_url(req), req.merchant_id)
        self._owners[agreement.id] = req.caller
        if agreement.initial_charge_id is not None:
            self._owners[agreement.initial_charge_id] = req.caller
        return 200, to_json(agreement)

    def _get_agreement(self, req: ApiRequest) -> tuple[int, object]:
        return 200, to_json(self._agreement_or(req.params[0], 404, req.caller))

    def _agreement_charge(self, req: ApiRequest) -> tuple[int, object]:
        agreement = self._agreement_or(req.params[0], 400, req.caller)
        charge = self._agreements.charge(agreement, self._body_with_webhooks_url(req))
        self._owners[charge.id] = req.caller
        return 200, to_json(charge)

    def _revoke(self, req: ApiRequest) -> tuple[int, object]:
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
            return to_json(self._charges.settle_refund(charge, refund_id, succeed=succeed))

    def charge_json(self, charge_id: str) -> Json:
        with self._lock:
            return to_json(self._charge_or(charge_id, 404, None))

    def agreement_json(self, agreement_id: str) -> Json:
        with self._lock:
            return to_json(self._agreement_or(agreement_id, 404, None))

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
