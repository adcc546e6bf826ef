"""Payment-charge behaviour: creation, consumer authentication, capture, void, refund, discard.

Rules the sandbox applies where PPRO's documents are silent are listed in the package docstring.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta
from typing import Any

import attrs
from cattrs import unstructure

from . import _validation as v
from ._errors import SandboxStateError, UnknownResourceError, bad_request
from ._methods import AMAZON_PAY, BIC, METHODS, MethodRules
from ._models import (
    Authorization,
    Charge,
    Chargeback,
    Discard,
    Failure,
    Json,
    Operation,
    redirect_method,
    to_json,
)
from ._scenarios import AMAZON_BUYER, PROVIDER_OUTCOMES, Scenarios
from ._state import SandboxState

# Amazon Pay's limits, kept under the names the sandbox exported before it served more methods.
MIN_AMOUNT = AMAZON_PAY.min_amount
MAX_AMOUNT = AMAZON_PAY.max_amount

#: Amounts in this range (minor units, inclusive) are declined by the simulated provider when the
#: consumer approves (or, for merchant-initiated agreement charges, on creation).
DECLINE_RANGE = range(300_000, 400_001)
#: Decline code picked by the amount's last two digits; any other ending is GENERIC_DECLINE.
DECLINE_CODES: dict[int, str] = {
    1: "GENERIC_DECLINE",
    2: "INSUFFICIENT_FUNDS",
    3: "SUS_FRAUD",
    4: "AUTHENTICATION_FAILED",
    5: "SUS_LOST",
    6: "SUS_STOLEN",
    7: "EXPIRED_SESSION",
}
REFUND_REASONS = frozenset({"RETURN", "DUPLICATE", "FRAUD", "CUSTOMER_REQUEST", "PRE_DISPUTE", "OTHER"})
#: Where a merchant discard is possible: before anything was captured or voided.
DISCARDABLE = frozenset(
    {"AUTHORIZATION_PROCESSING", "AUTHENTICATION_PENDING", "AUTHORIZATION_ASYNC", "CAPTURE_PENDING"}
)


_AWAITING = frozenset({"AUTHENTICATION_PENDING", "PROVIDER_CONFIRMATION_PENDING"})


def add_months(at: datetime, months: int) -> datetime:
    """``at`` plus calendar months, clamped to the target month's last day."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def decline_for(amount: int) -> Failure | None:
    if amount not in DECLINE_RANGE:
        return None
    code = DECLINE_CODES.get(amount % 100, "GENERIC_DECLINE")
    # Only a lack of funds may succeed on a later attempt.
    return Failure(
        "PROVIDER_DECLINE", code, "Payment Authorization Failed", is_retryable=code == "INSUFFICIENT_FUNDS"
    )


def _internal_decline(code: str, message: str) -> Failure:
    return Failure("INTERNAL_DECLINE", code, message, is_retryable=False)


def method_rule_failure(
    payment_method: str, currency: str, country: str | None, amount: int, consumer_name: object
) -> Failure | None:
    """The method's product rules; a violation is an in-band FAILED charge, not an HTTP error."""
    rules = METHODS.get(payment_method)
    if rules is None:
        return _internal_decline(
            "INVALID_PAYMENT_METHOD", f"Payment method {payment_method} is not available"
        )
    if currency != rules.currency:
        return _internal_decline("INVALID_CURRENCY", f"Currency {currency} is not supported")
    if country is not None and country not in rules.countries:
        return _internal_decline("INVALID_COUNTRY", f"Country {country} is not supported")
    if not rules.min_amount <= amount <= rules.max_amount:
        return _internal_decline(
            "AMOUNT_NOT_SUPPORTED",
            f"Amount must be between {rules.min_amount} and {rules.max_amount} minor units",
        )
    if not isinstance(consumer_name, str) or not consumer_name.strip():
        return _internal_decline("INVALID_CONSUMER_DETAILS", "consumer.name is required")
    return None


def rules_of(payment_method: str) -> MethodRules:
    """The rules of a method the sandbox accepted (a charge of another one never gets this far)."""
    return METHODS[payment_method]


def bank_code(body: Json, where: str) -> str | None:
    """An optional ``instrument`` naming the consumer's bank: ``BANK_ACCOUNT`` with a BIC ``bankCode``."""
    instrument = v.opt_object(body, "instrument", where + "instrument")
    if instrument is None:
        return None
    if instrument.get("type") != "BANK_ACCOUNT":
        raise bad_request(f"{where}instrument.type must be BANK_ACCOUNT")
    details = v.opt_object(instrument, "details", where + "instrument.details") or {}
    code = details.get("bankCode")
    if code is None:
        return None
    if not isinstance(code, str) or not re.fullmatch(BIC, code):
        raise bad_request(f"{where}instrument.details.bankCode must be a BIC such as INGBNL2A")
    return code


class ChargeService:
    """Operations on charges. Callers hold the simulator lock."""

    def __init__(self, state: SandboxState) -> None:
        self._s = state
        self.scenarios = Scenarios()

    # ----------------------------------------------------------------- events
    def emit(self, charge: Charge, event_type: str, **extra: Any) -> None:
        data: Json = {
            "paymentChargeId": charge.id,
            "paymentChargeStatus": charge.status,
            "paymentMethod": charge.payment_method,
            "merchantId": charge.merchant_id,
        }
        if charge.merchant_reference is not None:
            data["merchantPaymentChargeReference"] = charge.merchant_reference
        if charge.order is not None and isinstance(charge.order.get("orderReferenceNumber"), str):
            data["orderReferenceNumber"] = charge.order["orderReferenceNumber"]
        data["type"] = event_type
        data.update({k: val for k, val in extra.items() if val is not None})
        self._s.emit(event_type, charge.id, data, self._s.webhook_target(charge.webhooks_url))

    def _money(self, charge: Charge, amount: int) -> Json:
        return {"value": amount, "currency": charge.currency}

    # --------------------------------------------------------------- creation
    def create(self, body: Json, merchant_id: str) -> Charge:
        """``POST /v1/payment-charges``: structural problems are 400s, product rules in-band."""
        payment_method = v.req_str(body, "paymentMethod", "paymentMethod")
        value, currency = v.money(body, "amount", "amount")
        consumer = v.consumer(body)
        auto_capture = v.opt_bool(body, "autoCapture", "autoCapture")
        reference = v.opt_str(body, "merchantPaymentChargeReference", "merchantPaymentChargeReference")
        descriptor = v.opt_str(body, "paymentDescriptor", "paymentDescriptor")
        webhooks_url = v.webhooks_url(body)
        labels = v.labels(body)
        return_url = v.redirect_return_url(body)
        order = v.order(body)
        initiator = v.opt_enum(body, "initiator", "initiator", v.INITIATORS)
        schedule_type = v.opt_enum(body, "scheduleType", "scheduleType", v.SCHEDULE_TYPES)
        chosen_bank = bank_code(body, "")
        charge = self.new_charge(
            merchant_id,
            payment_method,
            value,
            currency,
            consumer,
            reference=reference,
            auto_capture=auto_capture,
            webhooks_url=webhooks_url,
            labels=labels,
            descriptor=descriptor,
            order=order,
            initiator=initiator,
            schedule_type=schedule_type,
        )
        charge.return_url = return_url
        charge.bank_code = chosen_bank
        failure = method_rule_failure(
            payment_method, currency, consumer["country"], value, consumer.get("name")
        )
        if failure is None and return_url is None:
            failure = _internal_decline(
                "INVALID_AUTHENTICATION_SETTINGS",
                "A REDIRECT authentication setting with a returnUrl is required",
            )
        self.emit(
            charge,
            "PAYMENT_CHARGE_CREATED",
            paymentMedium="ECOMMERCE",
            amount=self._money(charge, value),
            consumer=dict(consumer),
            authenticationSettings=body.get("authenticationSettings"),
            order=order,
            initiator=initiator,
            paymentDescriptor=descriptor,
        )
        if failure is not None:
            self.fail_authorization(charge, failure)
        elif not self.hold_authorization(charge):
            self.start_authentication(charge, self._s.authenticate_url(charge.id))
        return charge

    def new_charge(
        self,
        merchant_id: str,
        payment_method: str,
        value: int,
        currency: str,
        consumer: Json,
        *,
        reference: str | None,
        auto_capture: bool | None,
        webhooks_url: str | None,
        labels: dict[str, str] | None = None,
        descriptor: str | None = None,
        agreement_id: str | None = None,
        instrument_id: str | None = None,
        order: Json | None = None,
        initiator: str | None = None,
        schedule_type: str | None = None,
    ) -> Charge:
        now = self._s.clock.now()
        country = consumer.get("country")
        charge = Charge(
            id=self._s.ids.new("charge"),
            payment_method=payment_method,
            currency=currency,
            country=country if isinstance(country, str) else None,
            consumer=dict(consumer),
            amount=value,
            status="AUTHORIZATION_PROCESSING",
            created_at=now,
            updated_at=now,
            merchant_id=merchant_id,
            merchant_reference=reference,
            # Omitted autoCapture means "capture automatically": the product page says an
            # approved charge "will transition to the CAPTURED state" with no capture call.
            auto_capture=True if auto_capture is None else auto_capture,
            webhooks_url=webhooks_url,
            agreement_id=agreement_id,
            instrument_id=instrument_id,
            payment_descriptor=descriptor,
            labels=labels,
            order=order,
            initiator=initiator,
            schedule_type=schedule_type,
        )
        self._s.charges[charge.id] = charge
        return charge

    def _authorization(self, charge: Charge, status: str, failure: Failure | None = None) -> Authorization:
        now = self._s.clock.now()
        return Authorization(
            self._s.ids.new("authz"), charge.amount, status, charge.merchant_reference, now, now, failure
        )

    def _touch(self, charge: Charge, status: str) -> None:
        charge.status = status
        charge.updated_at = self._s.clock.now()

    def fail_authorization(self, charge: Charge, failure: Failure) -> None:
        if charge.authorizations and charge.authorizations[-1].status in _AWAITING:
            authz = attrs.evolve(
                charge.authorizations[-1], status="FAILED", failure=failure, updated_at=self._s.clock.now()
            )
            charge.authorizations[-1] = authz
        else:
            authz = self._authorization(charge, "FAILED", failure)
            charge.authorizations.append(authz)
        charge.failure = failure
        charge.authentication_methods = []
        self._touch(charge, "FAILED")
        self.emit(
            charge,
            "PAYMENT_CHARGE_AUTHORIZATION_FAILED",
            authorizationId=authz.id,
            amount=self._money(charge, charge.amount),
            failure=to_json(failure),
        )

    def start_authentication(self, charge: Charge, request_url: str) -> None:
        charge.authentication_methods = [redirect_method(request_url)]
        charge.authorizations.append(self._authorization(charge, "AUTHENTICATION_PENDING"))
        # The method's own timeout, or the sandbox's if that is shorter (tests shorten it).
        method_timeout = rules_of(charge.payment_method).authentication_timeout_s
        timeout = min(self._s.config.authentication_timeout_s, method_timeout)
        charge.auth_deadline = self._s.clock.now() + timedelta(seconds=timeout)
        self._touch(charge, "AUTHENTICATION_PENDING")
        self.emit(
            charge,
            "PAYMENT_CHARGE_AUTHENTICATION_PENDING",
            authenticationMethods=list(charge.authentication_methods),
        )

    # ------------------------------------------------------ consumer outcomes
    def _require_pending(self, charge: Charge) -> None:
        if charge.status != "AUTHENTICATION_PENDING":
            raise SandboxStateError(f"{charge.id} is {charge.status}, not AUTHENTICATION_PENDING")

    def approve(self, charge: Charge) -> None:
        self._require_pending(charge)
        charge.authentication_methods = []
        if self.scenarios.buyer_details and rules_of(charge.payment_method).buyer_details:
            self._add_buyer_details(charge)
        self.authorize(charge)

    def _add_buyer_details(self, charge: Charge) -> None:
        # The buyer pays with what is saved at Amazon; what the merchant sent is kept.
        consumer = dict(charge.consumer)
        for key, value in AMAZON_BUYER.items():
            consumer.setdefault(key, value)
        charge.consumer = consumer
        order = dict(charge.order or {})
        if order.get("shippingMethod") != "VIRTUAL":
            order.setdefault("shippingAddress", AMAZON_BUYER["billingAddress"])
            charge.order = order

    def decline(self, charge: Charge) -> None:
        self._require_pending(charge)
        self.fail_authorization(
            charge, Failure("PROVIDER_DECLINE", "AUTHENTICATION_FAILED", "Consumer authentication failed")
        )

    def cancel(self, charge: Charge) -> None:
        self._require_pending(charge)
        self.fail_authorization(
            charge, Failure("PROVIDER_DECLINE", "CANCELED_BY_CONSUMER", "The consumer canceled the payment")
        )

    def authorize(self, charge: Charge) -> None:
        """Provider authorization after authentication (or directly, for agreement charges)."""
        if self.scenarios.provider_confirmation:
            self._await_provider(charge)
            return
        self._grant(charge)

    def verify_account(self, charge: Charge) -> None:
        """Grant, capture and refund ``charge`` at once: an account check, not a payment."""
        self._grant(charge)
        if charge.hold == "capture":
            self.release(charge)
        if charge.captured_total == charge.amount:
            refund = self.refund(charge, {"amount": charge.amount})
            if refund.pending:
                self.settle_refund(charge, refund.id, succeed=True)

    def _await_provider(self, charge: Charge) -> None:
        """AUTHORIZATION_ASYNC: the provider confirms (or not) later."""
        now = self._s.clock.now()
        if charge.authorizations and charge.authorizations[-1].status == "AUTHENTICATION_PENDING":
            authz = attrs.evolve(
                charge.authorizations[-1], status="PROVIDER_CONFIRMATION_PENDING", updated_at=now
            )
            charge.authorizations[-1] = authz
        else:
            authz = self._authorization(charge, "PROVIDER_CONFIRMATION_PENDING")
            charge.authorizations.append(authz)
        self._touch(charge, "AUTHORIZATION_ASYNC")
        self.emit(
            charge,
            "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING",
            authorizationId=authz.id,
            amount=self._money(charge, charge.amount),
        )
        self._hold(charge, "provider_confirmation", self.scenarios.provider_confirmation_delay_s)

    def _grant(self, charge: Charge) -> None:
        failure = decline_for(charge.amount)
        if failure is not None:
            self.fail_authorization(charge, failure)
            return
        now = self._s.clock.now()
        if charge.authorizations and charge.authorizations[-1].status in _AWAITING:
            authz = attrs.evolve(charge.authorizations[-1], status="AUTHORIZED", updated_at=now)
            charge.authorizations[-1] = authz
        else:
            authz = self._authorization(charge, "AUTHORIZED")
            charge.authorizations.append(authz)
        # A method without separate captures captures on approval, whatever autoCapture said.
        separate = self._s.config.separate_captures and rules_of(charge.payment_method).separate_captures
        multi_step = separate and not charge.auto_capture
        self._touch(charge, "CAPTURE_PENDING" if multi_step else "CAPTURE_PROCESSING")
        self.emit(
            charge,
            "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED",
            authorizationId=authz.id,
            amount=self._money(charge, charge.amount),
            isMultiStep=multi_step,
        )
        if not multi_step and not self._hold(charge, "capture", self.scenarios.capture_processing_s):
            self._store_operation(charge, "capture", charge.amount, None, None)

    # ------------------------------------------------------------ held steps
    def _hold(self, charge: Charge, step: str, seconds: float | None) -> bool:
        """Hold ``step`` back for ``seconds`` of sandbox time (None: until released); False if 0."""
        if seconds == 0:
            return False
        charge.hold = step
        charge.hold_until = None if seconds is None else self._s.clock.now() + timedelta(seconds=seconds)
        return True

    def hold_authorization(self, charge: Charge) -> bool:
        """Keep a new charge in AUTHORIZATION_PROCESSING, with no authorization, if told to."""
        return self._hold(charge, "authorization", self.scenarios.authorization_processing_s)

    def settle_if_due(self, charge: Charge) -> bool:
        if charge.hold is None or charge.hold_until is None or self._s.clock.now() < charge.hold_until:
            return False
        self.release(charge)
        return True

    def release(self, charge: Charge, outcome: str = "approve") -> None:
        """Run the held step now; ``outcome`` decides a provider confirmation."""
        step = charge.hold
        if step is None:
            raise SandboxStateError(f"{charge.id} is {charge.status} and waits for nothing")
        if step != "provider_confirmation" and outcome != "approve":
            raise SandboxStateError(
                f"{charge.id} waits for {step}; only a provider confirmation has outcomes"
            )
        charge.hold = charge.hold_until = None
        if step == "authorization":
            if charge.agreement_id is None:
                self.start_authentication(charge, self._s.authenticate_url(charge.id))
            else:
                self.authorize(charge)
        elif step == "capture":
            self._store_operation(charge, "capture", charge.capturable, None, None)
        elif outcome == "approve":
            self._grant(charge)
        elif outcome == "decline":
            self.fail_authorization(
                charge,
                Failure("PROVIDER_DECLINE", "GENERIC_DECLINE", "The provider declined the authorization"),
            )
        else:
            self.discard(charge, "PROVIDER_CONFIRMATION_TIMEOUT")

    def admin(self, method: str, parts: list[str], data: Json) -> Json:
        """The scenario admin routes (see :mod:`._scenarios`); the caller holds the lock."""
        if parts == ["scenarios"]:
            if method == "POST":
                self.scenarios.update(data)
            knobs: Json = unstructure(self.scenarios)
            return knobs
        charge = self._s.charges.get(parts[1])
        if charge is None:
            raise UnknownResourceError(parts[1])
        if parts[2] == "discard":
            reference = v.opt_str(data, "merchantDiscardReference", "merchantDiscardReference")
            self.merchant_discard(charge, reference)
        elif parts[2] == "release":
            self.release(charge)
        else:
            outcome = data.get("outcome", "approve")
            if outcome not in PROVIDER_OUTCOMES:
                raise bad_request(f"outcome must be one of {', '.join(PROVIDER_OUTCOMES)}")
            if charge.hold != "provider_confirmation":
                raise SandboxStateError(f"{charge.id} is {charge.status}, not awaiting the provider")
            self.release(charge, outcome)
        return to_json(charge)

    def merchant_discard(self, charge: Charge, reference: str | None) -> None:
        if charge.status not in DISCARDABLE or charge.captures or charge.voids:
            raise SandboxStateError(
                f"{charge.id} is {charge.status}; only a charge with nothing captured "
                f"or voided can be discarded ({', '.join(sorted(DISCARDABLE))})"
            )
        self.discard(charge, "MERCHANT_INITIATED_DISCARD", reference)

    def expire_if_due(self, charge: Charge) -> bool:
        self.settle_if_due(charge)
        if (
            charge.status != "AUTHENTICATION_PENDING"
            or charge.auth_deadline is None
            or self._s.clock.now() < charge.auth_deadline
        ):
            return False
        self.discard(charge, "AUTHENTICATION_TIMEOUT")
        return True

    def discard(self, charge: Charge, discard_type: str, reference: str | None = None) -> None:
        now = self._s.clock.now()
        discard = Discard(self._s.ids.new("discard"), discard_type, now, reference)
        charge.discards.append(discard)
        charge.authentication_methods = []
        charge.hold = charge.hold_until = None
        authz_id = charge.authorizations[-1].id if charge.authorizations else None
        self._touch(charge, "DISCARDED")
        self.emit(
            charge,
            "PAYMENT_CHARGE_DISCARDED",
            discardType=discard_type,
            merchantDiscardReference=reference,
            authorizationId=authz_id,
            amount=self._money(charge, charge.amount),
        )

    # ------------------------------------------------ capture / void / refund
    def _operation_body(self, body: Json) -> tuple[int, str | None, dict[str, str] | None]:
        amount = v.req_int(body, "amount", "amount")
        return amount, None, v.labels(body)

    def capture(self, charge: Charge, body: Json) -> Operation:
        amount, _, labels = self._operation_body(body)
        reference = v.opt_str(body, "merchantCaptureReference", "merchantCaptureReference")
        self._check_authorized_balance(charge, amount, "captured")
        return self._store_operation(charge, "capture", amount, reference, labels)

    def void(self, charge: Charge, body: Json) -> Operation:
        amount, _, labels = self._operation_body(body)
        reference = v.opt_str(body, "merchantVoidReference", "merchantVoidReference")
        self._check_authorized_balance(charge, amount, "voided")
        return self._store_operation(charge, "void", amount, reference, labels)

    def _check_authorized_balance(self, charge: Charge, amount: int, verb: str) -> None:
        if charge.hold == "capture":
            raise bad_request(
                f"Payment charge in status {charge.status} cannot be {verb}: "
                "its automatic capture is in progress"
            )
        if charge.authorized_amount == 0 or charge.status in ("FAILED", "DISCARDED"):
            raise bad_request(f"Payment charge in status {charge.status} cannot be {verb}")
        if charge.capturable == 0:
            raise bad_request(f"Payment charge has no authorized amount left to be {verb}")
        if amount > charge.capturable:
            raise bad_request(f"amount {amount} exceeds the remaining authorized amount {charge.capturable}")

    def refund(self, charge: Charge, body: Json) -> Operation:
        amount, _, labels = self._operation_body(body)
        reference = v.opt_str(body, "merchantRefundReference", "merchantRefundReference")
        reason = v.opt_enum(body, "refundReason", "refundReason", REFUND_REASONS)
        descriptor = v.opt_str(body, "refundDescriptor", "refundDescriptor")
        if charge.captured_total == 0:
            raise bad_request(f"Payment charge in status {charge.status} has no captured amount to refund")
        # Refunds, pending refunds and chargebacks together never exceed what was captured.
        if amount > charge.returnable:
            raise bad_request(f"amount {amount} exceeds the refundable amount {charge.returnable}")
        now = self._s.clock.now()
        first = charge.first_capture_at
        if first is not None and now > self.refund_deadline(charge, first):
            # Past the window the provider refuses: an in-band FAILED refund, not an HTTP error.
            failure = Failure(
                "PROVIDER_DECLINE", "REFUND_PERIOD_EXPIRED", "The refund period for this payment has expired"
            )
            op = Operation(
                self._s.ids.new("refund"),
                "refund",
                amount,
                "FAILED",
                now,
                reference,
                failure,
                reason,
                descriptor,
                labels,
            )
            charge.refunds.append(op)
            charge.failure = failure
            charge.updated_at = op.created_at
            self.emit(
                charge,
                "PAYMENT_CHARGE_REFUND_FAILED",
                refundId=op.id,
                amount=self._money(charge, amount),
                merchantRefundReference=reference,
                failure=to_json(failure),
            )
            return op
        delay = self._s.config.refund_settlement_s
        op = Operation(
            self._s.ids.new("refund"),
            "refund",
            amount,
            "PENDING",
            now,
            reference,
            None,
            reason,
            descriptor,
            labels,
            settle_at=None if delay is None else now + timedelta(seconds=delay),
        )
        charge.refunds.append(op)
        self._touch(charge, "REFUND_PROCESSING")
        self.emit(
            charge,
            "PAYMENT_CHARGE_REFUND_PENDING",
            refundId=op.id,
            amount=self._money(charge, amount),
            merchantRefundReference=reference,
        )
        if delay == 0:
            return self.settle_refund(charge, op.id, succeed=True)
        return op

    def settle_refund(self, charge: Charge, refund_id: str, *, succeed: bool) -> Operation:
        """Settle a PENDING refund: REFUNDED (counted) or FAILED (its reservation released)."""
        index = next((i for i, op in enumerate(charge.refunds) if op.id == refund_id), None)
        if index is None:
            raise SandboxStateError(f"{charge.id} has no refund {refund_id}")
        op = charge.refunds[index]
        if not op.pending:
            raise SandboxStateError(f"refund {refund_id} is already {op.status}")
        now = self._s.clock.now()
        failure = (
            None if succeed else Failure("PROVIDER_DECLINE", "GENERIC_DECLINE", "The refund was declined")
        )
        settled = attrs.evolve(
            op, status="REFUNDED" if succeed else "FAILED", failure=failure, updated_at=now, settle_at=None
        )
        charge.refunds[index] = settled
        if failure is not None:
            charge.failure = failure
        if any(r.pending for r in charge.refunds):
            charge.updated_at = now
        else:
            # Partial refunds keep CAPTURED; the charge is REFUNDED once everything captured is back.
            self._touch(charge, "REFUNDED" if charge.refunded_total == charge.captured_total else "CAPTURED")
        extra: dict[str, Any] = {"refundId": settled.id, "amount": self._money(charge, settled.amount)}
        extra["merchantRefundReference"] = settled.merchant_reference
        if failure is not None:
            extra["failure"] = to_json(failure)
        self.emit(
            charge, "PAYMENT_CHARGE_REFUND_SUCCEEDED" if succeed else "PAYMENT_CHARGE_REFUND_FAILED", **extra
        )
        return settled

    def settle_due(self, charge: Charge) -> int:
        """Settle the refunds due on the sandbox clock and expire an authorization past its
        validity; returns how many things changed."""
        now = self._s.clock.now()
        changed = 0
        for op in list(charge.refunds):
            if op.pending and op.settle_at is not None and now >= op.settle_at:
                self.settle_refund(charge, op.id, succeed=True)
                changed += 1
        authorized_at = charge.authorized_at
        validity = timedelta(seconds=self._s.config.authorization_validity_s)
        if (
            charge.capturable > 0
            and charge.status not in ("FAILED", "DISCARDED")
            and authorized_at is not None
            and now > authorized_at + validity
        ):
            # The hold lapses: what was not captured is released, as a void PPRO makes itself.
            self._store_operation(charge, "void", charge.capturable, None, None)
            changed += 1
        return changed

    def _store_operation(
        self, charge: Charge, kind: str, amount: int, reference: str | None, labels: dict[str, str] | None
    ) -> Operation:
        prefix, status = {"capture": ("capture", "CAPTURED"), "void": ("void", "VOIDED")}[kind]
        op = Operation(
            self._s.ids.new(prefix), kind, amount, status, self._s.clock.now(), reference, labels=labels
        )
        if kind == "capture":
            charge.captures.append(op)
        else:
            charge.voids.append(op)
        # The charge status reflects the last completed operation (CAPTURED / VOIDED); any
        # authorized remainder stays capturable and voidable.
        self._touch(charge, status)
        event = "PAYMENT_CHARGE_CAPTURE_SUCCEEDED" if kind == "capture" else "PAYMENT_CHARGE_VOID_SUCCEEDED"
        key = "captureId" if kind == "capture" else "voidId"
        ref_key = "merchantCaptureReference" if kind == "capture" else "merchantVoidReference"
        self.emit(charge, event, **{key: op.id, "amount": self._money(charge, amount), ref_key: reference})
        return op

    def refund_deadline(self, charge: Charge, first_capture: datetime) -> datetime:
        """The method's refund validity in days where it publishes days, else calendar months."""
        days = rules_of(charge.payment_method).refund_window_days
        if days is not None:
            return first_capture + timedelta(days=days)
        return add_months(first_capture, self._s.config.refund_window_months)

    # -------------------------------------------------------------- chargeback
    def chargeback(self, charge: Charge, amount: int | None) -> Chargeback:
        """A chargeback of ``amount`` (default: everything still held), after PPRO's balance rules.

        The sum of chargebacks never exceeds captured - refunded (pending refunds reserved too),
        so there is no chargeback after a full refund, and a refund after chargebacks is held
        to the same balance (see :meth:`refund`). PPRO's charge has no chargeback field and no
        chargeback status: only the CHARGEBACK_SUCCEEDED event tells the merchant.
        """
        if not rules_of(charge.payment_method).chargebacks:
            raise SandboxStateError(
                f"{charge.id} is a {charge.payment_method} payment, which has no chargebacks"
            )
        if charge.captured_total == 0:
            raise SandboxStateError(f"{charge.id} has nothing captured to charge back")
        disputable = charge.returnable
        if disputable <= 0:
            raise SandboxStateError(
                f"{charge.id} has nothing left to charge back: captured {charge.captured_total}, refunded "
                f"{charge.refunded_total}, refunds pending {charge.pending_refund_total}, charged back "
                f"{charge.charged_back_total}"
            )
        value = disputable if amount is None else amount
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= disputable:
            raise SandboxStateError(
                f"chargeback amount {value!r} must be a whole number of minor units from 1 to {disputable} "
                "(captured - refunded - pending refunds - charged back)"
            )
        data: Json = {
            "paymentChargeId": charge.id,
            "type": "CHARGEBACK_SUCCEEDED",
            "merchantId": charge.merchant_id,
            "amount": self._money(charge, value),
        }
        event = self._s.emit(
            "CHARGEBACK_SUCCEEDED", charge.id, data, self._s.webhook_target(charge.webhooks_url)
        )
        chargeback = Chargeback(charge.id, value, self._s.clock.now(), event.event_id)
        charge.chargebacks.append(chargeback)
        self._s.chargebacks.append(chargeback)
        return chargeback
