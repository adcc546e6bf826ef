"""Mandates: create (with and without an initial charge), approve or decline, charge while
active, revoke, and charging refused afterwards; statuses only along ``MANDATE_TRANSITIONS``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import (
    DeclineCode,
    Mandate,
    MandateChargeRequest,
    MandateStatus,
    Money,
    Payment,
    PaymentStatus,
    RevokeMandateRequest,
    UnsupportedOperationError,
    can_transition_mandate,
)

from ._harness import Contract

verifies = pytest.mark.psp_verifies
MONEY_MOVED = (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED)
REFUSED = (DeclineCode.MANDATE_INACTIVE, DeclineCode.MANDATE_REVOKED)


class Watched:
    """A mandate's statuses as read after each step, checked against the table."""

    def __init__(self, contract: Contract, mandate: Mandate) -> None:
        self.contract = contract
        self.id = mandate.id
        self.seen = [mandate.status]

    def read(self) -> Mandate:
        mandate = self.contract.gateway.get_mandate(self.id)
        assert can_transition_mandate(self.seen[-1], mandate.status), (
            f"mandate moved {self.seen[-1].value} -> {mandate.status.value}"
        )
        self.seen.append(mandate.status)
        return mandate


def charge(contract: Contract, mandate_id: str, amount: Money) -> Payment:
    request = MandateChargeRequest(mandate_id, amount, contract.reference("mit"))
    payment: Payment = contract.gateway.charge_mandate(request)
    assert payment.amount == amount
    return payment


@verifies("recurring")
def test_an_undeclared_mandate_is_refused(contract: Contract) -> None:
    if contract.supports("recurring"):
        pytest.skip(f"{contract.provider} declares recurring payments")
    with pytest.raises(UnsupportedOperationError):
        contract.gateway.create_mandate(contract.mandate_request())


@verifies("recurring")
def test_an_active_mandate_charges_repeatedly_until_revoked(contract: Contract) -> None:
    contract.require("recurring")

    @contract.hypothesis_settings
    @given(count=st.integers(1, 3), initial=st.booleans())
    def check(count: int, initial: bool) -> None:
        amount = contract.ordinary_amount()
        request = contract.mandate_request(initial=amount if initial else None)
        created = contract.gateway.create_mandate(request)
        assert created.status in (MandateStatus.PENDING, MandateStatus.REQUIRES_ACTION)
        assert created.next_action is not None, "the consumer must be told where to approve the mandate"
        if initial:
            assert created.initial_payment_id is not None
        watched = Watched(contract, created)
        contract.sandbox.approve(created.id)
        assert watched.read().status is MandateStatus.ACTIVE
        if initial:
            assert created.initial_payment_id is not None
            first = contract.gateway.get_payment(created.initial_payment_id)
            assert first.status in MONEY_MOVED and first.authorized == amount
        for _ in range(count):
            payment = charge(contract, created.id, amount)
            assert payment.status in MONEY_MOVED, payment
            assert payment.decline is None
            assert watched.read().status is MandateStatus.ACTIVE
        revoked = contract.gateway.revoke_mandate(RevokeMandateRequest(created.id))
        assert revoked.status is MandateStatus.REVOKED
        assert watched.read().status is MandateStatus.REVOKED
        refused = charge(contract, created.id, amount)
        assert refused.status in (PaymentStatus.DECLINED, PaymentStatus.FAILED) and not refused.authorized
        assert refused.decline is not None and refused.decline.code in REFUSED
        assert watched.read().status is MandateStatus.REVOKED

    check()


@verifies("recurring")
def test_a_declined_mandate_fails_and_cannot_be_charged(contract: Contract) -> None:
    contract.require("recurring")
    created = contract.gateway.create_mandate(contract.mandate_request())
    watched = Watched(contract, created)
    contract.sandbox.decline(created.id)
    assert watched.read().status is MandateStatus.FAILED
    refused = charge(contract, created.id, contract.ordinary_amount())
    assert refused.status in (PaymentStatus.DECLINED, PaymentStatus.FAILED) and not refused.authorized
    assert refused.decline is not None and refused.decline.code in REFUSED
    assert watched.read().status is MandateStatus.FAILED
