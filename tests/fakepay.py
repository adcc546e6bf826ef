"""A test-only provider, ``fakepay``, and the in-memory PSP it talks to.

It exists to prove the core with no Amazon Pay in sight: every hook, both gateways,
declines, retries and unknown outcomes. The fake PSP behind ``httpx.MockTransport`` keeps
state, honours idempotency keys and can be told to fail in the ways real networks do.

Its wire format is deliberately unlike PPRO's (snake_case, major-unit strings), so the core
cannot accidentally depend on PPRO's shapes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx

from psp_core import (
    AmountLimits,
    AuthorizeRequest,
    Capabilities,
    CaptureMode,
    CaptureRequest,
    ConfigurationError,
    Decline,
    DeclineCode,
    EventKind,
    Flow,
    IdempotencyConflictError,
    Mandate,
    MandateChargeRequest,
    MandateRequest,
    MandateStatus,
    Money,
    NextAction,
    Operation,
    OperationKind,
    Payment,
    PaymentStatus,
    ProviderConfig,
    ProviderError,
    ProviderInfo,
    ProviderResponseError,
    RefundRequest,
    RevokeMandateRequest,
    Secret,
    VoidRequest,
    WebhookEvent,
    WebhookVerificationError,
    hookimpl,
    signing,
    status_from_totals,
)

NAME = "fakepay"
BASE_URL = "https://fakepay.test"
DECLINE_AMOUNT = 666_00  # this amount is declined when the consumer approves
MAX_TEXT = 255


def capabilities() -> Capabilities:
    return Capabilities(
        currencies=frozenset({"EUR", "JPY", "KWD"}),
        countries=frozenset({"DE", "JP", "KW"}),
        amount_limits={
            "EUR": AmountLimits(Money(100, "EUR"), Money(1_000_000, "EUR")),
            "JPY": AmountLimits(Money(100, "JPY"), Money(1_000_000, "JPY")),
            "KWD": AmountLimits(Money(1000, "KWD"), Money(10_000_000, "KWD")),
        },
        capture_modes=frozenset({CaptureMode.AUTOMATIC, CaptureMode.SEPARATE}),
        partial_capture=True,
        multiple_captures=True,
        void=True,
        partial_void=True,
        refund_window=timedelta(days=30),
        recurring=True,
        chargebacks=True,
        # The fake's own limits, unlike any real PSP's, so no test leans on one PSP's numbers.
        max_text=MAX_TEXT,
        max_labels=5,
        max_label_key=20,
        max_label_value=40,
    )


# -- the fake PSP --------------------------------------------------------------------------


@attrs.define
class FakePsp:
    """An in-memory PSP: charges, operations, mandates, idempotency and injected faults."""

    api_key: str = "fk_test_key"
    webhook_secret: str = "fk_whsec_test"
    now: datetime = attrs.field(factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    charges: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    mandates: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    replays: dict[str, tuple[str, httpx.Response]] = attrs.field(factory=dict)
    requests: list[httpx.Request] = attrs.field(factory=list)
    effects: int = 0
    faults: list[str] = attrs.field(factory=list)
    """Faults for the next requests, in order: "503", "429", "conflict", "409", "drop", "connect"."""
    _ids: itertools.count[int] = attrs.field(factory=itertools.count)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        fault = self.faults.pop(0) if self.faults else None
        if fault == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if fault == "503":
            return httpx.Response(503, json={"error": "unavailable"})
        if fault == "429":
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"error": "slow down"})
        if fault == "conflict":
            return httpx.Response(409, json={"error": "in_flight"})
        if fault == "409":  # a conflict whose wording says nothing about a request in flight
            return httpx.Response(409, json={"error": "duplicate"})
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return httpx.Response(401, json={"error": "unauthorized"})
        key = request.headers.get("Idempotency-Key")
        body_hash = hashlib.sha256(request.content).hexdigest()
        if request.method == "POST" and key is not None and key in self.replays:
            stored_hash, stored = self.replays[key]
            if stored_hash != body_hash:
                return httpx.Response(409, json={"error": "key_reused"})
            if fault == "drop":
                raise httpx.ReadTimeout("read timed out", request=request)
            return httpx.Response(stored.status_code, content=stored.content, headers={"Replayed": "1"})
        response = self._route(request)
        if request.method == "POST" and key is not None and response.status_code < 400:
            self.replays[key] = (body_hash, response)
        if fault == "drop":
            # The operation was stored; the answer never arrives.
            raise httpx.ReadTimeout("read timed out", request=request)
        return response

    def _route(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        body = json.loads(request.content) if request.content else {}
        match request.method, parts:
            case "POST", ["charges"]:
                return self._create_charge(body)
            case "GET", ["charges"]:
                ref = request.url.params.get("reference")
                found = [c for c in self.charges.values() if c["reference"] == ref]
                return httpx.Response(200, json={"charges": found})
            case "GET", ["charges", charge_id]:
                return self._charge_or_404(charge_id)
            case "POST", ["charges", charge_id, op]:
                return self._operate(charge_id, op, body)
            case "POST", ["mandates"]:
                return self._create_mandate(body)
            case "GET", ["mandates", mandate_id]:
                mandate = self.mandates.get(mandate_id)
                return httpx.Response(200, json=mandate) if mandate else httpx.Response(404, json={})
            case "POST", ["mandates", mandate_id, "charges"]:
                return self._charge_mandate(mandate_id, body)
            case "POST", ["mandates", mandate_id, "revoke"]:
                mandate = self.mandates.get(mandate_id)
                if mandate is None or mandate["state"] != "active":
                    return httpx.Response(400, json={"error": "not_active"})
                mandate["state"] = "revoked"
                self.effects += 1
                return httpx.Response(200, json=mandate)
        return httpx.Response(404, json={"error": "no_route"})

    def _charge_or_404(self, charge_id: str) -> httpx.Response:
        charge = self.charges.get(charge_id)
        return (
            httpx.Response(200, json=charge) if charge else httpx.Response(404, json={"error": "not_found"})
        )

    def _create_charge(self, body: dict[str, Any], *, state: str = "action") -> httpx.Response:
        self.effects += 1
        charge_id = self._id("ch")
        self.charges[charge_id] = {
            "id": charge_id,
            "state": state,
            "amount": body["amount"],
            "currency": body["currency"],
            "reference": body["reference"],
            "capture": body["capture"],
            "redirect": f"{BASE_URL}/approve/{charge_id}",
            "ops": [],
            "captured_at": None,
            "decline": None,
            "mandate": body.get("mandate"),
        }
        return httpx.Response(200, json=self.charges[charge_id])

    def approve(self, charge_id: str) -> None:
        charge = self.charges[charge_id]
        if charge["amount"] == str(Money(DECLINE_AMOUNT, charge["currency"]).amount):
            charge["state"], charge["decline"] = "declined", "NSF"
            return
        charge["ops"].append({"kind": "authorization", "id": self._id("au"), "amount": charge["amount"]})
        charge["state"] = "authorized"
        if charge["capture"] == "auto":
            self._capture(charge, charge["amount"])

    def _capture(self, charge: dict[str, Any], amount: str) -> None:
        charge["ops"].append({"kind": "capture", "id": self._id("cp"), "amount": amount})
        charge["captured_at"] = charge["captured_at"] or self.now.isoformat()
        charge["state"] = "captured"

    def _operate(self, charge_id: str, op: str, body: dict[str, Any]) -> httpx.Response:
        charge = self.charges.get(charge_id)
        if charge is None:
            return httpx.Response(404, json={"error": "not_found"})
        self.effects += 1
        if op == "capture":
            self._capture(charge, body["amount"])
        elif op in ("refund", "void"):
            charge["ops"].append({"kind": op, "id": self._id(op[:2]), "amount": body["amount"]})
        else:
            return httpx.Response(404, json={"error": "no_route"})
        return httpx.Response(200, json=charge)

    def _create_mandate(self, body: dict[str, Any]) -> httpx.Response:
        self.effects += 1
        mandate_id = self._id("md")
        self.mandates[mandate_id] = {
            "id": mandate_id,
            "state": "action",
            "reference": body["reference"],
            "redirect": f"{BASE_URL}/approve/{mandate_id}",
        }
        return httpx.Response(200, json=self.mandates[mandate_id])

    def approve_mandate(self, mandate_id: str) -> None:
        self.mandates[mandate_id]["state"] = "active"

    def _charge_mandate(self, mandate_id: str, body: dict[str, Any]) -> httpx.Response:
        mandate = self.mandates.get(mandate_id)
        if mandate is None:
            return httpx.Response(404, json={"error": "not_found"})
        response = self._create_charge({**body, "mandate": mandate_id}, state="action")
        charge = self.charges[response.json()["id"]]
        if mandate["state"] == "active":
            self.approve(charge["id"])
        else:
            charge["state"], charge["decline"] = "declined", f"MANDATE_{mandate['state'].upper()}"
        return httpx.Response(200, json=charge)

    def webhook(
        self, charge_id: str, *, event_id: str, secret: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """A signed webhook reporting the charge as it is now."""
        body = json.dumps(
            {"id": event_id, "type": "charge.updated", "charge": self.charges[charge_id]}
        ).encode()
        stamp = str(int(self.now.timestamp()))
        signature = signing.hmac_sha256_hex(secret or self.webhook_secret, stamp.encode() + b"." + body)
        return {"Fake-Signature": f"t={stamp},s={signature}"}, body


# -- the provider plugin -------------------------------------------------------------------

_STATES = {
    "action": PaymentStatus.REQUIRES_ACTION,
    "authorized": PaymentStatus.AUTHORIZED,
    "captured": PaymentStatus.CAPTURED,
    "declined": PaymentStatus.DECLINED,
}
_KINDS = {
    "authorization": OperationKind.AUTHORIZATION,
    "capture": OperationKind.CAPTURE,
    "refund": OperationKind.REFUND,
    "void": OperationKind.VOID,
}
_EVENT_KINDS = {
    PaymentStatus.REQUIRES_ACTION: EventKind.PAYMENT_REQUIRES_ACTION,
    PaymentStatus.AUTHORIZED: EventKind.PAYMENT_AUTHORIZED,
    PaymentStatus.PARTIALLY_CAPTURED: EventKind.PAYMENT_CAPTURED,
    PaymentStatus.CAPTURED: EventKind.PAYMENT_CAPTURED,
    PaymentStatus.PARTIALLY_REFUNDED: EventKind.PAYMENT_REFUNDED,
    PaymentStatus.REFUNDED: EventKind.PAYMENT_REFUNDED,
    PaymentStatus.VOIDED: EventKind.PAYMENT_VOIDED,
    PaymentStatus.DECLINED: EventKind.PAYMENT_DECLINED,
}
_DECLINES = {
    "NSF": DeclineCode.INSUFFICIENT_FUNDS,
    "MANDATE_ACTION": DeclineCode.MANDATE_INACTIVE,
    "MANDATE_REVOKED": DeclineCode.MANDATE_REVOKED,
}


def _json(response: httpx.Response) -> Any:
    if response.status_code == 409:
        raise IdempotencyConflictError("idempotency key reused with other parameters", http_status=409)
    if response.status_code >= 400:
        raise ProviderError("fakepay refused the request", http_status=response.status_code)
    try:
        return response.json()
    except ValueError:
        raise ProviderResponseError("fakepay answered with malformed JSON") from None


def _payment(data: Any) -> Payment:
    try:
        currency = data["currency"]
        amount = Money.parse(data["amount"], currency)
        ops = tuple(
            Operation(_KINDS[op["kind"]], op["id"], Money.parse(op["amount"], currency)) for op in data["ops"]
        )
        state = data["state"]
        status = _STATES[state]
        decline_code = data.get("decline")
        captured_at = datetime.fromisoformat(data["captured_at"]) if data.get("captured_at") else None
    except (KeyError, TypeError, ValueError) as error:
        raise ProviderResponseError(f"fakepay charge has an unexpected shape: {error!r}") from None

    def total(kind: OperationKind) -> Money:
        return Money(sum(op.amount.minor for op in ops if op.kind is kind), currency)

    payment = Payment(
        provider=NAME,
        id=data["id"],
        status=status,
        amount=amount,
        authorized=total(OperationKind.AUTHORIZATION),
        captured=total(OperationKind.CAPTURE),
        refunded=total(OperationKind.REFUND),
        voided=total(OperationKind.VOID),
        charged_back=Money.zero(currency),
        provider_status=state,
        merchant_reference=data["reference"],
        next_action=NextAction(data["redirect"]) if state == "action" else None,
        decline=Decline(_DECLINES.get(decline_code, DeclineCode.GENERIC), decline_code)
        if decline_code
        else None,
        mandate_id=data.get("mandate"),
        operations=ops,
        captured_at=captured_at,
    )
    # The status the fake reports is coarse; the totals say exactly where the payment is.
    implied = status_from_totals(
        payment.authorized, payment.captured, payment.refunded, payment.voided, payment.charged_back
    )
    return attrs.evolve(payment, status=implied) if implied else payment


def _post(path: str, body: Mapping[str, object]) -> httpx.Request:
    return httpx.Request("POST", path, json=dict(body))


class FakePayPlugin:
    """The fakepay provider's hook implementations."""

    def __init__(self, capabilities: Capabilities | None = None) -> None:
        self.capabilities = capabilities or globals()["capabilities"]()

    @hookimpl
    def psp_provider_info(self) -> ProviderInfo:
        return ProviderInfo(
            name=NAME,
            display_name="FakePay (tests only)",
            capabilities=self.capabilities,
            settings={"api_key": "FAKEPAY_API_KEY"},
        )

    @hookimpl
    def psp_configure(self, options: Mapping[str, object], environ: Mapping[str, str]) -> ProviderConfig:
        api_key = options.get("api_key") or environ.get("FAKEPAY_API_KEY")
        if not isinstance(api_key, str) or not api_key:
            raise ConfigurationError("fakepay needs api_key (option) or FAKEPAY_API_KEY (environment)")
        secret = options.get("webhook_secret", "fk_whsec_test")
        assert isinstance(secret, str)
        return ProviderConfig(
            provider=NAME,
            base_url=BASE_URL,
            capabilities=self.capabilities,
            secret_headers={"Authorization": Secret(f"Bearer {api_key}")},
            webhook_secret=Secret(secret),
            conflict_in_flight=lambda r: r.status_code == 409 and b"in_flight" in r.content,
        )

    @hookimpl
    def psp_authorize(self, config: ProviderConfig, request: AuthorizeRequest) -> Flow[Payment]:
        response = yield _post(
            "/charges",
            {
                "amount": str(request.amount.amount),
                "currency": request.amount.currency,
                "reference": request.merchant_reference,
                "capture": "auto" if request.capture_mode is CaptureMode.AUTOMATIC else "manual",
            },
        )
        return _payment(_json(response))

    @hookimpl
    def psp_get_payment(self, config: ProviderConfig, payment_id: str) -> Flow[Payment]:
        response = yield httpx.Request("GET", f"/charges/{payment_id}")
        return _payment(_json(response))

    @hookimpl
    def psp_find_payment(self, config: ProviderConfig, merchant_reference: str) -> Flow[Payment | None]:
        response = yield httpx.Request("GET", "/charges", params={"reference": merchant_reference})
        found = _json(response)["charges"]
        return _payment(found[0]) if found else None

    def _operate(self, op: str, payment: Payment, amount: Money) -> Flow[Payment]:
        response = yield _post(f"/charges/{payment.id}/{op}", {"amount": str(amount.amount)})
        return _payment(_json(response))

    @hookimpl
    def psp_capture(self, config: ProviderConfig, request: CaptureRequest, amount: Money) -> Flow[Payment]:
        return self._operate("capture", request.payment, amount)

    @hookimpl
    def psp_void(self, config: ProviderConfig, request: VoidRequest, amount: Money) -> Flow[Payment]:
        return self._operate("void", request.payment, amount)

    @hookimpl
    def psp_refund(self, config: ProviderConfig, request: RefundRequest, amount: Money) -> Flow[Payment]:
        return self._operate("refund", request.payment, amount)

    @staticmethod
    def _mandate(data: Any) -> Mandate:
        states = {
            "action": MandateStatus.REQUIRES_ACTION,
            "active": MandateStatus.ACTIVE,
            "revoked": MandateStatus.REVOKED,
        }
        return Mandate(
            provider=NAME,
            id=data["id"],
            status=states[data["state"]],
            provider_status=data["state"],
            merchant_reference=data["reference"],
            next_action=NextAction(data["redirect"]) if data["state"] == "action" else None,
        )

    @hookimpl
    def psp_create_mandate(self, config: ProviderConfig, request: MandateRequest) -> Flow[Mandate]:
        response = yield _post("/mandates", {"reference": request.merchant_reference})
        return self._mandate(_json(response))

    @hookimpl
    def psp_get_mandate(self, config: ProviderConfig, mandate_id: str) -> Flow[Mandate]:
        response = yield httpx.Request("GET", f"/mandates/{mandate_id}")
        return self._mandate(_json(response))

    @hookimpl
    def psp_charge_mandate(self, config: ProviderConfig, request: MandateChargeRequest) -> Flow[Payment]:
        response = yield _post(
            f"/mandates/{request.mandate_id}/charges",
            {
                "amount": str(request.amount.amount),
                "currency": request.amount.currency,
                "reference": request.merchant_reference,
                "capture": "auto" if request.capture_mode is CaptureMode.AUTOMATIC else "manual",
            },
        )
        return _payment(_json(response))

    @hookimpl
    def psp_revoke_mandate(self, config: ProviderConfig, request: RevokeMandateRequest) -> Flow[Mandate]:
        response = yield _post(f"/mandates/{request.mandate_id}/revoke", {})
        return self._mandate(_json(response))

    @hookimpl
    def psp_parse_webhook(
        self, config: ProviderConfig, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookEvent:
        assert config.webhook_secret is not None
        value = signing.header_value(headers, "Fake-Signature")
        if value is None:
            raise WebhookVerificationError("missing_signature", "no Fake-Signature header")
        parts = signing.parse_signature_header(value)
        stamp = parts.get("t", [""])[0]
        expected = signing.hmac_sha256_hex(config.webhook_secret.reveal(), stamp.encode() + b"." + body)
        if not signing.matches_any(expected, parts.get("s", [])):
            raise WebhookVerificationError("bad_signature", "the signature does not match the body")
        signing.check_timestamp(stamp, now, timedelta(minutes=5))
        try:
            envelope = json.loads(body)
            payment = _payment(envelope["charge"])
            event_id = envelope["id"]
        except (ValueError, KeyError, TypeError, ProviderResponseError) as error:
            raise WebhookVerificationError("malformed_envelope", str(error)) from None
        return WebhookEvent(
            provider=NAME,
            event_id=event_id,
            kind=_EVENT_KINDS.get(payment.status, EventKind.UNHANDLED),
            provider_type=envelope.get("type", ""),
            payment_id=payment.id,
            payment_status=payment.status,
        )
