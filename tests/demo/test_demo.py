"""``psp demo``: the README's first command plays every scenario and checks every step.

These run the real command in-process: a served sandbox and the shop's receiver on loopback,
the gateways over real HTTP. The timeline's JSON is the contract checked here.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from psp_core._cli import main
from psp_demo import _env as _demo_env
from psp_demo import _steps as _demo_steps

pytestmark = pytest.mark.loopback

KNOWN = _demo_env.Credentials(
    api_key="key_sandbox_TESTSECRETKEY123456",
    merchant_id="merch_demotest",
    webhook_secret="whsec_TESTSIGNINGSECRET987654",
)


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["demo", "amazon_pay", *argv])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def demo_json() -> Iterator[tuple[int, str]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_demo_env.Credentials, "random", classmethod(lambda cls: KNOWN))
        yield run_cli("--json")


@pytest.fixture(scope="module")
def timeline(demo_json: tuple[int, str]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(demo_json[1])
    return loaded


def scenario(timeline: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in timeline["scenarios"] if s["key"] == key)
    return found


def step(timeline: dict[str, Any], key: str, name_start: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        s for s in scenario(timeline, key)["steps"] if s["name"].startswith(name_start)
    )
    return found


def minor(step: dict[str, Any], name: str) -> int:
    amount = step["amounts"][name]
    assert amount["currency"] == "USD"
    value: int = amount["minor"]
    return value


def test_the_demo_exits_0_with_every_scenario_and_step_as_expected(
    demo_json: tuple[int, str], timeline: dict[str, Any]
) -> None:
    code, _ = demo_json
    assert code == 0
    assert timeline["ok"] is True
    assert [s["key"] for s in timeline["scenarios"]] == ["one_time", "failures", "recurring", "after_sale"]
    for each in timeline["scenarios"]:
        assert each["ok"], each["key"]
        assert each["steps"], each["key"]
        for s in each["steps"]:
            assert s["status"] == "as_expected", (each["key"], s["name"], s["observed"])
            assert s["expected"] and s["observed"] and s["source"]
    summary = timeline["summary"]
    assert summary["scenarios"] == 4
    assert summary["steps"] == sum(len(s["steps"]) for s in timeline["scenarios"]) >= 27
    assert summary["failed_steps"] == 0
    assert summary["webhooks_verified"] >= summary["webhook_events"] > 0
    assert summary["webhooks_rejected"] == 0
    assert summary["webhooks_undelivered"] == 0
    assert timeline["duration_ms"] < 15_000


def test_the_one_time_payment_is_captured_in_two_parts_and_refunded_in_two_parts(
    timeline: dict[str, Any],
) -> None:
    first = step(timeline, "one_time", "capture 40.00")
    assert first["normalized_status"] == "partially_captured"
    assert minor(first, "captured") == 4_000
    second = step(timeline, "one_time", "capture the remaining")
    assert second["normalized_status"] == "captured"
    assert minor(second, "captured") == 4_000 + 6_000 == minor(second, "amount")
    final = step(timeline, "one_time", "final state")
    assert final["normalized_status"] == "partially_refunded"
    assert minor(final, "captured") == 10_000
    assert minor(final, "refunded") == 2_500 + 3_000
    webhooks = [w["provider_type"] for s in scenario(timeline, "one_time")["steps"] for w in s["webhooks"]]
    assert (
        webhooks.count("PAYMENT_CHARGE_REFUND_PENDING")
        == webhooks.count("PAYMENT_CHARGE_REFUND_SUCCEEDED")
        == 2
    )


def test_a_pending_refund_reserves_its_amount_and_settles(timeline: dict[str, Any]) -> None:
    pending = step(timeline, "one_time", "refund 25.00 USD")
    assert pending["normalized_status"] == "captured"
    assert "refund pending 25.00 USD" in pending["observed"] and "refundable 75.00 USD" in pending["observed"]
    assert "refunded" not in pending["amounts"]
    refused = step(timeline, "one_time", "refund 80.00 USD while 25.00 USD is pending")
    assert "ValidationError" in refused["observed"] and "pending" in refused["observed"]
    assert refused["http"] == []  # refused before any I/O
    settled = step(timeline, "one_time", "sandbox clock +30 s")
    assert settled["normalized_status"] == "partially_refunded"
    assert minor(settled, "refunded") == 2_500


def test_the_consumer_really_goes_through_the_hosted_page_and_back(timeline: dict[str, Any]) -> None:
    approve = step(timeline, "one_time", "consumer approves")
    assert any("browser: GET /__sandbox__/authenticate/" in line and line.endswith("200")
               for line in approve["http"])
    assert any("browser: POST /__sandbox__/authenticate/" in line and line.endswith("303")
               for line in approve["http"])
    assert any("browser: GET /shop/return?" in line for line in approve["http"])


def test_failures_are_declines_and_the_timeout_expires(timeline: dict[str, Any]) -> None:
    declined = step(timeline, "failures", "consumer approves; the provider declines")
    assert declined["normalized_status"] == "declined"
    assert "insufficient_funds" in declined["observed"]
    assert "cancelled_by_consumer" in step(timeline, "failures", "read the cancelled")["observed"]
    expired = step(timeline, "failures", "the abandoned payment expired")
    assert expired["normalized_status"] == "expired"
    assert expired["provider_status"] == "DISCARDED"
    assert "payment.expired" in [w["kind"] for w in expired["webhooks"]]


def test_recurring_runs_on_the_async_gateway_and_refuses_after_revocation(timeline: dict[str, Any]) -> None:
    recurring = scenario(timeline, "recurring")
    assert recurring["driver"] == "AsyncGateway"
    assert step(timeline, "recurring", "the mandate is active")["normalized_status"] == "active"
    charged = [s for s in recurring["steps"] if s["name"].startswith("merchant-initiated")]
    assert [minor(s, "captured") for s in charged] == [9_000, 4_550]
    assert step(timeline, "recurring", "revoke")["normalized_status"] == "revoked"
    refused = step(timeline, "recurring", "charge 10.00 USD after the revocation")
    assert refused["normalized_status"] == "declined"
    assert "mandate_revoked" in refused["observed"]
    assert "captured" not in refused["amounts"]


def test_chargeback_and_both_refund_window_checks(timeline: dict[str, Any]) -> None:
    partial = step(timeline, "after_sale", "CHARGEBACK_SUCCEEDED webhook, partial")
    assert partial["normalized_status"] == "captured"
    assert minor(partial, "charged_back") == 2_000
    assert "refundable 30.00 USD" in partial["observed"]
    too_much = step(timeline, "after_sale", "refund 40.00 USD: more than is left")
    assert "ValidationError" in too_much["observed"] and too_much["http"] == []
    charged_back = step(timeline, "after_sale", "consumer disputes the rest")
    assert charged_back["normalized_status"] == "charged_back"
    assert minor(charged_back, "charged_back") == 5_000
    refused_locally = step(timeline, "after_sale", "refund 80.00 USD: the gateway refuses")
    assert "payment.captured_at" in refused_locally["observed"]
    assert refused_locally["http"] == []  # refused before any I/O
    refused_by_ppro = step(timeline, "after_sale", "same refund, capture date unknown")
    assert "refund_period_expired" in refused_by_ppro["observed"]
    assert "refunded" not in refused_by_ppro["amounts"]
    assert any("/refunds -> 200" in line for line in refused_by_ppro["http"])


def test_no_secret_reaches_the_output(demo_json: tuple[int, str]) -> None:
    _, out = demo_json
    assert KNOWN.api_key not in out
    assert KNOWN.webhook_secret not in out


def test_everything_the_demo_started_has_stopped(demo_json: tuple[int, str]) -> None:
    alive = {thread.name for thread in threading.enumerate()}
    assert not alive & {"demo-receiver", "sandbox-uvicorn", "sandbox-webhooks"}


def test_the_human_timeline_is_aligned_and_ends_with_a_summary() -> None:
    code, out = run_cli()
    assert code == 0
    lines = out.splitlines()
    assert lines[-1].startswith("demo: 4 scenarios, ")
    assert "steps, all as expected" in lines[-1]
    assert "100.00 USD" in out and "45.50 USD" in out  # Money.format(), never raw minor units
    step_lines = [line for line in lines if line.startswith(("  ✓ ", "  ok "))]
    assert len(step_lines) >= 27

    def status_column(line: str) -> int:
        gap = line.index("  ", 4)  # names are single-spaced; padding ends the name column
        return len(line) - len(line[gap:].lstrip())

    assert len({status_column(line) for line in step_lines}) == 1


# -- the checks can fail ------------------------------------------------------------------------


def test_a_sandbox_without_separate_captures_fails_the_demo_and_says_where(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = _demo_env.sandbox_config

    def captures_at_once(credentials: _demo_env.Credentials, webhooks_url: str) -> Any:
        # PPRO's newer Amazon Pay page: approved charges are captured in full at once.
        return attrs.evolve(real(credentials, webhooks_url), separate_captures=False)

    monkeypatch.setattr(_demo_env, "sandbox_config", captures_at_once)
    code, out = run_cli("--json")
    timeline = json.loads(out)
    assert code == 1
    assert timeline["ok"] is False
    one_time = scenario(timeline, "one_time")
    failed = [s for s in one_time["steps"] if s["status"] == "unexpected"]
    assert [s["name"] for s in failed] == ["read the payment after the return"]
    assert "captured" in failed[0]["observed"] and "expected authorized" in failed[0]["observed"]
    assert one_time["steps"][-1]["name"] == failed[0]["name"]  # later steps were not attempted
    # The other scenarios still ran: one failure does not hide the rest.
    assert scenario(timeline, "recurring")["ok"] is True


def test_forged_webhooks_are_refused_and_fail_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _demo_env.sandbox_config

    def wrong_secret(credentials: _demo_env.Credentials, webhooks_url: str) -> Any:
        return attrs.evolve(real(credentials, webhooks_url), webhook_secret="whsec_someone_else_entirely")

    monkeypatch.setattr(_demo_env, "sandbox_config", wrong_secret)
    monkeypatch.setattr(_demo_steps, "WEBHOOK_WAIT_S", 0.3)
    code, out = run_cli("--verbose")
    assert code == 1
    assert "NOT as expected" in out
    assert "first failure in 'one_time', step 'webhooks: created, authentication pending, authorized'" in out
    assert "no verified webhook" in out
    assert "psp demo amazon_pay --verbose" in out
