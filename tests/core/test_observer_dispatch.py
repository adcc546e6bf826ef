"""The gateway's observer dispatch, held to the one it replaced (issue 18, last round).

The gateway passes each observer hook's arguments as one tuple in the hookspec's order and
picks out of it what each implementation names, instead of building a keyword dict per
notification. The property below runs the old dispatch, kept here as the reference, and the
new one over generated observers (any subset of the arguments in any order, tryfirst and
trylast, wrappers, implementations that return, raise or veto) and requires the same calls
with the same arguments in the same order, the same results, the same logged failures and
the same veto.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_core import Gateway, OperationBlockedError, hookimpl
from psp_core import _gateway as gateway_module
from tests.conftest import make_gateway
from tests.fakepay import FakePsp

HOOK_ARGS = {
    "psp_operation_started": gateway_module._STARTED_ARGS,
    "psp_operation_completed": gateway_module._COMPLETED_ARGS,
    "psp_operation_failed": gateway_module._FAILED_ARGS,
    "psp_webhook_received": gateway_module._WEBHOOK_ARGS,
    "psp_operation_context": gateway_module._CONTEXT_ARGS,
    "psp_http_attempt": gateway_module._ATTEMPT_ARGS,
}
BEHAVIOURS = ("returns none", "returns a value", "raises", "vetoes")


def reference_notify(
    gateway: Gateway, hook: str, operation: str, key_hash: str | None, /, *, veto: bool = False, **kwargs: Any
) -> list[Any]:
    """The dispatch as it was before: a keyword dict, a list per implementation's arguments."""
    caller = getattr(gateway.plugin_manager.hook, hook)
    impls = caller.get_hookimpls()
    if not impls:
        return []
    if any(impl.hookwrapper or impl.wrapper for impl in impls):
        try:
            return [result for result in caller(**kwargs) if result is not None]
        except OperationBlockedError:
            if veto:
                raise
            return []
        except Exception as error:
            gateway._log_observer_failure(hook, error, operation, key_hash)
            return []
    results = []
    for function, argnames in [(impl.function, impl.argnames) for impl in reversed(impls)]:
        try:
            result = function(*[kwargs[name] for name in argnames])
        except OperationBlockedError as error:
            if veto:
                raise
            gateway._log_observer_failure(hook, error, operation, key_hash)
        except Exception as error:
            gateway._log_observer_failure(hook, error, operation, key_hash)
        else:
            if result is not None:
                results.append(result)
    return results


def make_observer(
    index: int, hook: str, argnames: list[str], behaviour: str, order: str, wrapper: bool, calls: list[Any]
) -> object:
    """An observer whose ``hook`` implementation takes exactly ``argnames``, in that order."""

    def body(received: dict[str, object]) -> object:
        calls.append((index, received))
        if behaviour == "raises":
            raise RuntimeError(f"observer {index} is broken; fix it")
        if behaviour == "vetoes":
            raise OperationBlockedError(f"observer {index} blocks this; ask its owner")
        return ("result", index) if behaviour == "returns a value" else None

    params = ", ".join(["self", *argnames])
    received = "{" + ", ".join(f"{name!r}: {name}" for name in argnames) + "}"
    if wrapper:
        source = f"def {hook}({params}):\n    body({received})\n    return (yield)\n"
    else:
        source = f"def {hook}({params}):\n    return body({received})\n"
    namespace: dict[str, Any] = {"body": body}
    exec(source, namespace)  # noqa: S102 - builds a signature hypothesis chose, from fixed names
    function = hookimpl(
        namespace[hook], tryfirst=order == "tryfirst", trylast=order == "trylast", wrapper=wrapper
    )
    return type(f"Observer{index}", (), {hook: function})()


@st.composite
def observers(draw: st.DrawFn) -> tuple[str, list[tuple[list[str], str, str, bool]]]:
    hook = draw(st.sampled_from(sorted(HOOK_ARGS)))
    names = HOOK_ARGS[hook]
    drawn = []
    for _ in range(draw(st.integers(0, 4))):
        ordered = draw(st.permutations(names))
        argnames = list(ordered[: draw(st.integers(0, len(names)))])
        behaviour = draw(st.sampled_from(BEHAVIOURS))
        order = draw(st.sampled_from(("", "tryfirst", "trylast")))
        wrapper = draw(st.booleans()) and draw(st.booleans())  # one in four: pluggy's own call
        drawn.append((argnames, behaviour, order, wrapper))
    return hook, drawn


def run_dispatch(
    dispatch: str, hook: str, specs: list[tuple[list[str], str, str, bool]], veto: bool
) -> tuple[tuple[object, ...], list[Any]]:
    """What one dispatch does with these observers: its outcome and the calls they received."""
    names = HOOK_ARGS[hook]
    values = tuple(f"{name}-value" for name in names)
    calls: list[Any] = []
    failures: list[Any] = []

    def log_failure(hook: str, error: Exception, operation: str, key_hash: str | None) -> None:
        failures.append((hook, repr(error), operation, key_hash))

    with make_gateway(FakePsp()) as gateway:
        gateway._log_observer_failure = log_failure  # type: ignore[method-assign]
        for index, (argnames, behaviour, order, wrapper) in enumerate(specs):
            observer = make_observer(index, hook, argnames, behaviour, order, wrapper, calls)
            gateway.plugin_manager.register(observer, f"observer-{index}")
        try:
            if dispatch == "reference":
                kwargs = dict(zip(names, values, strict=True))
                results = list(reference_notify(gateway, hook, "capture", "hash", veto=veto, **kwargs))
            else:
                results = list(gateway._notify(hook, names, values, "capture", "hash", veto=veto))
        except OperationBlockedError as vetoed:
            return ("vetoed", str(vetoed), failures), calls
    return ("returned", results, failures), calls


@given(drawn=observers(), veto=st.booleans())
def test_observers_get_the_same_calls_results_failures_and_veto_as_with_the_old_dispatch(
    drawn: tuple[str, list[tuple[list[str], str, str, bool]]], veto: bool
) -> None:
    hook, specs = drawn
    reference_outcome, reference_calls = run_dispatch("reference", hook, specs, veto)
    new_outcome, new_calls = run_dispatch("new", hook, specs, veto)
    assert new_outcome == reference_outcome
    assert new_calls == reference_calls
    for index, received in new_calls:
        assert received == {name: f"{name}-value" for name in specs[index][0]}


def test_an_implementation_naming_an_argument_the_gateway_does_not_pass_is_a_logged_failure(
    psp: FakePsp,
) -> None:
    # pluggy refuses such an implementation for a hook with a spec; one registered before the
    # spec was added is not checked, and fails as looking its argument up would.
    failures: list[Any] = []
    seen: list[object] = []
    fine = SimpleNamespace(
        function=lambda provider: seen.append(provider),
        argnames=("provider",),
        hookwrapper=False,
        wrapper=False,
    )
    odd = SimpleNamespace(
        function=lambda *args: seen.append(args),
        argnames=("provider", "colour"),
        hookwrapper=False,
        wrapper=False,
    )
    with make_gateway(psp) as gateway:
        gateway._log_observer_failure = lambda *failure: failures.append(  # type: ignore[method-assign]
            (failure[0], repr(failure[1]))
        )
        plan = gateway_module._ObserverPlan(None, [fine, odd], gateway_module._WEBHOOK_ARGS)
        results = gateway._dispatch(plan, "psp_webhook_received", ("fakepay", "event"), "parse_webhook", None)
    assert results == ()
    assert seen == ["fakepay"]  # the odd one is never called with a wrong argument list
    assert failures == [("psp_webhook_received", "KeyError('colour')")]


@pytest.mark.parametrize("hook", sorted(HOOK_ARGS))
def test_each_hooks_argument_order_is_its_hookspecs(psp: FakePsp, hook: str) -> None:
    # The tuple the gateway passes is read by position: the names must be the spec's, in order.
    with make_gateway(psp) as gateway:
        spec = getattr(gateway.plugin_manager.hook, hook).spec
    assert HOOK_ARGS[hook] == tuple(spec.argnames)


def test_a_hook_whose_observers_return_nothing_gives_no_results(psp: FakePsp) -> None:
    class Quiet:
        @hookimpl
        def psp_operation_completed(self, result: object) -> None:
            seen.append(result)

    seen: list[object] = []
    with make_gateway(psp) as gateway:
        gateway.plugin_manager.register(Quiet())
        names = gateway_module._COMPLETED_ARGS
        assert gateway._notify("psp_operation_completed", names, ("p", "o", "r", "done"), "o", None) == ()
    assert seen == ["done"]
