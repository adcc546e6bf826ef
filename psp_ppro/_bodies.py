"""psp requests into PPRO request bodies (pure; amounts stay integer minor units)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from psp_core import (
    Address,
    AuthorizeRequest,
    CaptureMode,
    Consumer,
    InitialCharge,
    MandateChargeRequest,
    MandateRequest,
    Money,
    Order,
    RefundReason,
    ValidationError,
)

from . import _wire
from ._mapping import INITIATORS, REFUND_REASONS, SCHEDULE_TYPES, SHIPPING_METHODS
from ._settings import PproSettings


def wire_money(amount: Money) -> _wire.WireMoney:
    # PPRO takes minor units, exactly what Money holds: no conversion, so no rounding.
    return _wire.WireMoney(value=amount.minor, currency=amount.currency)


def auto_capture(mode: CaptureMode, settings: PproSettings) -> bool:
    """Without separate captures PPRO captures anyway; saying so keeps the request honest."""
    return mode is CaptureMode.AUTOMATIC or not settings.separate_captures


def iso_utc(moment: datetime) -> str:
    """PPRO's ``YYYY-MM-DDTHH:mm:ss.sssZ``; a naive datetime is taken to be UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    utc = aware.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _address(address: Address | None) -> _wire.WireAddress | None:
    if address is None:
        return None
    return _wire.WireAddress(
        first_name=address.first_name,
        last_name=address.last_name,
        phone_number=address.phone,
        street=address.street,
        postal_code=address.postal_code,
        city=address.city,
        region=address.region,
        country=address.country,
    )


def _consumer(consumer: Consumer) -> _wire.WireConsumer:
    return _wire.WireConsumer(
        country=consumer.country,
        name=consumer.name,
        email=consumer.email,
        locale=consumer.locale,
        merchant_consumer_reference=consumer.merchant_consumer_reference,
        phone=consumer.phone,
        billing_address=_address(consumer.billing_address),
    )


def wire_order(order: Order | None) -> _wire.WireOrder | None:
    """PPRO's ``order``: item prices are per unit, in minor units of the charge's currency."""
    if order is None:
        return None
    return _wire.WireOrder(
        order_items=tuple(
            _wire.WireOrderItem(
                name=item.name,
                quantity=item.quantity,
                amount=item.unit_price.minor,
                sku=item.sku,
                category=item.category,
                sub_category=item.subcategory,
            )
            for item in order.items
        ),
        shipping_method=SHIPPING_METHODS[order.shipping_method]
        if order.shipping_method is not None
        else None,
        shipping_address=_address(order.shipping_address),
        order_reference_number=order.reference,
        total_tax_amount=order.tax.minor if order.tax is not None else None,
    )


def _redirect(return_url: str) -> tuple[_wire.AuthenticationSetting, ...]:
    return (_wire.AuthenticationSetting(type="REDIRECT", settings=_wire.RedirectSettings(return_url)),)


def charge_body(request: AuthorizeRequest, settings: PproSettings) -> _wire.ChargeBody:
    return _wire.ChargeBody(
        payment_method=settings.profile.payment_method,
        amount=wire_money(request.amount),
        consumer=_consumer(request.consumer),
        authentication_settings=_redirect(request.return_url),
        merchant_payment_charge_reference=request.merchant_reference,
        auto_capture=auto_capture(request.capture_mode, settings),
        webhooks_url=request.webhook_url,
        payment_descriptor=request.description,
        labels=dict(request.labels) or None,
        order=wire_order(request.order),
    )


def refund_body(amount: Money, reason: RefundReason | None, reference: str | None) -> _wire.RefundBody:
    return _wire.RefundBody(
        amount=amount.minor,
        merchant_refund_reference=reference,
        refund_reason=REFUND_REASONS[reason] if reason is not None else None,
    )


def agreement_body(request: MandateRequest, settings: PproSettings) -> _wire.AgreementBody:
    initial = request.initial_charge
    return _wire.AgreementBody(
        payment_method=settings.profile.payment_method,
        consumer=_consumer(request.consumer),
        authentication_settings=_redirect(request.return_url),
        start_date=iso_utc(request.start),
        merchant_payment_agreement_reference=request.merchant_reference,
        end_date=iso_utc(request.end) if request.end is not None else None,
        frequency=_wire.WireFrequency(type=request.frequency.unit.name, interval=request.frequency.interval)
        if request.frequency is not None
        else None,
        amount=wire_money(request.amount) if request.amount is not None else None,
        amount_type=request.amount_type.name if request.amount_type is not None else None,
        description=request.description,
        initial_payment_charge=_initial_charge(initial, settings) if initial is not None else None,
        webhooks_url=request.webhook_url,
        instrument=_mandate_instrument(request, settings),
    )


DEBIT_MANDATE_ID = re.compile(r"[A-Za-z0-9/?:().,'+ -]{1,35}")
"""A SEPA mandate reference: at most 35 characters of the SEPA character set (docs/ideal.md)."""


def _mandate_instrument(request: MandateRequest, settings: PproSettings) -> _wire.WireInstrument | None:
    """The instrument a method's agreement carries: for iDEAL, the SEPA mandate's id.

    PPRO leaves generating the ``debitMandateId`` to the merchant; psp uses the agreement's
    merchant reference, which names this one mandate attempt (a decision, docs/ideal.md).
    """
    if settings.profile.mandate_instrument is None:
        return None
    reference = request.merchant_reference
    if not DEBIT_MANDATE_ID.fullmatch(reference) or reference.startswith("//"):
        raise ValidationError(
            "merchant_reference",
            f"{settings.profile.provider} uses it as the SEPA debitMandateId, so it must be 1 to 35 "
            "letters, digits, spaces or / ? : ( ) . , ' + - (not starting with //); use a shorter "
            "reference of those characters",
        )
    return _wire.WireInstrument(
        type=settings.profile.mandate_instrument,
        details=_wire.BankAccountDetails(debit_mandate_id=reference),
    )


def _initial_charge(initial: InitialCharge, settings: PproSettings) -> _wire.InitialChargeBody:
    # The reference sits beside ``amount``, as PPRO's PaymentCharge schema has it; the product
    # page's example nests it inside ``amount``, where the schema has no such field.
    return _wire.InitialChargeBody(
        amount=wire_money(initial.amount),
        auto_capture=auto_capture(initial.capture_mode, settings),
        merchant_payment_charge_reference=initial.merchant_reference,
        webhooks_url=initial.webhook_url,
        payment_descriptor=initial.description,
        labels=dict(initial.labels) or None,
        order=wire_order(initial.order),
        initiator=INITIATORS[initial.initiator] if initial.initiator is not None else None,
        schedule_type=SCHEDULE_TYPES[initial.schedule_type] if initial.schedule_type is not None else None,
    )


def agreement_charge_body(
    request: MandateChargeRequest, settings: PproSettings
) -> _wire.AgreementChargeBody:
    # ``amount`` is PPRO's Money ``{value, currency}``; the product page's example says
    # ``amount.amount`` and ``paymentChargeMerchantReference``, which the schema does not have.
    return _wire.AgreementChargeBody(
        amount=wire_money(request.amount),
        merchant_payment_charge_reference=request.merchant_reference,
        auto_capture=auto_capture(request.capture_mode, settings),
        webhooks_url=request.webhook_url,
        payment_descriptor=request.description,
        labels=dict(request.labels) or None,
        order=wire_order(request.order),
        initiator=INITIATORS[request.initiator] if request.initiator is not None else None,
        schedule_type=SCHEDULE_TYPES[request.schedule_type] if request.schedule_type is not None else None,
    )
