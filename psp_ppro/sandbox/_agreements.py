"""Payment agreements (recurring): creation, consumer authentication, charges, revocation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from . import _validation as v
from ._charges import ChargeService, bank_code, method_rule_failure
from ._errors import SandboxStateError, bad_request
from ._methods import METHODS, MethodRules
from ._models import Agreement, Charge, Failure, HistoryEntry, Json, Revocation, redirect_method, to_json
from ._state import SandboxState

FREQUENCY_TYPES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
AMOUNT_TYPES = frozenset({"MAX", "EXACT", "VARIABLE"})
_REVOKED = frozenset({"REVOKED_BY_CONSUMER", "REVOKED_BY_MERCHANT", "REVOKED_BY_PROVIDER"})


def charge_details(body: Json, prefix: str) -> dict[str, Any]:
    """What an agreement charge (or ``initialPaymentCharge``) carries besides amount and reference.

    The charge's own ``webhooksUrl`` receives its events. PPRO's agreement schema says the
    agreement's ``webhooksUrl`` is where "the agreement state changes will be notified", and its
    webhooks page says a URL given in a request, or else the account's default, receives the
    events (https://developerhub.ppro.com/global-api/docs/webhooks): nothing makes a charge
    inherit its agreement's URL, so without its own it falls back to the account default only.
    """
    v.consumer_update(body, f"{prefix}consumer")
    return {
        "webhooks_url": v.webhooks_url(body, f"{prefix}webhooksUrl"),
        "labels": v.labels(body, f"{prefix}labels"),
        "descriptor": v.opt_str(body, "paymentDescriptor", f"{prefix}paymentDescriptor"),
        "order": v.order(body, f"{prefix}order"),
        "initiator": v.opt_enum(body, "initiator", f"{prefix}initiator", v.INITIATORS),
        "schedule_type": v.opt_enum(body, "scheduleType", f"{prefix}scheduleType", v.SCHEDULE_TYPES),
    }


class AgreementService:
    """Operations on agreements. Callers hold the simulator lock."""

    def __init__(self, state: SandboxState, charges: ChargeService) -> None:
        self._s = state
        self._charges = charges

    def _emit(self, agreement: Agreement, event_type: str, **extra: Any) -> None:
        data: Json = {
            "paymentAgreementId": agreement.id,
            "paymentAgreementStatus": agreement.status,
            "paymentMethod": agreement.payment_method,
            "merchantId": agreement.merchant_id,
            "type": event_type,
        }
        if agreement.merchant_reference is not None:
            data["merchantPaymentAgreementReference"] = agreement.merchant_reference
        data.update({k: val for k, val in extra.items() if val is not None})
        target = self._s.webhook_target(agreement.webhooks_url)
        self._s.emit(event_type, agreement.id, data, target)

    def _transition(self, agreement: Agreement, status: str, failure: Failure | None = None) -> None:
        now = self._s.clock.now()
        agreement.status = status
        agreement.updated_at = now
        agreement.history.append(HistoryEntry(self._s.ids.new("ahist"), status, now, failure))

    # ---------------------------------------------------------------- create
    def create(self, body: Json, merchant_id: str) -> Agreement:
        payment_method = v.req_str(body, "paymentMethod", "paymentMethod")
        consumer = v.consumer(body)
        start = v.date_time(body, "startDate", "startDate", required=True)
        end = v.date_time(body, "endDate", "endDate", required=False)
        description = v.opt_str(body, "description", "description", max_len=100)
        reference = v.opt_str(body, "merchantPaymentAgreementReference", "merchantPaymentAgreementReference")
        frequency = v.opt_object(body, "frequency", "frequency")
        if frequency is not None:
            if frequency.get("type") not in FREQUENCY_TYPES:
                raise bad_request("frequency.type must be one of " + ", ".join(sorted(FREQUENCY_TYPES)))
            interval = frequency.get("interval", 1)
            if isinstance(interval, bool) or not isinstance(interval, int) or not 1 <= interval <= 1000:
                raise bad_request("frequency.interval must be an integer from 1 to 1000")
            frequency = {"type": frequency["type"], "interval": interval}
        amount: Json | None = None
        if body.get("amount") is not None:
            value, currency = v.money(body, "amount", "amount")
            amount = {"value": value, "currency": currency}
        amount_type = v.opt_enum(body, "amountType", "amountType", AMOUNT_TYPES)
        initial = v.opt_object(body, "initialPaymentCharge", "initialPaymentCharge")
        initial_amount: tuple[int, str] | None = None
        initial_reference: str | None = None
        initial_auto: bool | None = None
        initial_details: dict[str, Any] = {}
        if initial is not None:
            initial_details = charge_details(initial, "initialPaymentCharge.")
            initial_amount = v.money(initial, "amount", "initialPaymentCharge.amount")
            initial_reference = v.opt_str(
                initial,
                "merchantPaymentChargeReference",
                "initialPaymentCharge.merchantPaymentChargeReference",
            )
            if initial_reference is None:
                # The product page nests the reference inside amount; hoist it instead of
                # rejecting a documented example.
                initial_reference = v.opt_str(
                    initial["amount"],
                    "merchantPaymentChargeReference",
                    "initialPaymentCharge.amount.merchantPaymentChargeReference",
                )
            initial_auto = v.opt_bool(initial, "autoCapture", "initialPaymentCharge.autoCapture")
        webhooks_url = v.webhooks_url(body)
        return_url = v.redirect_return_url(body)
        rules = METHODS.get(payment_method)
        mandate_id = _debit_mandate_id(body, rules)
        chosen_bank = bank_code(body, "")
        now = self._s.clock.now()
        agreement = Agreement(
            id=self._s.ids.new("agr"),
            payment_method=payment_method,
            consumer=dict(consumer),
            status="INITIALIZING",
            created_at=now,
            updated_at=now,
            instrument_id=self._s.ids.new("instr"),
            merchant_id=merchant_id,
            start_date=start,
            end_date=end,
            description=description,
            merchant_reference=reference,
            frequency=frequency,
            amount=amount,
            amount_type=amount_type,
            return_url=return_url,
            webhooks_url=webhooks_url,
            labels=v.labels(body),
        )
        agreement.debit_mandate_id = mandate_id
        agreement.bank_code = chosen_bank
        agreement.history.append(HistoryEntry(self._s.ids.new("ahist"), "INITIALIZING", now))
        self._s.agreements[agreement.id] = agreement
        self._emit(
            agreement,
            "PAYMENT_AGREEMENT_CREATED",
            consumer=dict(consumer),
            frequency=frequency,
            amount=amount,
            amountType=amount_type,
            description=description,
        )
        # Without an amount the method's own minimum stands in (an unknown method fails anyway).
        check_value, check_currency = initial_amount or (
            (amount["value"], amount["currency"])
            if amount
            else (rules.min_amount, rules.currency)
            if rules
            else (0, "")
        )
        failure = method_rule_failure(
            payment_method, check_currency, consumer["country"], check_value, consumer.get("name")
        )
        if failure is not None:
            self._fail(agreement, failure)
            return agreement
        request_url = self._s.authenticate_url(agreement.id)
        agreement.authentication_methods = [redirect_method(request_url)]
        assert rules is not None  # method_rule_failure refused any other method
        timeout = min(self._s.config.authentication_timeout_s, rules.authentication_timeout_s)
        agreement.auth_deadline = now + timedelta(seconds=timeout)
        self._transition(agreement, "AUTHENTICATION_PENDING")
        self._emit(
            agreement,
            "PAYMENT_AGREEMENT_AUTHENTICATION_PENDING",
            authenticationMethods=list(agreement.authentication_methods),
        )
        if initial_amount is not None:
            charge = self._charges.new_charge(
                merchant_id,
                payment_method,
                initial_amount[0],
                initial_amount[1],
                agreement.consumer,
                reference=initial_reference,
                auto_capture=initial_auto,
                agreement_id=agreement.id,
                instrument_id=agreement.instrument_id,
                **initial_details,
            )
            charge.return_url = return_url
            self._charges.emit(
                charge,
                "PAYMENT_CHARGE_CREATED",
                paymentMedium="ECOMMERCE",
                amount={"value": charge.amount, "currency": charge.currency},
                consumer=dict(charge.consumer),
                order=charge.order,
                initiator=charge.initiator,
                paymentDescriptor=charge.payment_descriptor,
            )
            # The consumer authenticates once, on the agreement's page, for both resources.
            self._charges.start_authentication(charge, request_url)
            agreement.initial_charge_id = charge.id
        return agreement

    def _fail(self, agreement: Agreement, failure: Failure) -> None:
        agreement.failure = failure
        agreement.authentication_methods = []
        self._transition(agreement, "FAILED", failure)
        self._emit(agreement, "PAYMENT_AGREEMENT_FAILED", failure=to_json(failure))

    def _initial_charge(self, agreement: Agreement) -> Charge | None:
        if agreement.initial_charge_id is None:
            return None
        charge = self._s.charges[agreement.initial_charge_id]
        return charge if charge.status == "AUTHENTICATION_PENDING" else None

    # ----------------------------------------------------- consumer outcomes
    def _require_pending(self, agreement: Agreement) -> None:
        if agreement.status != "AUTHENTICATION_PENDING":
            raise SandboxStateError(f"{agreement.id} is {agreement.status}, not AUTHENTICATION_PENDING")

    def approve(self, agreement: Agreement) -> None:
        self._require_pending(agreement)
        agreement.authentication_methods = []
        self._transition(agreement, "ACTIVE")
        self._emit(agreement, "PAYMENT_AGREEMENT_ACTIVE")
        charge = self._initial_charge(agreement)
        if charge is not None:
            # PPRO: the agreement can be ACTIVE even when its initial charge then fails.
            self._charges.approve(charge)
        elif agreement.initial_charge_id is None:
            verification = METHODS[agreement.payment_method].verification_charge
            if verification is not None:
                self._verify_account(agreement, verification)

    def _verify_account(self, agreement: Agreement, amount: int) -> None:
        """iDEAL's check of the account when an agreement has no initial charge.

        PPRO: "a €0.01 verification payment will be made and immediately refunded". It is a
        charge on the agreement with no merchant reference, captured and refunded at once
        (the scenario knobs that hold a merchant's charges do not hold it).
        """
        rules = METHODS[agreement.payment_method]
        charge = self._charges.new_charge(
            agreement.merchant_id,
            agreement.payment_method,
            amount,
            rules.currency,
            agreement.consumer,
            reference=None,
            auto_capture=True,
            webhooks_url=agreement.webhooks_url,
            agreement_id=agreement.id,
            instrument_id=agreement.instrument_id,
        )
        agreement.verification_charge_id = charge.id
        self._charges.emit(
            charge,
            "PAYMENT_CHARGE_CREATED",
            paymentMedium="ECOMMERCE",
            amount={"value": amount, "currency": rules.currency},
            consumer=dict(charge.consumer),
        )
        self._charges.verify_account(charge)

    def decline(self, agreement: Agreement) -> None:
        self._require_pending(agreement)
        self._fail(
            agreement, Failure("PROVIDER_DECLINE", "AUTHENTICATION_FAILED", "Consumer authentication failed")
        )
        charge = self._initial_charge(agreement)
        if charge is not None:
            self._charges.decline(charge)

    def cancel(self, agreement: Agreement) -> None:
        self._require_pending(agreement)
        self._fail(
            agreement,
            Failure("PROVIDER_DECLINE", "CANCELED_BY_CONSUMER", "The consumer canceled the agreement"),
        )
        charge = self._initial_charge(agreement)
        if charge is not None:
            self._charges.cancel(charge)

    def expire_if_due(self, agreement: Agreement) -> bool:
        if (
            agreement.status != "AUTHENTICATION_PENDING"
            or agreement.auth_deadline is None
            or self._s.clock.now() < agreement.auth_deadline
        ):
            return False
        self._fail(
            agreement,
            Failure(
                "PROVIDER_DECLINE", "EXPIRED_SESSION", "Consumer authentication was not completed in time"
            ),
        )
        charge = self._initial_charge(agreement)
        if charge is not None:
            self._charges.discard(charge, "AUTHENTICATION_TIMEOUT")
        return True

    # ------------------------------------------------- merchant operations
    def charge(self, agreement: Agreement, body: Json) -> Charge:
        """``POST /v1/payment-agreements/{id}/payment-charges``: no consumer interaction."""
        value, currency = v.money(body, "amount", "amount")
        reference = v.opt_str(body, "merchantPaymentChargeReference", "merchantPaymentChargeReference")
        auto_capture = v.opt_bool(body, "autoCapture", "autoCapture")
        details = charge_details(body, "")
        charge = self._charges.new_charge(
            agreement.merchant_id,
            agreement.payment_method,
            value,
            currency,
            agreement.consumer,
            reference=reference,
            auto_capture=auto_capture,
            agreement_id=agreement.id,
            instrument_id=agreement.instrument_id,
            **details,
        )
        self._charges.emit(
            charge,
            "PAYMENT_CHARGE_CREATED",
            paymentMedium="ECOMMERCE",
            amount={"value": value, "currency": currency},
            consumer=dict(charge.consumer),
            order=charge.order,
            initiator=charge.initiator,
            paymentDescriptor=charge.payment_descriptor,
        )
        failure: Failure | None = None
        if agreement.status in _REVOKED:
            failure = Failure(
                "INTERNAL_DECLINE", "AGREEMENT_REVOKED", f"Payment agreement is {agreement.status}"
            )
        elif agreement.status != "ACTIVE":
            failure = Failure(
                "INTERNAL_DECLINE", "AGREEMENT_INACTIVE", f"Payment agreement is {agreement.status}"
            )
        else:
            failure = method_rule_failure(
                agreement.payment_method, currency, charge.country, value, charge.consumer.get("name")
            )
        if failure is not None:
            self._charges.fail_authorization(charge, failure)
        elif not self._charges.hold_authorization(charge):
            self._charges.authorize(charge)
        return charge

    def revoke(self, agreement: Agreement) -> Json:
        if agreement.status != "ACTIVE":
            raise bad_request(f"Payment agreement in status {agreement.status} cannot be revoked")
        now = self._s.clock.now()
        agreement.revocations.append(Revocation(self._s.ids.new("rev"), "REVOKED_BY_MERCHANT", now))
        self._transition(agreement, "REVOKED_BY_MERCHANT")
        self._emit(agreement, "PAYMENT_AGREEMENT_REVOKED_BY_MERCHANT")
        return {"status": "REVOKED"}


def _debit_mandate_id(body: Json, rules: MethodRules | None) -> str | None:
    """The SEPA mandate id a method's agreement must carry (iDEAL: ``BANK_ACCOUNT`` with ``debitMandateId``).

    PPRO marks it mandatory on the iDEAL recurring page; a missing one is a 400, like any
    missing mandatory field. Its length limit, 35, is SEPA's (PPRO's SEPA Direct Debit pages).
    """
    if rules is None or rules.agreement_instrument is None:
        return None
    instrument = v.opt_object(body, "instrument", "instrument")
    if instrument is None or instrument.get("type") != rules.agreement_instrument:
        raise bad_request(
            f"instrument is required for {rules.code} agreements: type {rules.agreement_instrument} "
            "with details.debitMandateId"
        )
    details = v.opt_object(instrument, "details", "instrument.details") or {}
    mandate_id = details.get("debitMandateId")
    if not isinstance(mandate_id, str) or not 1 <= len(mandate_id) <= 35:
        raise bad_request("instrument.details.debitMandateId must be a string of 1 to 35 characters")
    return mandate_id
