"""The controller's routes under ``/__sandbox__/``: clock, faults, consumer actions, scenarios,
chargebacks, refund settlement, events and webhook delivery, and the hosted page."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ._clock import iso_ms
from ._errors import ApiError, SandboxStateError, UnknownResourceError, bad_request
from ._faults import FAULT_KINDS
from ._hosted_page import ACTIONS, HostedPages
from ._middleware import SimResponse, json_response
from ._models import Json
from ._validation import parse_object

if TYPE_CHECKING:
    from ._simulator import PproSimulator

MAX_FAULT_LATENCY_S = 10.0
MAX_RETRY_AFTER_S = 3600
MAX_INJECTIONS = 1000
_RATE_KNOBS = frozenset({"error_rate", "rate_limit_rate", "drop_after_store_rate", "in_flight_conflict_rate"})
_SWITCH_KNOBS = frozenset({"duplicate_webhooks", "reorder_webhooks"})


def _json_of(body: bytes) -> Json:
    return parse_object(body) if body.strip() else {}


class AdminApi:
    """The admin routes of one simulator; called with the simulator's lock held."""

    def __init__(self, simulator: PproSimulator) -> None:
        self._sim = simulator
        self._pages = HostedPages(simulator)

    def handle(self, method: str, path: str, body: bytes) -> SimResponse:
        """``/__sandbox__/...``: the controller's routes, with their errors as PPRO-style envelopes."""
        parts = path.strip("/").split("/")[1:]
        try:
            return self._route(method, parts, body)
        except ApiError as exc:
            return self._sim._error(exc)
        except UnknownResourceError as exc:
            return self._sim._error(ApiError(404, f"Unknown id {exc.args[0]}"))
        except (SandboxStateError, ValueError) as exc:
            return self._sim._error(ApiError(409, str(exc)))

    def _admin_json(self, body: bytes) -> Json:
        return parse_object(body) if body.strip() else {}

    def _route(self, method: str, parts: list[str], body: bytes) -> SimResponse:
        match (method, parts):
            case ("GET", ["authenticate", rid]):
                return self._pages.page(rid)
            case ("POST", ["authenticate", rid]):
                return self._pages.submit(rid, body)
            case ("GET", ["clock"]):
                return json_response(200, {"now": iso_ms(self._sim.clock.now())})
            case ("POST", ["clock", "advance"]):
                seconds = number(_json_of(body), "seconds")
                try:
                    now = self._sim.clock.advance(seconds)
                except ValueError as exc:
                    raise bad_request(str(exc)) from None
                self._sim._expire_locked()
                return json_response(200, {"now": iso_ms(now)})
            case ("GET", ["faults"]):
                return json_response(200, self._faults_json())
            case ("POST", ["faults"]):
                self._set_faults(_json_of(body))
                return json_response(200, self._faults_json())
            case ("POST", ["faults", "inject"]):
                data = _json_of(body)
                kind = data.get("kind")
                if kind not in FAULT_KINDS:
                    raise bad_request(f"kind must be one of {', '.join(sorted(FAULT_KINDS))}")
                count = whole(data, "count", 1, MAX_INJECTIONS)
                retry_after = whole(data, "retryAfter", 0, MAX_RETRY_AFTER_S)
                self._sim.faults.inject_next(kind, 1 if count is None else count, retry_after)
                return json_response(200, self._faults_json())
            case ("POST", ["faults", "clear"]):
                self._sim.faults.clear()
                return json_response(200, self._faults_json())
            case ("POST", ["consumer", rid, action]):
                if action not in ACTIONS:
                    raise bad_request(f"action must be one of {', '.join(ACTIONS)}")
                return json_response(200, {"id": rid, "status": self._sim.consumer_action(rid, action)})
            case (_, ["scenarios"]) | (
                "POST",
                ["charges", _, "provider-confirmation" | "release" | "discard"],
            ):
                return json_response(200, self._sim._charges.admin(method, parts, _json_of(body)))
            case ("POST", ["expire"]):
                return json_response(200, {"expired": self._sim._expire_locked()})
            case ("POST", ["charges", cid, "chargeback"]):
                # A mistyped amount used to be ignored, charging back everything.
                amount = whole(_json_of(body), "amount", 1, None)
                chargeback = self._sim.chargeback(cid, amount)
                return json_response(
                    200, {"paymentChargeId": chargeback.charge_id, "amount": chargeback.amount}
                )
            case ("POST", ["charges", cid, "refunds", rid, "settle"]):
                outcome = _json_of(body).get("outcome", "succeed")
                if outcome not in ("succeed", "fail"):
                    raise bad_request("outcome must be 'succeed' or 'fail'")
                return json_response(200, self._sim.settle_refund(cid, rid, succeed=outcome == "succeed"))
            case ("GET", ["events"]):
                return json_response(200, {"data": [e.envelope for e in self._sim._state.events]})
            case ("GET", ["webhooks"]):
                return json_response(
                    200, {"pending": [e.envelope for e in self._sim._state.outbox.pending_events()]}
                )
            case ("POST", ["webhooks", "deliver"]):
                if self._sim.deliver_now is None:
                    raise ApiError(409, "No webhook sender is attached (served mode only)")
                # Delivery calls out over HTTP: release the lock while it runs. The hook never
                # waits for another delivery run (see RunningSandbox.deliver_webhooks).
                hook = self._sim.deliver_now
                self._sim._lock.release()
                try:
                    delivered = hook()
                finally:
                    self._sim._lock.acquire()
                return json_response(200, {"delivered": delivered})
        raise ApiError(404, f"No sandbox admin route {method} /__sandbox__/{'/'.join(parts)}")

    def _faults_json(self) -> Json:
        f = self._sim.faults
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
                checked[name] = number(data, name, maximum=1.0)
            elif name in _SWITCH_KNOBS:
                if not isinstance(data[name], bool):
                    raise bad_request(f"{name} must be a boolean")
                checked[name] = data[name]
            elif name == "latency_s":
                checked[name] = number(data, name, maximum=MAX_FAULT_LATENCY_S)
            else:  # retry_after_s: null switches the header off
                checked[name] = whole(data, name, 0, MAX_RETRY_AFTER_S)
        for name, value in checked.items():
            setattr(self._sim.faults, name, value)


def number(data: Json, name: str, maximum: float | None = None) -> float:
    """A required finite number from 0 to ``maximum``."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_request(f"{name} must be a number")
    if value < 0 or (maximum is not None and value > maximum):
        bound = f"from 0 to {maximum:g}" if maximum is not None else "at least 0"
        raise bad_request(f"{name} must be {bound}")
    return value


def whole(data: Json, name: str, minimum: int, maximum: int | None) -> int | None:
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
