"""Sandbox state records and their PPRO JSON shapes.

Operation records (authorizations, captures, refunds, voids, discards, ...) are immutable: a
state change replaces the record with ``attrs.evolve``. Charges and agreements are the mutable
aggregates that own them. Money is always an ``int`` in minor units.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import define, field, frozen

from ._clock import iso_ms

Json = dict[str, Any]


@frozen
class Failure:
    failure_type: str
    failure_code: str
    message: str
    is_retryable: bool = False

    def to_json(self) -> Json:
        return {
            "failureType": self.failure_type,
            "failureCode": self.failure_code,
            "failureMessage": self.message,
            "isRetryable": self.is_retryable,
        }


def _put(out: Json, key: str, value: object) -> None:
    # PPRO's schemas declare no nullable fields, so absent values are omitted, not null.
    if value is not None:
        out[key] = value.to_json() if isinstance(value, Failure) else value


@frozen
class Authorization:
    id: str
    amount: int
    status: str  # AUTHORIZED | AUTHENTICATION_PENDING | PROVIDER_CONFIRMATION_PENDING | FAILED
    merchant_reference: str | None
    created_at: datetime
    updated_at: datetime
    failure: Failure | None = None

    def to_json(self) -> Json:
        out: Json = {"id": self.id, "amount": self.amount, "status": self.status}
        _put(out, "merchantPaymentChargeReference", self.merchant_reference)
        _put(out, "failure", self.failure)
        out["createdAt"] = iso_ms(self.created_at)
        out["updatedAt"] = iso_ms(self.updated_at)
        return out


_REFERENCE_KEY = {
    "capture": "merchantCaptureReference",
    "refund": "merchantRefundReference",
    "void": "merchantVoidReference",
}


@frozen
class Operation:
    """A capture, refund or void; they share one shape apart from the reference key."""

    id: str
    kind: str  # capture | refund | void
    amount: int
    status: str  # CAPTURED | REFUNDED | VOIDED | FAILED
    created_at: datetime
    merchant_reference: str | None = None
    failure: Failure | None = None
    refund_reason: str | None = None
    refund_descriptor: str | None = None
    labels: dict[str, str] | None = None
    updated_at: datetime | None = None
    settle_at: datetime | None = None
    """When a PENDING refund settles on the sandbox clock (None: only by an admin call)."""

    @property
    def succeeded(self) -> bool:
        return self.status not in ("FAILED", "PENDING")

    @property
    def pending(self) -> bool:
        return self.status == "PENDING"

    @property
    def is_effect(self) -> bool:
        """Money moved, or is reserved to move without another request (a PENDING refund)."""
        return self.status != "FAILED"

    def to_json(self) -> Json:
        out: Json = {"id": self.id, "amount": self.amount, "status": self.status}
        _put(out, _REFERENCE_KEY[self.kind], self.merchant_reference)
        _put(out, "refundReason", self.refund_reason)
        _put(out, "refundDescriptor", self.refund_descriptor)
        _put(out, "failure", self.failure)
        out["createdAt"] = iso_ms(self.created_at)
        out["updatedAt"] = iso_ms(self.updated_at or self.created_at)
        _put(out, "labels", self.labels)
        return out


@frozen
class Discard:
    id: str
    type: str  # AUTHENTICATION_TIMEOUT | PROVIDER_CONFIRMATION_TIMEOUT | MERCHANT_INITIATED_DISCARD
    created_at: datetime
    merchant_reference: str | None = None

    def to_json(self) -> Json:
        at = iso_ms(self.created_at)
        out: Json = {"id": self.id, "status": "DISCARDED"}
        _put(out, "merchantDiscardReference", self.merchant_reference)
        return {**out, "type": self.type, "createdAt": at, "updatedAt": at}


@frozen
class Chargeback:
    """A chargeback; PPRO's charge object carries none, only the CHARGEBACK_SUCCEEDED webhook."""

    charge_id: str
    amount: int
    created_at: datetime
    event_id: str = ""


@frozen
class HistoryEntry:
    id: str
    status: str
    created_at: datetime
    failure: Failure | None = None

    def to_json(self) -> Json:
        out: Json = {"id": self.id, "status": self.status}
        _put(out, "failure", self.failure)
        out["createdAt"] = iso_ms(self.created_at)
        return out


@frozen
class Revocation:
    id: str
    revocation_status: str
    created_at: datetime

    def to_json(self) -> Json:
        return {
            "id": self.id,
            "revocationStatus": self.revocation_status,
            "createdAt": iso_ms(self.created_at),
        }


@frozen
class Effects:
    """How many operations on a charge are effects (:attr:`Operation.is_effect`): the one
    definition behind "exactly one effect" assertions, the contract suite's included."""

    captures: int
    refunds: int
    voids: int


def redirect_method(request_url: str) -> Json:
    return {"type": "REDIRECT", "details": {"requestUrl": request_url, "requestMethod": "GET"}}


@define
class Charge:
    """A payment charge; mutable because its status and operation lists evolve."""

    id: str
    payment_method: str
    currency: str
    country: str | None
    consumer: Json
    amount: int  # the requested (and, once authorized, the authorized) amount
    status: str
    created_at: datetime
    updated_at: datetime
    merchant_id: str = ""
    merchant_reference: str | None = None
    auto_capture: bool = True
    return_url: str | None = None
    webhooks_url: str | None = None
    agreement_id: str | None = None
    instrument_id: str | None = None
    payment_descriptor: str | None = None
    labels: dict[str, str] | None = None
    auth_deadline: datetime | None = None
    # The consumer's bank (a BIC): from the request's instrument, or chosen on the hosted page.
    bank_code: str | None = None
    authentication_methods: list[Json] = field(factory=list)
    authorizations: list[Authorization] = field(factory=list)
    captures: list[Operation] = field(factory=list)
    refunds: list[Operation] = field(factory=list)
    voids: list[Operation] = field(factory=list)
    discards: list[Discard] = field(factory=list)
    chargebacks: list[Chargeback] = field(factory=list)
    failure: Failure | None = None
    order: Json | None = None
    initiator: str | None = None
    schedule_type: str | None = None
    # A step a scenario holds back ("authorization", "provider_confirmation" or "capture") and
    # when it runs on its own (None: only when released through the admin route).
    hold: str | None = None
    hold_until: datetime | None = None

    @property
    def authorized_amount(self) -> int:
        return sum(a.amount for a in self.authorizations if a.status == "AUTHORIZED")

    @property
    def captured_total(self) -> int:
        return sum(op.amount for op in self.captures if op.succeeded)

    @property
    def voided_total(self) -> int:
        return sum(op.amount for op in self.voids if op.succeeded)

    @property
    def refunded_total(self) -> int:
        return sum(op.amount for op in self.refunds if op.succeeded)

    @property
    def pending_refund_total(self) -> int:
        return sum(op.amount for op in self.refunds if op.pending)

    @property
    def charged_back_total(self) -> int:
        return sum(cb.amount for cb in self.chargebacks)

    @property
    def returnable(self) -> int:
        """Captured money not yet refunded, reserved by a pending refund, or charged back.

        The balance rule for refunds and chargebacks alike (issue 12: PPRO's rules as the
        sandbox models them): neither may take back more than this.
        """
        return self.captured_total - self.refunded_total - self.pending_refund_total - self.charged_back_total

    @property
    def authorized_at(self) -> datetime | None:
        times = [a.updated_at for a in self.authorizations if a.status == "AUTHORIZED"]
        return min(times) if times else None

    @property
    def capturable(self) -> int:
        """Authorized amount neither captured nor voided yet."""
        return self.authorized_amount - self.captured_total - self.voided_total

    @property
    def first_capture_at(self) -> datetime | None:
        times = [op.created_at for op in self.captures if op.succeeded]
        return min(times) if times else None

    def to_json(self) -> Json:
        out: Json = {
            "id": self.id,
            "paymentMethod": self.payment_method,
            "paymentMedium": "ECOMMERCE",
            "currency": self.currency,
        }
        _put(out, "initiator", self.initiator)
        _put(out, "country", self.country)
        _put(out, "agreementId", self.agreement_id)
        _put(out, "instrumentId", self.instrument_id)
        _put(out, "paymentDescriptor", self.payment_descriptor)
        out["status"] = self.status
        out["consumer"] = dict(self.consumer)
        _put(out, "order", self.order)
        _put(out, "failure", self.failure)
        out["authenticationMethods"] = list(self.authentication_methods)
        out["authorizations"] = [a.to_json() for a in self.authorizations]
        out["captures"] = [c.to_json() for c in self.captures]
        out["refunds"] = [r.to_json() for r in self.refunds]
        out["voids"] = [v.to_json() for v in self.voids]
        out["discards"] = [d.to_json() for d in self.discards]
        out["createdAt"] = iso_ms(self.created_at)
        out["updatedAt"] = iso_ms(self.updated_at)
        _put(out, "labels", self.labels)
        return out


@define
class Agreement:
    id: str
    payment_method: str
    consumer: Json
    status: str
    created_at: datetime
    updated_at: datetime
    instrument_id: str
    merchant_id: str = ""
    start_date: datetime | None = None
    end_date: datetime | None = None
    description: str | None = None
    merchant_reference: str | None = None
    frequency: Json | None = None
    amount: Json | None = None
    amount_type: str | None = None
    return_url: str | None = None
    webhooks_url: str | None = None
    labels: dict[str, str] | None = None
    auth_deadline: datetime | None = None
    initial_charge_id: str | None = None
    # iDEAL: the SEPA mandate's id and the consumer's bank, from the request's instrument, and
    # the verification charge PPRO makes when there is no initial charge.
    debit_mandate_id: str | None = None
    bank_code: str | None = None
    verification_charge_id: str | None = None
    authentication_methods: list[Json] = field(factory=list)
    history: list[HistoryEntry] = field(factory=list)
    revocations: list[Revocation] = field(factory=list)
    failure: Failure | None = None

    def to_json(self) -> Json:
        out: Json = {"id": self.id, "status": self.status}
        _put(out, "failure", self.failure)
        _put(out, "description", self.description)
        _put(out, "merchantPaymentAgreementReference", self.merchant_reference)
        out["paymentMethod"] = self.payment_method
        _put(out, "frequency", self.frequency)
        _put(out, "startDate", iso_ms(self.start_date) if self.start_date else None)
        _put(out, "endDate", iso_ms(self.end_date) if self.end_date else None)
        _put(out, "amount", self.amount)
        _put(out, "amountType", self.amount_type)
        out["instrumentId"] = self.instrument_id
        out["consumer"] = dict(self.consumer)
        out["authenticationMethods"] = list(self.authentication_methods)
        out["history"] = [h.to_json() for h in self.history]
        out["revocations"] = [r.to_json() for r in self.revocations]
        _put(out, "initialPaymentChargeId", self.initial_charge_id)
        out["createdAt"] = iso_ms(self.created_at)
        out["updatedAt"] = iso_ms(self.updated_at)
        _put(out, "labels", self.labels)
        return out
