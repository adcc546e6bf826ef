"""The fault campaign: random faults on every write, and never a double or a lost effect.

Each scenario picks a write (authorize, capture, void, refund, create mandate, charge mandate,
revoke mandate), puts the PSP in the state that write needs, injects a random run of the
faults the sandbox supports (lost answers after the write was stored, refused connections,
timeouts, 5xx, 429 with and without a hint, in-flight 409, latency) and sends the write with
an idempotency key, through the sync or the async gateway at random. The outcome must be a
definitive result with exactly one effect at the PSP, or an error after which resuming (the
same key again, or a status read by merchant reference where the write has one) reaches one.
The figures go into the report: ``fault_scenarios``, ``faults_injected``, ``double_effects``,
``unresolved``; ``faults_by_kind`` and ``outcome_unknown`` say what was tried.

The post-commit campaign is the sharpest case: the PSP performed the write and answered 2xx,
and the answer that arrives is broken (not JSON, cut short, of the wrong type, without its
id, with an unknown status or another amount, nested too deep to parse). Every write meets
every such answer through both gateways; the host does what the error tells it (an error
that does not say "unknown outcome" reads as "nothing happened", so the host retries with a
new key), and the PSP must end with exactly one effect. Its figures are the report's
``post_commit_*`` entries.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from psp_core import (
    CaptureRequest,
    MandateChargeRequest,
    PspError,
    RefundRequest,
    RevokeMandateRequest,
    TransportError,
    VoidRequest,
)

from ._harness import Contract
from ._report import ProviderReport


@attrs.define
class Scenario:
    operation: str
    write: Callable[[str | None, str], object]
    """Sends the write with an idempotency key (None: the gateway makes one), via "sync" or "async"."""
    effects: Callable[[], int]
    """What the PSP stored that this write adds to, counted by the PSP itself."""
    find: Callable[[str], object | None] | None = None
    """A status read by merchant reference, for writes that create something findable."""


def _scenario(contract: Contract, operation: str) -> Scenario:
    sandbox = contract.sandbox
    if operation == "authorize":
        request = contract.authorize_request(contract.ordinary_amount())
        reference = request.merchant_reference
        return Scenario(
            operation,
            lambda key, via: contract.call(via, "authorize", attrs.evolve(request, idempotency_key=key)),
            lambda: sandbox.payment_count(reference),
            lambda via: contract.call(via, "find_payment", reference),
        )
    if operation in ("capture", "void"):
        payment = contract.authorized()
        if operation == "capture":
            return Scenario(
                operation,
                lambda key, via: contract.call(via, "capture", CaptureRequest(payment, idempotency_key=key)),
                lambda: sandbox.effects(payment.id).captures,
            )
        return Scenario(
            operation,
            lambda key, via: contract.call(via, "void", VoidRequest(payment, idempotency_key=key)),
            lambda: sandbox.effects(payment.id).voids,
        )
    if operation == "refund":
        captured = contract.captured()
        return Scenario(
            operation,
            lambda key, via: contract.call(via, "refund", RefundRequest(captured, idempotency_key=key)),
            lambda: sandbox.effects(captured.id).refunds,
        )
    if operation == "create_mandate":
        mandate_request = contract.mandate_request()
        mandate_reference = mandate_request.merchant_reference
        return Scenario(
            operation,
            lambda key, via: contract.call(
                via, "create_mandate", attrs.evolve(mandate_request, idempotency_key=key)
            ),
            lambda: sandbox.mandate_count(mandate_reference),
        )
    mandate = contract.gateway.create_mandate(contract.mandate_request())
    sandbox.approve(mandate.id)
    if operation == "charge_mandate":
        charge = MandateChargeRequest(mandate.id, contract.ordinary_amount(), contract.reference("mit"))
        return Scenario(
            operation,
            lambda key, via: contract.call(via, "charge_mandate", attrs.evolve(charge, idempotency_key=key)),
            lambda: sandbox.payment_count(charge.merchant_reference),
            lambda via: contract.call(via, "find_payment", charge.merchant_reference),
        )
    return Scenario(
        operation,
        lambda key, via: contract.call(via, "revoke_mandate", RevokeMandateRequest(mandate.id, key)),
        lambda: sandbox.revocations(mandate.id),
    )


def _operations(contract: Contract) -> list[str]:
    operations = ["authorize"]
    if contract.supports("capture_modes.separate"):
        operations.append("capture")
        if contract.supports("void"):
            operations.append("void")
    if contract.supports("refunds"):
        operations.append("refund")
    if contract.supports("recurring"):
        try:
            contract.sandbox.mandate_count("probe")
            operations += ["create_mandate", "charge_mandate", "revoke_mandate"]
        except NotImplementedError:
            pass  # the sandbox cannot count mandates; the report lists the writes that ran
    return operations


def _resume(scenario: Scenario, error: PspError, key: str | None, via: str, rng: random.Random) -> bool:
    """Do what the error tells a host to do, and say whether that reached a definitive result.

    An unknown outcome is resumed with the key the error carries (the host may never have
    seen one) or by a read by merchant reference; an error that says nothing landed is
    retried as a host would, with a new key (the gateway makes one): if something did land,
    that retry is the double effect the campaign exists to catch. Anything else is unresolved.
    """
    if isinstance(error, TransportError) and error.outcome_unknown:
        if error.idempotency_key is None:
            return False
        if scenario.find is not None and rng.random() < 0.5:
            try:
                if scenario.find(via) is not None:
                    return True
            except PspError:
                pass  # the read failed too; resume with the key
        key = error.idempotency_key
    else:
        key = None
    try:
        scenario.write(key, via)
    except PspError:
        return False
    return True


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
    by_kind: Counter[str] = Counter()
    by_operation: Counter[str] = Counter()
    unknown_outcomes = 0
    problems: list[str] = []
    for index in range(fault_scenarios):
        operation = operations[index % len(operations)] if index < len(operations) else rng.choice(operations)
        scenario = _scenario(contract, operation)
        via = rng.choice(("sync", "async"))
        before = scenario.effects()
        faults = [rng.choice(kinds) for _ in range(rng.randint(1, 5))]
        for kind in faults:
            contract.sandbox.inject_fault(kind)
        # Half the writes carry no host key: the gateway's generated key must then reach the
        # host through the error, or resuming would charge twice.
        key = f"fault-{contract.seed}-{index}" if rng.random() < 0.5 else None
        resolved = True
        try:
            scenario.write(key, via)
        except PspError as error:
            unknown_outcomes += isinstance(error, TransportError) and error.outcome_unknown
            contract.sandbox.clear_faults()
            resolved = _resume(scenario, error, key, via, rng)
            if not resolved:
                problems.append(f"{operation} via {via} with faults {faults}: unresolved after {error!r}")
        contract.sandbox.clear_faults()
        added = scenario.effects() - before
        if added > 1:
            stats["double_effects"] += 1
            problems.append(f"{operation} via {via} with faults {faults}: {added} effects")
        elif added < 1 and resolved:
            resolved = False
            problems.append(
                f"{operation} via {via} with faults {faults}: no effect after a definitive answer"
            )
        stats["unresolved"] += 0 if resolved else 1
        stats["fault_scenarios"] += 1
        stats["faults_injected"] += len(faults)
        by_kind.update(faults)
        by_operation[operation] += 1
        # Keep the sandbox clock ahead so stored idempotency keys of earlier scenarios never age
        # into this one's window and nothing times out mid-scenario. A sandbox on real time
        # (a fake others wrote) cannot move its clock, and keeps nothing that would age.
        with contextlib.suppress(NotImplementedError):
            contract.advance(timedelta(seconds=1))
    psp_report.fault_stats.update(stats)
    psp_report.fault_detail.update(
        {
            "faults_by_kind": dict(sorted(by_kind.items())),
            "scenarios_by_operation": dict(sorted(by_operation.items())),
            "outcome_unknown": unknown_outcomes,
        }
    )
    assert stats["double_effects"] == 0, "\n".join(problems)
    assert stats["unresolved"] == 0, "\n".join(problems)
    if fault_scenarios >= len(operations):
        assert set(by_operation) == set(operations)


BROKEN_AFTER_COMMIT = (
    "garbled_after_store",
    "truncated_after_store",
    "wrong_type_after_store",
    "missing_id_after_store",
    "unknown_status_after_store",
    "wrong_amount_after_store",
    "deep_nesting_after_store",
)
"""The broken-2xx fault kinds of :data:`psp_core.FAULT_KINDS`: the PSP committed the write."""


@pytest.mark.psp_verifies("faults")
def test_a_broken_answer_after_the_psp_committed_never_doubles_an_effect(
    contract: Contract, fault_scenarios: int, psp_report: ProviderReport
) -> None:
    kinds = [kind for kind in BROKEN_AFTER_COMMIT if kind in contract.sandbox.fault_kinds]
    if not kinds or fault_scenarios <= 0:
        pytest.skip("the sandbox breaks no answers" if not kinds else "no fault scenarios requested")
    operations = _operations(contract)
    combinations = [(op, kind, via) for op in operations for kind in kinds for via in ("sync", "async")]
    # Every combination at least once, then as many more as asked for, in a seeded order.
    rng = random.Random(f"post-commit:{contract.seed}")
    total = max(fault_scenarios, len(combinations))
    stats = {
        "post_commit_scenarios": 0,
        "post_commit_double_effects": 0,
        "post_commit_lost_effects": 0,
        "post_commit_outcome_unknown": 0,
        "post_commit_understood": 0,
    }
    by_kind: Counter[str] = Counter()
    by_gateway: Counter[str] = Counter()
    problems: list[str] = []
    for index in range(total):
        operation, kind, via = combinations[index] if index < len(combinations) else rng.choice(combinations)
        scenario = _scenario(contract, operation)
        before = scenario.effects()
        key = f"post-commit-{contract.seed}-{index}" if rng.random() < 0.5 else None
        contract.sandbox.inject_fault(kind)
        try:
            scenario.write(key, via)
        except PspError as error:
            contract.sandbox.clear_faults()
            unknown = isinstance(error, TransportError) and error.outcome_unknown
            stats["post_commit_outcome_unknown"] += unknown
            if not _resume(scenario, error, key, via, rng):
                problems.append(f"{operation} via {via} after {kind}: unresolved after {error!r}")
        else:
            stats["post_commit_understood"] += 1  # the breakage missed a field the write needs
        contract.sandbox.clear_faults()
        added = scenario.effects() - before
        if added > 1:
            stats["post_commit_double_effects"] += 1
            problems.append(f"{operation} via {via} after {kind}: {added} effects")
        elif added < 1:
            stats["post_commit_lost_effects"] += 1
            problems.append(f"{operation} via {via} after {kind}: no effect, though the PSP committed")
        stats["post_commit_scenarios"] += 1
        by_kind[kind] += 1
        by_gateway[via] += 1
        contract.advance(timedelta(seconds=1))
    psp_report.fault_stats.update(stats)
    psp_report.fault_detail["post_commit_by_kind"] = dict(sorted(by_kind.items()))
    psp_report.fault_detail["post_commit_by_gateway"] = dict(sorted(by_gateway.items()))
    assert stats["post_commit_double_effects"] == 0, "\n".join(problems)
    assert stats["post_commit_lost_effects"] == 0, "\n".join(problems)
    assert not problems, "\n".join(problems)
    assert stats["post_commit_outcome_unknown"] > 0  # the campaign did reach the rule it checks
