"""Retries log one line each from psp's own logger (operation, attempt, wait), and stamina's
bare ``stamina.retry_scheduled`` line for the same retry is not repeated; a host's own stamina
retries keep their logging."""

from __future__ import annotations

import logging
import re

import pytest
import stamina

from psp_core import RetryPolicy
from tests.reliability.conftest import authorize_request, new_sandbox, sandbox_gateway

LINE = re.compile(r"^authorize: attempt (\d) of 4 failed \(HTTP 500\); retrying in (\d+\.\d\d) s$")


def test_each_retry_is_one_psp_line_with_operation_attempt_and_wait(caplog: pytest.LogCaptureFixture) -> None:
    sb = new_sandbox()
    sb.faults.inject_next("500", 2)
    caplog.set_level(logging.INFO)
    with sandbox_gateway(sb, retry=RetryPolicy.no_wait(4)) as gateway:
        gateway.authorize(authorize_request())
    retries = [r for r in caplog.records if r.name == "psp.transport" and "retrying" in r.getMessage()]
    assert [LINE.match(r.getMessage()) is not None for r in retries] == [True, True], caplog.text
    assert [LINE.match(r.getMessage()).group(1) for r in retries] == ["1", "2"]  # type: ignore[union-attr]
    assert all(r.levelno == logging.INFO for r in retries)
    assert not [r for r in caplog.records if r.getMessage() == "stamina.retry_scheduled"], caplog.text


def test_the_last_failed_attempt_announces_no_retry(caplog: pytest.LogCaptureFixture) -> None:
    sb = new_sandbox()
    sb.faults.inject_next("500", 10)
    caplog.set_level(logging.INFO)
    with sandbox_gateway(sb, retry=RetryPolicy.no_wait(3)) as gateway, pytest.raises(Exception):  # noqa: B017, PT011
        gateway.authorize(authorize_request())
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert [line.split(" failed")[0] for line in retries] == [
        "authorize: attempt 1 of 3",
        "authorize: attempt 2 of 3",
    ]


def test_a_hosts_own_stamina_retries_still_log_through_stamina(caplog: pytest.LogCaptureFixture) -> None:
    sb = new_sandbox()
    sb.faults.inject_next("500", 1)
    caplog.set_level(logging.INFO)
    with sandbox_gateway(sb, retry=RetryPolicy.no_wait(4)) as gateway:
        gateway.authorize(authorize_request())  # psp's filter is now on the stamina logger
    calls = 0
    for attempt in stamina.retry_context(on=ValueError, attempts=2, wait_initial=0, wait_jitter=0):
        with attempt:
            calls += 1
            if calls == 1:
                raise ValueError("the host's own flaky step")
    assert [r.getMessage() for r in caplog.records if r.name == "stamina"] == ["stamina.retry_scheduled"]
