"""Messages a developer understands: what was expected, which setting refused, no repetition."""

from __future__ import annotations

import attrs
import pytest

from psp_core import (
    CaptureMode,
    CaptureRequest,
    Money,
    PaymentStatus,
    ProviderError,
    UnsupportedOperationError,
    ValidationError,
    VoidRequest,
)
from tests.reliability.conftest import authorize_request, new_sandbox, sandbox_gateway


def test_a_string_capture_mode_is_refused_naming_the_enum_it_should_be() -> None:
    with sandbox_gateway(new_sandbox()) as gateway, pytest.raises(ValidationError) as refused:
        gateway.authorize(authorize_request(capture_mode="separate"))
    assert refused.value.field == "capture_mode"
    assert "must be a CaptureMode such as CaptureMode.SEPARATE, got the str 'separate'" in str(refused.value)


def test_a_separate_capture_turned_off_by_a_setting_names_the_setting() -> None:
    sb = new_sandbox()
    with sandbox_gateway(sb, separate_captures=False) as gateway:
        with pytest.raises(ValidationError) as refused:
            gateway.authorize(authorize_request(capture_mode=CaptureMode.SEPARATE))
        assert "turned off by the provider setting separate_captures (PPRO_SEPARATE_CAPTURES)" in str(
            refused.value
        )
        payment = gateway.authorize(authorize_request(capture_mode=CaptureMode.AUTOMATIC))
        with pytest.raises(UnsupportedOperationError, match="setting separate_captures"):
            gateway.capture(CaptureRequest(payment))


def test_a_capability_the_provider_never_had_blames_no_setting() -> None:
    with sandbox_gateway(new_sandbox()) as gateway, pytest.raises(ValidationError) as refused:
        gateway.authorize(authorize_request(amount=Money(100, "EUR")))
    assert "setting" not in str(refused.value)


@pytest.mark.parametrize(("status", "article"), [("authorized", "an"), ("voided", "a"), ("expired", "an")])
def test_nothing_left_reads_as_english(status: str, article: str) -> None:
    with sandbox_gateway(new_sandbox()) as gateway:
        payment = gateway.authorize(authorize_request(capture_mode=CaptureMode.SEPARATE))
        spent = attrs.evolve(payment, status=PaymentStatus(status), authorized=Money(0, "USD"))
        with pytest.raises(ValidationError) as refused:
            gateway.void(VoidRequest(spent))
    assert f"payment.status: {article} {status} payment has nothing left to void" in str(refused.value)


def test_a_provider_error_says_each_fact_once() -> None:
    with sandbox_gateway(new_sandbox()) as gateway:
        pending = gateway.authorize(authorize_request(capture_mode=CaptureMode.SEPARATE))
        # A stale view: the host believes the payment authorized; PPRO still waits for the consumer.
        stale = attrs.evolve(pending, status=PaymentStatus.AUTHORIZED, authorized=pending.amount)
        with pytest.raises(ProviderError) as refused:
            gateway.capture(CaptureRequest(stale))
    text = str(refused.value)
    assert text.count("HTTP 400") == 1, text
    assert text.startswith("capture: PPRO refused the request: ")
    assert refused.value.request_id is not None and text.count(refused.value.request_id) == 1
