"""Bad input, table-driven: every row is refused with a typed error naming the field, and
nothing is sent.

Each row goes through a real Amazon Pay gateway over the sandbox transport; the transport's
request counter (and the sandbox's own) must stay at zero. A few inputs cannot even be
built (a float ``Money``); those rows assert the construction-time TypeError/ValueError.
Settings no gateway can work with (credentials that cannot be a header, unbounded times) are
the CONFIGURATION rows: a ``ConfigurationError`` naming the option, before any I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import attrs
import pytest

from psp_core import (
    CaptureMode,
    CaptureRequest,
    ConfigurationError,
    Consumer,
    Frequency,
    FrequencyUnit,
    InitialCharge,
    MandateChargeRequest,
    MandateRequest,
    Money,
    Payment,
    PaymentStatus,
    RefundRequest,
    RevokeMandateRequest,
    UnsupportedOperationError,
    ValidationError,
    VoidRequest,
)

from .conftest import START, async_sandbox_gateway, authorize_request, new_sandbox, run, sandbox_gateway

USD = "USD"


def usd(minor: int) -> Money:
    return Money(minor, USD)


def payment(status: PaymentStatus, **totals: int) -> Payment:
    """A payment as a host would have stored it (built locally: no request needed)."""
    fields: dict[str, Any] = {name: usd(minor) for name, minor in totals.items()}
    if "captured" in totals:
        fields["captured_at"] = START - timedelta(days=1)
    return Payment.new("amazon_pay", "charge_stored", status, usd(10_000), **fields)


AUTHORIZED = payment(PaymentStatus.AUTHORIZED, authorized=10_000)
PARTLY_CAPTURED = payment(PaymentStatus.PARTIALLY_CAPTURED, authorized=10_000, captured=4_000)
CAPTURED = payment(PaymentStatus.CAPTURED, authorized=10_000, captured=10_000)
PARTLY_REFUNDED = payment(
    PaymentStatus.PARTIALLY_REFUNDED, authorized=10_000, captured=10_000, refunded=9_000
)
# Six calendar months before START is 2025-07-15 12:00; a second earlier is out of the window.
OLD_CAPTURE = attrs.evolve(CAPTURED, captured_at=datetime(2025, 7, 15, 11, 59, 59, tzinfo=UTC))
TERMINAL = {
    "voided": payment(PaymentStatus.VOIDED, authorized=10_000, voided=10_000),
    "refunded": payment(PaymentStatus.REFUNDED, authorized=10_000, captured=10_000, refunded=10_000),
    "declined": payment(PaymentStatus.DECLINED),
    "failed": payment(PaymentStatus.FAILED),
    "expired": payment(PaymentStatus.EXPIRED),
    "charged back": payment(
        PaymentStatus.CHARGED_BACK, authorized=10_000, captured=10_000, charged_back=10_000
    ),
}
PENDING_CONSUMER = payment(PaymentStatus.REQUIRES_ACTION)


def mandate_request(**changes: Any) -> MandateRequest:
    request = MandateRequest(
        consumer=Consumer(country="US", name="John Smith"),
        return_url="https://shop.example/return",
        start=START,
        merchant_reference="agreement-1",
    )
    return attrs.evolve(request, **changes)


def mandate_charge(**changes: Any) -> MandateChargeRequest:
    request = MandateChargeRequest(mandate_id="agr_1", amount=usd(1_000), merchant_reference="renewal-1")
    return attrs.evolve(request, **changes)


def consumer(**changes: Any) -> Consumer:
    return attrs.evolve(Consumer(country="US", name="John Smith"), **changes)


@attrs.frozen
class Bad:
    """One bad input: the operation, its argument, and the field the error must name."""

    name: str
    operation: str
    argument: Any
    field: str
    error: type[ValidationError] = ValidationError
    options: dict[str, object] = attrs.field(factory=dict)


def authorize(name: str, field: str, **changes: Any) -> Bad:
    return Bad(name, "authorize", authorize_request(**changes), field)


LONG = "x" * 513
NO_SEPARATE: dict[str, object] = {"separate_captures": False}
TABLE: list[Bad] = [
    # -- amounts -----------------------------------------------------------------------------
    authorize("negative amount", "amount.minor", amount=usd(-100)),
    authorize("zero amount", "amount.minor", amount=usd(0)),
    authorize("float amount", "amount", amount=10.5),
    authorize("NaN amount", "amount", amount=math.nan),
    authorize("infinite amount", "amount", amount=math.inf),
    authorize("Decimal amount", "amount", amount=Decimal("10.00")),
    authorize("str amount", "amount", amount="10.00"),
    authorize("int amount", "amount", amount=1000),
    authorize("None amount", "amount", amount=None),
    authorize("below the 0.50 USD minimum", "amount", amount=usd(49)),
    authorize("above the 20,000 USD maximum", "amount", amount=usd(2_000_001)),
    authorize("huge amount", "amount", amount=usd(10**30)),
    # -- currencies and countries ------------------------------------------------------------
    authorize(
        "currency PPRO's Amazon Pay does not take (EUR)", "amount.currency", amount=Money(1_000, "EUR")
    ),
    authorize("zero-decimal currency (JPY)", "amount.currency", amount=Money(1_000, "JPY")),
    authorize("three-decimal currency (BHD)", "amount.currency", amount=Money(1_000, "BHD")),
    authorize("unsupported country", "consumer.country", consumer=consumer(country="DE")),
    authorize("lowercase country", "consumer.country", consumer=consumer(country="us")),
    authorize("alpha-3 country", "consumer.country", consumer=consumer(country="USA")),
    authorize("country of the wrong type", "consumer.country", consumer=consumer(country=840)),
    # -- consumer --------------------------------------------------------------------------
    authorize("missing consumer name", "consumer.name", consumer=consumer(name=None)),
    authorize("blank consumer name", "consumer.name", consumer=consumer(name="   ")),
    authorize("over-long consumer name", "consumer.name", consumer=consumer(name=LONG)),
    authorize("over-long email", "consumer.email", consumer=consumer(email=LONG + "@example.com")),
    authorize("consumer as a dict", "consumer", consumer={"country": "US", "name": "John"}),
    authorize("no consumer", "consumer", consumer=None),
    # -- references, descriptions, keys ----------------------------------------------------
    authorize("empty merchant reference", "merchant_reference", merchant_reference=""),
    authorize("missing merchant reference", "merchant_reference", merchant_reference=None),
    authorize("over-long merchant reference", "merchant_reference", merchant_reference=LONG),
    authorize("merchant reference of the wrong type", "merchant_reference", merchant_reference=42),
    authorize("over-long description", "description", description=LONG),
    authorize("over-long idempotency key", "idempotency_key", idempotency_key="k" * 256),
    authorize("idempotency key of the wrong type", "idempotency_key", idempotency_key=123),
    # -- URLs ------------------------------------------------------------------------------
    authorize("plain-http return URL", "return_url", return_url="http://shop.example/return"),
    authorize("return URL without a scheme", "return_url", return_url="shop.example/return"),
    authorize("return URL that is not a URL", "return_url", return_url="not a url"),
    authorize("return URL without a host", "return_url", return_url="https:///return"),
    authorize("ftp return URL", "return_url", return_url="ftp://shop.example/return"),
    authorize("javascript return URL", "return_url", return_url="javascript:alert(1)"),
    authorize("missing return URL", "return_url", return_url=None),
    authorize("over-long return URL", "return_url", return_url="https://shop.example/" + LONG),
    authorize(
        "plain-http webhook URL off this machine", "webhook_url", webhook_url="http://shop.example/hooks"
    ),
    # -- labels and mode -------------------------------------------------------------------
    authorize("51 labels", "labels", labels={f"k{i}": "v" for i in range(51)}),
    authorize("label key over 50 characters", f"labels[{'k' * 51!r}]", labels={"k" * 51: "v"}),
    authorize("label value over 200 characters", "labels['k']", labels={"k": "v" * 201}),
    authorize("label value of the wrong type", "labels['k']", labels={"k": 5}),
    authorize("empty label key", "labels['']", labels={"": "v"}),
    authorize("capture mode as a string", "capture_mode", capture_mode="separate"),
    Bad(
        "separate capture mode when separate captures are off",
        "authorize",
        authorize_request(capture_mode=CaptureMode.SEPARATE),
        "capture_mode",
        options=NO_SEPARATE,
    ),
    Bad("a dict instead of an AuthorizeRequest", "authorize", {"amount": 1000}, "request"),
    # -- capture ---------------------------------------------------------------------------
    Bad("capture above what remains", "capture", CaptureRequest(AUTHORIZED, usd(10_001)), "amount"),
    Bad(
        "capture above what remains after a partial capture",
        "capture",
        CaptureRequest(PARTLY_CAPTURED, usd(6_001)),
        "amount",
    ),
    Bad("capture of zero", "capture", CaptureRequest(AUTHORIZED, usd(0)), "amount.minor"),
    Bad("capture of a negative amount", "capture", CaptureRequest(AUTHORIZED, usd(-1)), "amount.minor"),
    Bad(
        "capture in another currency",
        "capture",
        CaptureRequest(AUTHORIZED, Money(100, "EUR")),
        "amount.currency",
    ),
    Bad("capture of a float", "capture", CaptureRequest(AUTHORIZED, 10.0), "amount"),  # type: ignore[arg-type]
    Bad(
        "capture before the consumer approved", "capture", CaptureRequest(PENDING_CONSUMER), "payment.status"
    ),
    Bad("capture of a fully captured payment", "capture", CaptureRequest(CAPTURED), "payment.status"),
    *[
        Bad(f"capture of a {name} payment", "capture", CaptureRequest(stored), "payment.status")
        for name, stored in TERMINAL.items()
    ],
    Bad("capture of a dict", "capture", CaptureRequest({"id": "charge_1"}), "payment"),  # type: ignore[arg-type]
    Bad(
        "capture when separate captures are off",
        "capture",
        CaptureRequest(AUTHORIZED),
        "capture",
        UnsupportedOperationError,
        NO_SEPARATE,
    ),
    Bad(
        "over-long capture reference",
        "capture",
        CaptureRequest(AUTHORIZED, merchant_reference=LONG),
        "merchant_reference",
    ),
    # -- void ------------------------------------------------------------------------------
    Bad(
        "void when separate captures are off",
        "void",
        VoidRequest(AUTHORIZED),
        "void",
        UnsupportedOperationError,
        NO_SEPARATE,
    ),
    Bad("void above what remains", "void", VoidRequest(PARTLY_CAPTURED, usd(6_001)), "amount"),
    Bad("void of a captured payment", "void", VoidRequest(CAPTURED), "payment.status"),
    Bad("void of a voided payment", "void", VoidRequest(TERMINAL["voided"]), "payment.status"),
    Bad("void before the consumer approved", "void", VoidRequest(PENDING_CONSUMER), "payment.status"),
    # -- refund ----------------------------------------------------------------------------
    Bad("refund above what was captured", "refund", RefundRequest(CAPTURED, usd(10_001)), "amount"),
    Bad(
        "refund above what remains refundable", "refund", RefundRequest(PARTLY_REFUNDED, usd(1_001)), "amount"
    ),
    Bad("refund of a payment never captured", "refund", RefundRequest(AUTHORIZED), "payment.status"),
    Bad(
        "refund after the six-month window",
        "refund",
        RefundRequest(OLD_CAPTURE, usd(100)),
        "payment.captured_at",
    ),
    Bad("refund of zero", "refund", RefundRequest(CAPTURED, usd(0)), "amount.minor"),
    Bad(
        "refund in another currency", "refund", RefundRequest(CAPTURED, Money(100, "EUR")), "amount.currency"
    ),
    *[
        Bad(f"refund of a {name} payment", "refund", RefundRequest(stored), "payment.status")
        for name, stored in TERMINAL.items()
    ],
    # -- mandates --------------------------------------------------------------------------
    Bad(
        "mandate with a plain-http return URL",
        "create_mandate",
        mandate_request(return_url="http://shop.example/r"),
        "return_url",
    ),
    Bad("mandate start that is a string", "create_mandate", mandate_request(start="2026-01-15"), "start"),
    Bad(
        "mandate ending before it starts",
        "create_mandate",
        mandate_request(end=START - timedelta(days=1)),
        "end",
    ),
    Bad(
        "mandate every 0 months",
        "create_mandate",
        mandate_request(frequency=Frequency(FrequencyUnit.MONTHLY, 0)),
        "frequency.interval",
    ),
    Bad("mandate in EUR", "create_mandate", mandate_request(amount=Money(1_000, "EUR")), "amount.currency"),
    Bad(
        "mandate for a consumer in Germany",
        "create_mandate",
        mandate_request(consumer=consumer(country="DE")),
        "consumer.country",
    ),
    Bad(
        "mandate without a reference",
        "create_mandate",
        mandate_request(merchant_reference=""),
        "merchant_reference",
    ),
    Bad(
        "mandate whose initial charge is below the minimum",
        "create_mandate",
        mandate_request(initial_charge=InitialCharge(usd(10))),
        "initial_charge.amount",
    ),
    Bad(
        "mandate description over 100 characters",
        "create_mandate",
        mandate_request(description="d" * 101),
        "description",
    ),
    Bad(
        "charge of a mandate with an empty id", "charge_mandate", mandate_charge(mandate_id=""), "mandate_id"
    ),
    Bad("charge of a mandate for zero", "charge_mandate", mandate_charge(amount=usd(0)), "amount.minor"),
    Bad(
        "charge of a mandate above the maximum",
        "charge_mandate",
        mandate_charge(amount=usd(2_000_001)),
        "amount",
    ),
    Bad(
        "charge of a mandate without a reference",
        "charge_mandate",
        mandate_charge(merchant_reference=None),
        "merchant_reference",
    ),
    Bad(
        "charge of a mandate in EUR",
        "charge_mandate",
        mandate_charge(amount=Money(1_000, "EUR")),
        "amount.currency",
    ),
    Bad(
        "charge of a mandate with an over-long id",
        "charge_mandate",
        mandate_charge(mandate_id="a" * 600),
        "mandate_id",
    ),
    Bad("revoke with an empty mandate id", "revoke_mandate", RevokeMandateRequest(""), "mandate_id"),
    Bad(
        "revoke with a slash in the mandate id",
        "revoke_mandate",
        RevokeMandateRequest("agr_1/revocations"),
        "mandate_id",
    ),
    Bad("revoke given a dict", "revoke_mandate", {"mandate_id": "agr_1"}, "request"),
    # -- ids for reads ---------------------------------------------------------------------
    Bad("get an empty payment id", "get_payment", "", "payment_id"),
    Bad("get a blank payment id", "get_payment", "   ", "payment_id"),
    Bad("get a payment id with a slash", "get_payment", "charge_1/captures", "payment_id"),
    Bad("get a payment id with a query", "get_payment", "charge_1?x=1", "payment_id"),
    Bad("get a payment id with a fragment", "get_payment", "charge_1#x", "payment_id"),
    Bad("get an over-long payment id", "get_payment", "c" * 513, "payment_id"),
    Bad("get a payment id that is None", "get_payment", None, "payment_id"),
    Bad("get a payment id that is a number", "get_payment", 42, "payment_id"),
    Bad("find an empty merchant reference", "find_payment", "", "merchant_reference"),
    Bad("get an empty mandate id", "get_mandate", "", "mandate_id"),
    Bad("get a mandate id escaping its path", "get_mandate", "../payment-charges", "mandate_id"),
    # -- issue #12 (round two): header-unsafe text, unbounded fields, path steps, enums as
    #    strings, naive datetimes, URLs that are not URLs --------------------------------------
    authorize("idempotency key with CR LF", "idempotency_key", idempotency_key="k-1\r\nX-Evil: 1"),
    authorize("idempotency key with NUL", "idempotency_key", idempotency_key="k\x001"),
    authorize("idempotency key with a tab", "idempotency_key", idempotency_key="k\t1"),
    authorize("non-ASCII idempotency key", "idempotency_key", idempotency_key="clé-1"),
    authorize("idempotency key with a leading space", "idempotency_key", idempotency_key=" k-1"),
    authorize("merchant reference with a line feed", "merchant_reference", merchant_reference="order\n1"),
    authorize("merchant reference with NUL", "merchant_reference", merchant_reference="order\x001"),
    authorize(
        "merchant reference with a zero-width space", "merchant_reference", merchant_reference="order\u200b1"
    ),
    authorize(
        "merchant reference with a bidi override", "merchant_reference", merchant_reference="order\u202e1"
    ),
    authorize(
        "merchant reference with a lone surrogate", "merchant_reference", merchant_reference="o\ud8001"
    ),
    authorize(
        "consumer locale over 35 characters", "consumer.locale", consumer=consumer(locale="en-" + "x" * 40)
    ),
    authorize("consumer locale with a line feed", "consumer.locale", consumer=consumer(locale="en\nUS")),
    authorize("consumer locale of the wrong type", "consumer.locale", consumer=consumer(locale=["en"])),
    authorize(
        "over-long merchant consumer reference",
        "consumer.merchant_consumer_reference",
        consumer=consumer(merchant_consumer_reference=LONG),
    ),
    authorize("consumer name with NUL", "consumer.name", consumer=consumer(name="John\x00Smith")),
    authorize("consumer email with CR LF", "consumer.email", consumer=consumer(email="a@b.c\r\nBcc: x")),
    authorize("description with an escape character", "description", description="Order \x1b[31m1"),
    authorize("label value with CR LF", "labels['k']", labels={"k": "v\r\nX: 1"}),
    authorize("return URL with NUL", "return_url", return_url="https://shop.example/r\x00x"),
    authorize("return URL with CR LF", "return_url", return_url="https://shop.example/r\r\nLocation: x"),
    authorize("return URL with port 99999", "return_url", return_url="https://shop.example:99999/r"),
    authorize(
        "return URL with a port that is a word", "return_url", return_url="https://shop.example:http/r"
    ),
    authorize("return URL with a space", "return_url", return_url="https://shop.example/a b"),
    authorize("webhook URL with port 99999", "webhook_url", webhook_url="https://shop.example:99999/hooks"),
    Bad(
        "capture with an idempotency key holding CR LF",
        "capture",
        CaptureRequest(AUTHORIZED, idempotency_key="k\r\n1"),
        "idempotency_key",
    ),
    Bad(
        "void with a reference holding a line feed",
        "void",
        VoidRequest(AUTHORIZED, merchant_reference="void\n1"),
        "merchant_reference",
    ),
    Bad(
        "refund with a non-ASCII idempotency key",
        "refund",
        RefundRequest(CAPTURED, idempotency_key="rembourse-é"),
        "idempotency_key",
    ),
    Bad("refund reason as a string", "refund", RefundRequest(CAPTURED, reason="RETURN"), "reason"),  # type: ignore[arg-type]
    Bad(
        "refund of a payment with a naive capture time",
        "refund",
        RefundRequest(attrs.evolve(CAPTURED, captured_at=datetime(2026, 1, 14, 12, 0))),
        "payment.captured_at",
    ),
    Bad(
        "capture of a payment whose id is '..'",
        "capture",
        CaptureRequest(attrs.evolve(AUTHORIZED, id="..")),
        "payment.id",
    ),
    Bad(
        "capture of a payment whose id is '.'",
        "capture",
        CaptureRequest(attrs.evolve(AUTHORIZED, id=".")),
        "payment.id",
    ),
    Bad(
        "capture of a payment whose status is a string",
        "capture",
        CaptureRequest(attrs.evolve(AUTHORIZED, status="authorized")),
        "payment.status",
    ),
    Bad(
        "mandate start that is naive",
        "create_mandate",
        mandate_request(start=datetime(2026, 1, 15, 12)),
        "start",
    ),
    Bad(
        "mandate end that is naive",
        "create_mandate",
        mandate_request(end=datetime(2027, 1, 15, 12)),
        "end",
    ),
    Bad(
        "mandate frequency unit as a string",
        "create_mandate",
        mandate_request(frequency=Frequency("MONTHLY", 1)),  # type: ignore[arg-type]
        "frequency.unit",
    ),
    Bad(
        "mandate frequency as a dict",
        "create_mandate",
        mandate_request(frequency={"unit": "MONTHLY", "interval": 1}),
        "frequency",
    ),
    Bad(
        "mandate frequency interval as a string",
        "create_mandate",
        mandate_request(frequency=Frequency(FrequencyUnit.MONTHLY, "1")),  # type: ignore[arg-type]
        "frequency.interval",
    ),
    Bad(
        "mandate amount type as a string",
        "create_mandate",
        mandate_request(amount_type="FIXED"),
        "amount_type",
    ),
    Bad(
        "mandate initial charge capture mode as a string",
        "create_mandate",
        mandate_request(initial_charge=InitialCharge(usd(1_000), capture_mode="automatic")),  # type: ignore[arg-type]
        "initial_charge.capture_mode",
    ),
    Bad(
        "mandate initial charge as a dict",
        "create_mandate",
        mandate_request(initial_charge={"amount": usd(1_000)}),
        "initial_charge",
    ),
    Bad(
        "mandate with an idempotency key holding a line feed",
        "create_mandate",
        mandate_request(idempotency_key="a\nb"),
        "idempotency_key",
    ),
    Bad(
        "charge of a mandate with capture mode as a string",
        "charge_mandate",
        mandate_charge(capture_mode="automatic"),
        "capture_mode",
    ),
    Bad(
        "charge of a mandate whose id is '..'",
        "charge_mandate",
        mandate_charge(mandate_id=".."),
        "mandate_id",
    ),
    Bad(
        "revoke with an idempotency key holding CR LF",
        "revoke_mandate",
        RevokeMandateRequest("agr_1", "k\r\n1"),
        "idempotency_key",
    ),
    Bad("revoke with a mandate id '.'", "revoke_mandate", RevokeMandateRequest("."), "mandate_id"),
    Bad("get the payment id '..' (GET /v1)", "get_payment", "..", "payment_id"),
    Bad("get the payment id '.'", "get_payment", ".", "payment_id"),
    Bad("get the payment id '...'", "get_payment", "...", "payment_id"),
    Bad("get a payment id with a backslash", "get_payment", "charge_1\\..", "payment_id"),
    Bad("get the mandate id '..'", "get_mandate", "..", "mandate_id"),
    Bad("find a reference with a line feed", "find_payment", "order\n1", "merchant_reference"),
    Bad("find a reference with NUL", "find_payment", "order\x001", "merchant_reference"),
    Bad("find a reference with a zero-width space", "find_payment", "order\u200b1", "merchant_reference"),
    Bad("find an over-long reference", "find_payment", LONG, "merchant_reference"),
    Bad("find a reference that is None", "find_payment", None, "merchant_reference"),
    Bad("find a blank reference", "find_payment", "   ", "merchant_reference"),
]

CONSTRUCTION: list[tuple[str, Callable[[], object], type[Exception]]] = [
    ("Money from a float", lambda: Money(1.5, USD), TypeError),  # type: ignore[arg-type]
    ("Money from a bool", lambda: Money(True, USD), TypeError),
    ("Money from a Decimal", lambda: Money(Decimal("1"), USD), TypeError),  # type: ignore[arg-type]
    ("Money in a lowercase currency", lambda: Money(1, "usd"), ValueError),
    ("Money in an unknown currency", lambda: Money(1, "ABC"), ValueError),
    ("Money in a currency with no minor unit (XXX)", lambda: Money(1, "XXX"), ValueError),
    ("Money parsed from a float", lambda: Money.parse(1.5, USD), TypeError),  # type: ignore[arg-type]
    ("Money parsed from NaN", lambda: Money.parse("NaN", USD), ValueError),
    ("Money parsed with too many places", lambda: Money.parse("1.005", USD), ValueError),
    ("Money parsed from words", lambda: Money.parse("ten dollars", USD), ValueError),
    ("Money parsed from 1e999999999", lambda: Money.parse("1e999999999", USD), ValueError),
    ("Money parsed from 1e-999999999", lambda: Money.parse("1e-999999999", USD), ValueError),
    ("Money parsed from 31 digits", lambda: Money.parse("9" * 31, USD), ValueError),
    ("Money parsed from 101 characters", lambda: Money.parse("1" * 101, USD), ValueError),
]


CONFIGURATION: list[tuple[str, str, object]] = [
    ("api key with CR LF", "api_key", "key_ok\r\nX-Injected: 1"),
    ("api key with a line feed inside", "api_key", "key_ok\nX-Injected: 1"),
    ("api key with NUL", "api_key", "key\x00ok"),
    ("non-ASCII api key", "api_key", "key_ünïcode"),
    ("api key with a line separator", "api_key", "key\u2028ok"),
    ("merchant id with CR LF", "merchant_id", "merch\r\nX-Injected: 1"),
    ("non-ASCII merchant id", "merchant_id", "merch_ü"),
    ("webhook secret with a line feed inside", "webhook_secret", "whsec\nsecond-line"),
    ("infinite webhook tolerance", "webhook_tolerance_s", math.inf),
    ("NaN webhook tolerance", "webhook_tolerance_s", math.nan),
    ("webhook tolerance 1e400 as text", "webhook_tolerance_s", "1e400"),
    ("webhook tolerance of 10**30 seconds", "webhook_tolerance_s", 10**30),
    ("webhook tolerance over a day", "webhook_tolerance_s", 86_401),
    ("negative webhook tolerance", "webhook_tolerance_s", -1),
    ("infinite timeout", "timeout_s", math.inf),
    ("timeout over ten minutes", "timeout_s", 601),
    ("zero timeout", "timeout_s", "0"),
]
"""Settings no gateway can work with: a ConfigurationError naming the option, before any I/O."""


@pytest.mark.parametrize(
    ("option", "value"), [row[1:] for row in CONFIGURATION], ids=[row[0] for row in CONFIGURATION]
)
def test_unsendable_credentials_and_unbounded_settings_are_configuration_errors(
    option: str, value: object
) -> None:
    sb = new_sandbox()
    with pytest.raises(ConfigurationError) as caught:
        sandbox_gateway(sb, **{option: value})
    assert option in str(caught.value)
    assert sb.request_count == 0
    if option in ("api_key", "webhook_secret"):
        shown = str(caught.value) + repr(caught.value)
        assert not any(str(value)[i : i + 8] in shown for i in range(len(str(value)) - 7))


def _call(kind: str, bad: Bad) -> tuple[ValidationError, int]:
    """Run one row; returns the error and how many requests reached the sandbox."""
    sb = new_sandbox()
    transport = sb.transport()
    if kind == "sync":
        with (
            sandbox_gateway(sb, transport, None, **cast("dict[str, Any]", bad.options)) as gw,
            pytest.raises(ValidationError) as caught,
        ):
            getattr(gw, bad.operation)(bad.argument)
    else:

        async def go() -> None:
            async with async_sandbox_gateway(
                sb, transport, None, **cast("dict[str, Any]", bad.options)
            ) as agw:
                await getattr(agw, bad.operation)(bad.argument)

        with pytest.raises(ValidationError) as caught:
            run(go())
    assert sb.request_count == 0
    return caught.value, transport.request_count


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("bad", TABLE, ids=[bad.name for bad in TABLE])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_sent(kind: str, bad: Bad) -> None:
    error, sent = _call(kind, bad)
    assert sent == 0
    assert isinstance(error, bad.error)
    assert error.field == bad.field, str(error)
    assert str(error).startswith(f"{bad.field}: ")


@pytest.mark.parametrize(
    ("build", "error"), [row[1:] for row in CONSTRUCTION], ids=[row[0] for row in CONSTRUCTION]
)
def test_inputs_that_cannot_even_be_built(build: Callable[[], object], error: type[Exception]) -> None:
    with pytest.raises(error):
        build()


def test_the_table_covers_at_least_forty_kinds_across_every_operation() -> None:
    operations = {bad.operation for bad in TABLE}
    assert operations == {
        "authorize",
        "capture",
        "void",
        "refund",
        "create_mandate",
        "charge_mandate",
        "revoke_mandate",
        "get_payment",
        "find_payment",
        "get_mandate",
    }
    assert len(TABLE) >= 165
    assert len({bad.name for bad in TABLE}) == len(TABLE)  # every row a distinct kind
    assert len(CONSTRUCTION) == 14
    assert len(CONFIGURATION) >= 15


# -- ids inside requests: the same rules as the ids of reads --------------------------------

# The id a write goes to is checked like a read's id: found by this suite (a capture of a
# Payment with id '' used to POST /v1/payment-charges//captures).


@pytest.mark.parametrize(
    "bad",
    [
        Bad(
            "capture of a payment with an empty id",
            "capture",
            CaptureRequest(attrs.evolve(AUTHORIZED, id="")),
            "payment.id",
        ),
        Bad(
            "void of a payment with a slash in its id",
            "void",
            VoidRequest(attrs.evolve(AUTHORIZED, id="a/b")),
            "payment.id",
        ),
        Bad(
            "refund of a payment with a blank id",
            "refund",
            RefundRequest(attrs.evolve(CAPTURED, id="  ")),
            "payment.id",
        ),
        Bad(
            "charge of a mandate with a slash in its id",
            "charge_mandate",
            mandate_charge(mandate_id="agr_1/revocations"),
            "mandate_id",
        ),
    ],
    ids=lambda bad: bad.name,
)
def test_ids_inside_write_requests_are_checked_like_read_ids(bad: Bad) -> None:
    error, sent = _call("sync", bad)
    assert sent == 0
    assert error.field == bad.field
