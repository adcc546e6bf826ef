"""Observers registered or removed while a gateway lives are seen from its next call on.

The gateway keeps, per observer hook, what it calls (issue 18: built once rather than on
every call); these specs hold it to pluggy's registry as it is at each call.
"""

from __future__ import annotations

import pytest

from psp_core import OperationBlockedError, PspError, hookimpl
from tests.conftest import make_gateway
from tests.core.test_gateway import authorize_request
from tests.fakepay import FakePsp


class Recorder:
    def __init__(self) -> None:
        self.completed: list[str] = []

    @hookimpl
    def psp_operation_completed(self, operation: str) -> None:
        self.completed.append(operation)


class Blocker:
    @hookimpl
    def psp_operation_started(self, operation: str) -> None:
        raise OperationBlockedError(f"{operation} is blocked by the risk check; ask the risk team")


def test_an_observer_registered_after_calls_sees_the_next_completion_only(psp: FakePsp) -> None:
    with make_gateway(psp) as gateway:
        first = gateway.authorize(authorize_request(merchant_reference="order-1"))
        recorder = Recorder()
        gateway.plugin_manager.register(recorder)
        second = gateway.authorize(authorize_request(merchant_reference="order-2"))
        assert recorder.completed == ["authorize"]
        gateway.plugin_manager.unregister(recorder)
        gateway.get_payment(second.id)
        assert recorder.completed == ["authorize"]
        assert first.id != second.id


def test_observers_added_and_removed_between_calls_are_exactly_those_called(psp: FakePsp) -> None:
    with make_gateway(psp) as gateway:
        calls: list[str] = []

        class Named:
            def __init__(self, name: str) -> None:
                self.name = name

            @hookimpl
            def psp_operation_started(self, operation: str) -> None:
                calls.append(self.name)

        a, b = Named("a"), Named("b")
        gateway.plugin_manager.register(a)
        _attempt(gateway)
        assert calls == ["a"]
        gateway.plugin_manager.register(b)
        _attempt(gateway)
        assert sorted(calls[1:]) == ["a", "b"]
        gateway.plugin_manager.unregister(a)
        _attempt(gateway)
        assert calls[3:] == ["b"]
        gateway.plugin_manager.unregister(b)
        _attempt(gateway)
        assert calls[4:] == []


def test_a_veto_registered_later_blocks_the_next_call_and_stops_when_removed(psp: FakePsp) -> None:
    with make_gateway(psp) as gateway:
        _attempt(gateway)
        blocker = Blocker()
        gateway.plugin_manager.register(blocker)
        with pytest.raises(OperationBlockedError, match="blocked by the risk check"):
            gateway.get_payment("pay_1")
        gateway.plugin_manager.unregister(blocker)
        _attempt(gateway)


def _attempt(gateway: object) -> None:
    """A read that reaches the provider (a missing payment is the provider's error, not a veto)."""
    try:
        gateway.get_payment("pay_1")  # type: ignore[attr-defined]
    except OperationBlockedError:
        raise
    except PspError:  # the provider's answer does not matter here
        return
