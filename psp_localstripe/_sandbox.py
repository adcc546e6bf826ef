"""``LocalStripeSandbox``: the contract suite's ProviderSandbox over a localstripe process.

localstripe (https://github.com/adrienverge/localstripe) is a stateful Stripe fake that this
project did not write, so the stripe plugin and its test double cannot share a wrong belief.
This adapter adds only what the suite needs around it, and says what it cannot show:

- a *consumer driver* over localstripe's own test endpoints (``_authenticate`` of a
  PaymentIntent waiting for 3-D Secure, a second ``confirm`` of a SetupIntent);
- an in-process *fault layer* in the transport, for the faults that happen before a request
  reaches Stripe (refused connections, timeouts, 5xx, 429, 409 in flight, latency): a fault
  after the request was stored would need Stripe's idempotent replay to resolve, which
  localstripe lacks, so those are not offered;
- a *parameter filter*: localstripe answers 400 to documented Stripe parameters it does not
  implement (``return_url``, ``description``, a refund's ``reason``); the filter removes
  exactly those before the request reaches it and counts what it removed. The plugin keeps
  sending what Stripe documents.

``gaps`` names the checks localstripe cannot show; the suite skips them with that reason.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import hashlib
import hmac
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from psp_core import FAULT_KINDS, Money, SandboxEffects, SandboxWebhook, WebhookOrder, arrange_webhooks

from ._process import LocalStripe

# Test-mode keys for a local fake: localstripe accepts any key that starts with sk_.
SECRET_KEY = "sk_test_psp_localstripe"  # noqa: S105
WEBHOOK_SECRET = "whsec_psp_localstripe"  # noqa: S105
THREE_D_SECURE_CARD = "4000002500003155"
"""A card localstripe (like Stripe's test mode) sends through 3-D Secure before charging."""
PLAIN_CARD = "4242424242424242"
INJECTED_LATENCY_S = 0.05

FAULTS: frozenset[str] = frozenset(
    {"connection_refused", "timeout", "5xx", "429", "429_retry_after", "409_in_flight", "latency"}
)
assert FAULTS <= FAULT_KINDS

UNSUPPORTED_PARAMETERS: Mapping[str, frozenset[str]] = {
    # path suffix -> top-level parameters localstripe 1.15 refuses with "400 Unexpected ..."
    "/v1/payment_intents": frozenset({"return_url", "description", "receipt_email"}),
    "/v1/refunds": frozenset({"reason"}),
    "/v1/setup_intents": frozenset({"description"}),
    "/confirm": frozenset({"return_url"}),
}

_NO_REPLAY = (
    "localstripe does not implement Stripe's Idempotency-Key replay (a repeated request makes a "
    "second object), which real Stripe documents at https://docs.stripe.com/api/idempotent_requests"
)
_NO_REDIRECT = (
    "localstripe answers 3-D Secure with a use_stripe_sdk next action and never with "
    "redirect_to_url, which Stripe sends when the confirmation carries a return_url "
    "(https://docs.stripe.com/payments/3d-secure/authentication-flow)"
)
_REST_AS_REFUND = (
    "localstripe records the uncaptured rest of a partial capture as a refund of the charge; Stripe "
    "releases it and reports amount_captured (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method)"
)
GAPS: Mapping[str, str] = {
    "idempotency": _NO_REPLAY,
    "unknown_outcome": _NO_REPLAY,
    "test_refunds_never_exceed_the_captured_amount": (
        "localstripe accepts a refund beyond what is left of the charge, which Stripe refuses "
        "(https://docs.stripe.com/api/refunds/create)"
    ),
    "test_every_declared_currency_round_trips_its_amount": _NO_REDIRECT,
    "recurring": _NO_REDIRECT,
    "partial_capture": _REST_AS_REFUND,
    "authorization_validity": (
        "localstripe never lets a hold expire (Stripe cancels an uncaptured PaymentIntent after "
        "the hold's validity: https://docs.stripe.com/payments/place-a-hold-on-a-payment-method)"
    ),
    "test_forged_tampered_stale_and_unsigned_webhooks_are_rejected": (
        "localstripe emits no event when it places a hold (Stripe sends "
        "payment_intent.amount_capturable_updated: https://docs.stripe.com/api/events/types), so an "
        "approved payment has no webhook to tamper with; tests/stripe/test_webhooks.py checks forged, "
        "tampered, stale and unsigned deliveries"
    ),
    "test_random_operation_sequences_follow_the_state_machine": _REST_AS_REFUND,
}


DELIVERY_TIMEOUT_S = 20.0
WEBHOOK_ENDPOINT = "psp-localstripe-sandbox"


class _Receiver:
    """One webhook endpoint per test process, registered with localstripe: keeps every delivery."""

    def __init__(self, server: LocalStripe) -> None:
        deliveries: dict[str, SandboxWebhook] = {}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200)
                self.end_headers()
                try:
                    event_id = json.loads(body)["id"]
                except (ValueError, KeyError, TypeError):
                    return
                with lock:
                    deliveries[event_id] = SandboxWebhook(dict(self.headers.items()), body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # localstripe's deliveries are not news

        self._deliveries, self._lock = deliveries, lock
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._http.serve_forever, name="localstripe-webhooks", daemon=True).start()
        url = f"http://127.0.0.1:{self._http.server_address[1]}/stripe-webhooks"
        registered = httpx.post(
            f"{server.url}/_config/webhooks/{WEBHOOK_ENDPOINT}", data={"url": url, "secret": WEBHOOK_SECRET}
        )
        registered.raise_for_status()

    def has_all(self, event_ids: list[str]) -> bool:
        with self._lock:
            return all(event_id in self._deliveries for event_id in event_ids)

    def delivery(self, event_id: str) -> SandboxWebhook:
        with self._lock:
            return self._deliveries[event_id]

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@functools.cache
def shared_receiver(server: LocalStripe) -> _Receiver:
    receiver = _Receiver(server)
    atexit.register(receiver.close)
    return receiver


@functools.cache
def shared_server() -> LocalStripe:
    """One localstripe per test process (each xdist worker has its own), stopped at exit."""
    server = LocalStripe()
    atexit.register(server.close)
    return server


class _FaultLayer(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Between the gateway and localstripe: the parameter filter, then injected faults."""

    def __init__(self, sandbox: LocalStripeSandbox) -> None:
        self._sandbox = sandbox
        self._sync = httpx.HTTPTransport()
        self._async = httpx.AsyncHTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request = self._sandbox.adapt(request)
        fault = self._sandbox.take_fault(request)
        if fault == "latency":
            time.sleep(INJECTED_LATENCY_S)
        early = _early(fault, request)
        if early is not None:
            return early
        response = self._sync.handle_request(request)
        response.read()
        self._sandbox.saw(response)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request = self._sandbox.adapt(request)
        fault = self._sandbox.take_fault(request)
        if fault == "latency":
            await asyncio.sleep(INJECTED_LATENCY_S)
        early = _early(fault, request)
        if early is not None:
            return early
        response = await self._async.handle_async_request(request)
        await response.aread()
        self._sandbox.saw(response)
        return response

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
    body = {
        "error": {
            "type": "api_error" if status >= 500 else "invalid_request_error",
            "code": code,
            "message": message,
        }
    }
    return httpx.Response(status, json=body, headers=dict(headers or {}))


def _early(fault: str | None, request: httpx.Request) -> httpx.Response | None:
    """The answer a fault gives before the request reaches localstripe (None: forward it)."""
    if fault is None or fault == "latency":
        return None
    if fault == "connection_refused":
        raise httpx.ConnectError("injected: connection refused", request=request)
    if fault == "timeout":
        raise httpx.ConnectTimeout("injected: connect timeout", request=request)
    if fault == "5xx":
        return _error(500, "api_error", "injected: an error occurred on Stripe's side")
    if fault == "429":
        return _error(429, "rate_limit", "injected: too many requests")
    if fault == "429_retry_after":
        return _error(429, "rate_limit", "injected: too many requests", {"Retry-After": "0"})
    if fault == "409_in_flight":
        return _error(409, "idempotency_key_in_use", "injected: another request with this key is in progress")
    raise AssertionError(f"unknown fault {fault!r}")


class LocalStripeSandbox:
    """A ProviderSandbox over a localstripe process (shared per test process; payments never clash)."""

    gaps: Mapping[str, str] = GAPS

    def __init__(self, server: LocalStripe | None = None) -> None:
        self._server = server or shared_server()
        self._faults: deque[str] = deque()
        self._lock = threading.Lock()
        self.removed: Counter[str] = Counter()
        """Parameters the filter removed (``"/v1/refunds reason"`` -> count), for the docs' record."""
        self._transport = _FaultLayer(self)
        self._ahead = timedelta(0)
        self._mine: set[str] = set()
        self._delivered: set[str] = set()
        self._receiver = shared_receiver(self._server)
        self._admin = httpx.Client(
            base_url=self._server.url, headers={"Authorization": f"Bearer {SECRET_KEY}"}
        )

    # -- what the gateway gets --------------------------------------------------------------

    @property
    def options(self) -> Mapping[str, object]:
        return {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, "base_url": self._server.url}

    @property
    def fault_kinds(self) -> frozenset[str]:
        return FAULTS

    @property
    def webhook_tolerance(self) -> timedelta | None:
        return timedelta(minutes=5)

    def transport(self) -> httpx.BaseTransport:
        return self._transport

    def async_transport(self) -> httpx.AsyncBaseTransport:
        return self._transport

    def now(self) -> datetime:
        return datetime.now(UTC) + self._ahead

    def advance(self, delta: timedelta) -> None:
        """Move the clock the gateway and webhook checks read. localstripe itself keeps real
        time and expires nothing, so what only the PSP would do later is not simulated."""
        self._ahead += delta

    def adapt(self, request: httpx.Request) -> httpx.Request:
        if request.method != "POST":
            return request
        path = request.url.path
        refused = frozenset().union(
            *(names for suffix, names in UNSUPPORTED_PARAMETERS.items() if path.endswith(suffix))
        )
        content = request.content
        # Most requests carry none of the refused parameters: look before parsing the body.
        if not any(f"{name}=".encode() in content or f"{name}%5B".encode() in content for name in refused):
            return request
        pairs = parse_qsl(request.content.decode("ascii"), keep_blank_values=True)
        kept = [(key, value) for key, value in pairs if key.split("[", 1)[0] not in refused]
        if len(kept) == len(pairs):
            return request
        for key in {key.split("[", 1)[0] for key, _ in pairs} & refused:
            self.removed[f"{path} {key}"] += 1
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
        return httpx.Request(
            request.method,
            request.url,
            headers=headers,
            content=urlencode(kept).encode("ascii"),
            extensions=request.extensions,
        )

    def take_fault(self, request: httpx.Request) -> str | None:
        with self._lock:
            if not self._faults:
                return None
            if self._faults[0] == "409_in_flight" and "idempotency-key" not in request.headers:
                return None
            return self._faults.popleft()

    # -- the consumer driver ----------------------------------------------------------------

    def payment_method_token(self, *, authenticate: bool = True) -> str:
        """A card PaymentMethod, as Stripe.js would hand the host's front end (3-D Secure by default)."""
        number = THREE_D_SECURE_CARD if authenticate else PLAIN_CARD
        card = {"card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2034", "card[cvc]": "123"}
        answer = self._admin.post("/v1/payment_methods", data={"type": "card", **card})
        answer.raise_for_status()
        token: str = answer.json()["id"]
        return token

    def sepa_debit_token(self, iban: str = "DE89370400440532013000") -> str:
        answer = self._admin.post(
            "/v1/payment_methods", data={"type": "sepa_debit", "sepa_debit[iban]": iban}
        )
        answer.raise_for_status()
        token: str = answer.json()["id"]
        return token

    def _authenticate(self, intent_id: str, *, success: bool) -> None:
        intent = self._admin.get(f"/v1/payment_intents/{intent_id}").json()
        answer = self._admin.post(
            f"/v1/payment_intents/{intent_id}/_authenticate",
            data={"client_secret": intent["client_secret"], "success": "true" if success else "false"},
        )
        answer.raise_for_status()

    def approve(self, resource_id: str) -> None:
        if resource_id.startswith("seti_"):
            # localstripe completes a SetupIntent waiting for 3-D Secure by confirming it again.
            self._admin.post(f"/v1/setup_intents/{resource_id}/confirm").raise_for_status()
            return
        self._authenticate(resource_id, success=True)

    def decline(self, resource_id: str) -> None:
        if resource_id.startswith("seti_"):
            raise NotImplementedError("localstripe cannot fail a SetupIntent's authentication")
        self._authenticate(resource_id, success=False)

    def cancel(self, resource_id: str) -> None:
        raise NotImplementedError("localstripe has no consumer cancellation on the 3-D Secure page")

    def let_time_out(self, resource_id: str) -> None:
        raise NotImplementedError("localstripe keeps real time and never expires a PaymentIntent")

    def declines(self, amount: Money) -> bool:
        return False  # localstripe declines by card number, never by amount

    def chargeback(self, payment_id: str, amount: Money | None = None) -> None:
        raise NotImplementedError("localstripe cannot open a dispute")

    # -- webhooks, faults, effects ----------------------------------------------------------

    def saw(self, response: httpx.Response) -> None:
        """Remember the ids of the objects localstripe answered with: its events about them are ours."""
        if not response.is_success or not response.content.startswith(b"{"):
            return
        try:
            answer = json.loads(response.content)
        except ValueError:
            return
        if isinstance(answer, dict) and isinstance(answer.get("id"), str):
            with self._lock:
                self._mine.add(answer["id"])

    def _events(self) -> list[dict[str, Any]]:
        """localstripe's events about this sandbox's objects, not yet delivered, oldest first."""
        mine: list[dict[str, Any]] = []
        for event in self._all("/v1/events"):  # localstripe lists them in the order they happened
            data = event.get("data")
            obj = data.get("object") if isinstance(data, dict) else None
            owner = obj.get("id") if isinstance(obj, dict) else None
            if owner in self._mine and event["id"] not in self._delivered:
                mine.append(event)
        return mine

    def deliver_webhooks(self, order: WebhookOrder = WebhookOrder.AS_SENT) -> list[SandboxWebhook]:
        """localstripe's own signed deliveries of the events about this sandbox's objects.

        localstripe posts each event a second after it happened to every registered endpoint;
        this waits for the ones it holds to arrive at the process's receiver, exactly as sent.
        """
        wanted = [event["id"] for event in self._events()]
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while not self._receiver.has_all(wanted):
            if time.monotonic() > deadline:
                raise AssertionError(f"localstripe did not deliver {wanted} within {DELIVERY_TIMEOUT_S} s")
            time.sleep(0.05)
        self._delivered.update(wanted)
        return arrange_webhooks([self._receiver.delivery(event_id) for event_id in wanted], order)

    def forge_webhook(self, webhook: SandboxWebhook) -> SandboxWebhook:
        stamp = str(int(time.time()))
        forged = hmac.new(
            b"whsec_not_the_merchants", stamp.encode() + b"." + webhook.body, hashlib.sha256
        ).hexdigest()
        return SandboxWebhook({**webhook.headers, "Stripe-Signature": f"t={stamp},v1={forged}"}, webhook.body)

    def inject_fault(self, kind: str, count: int = 1) -> None:
        if kind not in FAULTS:
            raise ValueError(f"the localstripe sandbox injects {sorted(FAULTS)}, not {kind!r}")
        with self._lock:
            self._faults.extend([kind] * count)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _intent(self, payment_id: str) -> dict[str, object]:
        answer = self._admin.get(f"/v1/payment_intents/{payment_id}")
        answer.raise_for_status()
        intent: dict[str, object] = answer.json()
        return intent

    def effects(self, payment_id: str) -> SandboxEffects:
        intent = self._intent(payment_id)
        charge = intent.get("latest_charge")
        captures = refunds = 0
        if isinstance(charge, dict):
            captures = 1 if charge.get("captured") and charge.get("status") == "succeeded" else 0
            listed = charge.get("refunds")
            refunds = len(listed.get("data", [])) if isinstance(listed, dict) else 0
        voids = 1 if intent.get("status") == "canceled" else 0
        return SandboxEffects(captures=captures, refunds=refunds, voids=voids)

    def _all(self, path: str) -> list[dict[str, object]]:
        objects: list[dict[str, object]] = []
        params: dict[str, str] = {"limit": "100"}
        while True:
            page = self._admin.get(path, params=params).json()
            objects += page["data"]
            if not page.get("has_more") or not page["data"]:
                return objects
            params["starting_after"] = page["data"][-1]["id"]

    def _with_reference(self, path: str, merchant_reference: str) -> int:
        count = 0
        for item in self._all(path):
            metadata = item.get("metadata")
            if isinstance(metadata, dict) and metadata.get("merchant_reference") == merchant_reference:
                count += 1
        return count

    def payment_count(self, merchant_reference: str) -> int:
        return self._with_reference("/v1/payment_intents", merchant_reference)

    def mandate_count(self, merchant_reference: str) -> int:
        return self._with_reference("/v1/setup_intents", merchant_reference)

    def revocations(self, mandate_id: str) -> int:
        setup = self._admin.get(f"/v1/setup_intents/{mandate_id}").json()
        metadata = setup.get("metadata") or {}
        return 1 if metadata.get("psp_revoked") == "true" else 0

    def close(self) -> None:
        self._admin.close()

    def __repr__(self) -> str:
        return f"LocalStripeSandbox({self._server.url})"


def signed_webhook(body: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> SandboxWebhook:
    """``body`` signed Stripe's way (for tests that build an event themselves)."""
    stamp = str(int(time.time()) if at is None else at)
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SandboxWebhook({"Stripe-Signature": f"t={stamp},v1={signature}"}, body)


__all__ = ["GAPS", "LocalStripeSandbox", "shared_server", "signed_webhook"]
