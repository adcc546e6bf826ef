"""The fault campaign: random faults on every write, and never a double or a lost effect.

Each scenario picks a write (authorize, capture, void, refund), puts a payment in the state it
needs, injects a random run of faults the sandbox supports, and sends the write with an
idempotency key. The outcome must be a definitive result with exactly one effect at the PSP,
or an error after which resuming with the same key reaches one. The figures go into the
report: ``fault_scenarios``, ``faults_injected``, ``double_effects``, ``unresolved``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs
import pytest

from psp_core import (
    CaptureRequest,
    Payment,
    PspError,
    RefundRequest,
    VoidRequest,
)

from ._harness import Contract
from ._report import ProviderReport

Write = Callable[[str], Payment]
"""Sends the write with the given idempotency key."""


@attrs.define
class Scenario:
    operation: str
    write: Write
    effects: Callable[[], int]
    """What the PSP stored that this write would add to."""


def _scenario(contract: Contract, operation: str) -> Scenario:
    sandbox = contract.sandbox
    if operation == "authorize":
        request = contract.authorize_request(contract.ordinary_amount())
        return Scenario(
            operation,
            lambda key: contract.gateway.authorize(attrs.evolve(request, idempotency_key=key)),
            lambda: sandbox.payment_count(request.merchant_reference),
        )
    if operation in ("capture", "void"):
        payment = contract.authorized()
        if operation == "capture":
            return Scenario(
                operation,
                lambda key: contract.gateway.capture(CaptureRequest(payment, idempotency_key=key)),
                lambda: sandbox.effects(payment.id).captures,
            )
        return Scenario(
            operation,
            lambda key: contract.gateway.void(VoidRequest(payment, idempotency_key=key)),
            lambda: sandbox.effects(payment.id).voids,
        )
    captured = contract.captured()
    return Scenario(
        operation,
        lambda key: contract.gateway.refund(RefundRequest(captured, idempotency_key=key)),
        lambda: sandbox.effects(captured.id).refunds,
    )


def _operations(contract: Contract) -> list[str]:
    operations = ["authorize"]
    if contract.supports("capture_modes.separate"):
        operations.append("capture")
        if contract.supports("void"):
            operations.append("void")
    if contract.supports("refunds"):
        operations.append("refund")
    return operations


@pytest.mark.psp_verifies("faults")
def test_random_faults_never_double_or_lose_an_effect(
    contract: Contract, fault_scenarios: int, psp_report: ProviderReport
) -> None:
    kinds = sorted(contract.sandbox.fault_kinds)
    if not kinds or fault_scenarios <= 0:
        pytest.skip("the sandbox injects no faults" if not kinds else "no fault scenarios requested")
    rng = random.Random(f"faults:{contract.seed}")  # reproducible with --psp-seed
    operations = _operations(contract)
    stats = {"fault_scenarios": 0, "faults_injected": 0, "double_effects": 0, "unresolved": 0}
    problems: list[str] = []
    for index in range(fault_scenarios):
        scenario = _scenario(contract, rng.choice(operations))
        before = scenario.effects()
        faults = [rng.choice(kinds) for _ in range(rng.randint(1, 5))]
        for kind in faults:
            contract.sandbox.inject_fault(kind)
        key = f"fault-{contract.seed}-{index}"
        resolved = True
        try:
            scenario.write(key)
        except PspError:
            # No definitive answer (or a refusal under load): resume with the same key.
            contract.sandbox.clear_faults()
            try:
                scenario.write(key)
            except PspError as error:
                resolved = False
                problems.append(f"{scenario.operation} with faults {faults}: still {error!r}")
        contract.sandbox.clear_faults()
        added = scenario.effects() - before
        if added > 1:
            stats["double_effects"] += 1
            problems.append(f"{scenario.operation} with faults {faults}: {added} effects")
        elif added < 1 and resolved:
            resolved = False
            problems.append(f"{scenario.operation} with faults {faults}: no effect after a definitive answer")
        stats["unresolved"] += 0 if resolved else 1
        stats["fault_scenarios"] += 1
        stats["faults_injected"] += len(faults)
    psp_report.fault_stats.update(stats)
    assert stats["double_effects"] == 0 and stats["unresolved"] == 0, "\n".join(problems)
