"""Typed requests and normalized results shared by every provider.

All models are frozen attrs classes: a host stores them, compares them and hands them back
to the gateway. Validators enforce invariants only (amounts in one currency, captured plus
voided never above authorized, refunded never above captured); the checks of a request
against a provider's capabilities live in the gateway, before any I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._money import Money, _derived
from ._status import MandateStatus, PaymentStatus


class CaptureMode(enum.Enum):
    """Whether the provider captures on authorization or waits for an explicit capture."""

    AUTOMATIC = "automatic"
    SEPARATE = "separate"


class DeclineCode(enum.Enum):
    """Why a payment was refused, normalized across providers; the raw code is kept beside it."""

    INSUFFICIENT_FUNDS = "insufficient_funds"
    SUSPECTED_FRAUD = "suspected_fraud"
    AUTHENTICATION_FAILED = "authentication_failed"
    CANCELLED_BY_CONSUMER = "cancelled_by_consumer"
    CANCELLED_BY_MERCHANT = "cancelled_by_merchant"
    EXPIRED = "expired"
    AMOUNT_NOT_SUPPORTED = "amount_not_supported"
    CURRENCY_NOT_SUPPORTED = "currency_not_supported"
    COUNTRY_NOT_SUPPORTED = "country_not_supported"
    PAYMENT_METHOD_NOT_SUPPORTED = "payment_method_not_supported"
    MANDATE_INACTIVE = "mandate_inactive"
    MANDATE_REVOKED = "mandate_revoked"
    REFUND_PERIOD_EXPIRED = "refund_period_expired"
    AMOUNT_EXCEEDED = "amount_exceeded"
    DISPUTED = "disputed"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    PROCESSING_ERROR = "processing_error"
    GENERIC = "generic"


class OperationKind(enum.Enum):
    # Speed: Enum's own __hash__ is a Python function (hash of the name); members are
    # singletons compared by identity, so the identity hash is equal for equal members and
    # makes every dict and set keyed by them (rank tables, status tables) a C-level lookup.
    __hash__ = object.__hash__

    AUTHORIZATION = "authorization"
    CAPTURE = "capture"
    REFUND = "refund"
    VOID = "void"
    CHARGEBACK = "chargeback"


class RefundReason(enum.Enum):
    RETURN = "return"
    DUPLICATE = "duplicate"
    FRAUD = "fraud"
    CUSTOMER_REQUEST = "customer_request"
    PRE_DISPUTE = "pre_dispute"
    OTHER = "other"


class AmountType(enum.Enum):
    """How a mandate's amount bounds each later charge."""

    EXACT = "exact"
    MAX = "max"
    VARIABLE = "variable"


class FrequencyUnit(enum.Enum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


@attrs.frozen
class Frequency:
    unit: FrequencyUnit
    interval: int = 1


@attrs.frozen
class Address:
    """A postal address (billing or shipping); ``country`` is ISO 3166-1 alpha-2."""

    first_name: str | None = None
    last_name: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    phone: str | None = None


@attrs.frozen
class Consumer:
    """The paying person. ``country`` is ISO 3166-1 alpha-2."""

    country: str
    name: str | None = None
    email: str | None = None
    locale: str | None = None
    merchant_consumer_reference: str | None = None
    phone: str | None = None
    billing_address: Address | None = None


class ShippingMethod(enum.Enum):
    """How the goods reach the consumer."""

    VIRTUAL = "virtual"
    """Digital goods or services: nothing is shipped."""
    TRACKED_DELIVERY = "tracked_delivery"
    UNTRACKED_DELIVERY = "untracked_delivery"
    IN_STORE_PICKUP = "in_store_pickup"
    LOCKER_PICKUP = "locker_pickup"
    HYBRID = "hybrid"


@attrs.frozen
class LineItem:
    """One line of an order: ``quantity`` times ``unit_price``."""

    name: str
    quantity: int
    unit_price: Money
    sku: str | None = None
    category: str | None = None
    subcategory: str | None = None


@attrs.frozen
class Order:
    """What is being bought, where it goes, and the tax on it.

    ``reference`` is the merchant's order number, the same across every payment attempt
    for the order (``merchant_reference`` names one attempt).
    """

    items: tuple[LineItem, ...] = ()
    shipping_address: Address | None = None
    shipping_method: ShippingMethod | None = None
    reference: str | None = None
    tax: Money | None = None


class ChargeInitiator(enum.Enum):
    """Who starts a charge: the consumer (present, e.g. at checkout) or the merchant alone."""

    CONSUMER = "consumer"
    MERCHANT = "merchant"


class ScheduleType(enum.Enum):
    """Where a mandate charge sits in the billing plan."""

    SCHEDULED = "scheduled"
    """A charge of the agreed schedule (a monthly fee)."""
    SCHEDULED_RETRY = "scheduled_retry"
    """A new attempt at a scheduled charge that failed."""
    UNSCHEDULED = "unscheduled"
    """A one-off charge outside the schedule (a top-up)."""


@attrs.frozen
class NextAction:
    """What the consumer must do next: open ``url`` with ``method`` (a redirect)."""

    url: str
    method: str = "GET"
    kind: str = "redirect"


@attrs.frozen
class Decline:
    """A refusal, normalized (``code``) and raw (``provider_code``, ``provider_type``)."""

    code: DeclineCode
    provider_code: str
    message: str = ""
    provider_type: str | None = None
    retryable: bool = False


class OperationStatus(enum.Enum):
    """Where one capture, void, refund or chargeback stands. It only moves PENDING -> final."""

    # Speed: Enum's own __hash__ is a Python function (hash of the name); members are
    # singletons compared by identity, so the identity hash is equal for equal members and
    # makes every dict and set keyed by them (rank tables, status tables) a C-level lookup.
    __hash__ = object.__hash__

    PENDING = "pending"
    """Accepted by the provider, not settled: a pending refund reserves its amount."""
    SUCCEEDED = "succeeded"
    """Money moved; counted in the payment's totals exactly once."""
    FAILED = "failed"
    """Refused; counts for nothing (a failed refund releases its reservation)."""


# Read by Operation's properties on every fold: a module global, where a member read through
# its enum class costs ~0.1 us on Python 3.11.
_SUCCEEDED = OperationStatus.SUCCEEDED
_PENDING = OperationStatus.PENDING


class OperationSource(enum.Enum):
    """How the host learnt of an operation."""

    ANSWER = "answer"
    """The provider's answer to the call that made it."""
    READ = "read"
    """A read of the payment (``get_payment`` / ``find_payment``)."""
    WEBHOOK = "webhook"
    """A verified webhook event."""


@attrs.frozen
class Operation:
    """One money movement on a payment, identified by the provider's id.

    ``status`` says whether it moved money (only SUCCEEDED operations count in the totals);
    ``at`` is when the provider created it, ``updated_at`` when it last changed. ``reason``
    is a refund's reason; ``decline`` why a FAILED operation was refused. ``source``, ``at``
    and ``updated_at`` say how and when it was learnt, so they are not part of equality.
    """

    kind: OperationKind
    id: str
    amount: Money
    at: datetime | None = attrs.field(default=None, eq=False)
    status: OperationStatus = OperationStatus.SUCCEEDED
    merchant_reference: str | None = None
    reason: RefundReason | None = None
    decline: Decline | None = None
    updated_at: datetime | None = attrs.field(default=None, eq=False)
    source: OperationSource | None = attrs.field(default=None, eq=False)

    @property
    def counts(self) -> bool:
        """Whether it moved money, and so is in the payment's totals."""
        return self.status is _SUCCEEDED

    @property
    def pending(self) -> bool:
        return self.status is _PENDING


_TOTALS = ("authorized", "captured", "refunded", "voided", "charged_back")


def _totals_in_payment_currency(instance: Any, attribute: attrs.Attribute[Money], value: Money) -> None:
    # Speed: a Payment is built for every answer and every fold, so the five totals are checked
    # by one validator (on the last total, when all are set) rather than one call each. They are
    # read in field order, so the first total in another currency is the one reported, as when
    # each total had its own validator.
    expected = instance.amount.currency
    if (
        instance.authorized.currency != expected
        or instance.captured.currency != expected
        or instance.refunded.currency != expected
        or instance.voided.currency != expected
        or value.currency != expected
    ):
        for name in _TOTALS:
            total = getattr(instance, name)
            if total.currency != expected:
                raise ValueError(f"{name} is in {total.currency}, the payment in {expected}")


@attrs.frozen
class Payment:
    """A payment as the provider last reported it, normalized.

    ``amount`` is what was requested; ``authorized``, ``captured``, ``refunded``,
    ``voided`` and ``charged_back`` are totals over the SUCCEEDED ``operations``. Every
    capture, void, refund and chargeback the provider reported is in ``operations``, pending
    and failed ones too. Invariants: authorized <= amount, captured + voided <= authorized,
    refunded + charged_back <= captured; a payment that would break them cannot be built.
    """

    provider: str
    id: str
    status: PaymentStatus
    amount: Money
    authorized: Money
    captured: Money
    refunded: Money
    voided: Money
    charged_back: Money = attrs.field(validator=_totals_in_payment_currency)
    provider_status: str = ""
    """The provider's own status word as last *read* (``get_payment``, ``find_payment``, a webhook).
    A capture, void or refund answer reports only that operation, so its result keeps the word
    read before; ``status`` is always current. Read the payment for a fresh word."""
    merchant_reference: str | None = None
    next_action: NextAction | None = None
    decline: Decline | None = None
    mandate_id: str | None = None
    operations: tuple[Operation, ...] = ()
    captured_at: datetime | None = None
    created_at: datetime | None = None
    consumer: Consumer | None = None
    """The consumer as the provider reports them (for a wallet, the details saved in it)."""
    order: Order | None = None
    """The order as the provider reports it, shipping address and method included."""

    def __attrs_post_init__(self) -> None:
        # Speed: the totals are tested in one expression, in field order, and the negative one
        # is named only when there is one; then they are read once into locals.
        if (
            self.authorized.minor < 0
            or self.captured.minor < 0
            or self.refunded.minor < 0
            or self.voided.minor < 0
            or self.charged_back.minor < 0
        ):
            for name in _TOTALS:
                total = getattr(self, name)
                if total.minor < 0:
                    raise ValueError(f"{name} {total} is negative")
        authorized = self.authorized.minor
        captured = self.captured.minor
        refunded = self.refunded.minor
        voided = self.voided.minor
        charged_back = self.charged_back.minor
        currency = self.amount.currency
        for op in self.operations:
            if op.amount.currency != currency:
                raise ValueError(f"{op.kind.value} {op.id} is in {op.amount.currency}, not {currency}")
        if authorized > self.amount.minor:
            raise ValueError(f"authorized {self.authorized} exceeds the payment's amount {self.amount}")
        if captured + voided > authorized:
            raise ValueError(
                f"captured {self.captured} + voided {self.voided} exceed authorized {self.authorized}"
            )
        if refunded + charged_back > captured:
            raise ValueError(
                f"refunded {self.refunded} + charged back {self.charged_back} exceed captured {self.captured}"
            )

    def operations_of(
        self, kind: OperationKind, status: OperationStatus | None = None
    ) -> tuple[Operation, ...]:
        """The operations of one kind (and, if given, one status), in a stable order."""
        return tuple(
            op for op in self.operations if op.kind is kind and (status is None or op.status is status)
        )

    def pending_total(self, *kinds: OperationKind) -> Money:
        """The total of the PENDING operations of these kinds."""
        return _derived(self._pending_minor(kinds), self.amount.currency)

    def _pending_minor(self, kinds: tuple[OperationKind, ...]) -> int:
        # Amounts the payment already holds, in its own (checked) currency: summed as ints.
        return sum(op.amount.minor for op in self.operations if op.kind in kinds and op.pending)

    @property
    def pending_refunds(self) -> tuple[Operation, ...]:
        """Refunds the provider accepted and has not settled: their amounts are reserved."""
        return self.operations_of(OperationKind.REFUND, OperationStatus.PENDING)

    @property
    def refund_pending(self) -> Money:
        """The total of the pending refunds."""
        return self.pending_total(OperationKind.REFUND)

    @property
    def capturable(self) -> Money:
        """What may still be captured or voided: pending captures and voids are reserved."""
        if self.status not in (PaymentStatus.AUTHORIZED, PaymentStatus.PARTIALLY_CAPTURED):
            return Money.zero(self.amount.currency)
        left = self.authorized.minor - self.captured.minor - self.voided.minor
        left -= self._pending_minor((OperationKind.CAPTURE, OperationKind.VOID))
        return _derived(max(left, 0), self.amount.currency)

    @property
    def refundable(self) -> Money:
        """What may still be refunded: captured - refunded - pending refunds - charged back."""
        if self.status not in (
            PaymentStatus.PARTIALLY_CAPTURED,
            PaymentStatus.CAPTURED,
            PaymentStatus.PARTIALLY_REFUNDED,
        ):
            return Money.zero(self.amount.currency)
        left = self.captured.minor - self.refunded.minor - self.charged_back.minor
        left -= self._pending_minor((OperationKind.REFUND,))
        return _derived(max(left, 0), self.amount.currency)

    @classmethod
    def new(cls, provider: str, id: str, status: PaymentStatus, amount: Money, **fields: Any) -> Payment:
        """A payment with every total at zero unless given."""
        zero = Money.zero(amount.currency)
        for name in ("authorized", "captured", "refunded", "voided", "charged_back"):
            fields.setdefault(name, zero)
        return cls(provider=provider, id=id, status=status, amount=amount, **fields)


@attrs.frozen
class Mandate:
    """A recurring-payment mandate (some providers call it a payment agreement)."""

    provider: str
    id: str
    status: MandateStatus
    provider_status: str = ""
    merchant_reference: str | None = None
    next_action: NextAction | None = None
    initial_payment_id: str | None = None
    decline: Decline | None = None
    created_at: datetime | None = None


@attrs.frozen
class AuthorizeRequest:
    """A one-time payment. ``merchant_reference`` is how an unknown outcome is found again."""

    amount: Money
    consumer: Consumer
    return_url: str
    merchant_reference: str
    capture_mode: CaptureMode = CaptureMode.AUTOMATIC
    idempotency_key: str | None = None
    webhook_url: str | None = None
    description: str | None = None
    labels: Mapping[str, str] = attrs.field(factory=dict)
    order: Order | None = None
    payment_method_token: str | None = None
    """The provider's reference to the consumer's payment details, obtained by the host's front
    end from the provider's own client library (a card form, say), so the host never sees them.
    Whether a provider takes or requires one is ``Capabilities.payment_method_token``."""


@attrs.frozen
class CaptureRequest:
    """Capture ``amount`` (default: all that remains) of ``payment``, the latest known state."""

    payment: Payment
    amount: Money | None = None
    merchant_reference: str | None = None
    idempotency_key: str | None = None


@attrs.frozen
class VoidRequest:
    """Release ``amount`` (default: all that remains) of an authorization."""

    payment: Payment
    amount: Money | None = None
    merchant_reference: str | None = None
    idempotency_key: str | None = None


@attrs.frozen
class RefundRequest:
    """Refund ``amount`` (default: all that remains refundable) of a captured payment."""

    payment: Payment
    amount: Money | None = None
    reason: RefundReason | None = None
    merchant_reference: str | None = None
    idempotency_key: str | None = None


@attrs.frozen
class InitialCharge:
    """The first charge made together with a mandate, approved by the consumer.

    ``webhook_url`` receives this charge's events (the mandate's own ``webhook_url`` receives
    the mandate's); ``description`` may appear on the consumer's statement.
    """

    amount: Money
    merchant_reference: str | None = None
    capture_mode: CaptureMode = CaptureMode.AUTOMATIC
    webhook_url: str | None = None
    description: str | None = None
    labels: Mapping[str, str] = attrs.field(factory=dict)
    order: Order | None = None
    initiator: ChargeInitiator | None = None
    schedule_type: ScheduleType | None = None


@attrs.frozen
class MandateRequest:
    """Set up recurring payments; the consumer approves once through ``next_action``."""

    consumer: Consumer
    return_url: str
    start: datetime
    merchant_reference: str
    end: datetime | None = None
    frequency: Frequency | None = None
    amount: Money | None = None
    amount_type: AmountType | None = None
    description: str | None = None
    initial_charge: InitialCharge | None = None
    webhook_url: str | None = None
    idempotency_key: str | None = None
    payment_method_token: str | None = None
    """The payment details the mandate is for, as ``AuthorizeRequest.payment_method_token``."""


@attrs.frozen
class MandateChargeRequest:
    """A charge against an active mandate; no consumer interaction.

    ``webhook_url`` receives this charge's events; without it they go to the account's
    default URL, not to the mandate's. ``description`` may appear on the consumer's statement.
    """

    mandate_id: str
    amount: Money
    merchant_reference: str
    capture_mode: CaptureMode = CaptureMode.AUTOMATIC
    idempotency_key: str | None = None
    webhook_url: str | None = None
    description: str | None = None
    labels: Mapping[str, str] = attrs.field(factory=dict)
    order: Order | None = None
    initiator: ChargeInitiator | None = None
    schedule_type: ScheduleType | None = None


@attrs.frozen
class RevokeMandateRequest:
    mandate_id: str
    idempotency_key: str | None = None


class EventKind(enum.Enum):
    """What a webhook event says happened, normalized."""

    PAYMENT_CREATED = "payment.created"
    PAYMENT_REQUIRES_ACTION = "payment.requires_action"
    PAYMENT_PROCESSING = "payment.processing"
    PAYMENT_AUTHORIZED = "payment.authorized"
    PAYMENT_DECLINED = "payment.declined"
    PAYMENT_CAPTURED = "payment.captured"
    PAYMENT_CAPTURE_FAILED = "payment.capture_failed"
    PAYMENT_VOIDED = "payment.voided"
    PAYMENT_VOID_FAILED = "payment.void_failed"
    PAYMENT_REFUND_PENDING = "payment.refund_pending"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_REFUND_FAILED = "payment.refund_failed"
    PAYMENT_EXPIRED = "payment.expired"
    PAYMENT_CHARGED_BACK = "payment.charged_back"
    MANDATE_CREATED = "mandate.created"
    MANDATE_REQUIRES_ACTION = "mandate.requires_action"
    MANDATE_ACTIVE = "mandate.active"
    MANDATE_FAILED = "mandate.failed"
    MANDATE_UPDATED = "mandate.updated"
    MANDATE_REVOKED = "mandate.revoked"
    UNHANDLED = "unhandled"
    """A verified event of a type this provider plugin does not map; never guessed at."""


@attrs.frozen
class WebhookEvent:
    """A verified, normalized webhook event. ``event_id`` is the de-duplication key."""

    provider: str
    event_id: str
    kind: EventKind
    provider_type: str
    occurred_at: datetime | None = None
    payment_id: str | None = None
    mandate_id: str | None = None
    payment_status: PaymentStatus | None = None
    mandate_status: MandateStatus | None = None
    operation: Operation | None = None
    amount: Money | None = None
    merchant_reference: str | None = None
    decline: Decline | None = None
    provider_status: str | None = None
