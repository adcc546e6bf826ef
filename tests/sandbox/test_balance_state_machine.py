"""Property: random captures/voids/refunds never break the balance invariants."""

from __future__ import annotations

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from psp_ppro.sandbox import Sandbox, SandboxConfig

from .conftest import AUTH, charge_body

AUTHORIZED = 10_000


class ChargeBalances(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sandbox = Sandbox(SandboxConfig(seed=0))
        self.client = httpx.Client(transport=self.sandbox.transport(), base_url="http://x",
                                   headers=AUTH)
        created = self.client.post("/v1/payment-charges",
                                   json=charge_body(amount=AUTHORIZED, autoCapture=False))
        self.charge_id = created.json()["id"]
        self.sandbox.approve(self.charge_id)

    def _charge(self) -> dict[str, object]:
        data: dict[str, object] = self.client.get(f"/v1/payment-charges/{self.charge_id}").json()
        return data

    def _operate(self, kind: str, amount: int) -> None:
        before = self._charge()
        response = self.client.post(f"/v1/payment-charges/{self.charge_id}/{kind}",
                                    json={"amount": amount})
        assert response.status_code in (200, 400), response.text
        if response.status_code == 400:
            # A rejected operation changes nothing at all.
            assert self._charge() == before
        else:
            assert response.json()["amount"] == amount

    @rule(amount=st.integers(min_value=1, max_value=AUTHORIZED + 10))
    def capture(self, amount: int) -> None:
        self._operate("captures", amount)

    @rule(amount=st.integers(min_value=1, max_value=AUTHORIZED + 10))
    def void(self, amount: int) -> None:
        self._operate("voids", amount)

    @rule(amount=st.integers(min_value=1, max_value=AUTHORIZED + 10))
    def refund(self, amount: int) -> None:
        self._operate("refunds", amount)

    @invariant()
    def balances_hold(self) -> None:
        charge = self._charge()

        def total(key: str) -> int:
            items = charge[key]
            assert isinstance(items, list)
            return sum(int(i["amount"]) for i in items if i["status"] != "FAILED")

        captured, voided, refunded = total("captures"), total("voids"), total("refunds")
        assert captured + voided <= AUTHORIZED
        assert refunded <= captured
        if refunded and refunded == captured:
            assert charge["status"] in ("REFUNDED", "CAPTURED", "VOIDED", "REFUND_PROCESSING")

    def teardown(self) -> None:
        self.client.close()


TestChargeBalances = ChargeBalances.TestCase
