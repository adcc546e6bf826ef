"""What a provider declares it can do, and the checks of a request against it.

The gateway runs these checks before any I/O, so a request the provider would refuse is
refused here with a :class:`ValidationError` naming the field and the allowed values, and
nothing is sent.
"""

from __future__ import annotations

import calendar
import enum
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import attrs

from ._errors import UnsupportedOperationError, ValidationError
from ._models import (
    Address,
    AmountType,
    AuthorizeRequest,
    CaptureMode,
    CaptureRequest,
    ChargeInitiator,
    Consumer,
    Frequency,
    FrequencyUnit,
    InitialCharge,
    LineItem,
    MandateChargeRequest,
    MandateRequest,
    OperationKind,
    OperationStatus,
    Order,
    Payment,
    RefundReason,
    RefundRequest,
    ScheduleType,
    ShippingMethod,
    VoidRequest,
)
from ._money import Money
from ._status import PaymentStatus

MAX_LOCALE = 35
"""Longest locale accepted: the longest well-formed BCP 47 tag a PSP is likely to take."""
MAX_IDEMPOTENCY_KEY = 255

# Control (Cc), format (Cf: zero-width and bidi marks), surrogate (Cs) and line/paragraph
# separator characters are refused in every text that is sent: they break headers and logs,
# let two references look alike, and a reference holding one could not be searched for.
_UNSENDABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _unsendable(value: str) -> str | None:
    """The first character of ``value`` that is refused in sent text, or None."""
    if value.isascii() and value.isprintable():
        # The common case, decided in C: ASCII has no Cf, Cs, Zl or Zp characters, and its
        # only non-printable ones are the Cc controls.
        return None
    for char in value:
        if unicodedata.category(char) in _UNSENDABLE_CATEGORIES:
            return char
    return None


def check_header_safe(field: str, value: str) -> None:
    """Text that goes into an HTTP header: visible ASCII and inner spaces, nothing else.

    CR, LF and NUL would split or truncate the header; anything outside ASCII cannot be
    encoded in one at all. Refused before any I/O, so nothing is sent.
    """
    bad = next((char for char in value if not " " <= char <= "~"), None)
    if bad is not None:
        raise ValidationError(
            field, f"contains {bad!r}, which cannot go into an HTTP header; use visible ASCII characters"
        )
    if value != value.strip():
        raise ValidationError(field, "has leading or trailing spaces; remove them")


@attrs.frozen
class AmountLimits:
    minimum: Money
    maximum: Money

    def __attrs_post_init__(self) -> None:
        if self.minimum.currency != self.maximum.currency or self.minimum > self.maximum:
            raise ValueError(f"bad limits {self.minimum}..{self.maximum}")

    def narrowed(self, minimum: Money | None, maximum: Money | None) -> AmountLimits:
        """These limits narrowed to a merchant's own; raises ValueError if that would widen them.

        A merchant's contract may allow less than the payment method (a PSP may publish a
        maximum that "can vary"), never more: the method's limits still apply at the provider.
        """
        low = self.minimum if minimum is None else minimum
        high = self.maximum if maximum is None else maximum
        for name, value in (("minimum", low), ("maximum", high)):
            if value.currency != self.minimum.currency:
                raise ValueError(f"the {name} {value} is not in {self.minimum.currency}")
            if not self.minimum <= value <= self.maximum:
                raise ValueError(
                    f"the {name} {value} is outside the method's limits {self.minimum} to {self.maximum}; "
                    "a merchant's limits may only narrow them"
                )
        return AmountLimits(low, high)


class Requirement(enum.Enum):
    """Whether a provider takes a request field that only some providers understand."""

    NOT_ACCEPTED = "not_accepted"
    OPTIONAL = "optional"
    REQUIRED = "required"


@attrs.frozen
class Capabilities:
    """A provider's declared profile. Everything not declared is refused."""

    currencies: frozenset[str]
    countries: frozenset[str]
    amount_limits: Mapping[str, AmountLimits] = attrs.field(factory=dict)
    capture_modes: frozenset[CaptureMode] = frozenset({CaptureMode.AUTOMATIC})
    partial_capture: bool = False
    multiple_captures: bool = False
    void: bool = False
    partial_void: bool = False
    refunds: bool = True
    partial_refund: bool = True
    multiple_refunds: bool = True
    refund_window: timedelta | None = None
    refund_window_months: int | None = None
    """Refund validity in calendar months after the first capture (1 July 12:00 -> 1 January
    12:00 for six). With ``refund_window`` too, the earlier deadline applies."""
    authorization_validity: timedelta | None = None
    """How long a separate-capture authorization can be captured; None: not published."""
    recurring: bool = False
    chargebacks: bool = False
    requires_consumer_name: bool = False
    requires_return_url: bool = True
    payment_method_token: Requirement = Requirement.NOT_ACCEPTED
    """Whether authorize and mandate requests carry a ``payment_method_token`` from the host's
    front end (a token-based provider) or none (the consumer chooses on the provider's page)."""
    turned_off_by: str | None = attrs.field(default=None, eq=False)
    """The provider setting that took capabilities away (``"separate_captures (ACME_SEPARATE_CAPTURES)"``),
    named in refusals so a developer finds the switch; None when the profile is the provider's own."""

    def refusal(self, reason: str) -> str:
        """``reason``, plus the setting that turned the capability off when there is one."""
        if self.turned_off_by is None:
            return reason
        return f"{reason}; turned off by the provider setting {self.turned_off_by}"
    pending_refunds: bool = False
    """The provider may answer a refund PENDING and settle it later (a read or a webhook)."""
    partial_chargebacks: bool = False
    """A chargeback may take back part of the captured money, leaving the rest refundable."""
    max_text: int | None = None
    """Longest free-text value the provider takes (names, references, addresses, ids), in
    characters; None: the provider declares no limit, and the core bounds none."""
    max_description: int | None = None
    """Longest payment description; None: ``max_text`` applies."""
    max_mandate_description: int | None = None
    """Longest mandate description; None: ``max_text`` applies."""
    max_labels: int = 0
    """How many labels (string key/value metadata) one payment or charge may carry; 0: the
    provider takes none, so any label is refused."""
    max_label_key: int | None = None
    """Longest label key; None: ``max_text`` applies."""
    max_label_value: int | None = None
    """Longest label value; None: ``max_text`` applies."""
    max_quantity: int | None = None
    """Largest line-item quantity the provider takes; None: no limit declared."""
    sources: Mapping[str, str] = attrs.field(factory=dict)
    """Where a capability's value was published: capability name -> URL."""

    def __attrs_post_init__(self) -> None:
        for name in (
            "max_text",
            "max_description",
            "max_mandate_description",
            "max_label_key",
            "max_label_value",
            "max_quantity",
        ):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"Capabilities.{name} must be a positive int or None, got {value!r}")
        if isinstance(self.max_labels, bool) or not isinstance(self.max_labels, int) or self.max_labels < 0:
            raise ValueError(f"Capabilities.max_labels must be an int >= 0, got {self.max_labels!r}")

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form, for ``psp providers --json`` and the conformance report."""
        return {
            "currencies": sorted(self.currencies),
            "countries": sorted(self.countries),
            "amount_limits": {
                cur: {"minimum": lim.minimum.format(), "maximum": lim.maximum.format()}
                for cur, lim in sorted(self.amount_limits.items())
            },
            "capture_modes": sorted(mode.value for mode in self.capture_modes),
            "partial_capture": self.partial_capture,
            "multiple_captures": self.multiple_captures,
            "void": self.void,
            "partial_void": self.partial_void,
            "refunds": self.refunds,
            "partial_refund": self.partial_refund,
            "multiple_refunds": self.multiple_refunds,
            "refund_window_days": self.refund_window.days if self.refund_window else None,
            "refund_window_months": self.refund_window_months,
            "authorization_validity_days": self.authorization_validity.days
            if self.authorization_validity
            else None,
            "recurring": self.recurring,
            "chargebacks": self.chargebacks,
            "partial_chargebacks": self.partial_chargebacks,
            "pending_refunds": self.pending_refunds,
            "requires_consumer_name": self.requires_consumer_name,
            "payment_method_token": self.payment_method_token.value,
            "max_text": self.max_text,
            "max_description": self.max_description,
            "max_mandate_description": self.max_mandate_description,
            "max_labels": self.max_labels,
            "max_label_key": self.max_label_key,
            "max_label_value": self.max_label_value,
            "max_quantity": self.max_quantity,
            "sources": dict(sorted(self.sources.items())),
        }


def _a(word: str) -> str:
    """The indefinite article for ``word``: "an authorized payment", "a captured payment"."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _by_value(mode: CaptureMode) -> str:
    return mode.value


def add_months(at: datetime, months: int) -> datetime:
    """``at`` plus calendar months; a day the target month lacks becomes its last day."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    if at.day <= 28:  # every month has the day: no month length to work out (~1 µs a refund)
        return at.replace(year=year, month=month)
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def refund_deadline(caps: Capabilities, captured_at: datetime | None) -> datetime | None:
    """The last moment a payment first captured at ``captured_at`` may be refunded, if limited."""
    if captured_at is None:
        return None
    deadlines = []
    if caps.refund_window is not None:
        deadlines.append(captured_at + caps.refund_window)
    if caps.refund_window_months is not None:
        deadlines.append(add_months(captured_at, caps.refund_window_months))
    return min(deadlines) if deadlines else None


def authorization_deadline(caps: Capabilities, payment: Payment) -> datetime | None:
    """When the payment's authorization stops being capturable, if the provider publishes it.

    It runs from the authorization's creation (the earliest time the provider reported for
    it), which can only make the deadline earlier than the provider's own, never later.
    """
    if caps.authorization_validity is None:
        return None
    # One pass over the operations, not operations_of's tuple and a list: every capture runs this.
    start = None
    for op in payment.operations:
        if (
            op.kind is OperationKind.AUTHORIZATION
            and op.status is OperationStatus.SUCCEEDED
            and op.at is not None
            and (start is None or op.at < start)
        ):
            start = op.at
    if start is None:
        start = payment.created_at
    return None if start is None else start + caps.authorization_validity


def _text(field: str, value: object, *, required: bool, limit: int | None) -> None:
    """A text that is sent: a string, non-empty when required, within ``limit`` (None: no
    declared limit), and free of characters that break headers, logs and searches."""
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise ValidationError(field, "must not be empty")
    if limit is not None and len(value) > limit:
        raise ValidationError(field, f"is {len(value)} characters long; at most {limit} allowed")
    bad = _unsendable(value)
    if bad is not None:
        raise ValidationError(
            field, f"contains the control or format character {bad!r}; remove it", allowed="printable text"
        )


def _url(field: str, value: object, caps: Capabilities, *, required: bool) -> None:
    _text(field, value, required=required, limit=caps.max_text)
    if value is None:
        return
    assert isinstance(value, str)
    # " " is the only whitespace str.isprintable accepts: together, no whitespace or control
    # character anywhere (what a per-character any(isspace or not isprintable) says, in C).
    if " " in value or not value.isprintable():
        raise ValidationError(field, "contains whitespace or a control character; percent-encode it")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a port that is not a number in 0..65535
    except ValueError as error:
        raise ValidationError(field, f"is not a valid URL ({error}); fix the host or port") from None
    if parts.scheme != "https" and not _is_loopback_http(value):
        raise ValidationError(field, f"must be an https:// URL, got {value!r}")
    if not parts.hostname:
        raise ValidationError(field, f"must be an absolute URL with a host, got {value!r}")


def _is_loopback_http(url: str) -> bool:
    # Plain http is accepted only for a server on this machine: the local sandbox and demo.
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}


def _money(field: str, value: object, caps: Capabilities, *, check_limits: bool) -> Money:
    if isinstance(value, float):
        raise ValidationError(field, "is a float; amounts are Money in integer minor units")
    if not isinstance(value, Money):
        raise ValidationError(field, f"must be Money, got {type(value).__name__}")
    if value.currency not in caps.currencies:
        raise ValidationError(
            f"{field}.currency", f"{value.currency} is not supported", allowed=sorted(caps.currencies)
        )
    if value.minor <= 0:
        raise ValidationError(f"{field}.minor", f"must be positive, got {value.minor}")
    limits = caps.amount_limits.get(value.currency)
    if check_limits and limits is not None and not (limits.minimum <= value <= limits.maximum):
        raise ValidationError(
            field,
            f"{value} is outside the provider's limits",
            allowed=f"{limits.minimum} to {limits.maximum}",
        )
    return value


def _consumer(field: str, consumer: object, caps: Capabilities) -> None:
    if not isinstance(consumer, Consumer):
        raise ValidationError(field, f"must be a Consumer, got {type(consumer).__name__}")
    if not isinstance(consumer.country, str) or consumer.country not in caps.countries:
        raise ValidationError(
            f"{field}.country", f"{consumer.country!r} is not supported", allowed=sorted(caps.countries)
        )
    _text(f"{field}.name", consumer.name, required=caps.requires_consumer_name, limit=caps.max_text)
    _text(f"{field}.locale", consumer.locale, required=False, limit=MAX_LOCALE)
    check_contact_details(field, consumer, caps)


def _reference(field: str, value: object, caps: Capabilities, *, required: bool) -> None:
    _text(field, value, required=required, limit=caps.max_text)


def check_reference(field: str, value: object, caps: Capabilities) -> None:
    """A merchant reference, as authorize accepts it and find_payment searches for it."""
    _reference(field, value, caps, required=True)


_NOT_ONE_SEGMENT = re.compile(r"[/?#\\]")
"""What would end an id's URL path segment: '/', '?', '#', and '\\' (a '/' to some servers)."""


def check_id(field: str, value: object, caps: Capabilities) -> None:
    """A provider id or reference that goes into a URL path: non-empty, bounded, one segment."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string")
    # '.' and '..' are path steps, not segments: '/v1/payment-charges/..' is GET /v1.
    if (
        (caps.max_text is not None and len(value) > caps.max_text)
        or _NOT_ONE_SEGMENT.search(value) is not None  # in C; a generator costs a µs per id
        or not value.isprintable()
        or value.strip(".") == ""
    ):
        raise ValidationError(field, f"{value!r} is not a valid identifier; pass the id the provider gave")


def check_idempotency_key(value: object) -> None:
    """A host's idempotency key: bounded, and safe to send as a header (it is one)."""
    # A blank key would be shared by every request that passes one.
    _text("idempotency_key", value, required=False, limit=MAX_IDEMPOTENCY_KEY)
    if isinstance(value, str):
        if not value.strip():
            raise ValidationError("idempotency_key", "must not be blank; omit it to have one generated")
        check_header_safe("idempotency_key", value)


_idempotency_key = check_idempotency_key


def _aware(field: str, value: object) -> None:
    if not isinstance(value, datetime):
        raise ValidationError(field, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "is a naive datetime; pass one with a time zone (datetime.UTC)")


def _enum(field: str, value: object, kind: type[enum.Enum]) -> None:
    if not isinstance(value, kind):
        raise ValidationError(
            field,
            f"must be a {kind.__name__}, got {type(value).__name__} {value!r}",
            allowed=[member.name for member in kind],
        )


def _payment_method_token(value: object, caps: Capabilities) -> None:
    field = "payment_method_token"
    if value is None:
        if caps.payment_method_token is Requirement.REQUIRED:
            raise ValidationError(
                field,
                "is required by this provider: pass the payment method id your front end obtained "
                "from the provider's client library",
            )
        return
    if caps.payment_method_token is Requirement.NOT_ACCEPTED:
        raise ValidationError(
            field,
            "is not taken by this provider: leave it out; the consumer chooses how to pay on the "
            "provider's page (the payment's next_action)",
        )
    _text(field, value, required=True, limit=caps.max_text)
    assert isinstance(value, str)
    bad = next((char for char in value if not "!" <= char <= "~"), None)
    if bad is not None:
        raise ValidationError(
            field,
            f"contains {bad!r}; a token is the id in visible ASCII that the provider's client library "
            "returned: pass it unchanged",
        )


def check_authorize(request: object, caps: Capabilities) -> None:
    if not isinstance(request, AuthorizeRequest):
        raise ValidationError("request", f"must be an AuthorizeRequest, got {type(request).__name__}")
    _money("amount", request.amount, caps, check_limits=True)
    _consumer("consumer", request.consumer, caps)
    _url("return_url", request.return_url, caps, required=caps.requires_return_url)
    _url("webhook_url", request.webhook_url, caps, required=False)
    _reference("merchant_reference", request.merchant_reference, caps, required=True)
    _idempotency_key(request.idempotency_key)
    description_limit = _or_text(caps.max_description, caps)
    _text("description", request.description, required=False, limit=description_limit)
    if not isinstance(request.capture_mode, CaptureMode):
        raise ValidationError(
            "capture_mode",
            f"must be a CaptureMode such as CaptureMode.SEPARATE, got the "
            f"{type(request.capture_mode).__name__} {request.capture_mode!r}",
            allowed=[f"CaptureMode.{mode.name}" for mode in sorted(caps.capture_modes, key=_by_value)],
        )
    if request.capture_mode not in caps.capture_modes:
        raise ValidationError(
            "capture_mode",
            caps.refusal(f"{request.capture_mode.value} capture is not offered by this provider"),
            allowed=sorted(mode.value for mode in caps.capture_modes),
        )
    check_labels("labels", request.labels, caps, value_required=False)
    check_order("order", request.order, request.amount.currency, caps)
    _payment_method_token(request.payment_method_token, caps)


def _payment(request: CaptureRequest | VoidRequest | RefundRequest, caps: Capabilities) -> Payment:
    if not isinstance(request.payment, Payment):
        raise ValidationError("payment", f"must be a Payment, got {type(request.payment).__name__}")
    check_id("payment.id", request.payment.id, caps)
    # A host that stored the payment as JSON and rebuilt it by hand may pass a plain string.
    _enum("payment.status", request.payment.status, PaymentStatus)
    return request.payment


def _operation_amount(
    field: str, amount: object, default: Money, caps: Capabilities, remaining: Money, what: str
) -> Money:
    if amount is None:
        return default
    value = _money(field, amount, caps, check_limits=False)
    if value.currency != remaining.currency:
        raise ValidationError(
            f"{field}.currency", f"the payment is in {remaining.currency}", allowed=[remaining.currency]
        )
    if value > remaining:
        raise ValidationError(field, f"{value} is more than the {remaining} {what}")
    return value


def _reserved(payment: Payment, verb: str, *kinds: OperationKind) -> str:
    pending = [op for op in payment.operations if op.kind in kinds and op.pending]
    if not pending:
        return ""
    listed = ", ".join(f"{op.kind.value} {op.id} of {op.amount}" for op in pending)
    return (
        f"; {listed} still pending and reserved: wait for it to settle (a webhook or get_payment) "
        f"before you {verb} more"
    )


def check_capture(request: object, caps: Capabilities, now: datetime | None = None) -> Money:
    """Validate a capture; returns the amount to capture."""
    if not isinstance(request, CaptureRequest):
        raise ValidationError("request", f"must be a CaptureRequest, got {type(request).__name__}")
    if CaptureMode.SEPARATE not in caps.capture_modes:
        raise UnsupportedOperationError(
            "capture", caps.refusal("this provider captures automatically; no separate capture")
        )
    payment = _payment(request, caps)
    check_not_processing(payment, "captured")
    if not caps.multiple_captures and payment.captured:  # the flag first: it spares a Money test
        raise UnsupportedOperationError("amount", "this provider allows one capture per payment")
    deadline = authorization_deadline(caps, payment)
    if deadline is not None and now is not None and now > deadline and payment.capturable:
        raise ValidationError(
            "payment",
            f"the authorization expired at {deadline.isoformat()} ({caps.authorization_validity} after it "
            "was granted) and can no longer be captured; read the payment, and authorize a new payment "
            "for the amount still due",
        )
    return _settled_amount(request, payment.capturable, "capture", caps.partial_capture, caps)


def check_void(request: object, caps: Capabilities) -> Money:
    if not isinstance(request, VoidRequest):
        raise ValidationError("request", f"must be a VoidRequest, got {type(request).__name__}")
    if not caps.void:
        raise UnsupportedOperationError("void", caps.refusal("this provider does not support voids"))
    payment = _payment(request, caps)
    check_not_processing(payment, "voided")
    return _settled_amount(request, payment.capturable, "void", caps.partial_void, caps)


def check_refund(request: object, caps: Capabilities, now: datetime) -> Money:
    if not isinstance(request, RefundRequest):
        raise ValidationError("request", f"must be a RefundRequest, got {type(request).__name__}")
    if not caps.refunds:
        raise UnsupportedOperationError("refund", "this provider does not support refunds")
    payment = _payment(request, caps)
    if request.reason is not None:
        _enum("reason", request.reason, RefundReason)
    if payment.captured_at is not None:
        _aware("payment.captured_at", payment.captured_at)
    # The flag first: it spares summing the pending refunds when several refunds are allowed.
    if not caps.multiple_refunds and (payment.refunded or payment.refund_pending):
        raise UnsupportedOperationError("amount", "this provider allows one refund per payment")
    deadline = refund_deadline(caps, payment.captured_at)
    if deadline is not None and now > deadline:
        raise ValidationError(
            "payment.captured_at",
            f"the refund window after the first capture ended at {deadline.isoformat()}; the provider "
            "refuses later refunds, so return the money to the consumer another way",
        )
    return _settled_amount(request, payment.refundable, "refund", caps.partial_refund, caps)


def _settled_amount(
    request: CaptureRequest | VoidRequest | RefundRequest,
    remaining: Money,
    verb: str,
    partial: bool,
    caps: Capabilities,
) -> Money:
    """The amount a capture, void or refund moves (default: all that remains), within what remains."""
    kinds = (OperationKind.REFUND,) if verb == "refund" else (OperationKind.CAPTURE, OperationKind.VOID)
    reserved = _reserved(request.payment, verb, *kinds)
    if not remaining:
        status = request.payment.status.value
        raise ValidationError(
            "payment.status", f"{_a(status)} {status} payment has nothing left to {verb}{reserved}"
        )
    amount = _operation_amount(
        "amount", request.amount, remaining, caps, remaining, f"left to {verb}{reserved}"
    )
    if not partial and amount != remaining:  # the flag first: Money's != costs ~0.4 µs
        raise UnsupportedOperationError("amount", f"partial {verb} is not supported", allowed=str(remaining))
    _reference("merchant_reference", request.merchant_reference, caps, required=False)
    _idempotency_key(request.idempotency_key)
    return amount


def check_mandate(request: object, caps: Capabilities) -> None:
    if not caps.recurring:
        raise UnsupportedOperationError("mandate", "this provider does not support recurring payments")
    if not isinstance(request, MandateRequest):
        raise ValidationError("request", f"must be a MandateRequest, got {type(request).__name__}")
    _consumer("consumer", request.consumer, caps)
    _url("return_url", request.return_url, caps, required=caps.requires_return_url)
    _url("webhook_url", request.webhook_url, caps, required=False)
    _reference("merchant_reference", request.merchant_reference, caps, required=True)
    description_limit = _or_text(caps.max_mandate_description, caps)
    _text("description", request.description, required=False, limit=description_limit)
    _idempotency_key(request.idempotency_key)
    _payment_method_token(request.payment_method_token, caps)
    _aware("start", request.start)
    if request.end is not None:
        _aware("end", request.end)
        if request.end <= request.start:
            raise ValidationError("end", "must be a datetime after start")
    if request.amount_type is not None:
        _enum("amount_type", request.amount_type, AmountType)
    if request.frequency is not None:
        if not isinstance(request.frequency, Frequency):
            raise ValidationError("frequency", f"must be a Frequency, got {type(request.frequency).__name__}")
        _enum("frequency.unit", request.frequency.unit, FrequencyUnit)
        if not isinstance(request.frequency.interval, int) or isinstance(request.frequency.interval, bool):
            raise ValidationError("frequency.interval", "must be an int between 1 and 1000")
    if request.amount is not None:
        _money("amount", request.amount, caps, check_limits=True)
    if request.frequency is not None and not 1 <= request.frequency.interval <= 1000:
        raise ValidationError("frequency.interval", "must be between 1 and 1000")
    if request.initial_charge is not None:
        if not isinstance(request.initial_charge, InitialCharge):
            raise ValidationError(
                "initial_charge", f"must be an InitialCharge, got {type(request.initial_charge).__name__}"
            )
        _money("initial_charge.amount", request.initial_charge.amount, caps, check_limits=True)
        _reference(
            "initial_charge.merchant_reference",
            request.initial_charge.merchant_reference,
            caps,
            required=False,
        )
        mode = request.initial_charge.capture_mode
        if not isinstance(mode, CaptureMode):
            raise ValidationError(
                "initial_charge.capture_mode",
                f"must be a CaptureMode such as CaptureMode.SEPARATE, got the {type(mode).__name__} {mode!r}",
            )
        if mode not in caps.capture_modes:
            raise ValidationError(
                "initial_charge.capture_mode",
                caps.refusal(f"{mode.value} capture is not offered by this provider"),
                allowed=sorted(mode.value for mode in caps.capture_modes),
            )
        check_charge_details("initial_charge.", request.initial_charge, caps)


def check_mandate_charge(request: object, caps: Capabilities) -> None:
    if not caps.recurring:
        raise UnsupportedOperationError("mandate", "this provider does not support recurring payments")
    if not isinstance(request, MandateChargeRequest):
        raise ValidationError("request", f"must be a MandateChargeRequest, got {type(request).__name__}")
    check_id("mandate_id", request.mandate_id, caps)
    _money("amount", request.amount, caps, check_limits=True)
    _reference("merchant_reference", request.merchant_reference, caps, required=True)
    _idempotency_key(request.idempotency_key)
    _enum("capture_mode", request.capture_mode, CaptureMode)
    if request.capture_mode not in caps.capture_modes:
        raise ValidationError(
            "capture_mode", "is not supported", allowed=sorted(mode.value for mode in caps.capture_modes)
        )
    check_charge_details("", request, caps)


# -- order, consumer details and the details of a mandate charge ---------------------------------

_COUNTRY_CODE = re.compile(r"[A-Z]{2}")
_LOCALE = re.compile(r"[a-z]{2}-[A-Z]{2}")


def _enum_member(field: str, value: object, kind: type[enum.Enum]) -> None:
    if value is not None and not isinstance(value, kind):
        raise ValidationError(
            field, f"must be a {kind.__name__}, got {value!r}", allowed=[m.name for m in kind]
        )


def _country_code(field: str, value: object, caps: Capabilities) -> None:
    _text(field, value, required=False, limit=caps.max_text)
    if isinstance(value, str) and not _COUNTRY_CODE.fullmatch(value):
        raise ValidationError(field, f"{value!r} is not an ISO 3166-1 alpha-2 code such as 'US'")


def _email(field: str, value: object, caps: Capabilities) -> None:
    _text(field, value, required=False, limit=caps.max_text)
    if value is None:
        return
    assert isinstance(value, str)
    local, at, domain = value.rpartition("@")
    # The provider checks the address format; catch what is plainly not one before sending.
    if not at or not local or "." not in domain.strip(".") or any(c.isspace() for c in value):
        raise ValidationError(field, f"{value[:60]!r} is not an email address such as 'jo@example.com'")


def check_address(field: str, address: object, caps: Capabilities) -> None:
    """A billing or shipping address: bounded texts and an alpha-2 country."""
    if address is None:
        return
    if not isinstance(address, Address):
        raise ValidationError(field, f"must be an Address, got {type(address).__name__}")
    for name in ("first_name", "last_name", "street", "postal_code", "city", "region", "phone"):
        _text(f"{field}.{name}", getattr(address, name), required=False, limit=caps.max_text)
    _country_code(f"{field}.country", address.country, caps)


def check_contact_details(field: str, consumer: Consumer, caps: Capabilities) -> None:
    """The consumer's email, phone, locale and billing address, when given."""
    _email(f"{field}.email", consumer.email, caps)
    _text(f"{field}.phone", consumer.phone, required=False, limit=caps.max_text)
    _text(
        f"{field}.merchant_consumer_reference",
        consumer.merchant_consumer_reference,
        required=False,
        limit=caps.max_text,
    )
    if consumer.locale is not None and not _LOCALE.fullmatch(consumer.locale):
        raise ValidationError(f"{field}.locale", f"{consumer.locale!r} is not a locale such as 'en-US'")
    check_address(f"{field}.billing_address", consumer.billing_address, caps)


def _order_money(field: str, value: object, currency: str) -> None:
    if isinstance(value, float):
        raise ValidationError(field, "is a float; amounts are Money in integer minor units")
    if not isinstance(value, Money):
        raise ValidationError(field, f"must be Money, got {type(value).__name__}")
    if value.currency != currency:
        raise ValidationError(f"{field}.currency", f"the payment is in {currency}", allowed=[currency])
    if value.minor < 0:
        raise ValidationError(f"{field}.minor", f"must not be negative, got {value.minor}")


def _line_item(field: str, item: object, currency: str, caps: Capabilities) -> None:
    if not isinstance(item, LineItem):
        raise ValidationError(field, f"must be a LineItem, got {type(item).__name__}")
    _text(f"{field}.name", item.name, required=True, limit=caps.max_text)
    quantity = item.quantity
    most = caps.max_quantity
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or quantity < 1
        or (most is not None and quantity > most)
    ):
        allowed = f"from 1 to {most}" if most is not None else "of at least 1"
        raise ValidationError(f"{field}.quantity", f"must be a whole number {allowed}, got {quantity!r}")
    _order_money(f"{field}.unit_price", item.unit_price, currency)
    for name in ("sku", "category", "subcategory"):
        _text(f"{field}.{name}", getattr(item, name), required=False, limit=caps.max_text)


def check_order(field: str, order: object, currency: str, caps: Capabilities) -> None:
    """Line items, shipping and tax of an order, in the payment's ``currency``."""
    if order is None:
        return
    if not isinstance(order, Order):
        raise ValidationError(field, f"must be an Order, got {type(order).__name__}")
    if not isinstance(order.items, tuple):
        raise ValidationError(
            f"{field}.items", f"must be a tuple of LineItem, got {type(order.items).__name__}"
        )
    for index, item in enumerate(order.items):
        _line_item(f"{field}.items[{index}]", item, currency, caps)
    check_address(f"{field}.shipping_address", order.shipping_address, caps)
    _enum_member(f"{field}.shipping_method", order.shipping_method, ShippingMethod)
    _text(f"{field}.reference", order.reference, required=False, limit=caps.max_text)
    if order.tax is not None:
        _order_money(f"{field}.tax", order.tax, currency)


def _or_text(limit: int | None, caps: Capabilities) -> int | None:
    """A specific limit the provider declared, else its general text limit."""
    return caps.max_text if limit is None else limit


def check_labels(field: str, labels: object, caps: Capabilities, *, value_required: bool = True) -> None:
    """Labels within the provider's declared count and key and value lengths; none if it declares none."""
    if not isinstance(labels, Mapping):
        raise ValidationError(field, f"must be a mapping of strings, got {type(labels).__name__}")
    if labels and caps.max_labels == 0:
        raise ValidationError(field, "this provider takes no labels; remove them", allowed="no labels")
    if len(labels) > caps.max_labels:
        raise ValidationError(
            field, f"{len(labels)} labels; at most {caps.max_labels} allowed, remove the rest"
        )
    for key, value in labels.items():
        _text(f"{field}[{key!r}]", key, required=True, limit=_or_text(caps.max_label_key, caps))
        _text(f"{field}[{key!r}]", value, required=value_required, limit=_or_text(caps.max_label_value, caps))


def check_charge_details(
    prefix: str, charge: InitialCharge | MandateChargeRequest, caps: Capabilities
) -> None:
    """What a mandate charge (or a mandate's initial charge) carries besides its amount."""
    _url(f"{prefix}webhook_url", charge.webhook_url, caps, required=False)
    description_limit = _or_text(caps.max_description, caps)
    _text(f"{prefix}description", charge.description, required=False, limit=description_limit)
    check_labels(f"{prefix}labels", charge.labels, caps)
    check_order(f"{prefix}order", charge.order, charge.amount.currency, caps)
    _enum_member(f"{prefix}initiator", charge.initiator, ChargeInitiator)
    _enum_member(f"{prefix}schedule_type", charge.schedule_type, ScheduleType)


def check_not_processing(payment: Payment, verb: str) -> None:
    """Nothing is captured or voided while the provider is still settling the payment.

    A PROCESSING payment has an authorization on its way or an automatic capture in flight
    (an asynchronous authorization, a capture being processed); a capture or void sent now would race it.
    """
    if payment.status is PaymentStatus.PROCESSING:
        raise ValidationError(
            "payment.status",
            f"payment {payment.id} is still processing at the provider (provider status "
            f"{payment.provider_status or 'unknown'}), so nothing can be {verb} yet; read it again "
            "with get_payment, or wait for its webhook, and retry once it is authorized",
        )
