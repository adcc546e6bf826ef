"""The core enforces the text, label, description and quantity limits a provider declares.

No limit is the core's own: a provider that declares none gets none checked (only characters
that cannot be sent are refused), a provider that declares one gets it enforced before any
request is sent, and labels are refused outright unless the provider declares it takes some.
The request-id header errors quote is the one the provider's config names.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import attrs
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import psp_core
from psp_core import (
    AuthorizeRequest,
    Capabilities,
    CaptureMode,
    Consumer,
    EventKind,
    Gateway,
    LineItem,
    MandateRequest,
    Money,
    Order,
    ProviderConfig,
    RateLimitedError,
    RetryPolicy,
    ValidationError,
)
from psp_core._capabilities import check_authorize, check_mandate
from tests.fakepay import NAME, FakePayPlugin, FakePsp, capabilities

BASE = Capabilities(
    currencies=frozenset({"EUR"}),
    countries=frozenset({"DE"}),
    capture_modes=frozenset({CaptureMode.AUTOMATIC}),
    recurring=True,
)


def authorize(**changes: object) -> AuthorizeRequest:
    request = AuthorizeRequest(
        amount=Money(1_000, "EUR"),
        consumer=Consumer(country="DE", name="Erika Mustermann"),
        return_url="https://shop.example/return",
        merchant_reference="order-1",
    )
    return attrs.evolve(request, **changes)


def refused_field(request: object, caps: Capabilities) -> str | None:
    try:
        check_authorize(request, caps)
    except ValidationError as error:
        return error.field
    return None


# -- psp_core names no PSP, payment method or server ------------------------------------------


def test_psp_core_source_names_no_psp_and_no_server() -> None:
    # "approve" holds the letters p-p-r-o; a name starts where no letter precedes it.
    forbidden = re.compile(r"(?<![a-z])ppro|amazon|uvicorn", re.IGNORECASE)
    root = Path(psp_core.__file__).parent
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if forbidden.search(line)
    ]
    assert found == []


def test_the_core_event_kinds_are_provider_neutral() -> None:
    assert not [kind for kind in EventKind if "discard" in kind.value]


# -- text ---------------------------------------------------------------------------------------


# Every other text of the request is shorter than 30 characters.
@given(limit=st.integers(30, 600), length=st.integers(1, 700))
def test_a_declared_text_limit_is_enforced_exactly(limit: int, length: int) -> None:
    caps = attrs.evolve(BASE, max_text=limit)
    field = refused_field(authorize(merchant_reference="r" * length), caps)
    assert field == ("merchant_reference" if length > limit else None)


def test_without_a_declared_text_limit_the_core_bounds_no_text() -> None:
    assert BASE.max_text is None
    long = "r" * 20_000
    request = authorize(merchant_reference=long, description=long, consumer=Consumer(country="DE", name=long))
    assert refused_field(request, BASE) is None


def test_characters_that_cannot_be_sent_are_refused_whatever_the_limits() -> None:
    assert refused_field(authorize(merchant_reference="order\u200b1"), BASE) == "merchant_reference"


@given(
    text_limit=st.integers(30, 80),
    description_limit=st.none() | st.integers(1, 80),
    length=st.integers(1, 60),
)
def test_a_description_has_its_own_limit_or_else_the_text_limit(
    text_limit: int, description_limit: int | None, length: int
) -> None:
    caps = attrs.evolve(BASE, max_text=text_limit, max_description=description_limit)
    applies = text_limit if description_limit is None else description_limit
    field = refused_field(authorize(description="d" * length), caps)
    assert field == ("description" if length > applies else None)


def test_a_mandate_description_is_held_to_the_declared_mandate_limit() -> None:
    caps = attrs.evolve(BASE, max_text=500, max_mandate_description=100)
    request = MandateRequest(
        consumer=Consumer(country="DE", name="Erika Mustermann"),
        return_url="https://shop.example/return",
        merchant_reference="agreement-1",
        start=datetime(2026, 1, 1, tzinfo=UTC),
        description="d" * 101,
    )
    with pytest.raises(ValidationError) as caught:
        check_mandate(request, caps)
    assert caught.value.field == "description"
    check_mandate(attrs.evolve(request, description="d" * 100), caps)
    check_mandate(
        attrs.evolve(request, description="d" * 101), attrs.evolve(caps, max_mandate_description=None)
    )


# -- labels -------------------------------------------------------------------------------------


def test_labels_are_refused_when_the_provider_declares_none() -> None:
    assert BASE.max_labels == 0
    with pytest.raises(ValidationError, match="takes no labels") as caught:
        check_authorize(authorize(labels={"campaign": "spring"}), BASE)
    assert caught.value.field == "labels"
    check_authorize(authorize(labels={}), BASE)


@given(
    count=st.integers(1, 8),
    key_length=st.integers(1, 30),
    value_length=st.integers(1, 60),
)
def test_declared_label_limits_are_enforced(count: int, key_length: int, value_length: int) -> None:
    caps = attrs.evolve(BASE, max_labels=5, max_label_key=20, max_label_value=40)
    labels = {f"{i}".rjust(key_length, "k"): "v" * value_length for i in range(count)}
    field = refused_field(authorize(labels=labels), caps)
    if count > 5:
        assert field == "labels"
    elif key_length > 20 or value_length > 40:
        assert field is not None and field.startswith("labels[")
    else:
        assert field is None


# -- quantities -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "quantity", "refused"), [(None, 10**12, False), (99, 99, False), (99, 100, True)]
)
def test_a_line_item_quantity_is_held_to_the_declared_maximum(
    declared: int | None, quantity: int, refused: bool
) -> None:
    caps = attrs.evolve(BASE, max_quantity=declared)
    order = Order(items=(LineItem(name="tea", quantity=quantity, unit_price=Money(1_000, "EUR")),))
    field = refused_field(authorize(order=order), caps)
    assert field == ("order.items[0].quantity" if refused else None)


@pytest.mark.parametrize("name", ["max_text", "max_description", "max_label_key", "max_quantity"])
@pytest.mark.parametrize("bad", [0, -1, True, "512"])
def test_a_limit_must_be_a_positive_int(name: str, bad: object) -> None:
    with pytest.raises(ValueError, match=name):
        attrs.evolve(BASE, **{name: bad})


def test_a_negative_label_count_is_refused() -> None:
    with pytest.raises(ValueError, match="max_labels"):
        attrs.evolve(BASE, max_labels=-1)


def test_an_undeclared_label_is_refused_through_the_gateway_with_nothing_sent() -> None:
    psp = FakePsp()
    plugin = FakePayPlugin(attrs.evolve(capabilities(), max_labels=0))
    with Gateway(
        NAME,
        options={"api_key": psp.api_key},
        transport=psp.transport(),
        plugins=[(NAME, plugin)],
        load_entrypoints=False,
        retry=RetryPolicy.no_wait(),
    ) as gateway:
        request = authorize(amount=Money(10_000, "EUR"), labels={"campaign": "spring"})
        with pytest.raises(ValidationError) as caught:
            gateway.authorize(request)
    assert caught.value.field == "labels"
    assert psp.requests == []


# -- the request-id header ------------------------------------------------------------------------


class _HeaderPlugin(FakePayPlugin):
    """fakepay, declaring a request-id header of its own (or none)."""

    def __init__(self, header: str | None) -> None:
        super().__init__()
        self.header = header

    @psp_core.hookimpl
    def psp_configure(self, options: Mapping[str, object], environ: Mapping[str, str]) -> ProviderConfig:
        config = super().psp_configure(options, environ)
        return attrs.evolve(config, request_id_header=self.header)


@pytest.mark.parametrize(("declared", "expected"), [("X-Fake-Trace", "trace-42"), (None, None)])
def test_errors_quote_the_request_id_from_the_header_the_provider_declared(
    declared: str | None, expected: str | None
) -> None:
    def always_limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"X-Fake-Trace": "trace-42", "Request-Reference": "not-this"})

    with (
        Gateway(
            NAME,
            options={"api_key": "fk_test_key"},
            transport=httpx.MockTransport(always_limited),
            plugins=[(NAME, _HeaderPlugin(declared))],
            load_entrypoints=False,
            retry=RetryPolicy.no_wait(2),
        ) as gateway,
        pytest.raises(RateLimitedError) as caught,
    ):
        gateway.get_payment("pay_1")
    assert caught.value.request_id == expected


# -- loggers the provider names are redacted too -----------------------------------------------


class _LoggerPlugin(FakePayPlugin):
    """fakepay, naming a logger of its own server (or none) for the redactor."""

    def __init__(self, loggers: tuple[str, ...]) -> None:
        super().__init__()
        self.loggers = loggers

    @psp_core.hookimpl
    def psp_configure(self, options: Mapping[str, object], environ: Mapping[str, str]) -> ProviderConfig:
        return attrs.evolve(super().psp_configure(options, environ), loggers=self.loggers)


@pytest.mark.parametrize(("declared", "scrubbed"), [(("fakepay.server",), True), ((), False)])
def test_a_logger_the_provider_names_is_scrubbed_while_the_gateway_lives(
    declared: tuple[str, ...], scrubbed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    api_key = "fk_live_Zq81mXw0Pe3n"
    with Gateway(
        NAME,
        options={"api_key": api_key},
        transport=FakePsp(api_key=api_key).transport(),
        plugins=[(NAME, _LoggerPlugin(declared))],
        load_entrypoints=False,
    ), caplog.at_level(logging.INFO, logger="fakepay.server"):
        logging.getLogger("fakepay.server").info("request with Bearer %s", api_key)
    assert (api_key not in caplog.text) is scrubbed
