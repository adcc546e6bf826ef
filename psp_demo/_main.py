"""``psp demo``: play a host platform's payments against the local PPRO sandbox, over real HTTP.

The scenarios run one after another against one sandbox (they share its clock, which two of
them move forward). A scenario stops at its first unexpected step, because every later step
builds on it; the others still run, so one run shows everything that is wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from typing import TextIO

from . import _disputes, _failures, _one_time, _recurring, _steps
from ._env import DemoEnv, running_env
from ._report import render_json, render_text, summary_line
from ._timeline import Scenario, StepFailed, Timeline

SyncRun = Callable[[DemoEnv, Scenario], None]

SCENARIOS: list[tuple[str, str, str, SyncRun]] = [
    (_one_time.KEY, _one_time.TITLE, "Gateway", _one_time.run),
    (_failures.KEY, _failures.TITLE, "Gateway", _failures.run),
    (_recurring.KEY, _recurring.TITLE, "AsyncGateway", _recurring.run_sync),
    (_disputes.KEY, _disputes.TITLE, "Gateway", _disputes.run),
]


def run_demo() -> Timeline:
    """Run every scenario; the timeline says what was expected and what happened."""
    started = time.monotonic()
    with running_env() as env:
        timeline = Timeline(provider="amazon_pay", sandbox_url=env.base_url)
        for key, title, driver, run in SCENARIOS:
            scenario = Scenario(key, title, driver)
            timeline.scenarios.append(scenario)
            # A failure is recorded on its step; the next scenario starts afresh.
            with contextlib.suppress(StepFailed):
                run(env, scenario)
        # The last events may still be on their way; count them all, so every run is alike.
        with env.operator([]) as operator:
            missing = env.settle_webhooks(operator, _steps.WEBHOOK_WAIT_S)
            timeline.webhooks_undelivered = len(missing)
        timeline.webhooks_verified = len(env.receiver.events)
        timeline.webhook_events = len({event.event_id for event in env.receiver.events})
        timeline.webhooks_rejected = len(env.receiver.rejected)
    timeline.duration_s = time.monotonic() - started
    return timeline


def main(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    timeline = run_demo()
    if args.json:
        stream.write(render_json(timeline))
        if not timeline.ok:
            # stdout stays pure JSON; a person or a CI log still sees why it failed.
            print(summary_line(timeline), file=sys.stderr)
    else:
        stream.write(render_text(timeline, verbose=args.verbose, stream=stream))
    stream.flush()
    return 0 if timeline.ok else 1
