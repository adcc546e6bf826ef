"""Sandbox state records and their PPRO JSON shapes (one cattrs converter, :func:`to_json`).

Operation records (authorizations, captures, refunds, voids, discards, ...) are immutable: a
state change replaces the record with ``attrs.evolve``. Charges and agreements are the mutable
aggregates that own them. Money is always an ``int`` in minor units.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import cattrs
from attrs import define, field, fields, frozen
from cattrs.gen import make_dict_unstructure_fn, override

from ._clock import iso_ms

Json = dict[str, Any]


@frozen
class Failure:
    failure_type: str
    failure_code: str
    message: str
    is_retryable: bool = False


@frozen
class Authorization:
    id: str
    amount: int
    status: str  # AUTHORIZED | AUTHENTICATION_PENDING | PROVIDER_CONFIRMATION_PENDING | FAILED
    merchant_reference: str | None
    created_at: datetime
    updated_at: datetime
    failure: Failure | None = None


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


@frozen
class Discard:
    id: str
    type: str  # AUTHENTICATION_TIMEOUT | PROVIDER_CONFIRMATION_TIMEOUT | MERCHANT_INITIATED_DISCARD
    created_at: datetime
    merchant_reference: str | None = None


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


@frozen
class Revocation:
    id: str
    revocation_status: str
    created_at: datetime


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


# -- PPRO's JSON shapes, through cattrs -----------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_CONVERTER = cattrs.Converter()
_CONVERTER.register_unstructure_hook(datetime, iso_ms)

# Field names that are not simply the camelCase of the attribute, and the sandbox's own fields,
# which PPRO's answers do not have.
_RENAMED: dict[type[Any], dict[str, str]] = {
    Failure: {"message": "failureMessage"},
    Authorization: {"merchant_reference": "merchantPaymentChargeReference"},
    Operation: {"merchant_reference": "merchantReference"},
    Discard: {"merchant_reference": "merchantDiscardReference"},
    Agreement: {
        "merchant_reference": "merchantPaymentAgreementReference",
        "initial_charge_id": "initialPaymentChargeId",
    },
}
_INTERNAL: dict[type[Any], frozenset[str]] = {
    Operation: frozenset({"kind", "settle_at"}),
    Charge: frozenset(
        {
            "amount",
            "merchant_id",
            "merchant_reference",
            "auto_capture",
            "return_url",
            "webhooks_url",
            "auth_deadline",
            "bank_code",
            "chargebacks",
            "schedule_type",
            "hold",
            "hold_until",
        }
    ),
    Agreement: frozenset(
        {
            "merchant_id",
            "return_url",
            "webhooks_url",
            "auth_deadline",
            "debit_mandate_id",
            "bank_code",
            "verification_charge_id",
        }
    ),
}

Record = Failure | Authorization | Operation | Discard | HistoryEntry | Revocation | Charge | Agreement


def _finish(record: Record, out: Json) -> Json:
    """What a field-by-field conversion cannot say: PPRO's schemas declare no nullable fields
    (None is left out), and a few keys depend on the record."""
    out = {key: value for key, value in out.items() if value is not None}
    if isinstance(record, Operation):
        # One shape for captures, refunds and voids; only the reference's key differs.
        reference = out.pop("merchantReference", None)
        if reference is not None:
            out[_REFERENCE_KEY[record.kind]] = reference
        out.setdefault("updatedAt", out["createdAt"])
    elif isinstance(record, Discard):
        out.update(status="DISCARDED", updatedAt=out["createdAt"])
    elif isinstance(record, Charge):
        out["paymentMedium"] = "ECOMMERCE"  # the only medium the sandbox offers
    return out


def _register(cls: type[Any]) -> None:
    renamed, internal = _RENAMED.get(cls, {}), _INTERNAL.get(cls, frozenset())
    overrides: dict[str, Any] = {
        a.name: override(omit=True)
        if a.name in internal
        else override(rename=renamed.get(a.name, _camel(a.name)))
        for a in fields(cls)
    }
    convert = make_dict_unstructure_fn(cls, _CONVERTER, **overrides)
    _CONVERTER.register_unstructure_hook(cls, lambda record: _finish(record, convert(record)))


# Leaves first: a record's hook calls those of the records it holds.
for _cls in (Failure, Authorization, Operation, Discard, HistoryEntry, Revocation, Charge, Agreement):
    _register(_cls)


def to_json(record: Record) -> Json:
    """A record as PPRO's API shows it."""
    out: Json = _CONVERTER.unstructure(record)
    return out
