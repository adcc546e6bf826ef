"""Hook discovery of psp's plugin manager: pluggy's answers, read once per registration.

psp's manager reads a plugin's attributes once per registration instead of asking
``inspect.getattr_static`` once per name (what made a gateway's construction slow). The
property below holds it to pluggy's own ``PluginManager`` over generated plugins: objects,
modules and classes, with hooks, plain functions, static/class/bound methods, properties,
slots, instance attributes, foreign and malformed markers, and attributes shadowed along
the MRO. The specs after it name each case the fast path must get right.
"""

from __future__ import annotations

import contextlib
import types
from typing import Any

import pluggy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import Gateway, hookspecs
from psp_core._plugins import _pluggy_discovers_statically, _PluginManager, create_plugin_manager

hookimpl = pluggy.HookimplMarker("psp")
hookspec = pluggy.HookspecMarker("psp")
foreign = pluggy.HookimplMarker("other")

NAMES = ("psp_alpha", "psp_beta", "helper", "value", "__call__", "__doc__", "__annotations__")
"""Few names, so bases, subclasses, slots and instances collide on them."""

needs_static_discovery = pytest.mark.skipif(
    not _pluggy_discovers_statically(),
    reason="the installed pluggy discovers hooks with getattr; psp's manager then uses pluggy's own path",
)


class Recorder:
    """Records every answer of hook discovery, keyed by (kind, name)."""

    answers: dict[tuple[str, str], Any]

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        answer = super().parse_hookimpl_opts(plugin, name)  # type: ignore[misc]
        self.answers["impl", name] = answer
        return answer

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        answer = super().parse_hookspec_opts(module_or_class, name)  # type: ignore[misc]
        self.answers["spec", name] = answer
        return answer


class RecordingPsp(Recorder, _PluginManager):
    def __init__(self) -> None:
        super().__init__()
        self.answers = {}


class RecordingPluggy(Recorder, pluggy.PluginManager):
    def __init__(self) -> None:
        super().__init__("psp")
        self.answers = {}


def _function(marker: str) -> Any:
    def function(self: object, payment: object = None) -> object:
        return payment

    if marker == "impl":
        return hookimpl(tryfirst=True)(function)
    if marker == "spec":
        return hookspec(firstresult=True)(function)
    if marker == "foreign":
        return foreign(function)
    if marker == "malformed":
        function.psp_impl = "not a dict"  # type: ignore[attr-defined]
        function.psp_spec = ["not a dict"]  # type: ignore[attr-defined]
    return function


class _Callable:
    psp_impl: dict[str, object] = {}  # a marker on something no hook can be

    def __call__(self, payment: object = None) -> object:
        return payment


class _Other:
    def method(self, payment: object = None) -> object:
        return payment


def _value(kind: str, marker: str) -> Any:
    function = _function(marker)
    if kind == "function":
        return function
    if kind == "staticmethod":
        return staticmethod(function)
    if kind == "classmethod":
        return classmethod(function)
    if kind == "marked_staticmethod":  # the marker applied above the wrapper
        return hookimpl(staticmethod(_function("none")))
    if kind == "bound":
        return types.MethodType(function, _Other())
    if kind == "property":
        return property(lambda self: pytest.fail("hook discovery must not run a property"))
    if kind == "callable":
        return _Callable()
    if kind == "marker_dict":
        return {"tryfirst": True}
    return 42


KINDS = (
    "function",
    "staticmethod",
    "classmethod",
    "marked_staticmethod",
    "bound",
    "property",
    "callable",
    "marker_dict",
    "int",
)
MARKERS = ("impl", "spec", "foreign", "malformed", "none")
attributes = st.dictionaries(
    st.sampled_from(NAMES), st.tuples(st.sampled_from(KINDS), st.sampled_from(MARKERS)), max_size=5
)
class_attributes = attributes.map(lambda drawn: {k: v for k, v in drawn.items() if k != "__annotations__"})


@st.composite
def plugins(draw: st.DrawFn) -> object:
    """An object, a module, a module subclass's instance or a class, with generated attributes."""
    shape = draw(st.sampled_from(("instance", "slotted", "module", "module_subclass", "class")))
    if shape in ("module", "module_subclass"):
        module_type = types.ModuleType if shape == "module" else type("Lazy", (types.ModuleType,), {})
        module = module_type("generated_plugin")
        for name, (kind, marker) in draw(attributes).items():
            if kind in ("staticmethod", "classmethod", "property"):
                kind = "function"  # descriptors in a module's namespace are never bound
            setattr(module, name, _value(kind, marker))
        return module
    # Not __annotations__ on a class: Python creates a class's own on first access, so the
    # first lookup of it (pluggy's too) sees another class than every later one.
    base = type("Base", (), {name: _value(*spec) for name, spec in draw(class_attributes).items()})
    namespace: dict[str, object] = {name: _value(*spec) for name, spec in draw(class_attributes).items()}
    slots = draw(st.sets(st.sampled_from(("psp_alpha", "helper", "slot_only")), max_size=2))
    if shape == "slotted":
        for name in slots:
            namespace.pop(name, None)
        namespace["__slots__"] = tuple(slots)
    cls = type("Plugin", (base,), namespace)
    if shape == "class":
        return cls
    plugin = cls()
    for name, (kind, marker) in draw(attributes).items():
        # Into a slot, or the __dict__ the unslotted base gives; a property refuses it.
        with contextlib.suppress(AttributeError):
            setattr(plugin, name, _value(kind, marker))
    return plugin


def _discover(manager: Any, plugin: object) -> tuple[dict[tuple[str, str], Any], str | None]:
    try:
        manager.register(plugin, name="generated")
    except Exception as error:  # what pluggy refuses, psp's manager refuses alike
        return manager.answers, f"{type(error).__name__}: {error}"
    return manager.answers, None


@needs_static_discovery
@settings(max_examples=300, deadline=None)
@given(plugins())
def test_discovery_answers_as_pluggy_for_every_name_of_any_plugin(plugin: object) -> None:
    ours, our_error = _discover(RecordingPsp(), plugin)
    reference, reference_error = _discover(RecordingPluggy(), plugin)
    assert our_error == reference_error
    assert ours.keys() == reference.keys()
    for key, answer in reference.items():
        # The marker's own dict, not a copy: pluggy normalizes it in place.
        assert ours[key] is answer, key


@needs_static_discovery
@settings(max_examples=150, deadline=None)
@given(plugins())
def test_hookspecs_are_discovered_as_pluggy_discovers_them(namespace: object) -> None:
    if not isinstance(namespace, types.ModuleType | type):
        namespace = type(namespace)
    ours, reference = RecordingPsp(), RecordingPluggy()
    outcomes = []
    for manager in (ours, reference):
        try:
            manager.add_hookspecs(namespace)
            outcomes.append(None)
        except Exception as error:
            outcomes.append(f"{type(error).__name__}: {error}")
    assert outcomes[0] == outcomes[1]
    assert ours.answers.keys() == reference.answers.keys()
    for key, answer in reference.answers.items():
        assert ours.answers[key] is answer, key


class Provider:
    @hookimpl
    def psp_provider_info(self) -> object:
        return None

    def helper(self) -> None:
        """No marker: no hook."""

    @property
    def psp_configure(self) -> object:
        pytest.fail("hook discovery must not run a property")


def _impls(pm: pluggy.PluginManager, hook: str) -> list[object]:
    return [impl.function for impl in getattr(pm.hook, hook).get_hookimpls()]


def test_a_plugin_object_registers_its_marked_methods_only() -> None:
    pm = create_plugin_manager(load_entrypoints=False, plugins=[("provider", Provider())])
    (function,) = _impls(pm, "psp_provider_info")
    assert isinstance(function, types.MethodType) and function.__func__ is Provider.psp_provider_info
    assert _impls(pm, "psp_configure") == []
    assert not hasattr(pm.hook, "helper")


def test_a_hook_set_on_the_instance_itself_is_found_and_not_bound_again() -> None:
    plugin = Provider()

    @hookimpl
    def psp_provider_info() -> object:
        return "from the instance"

    plugin.psp_provider_info = psp_provider_info  # type: ignore[method-assign]
    pm = create_plugin_manager(load_entrypoints=False, plugins=[("provider", plugin)])
    assert _impls(pm, "psp_provider_info") == [psp_provider_info]


def test_an_instance_attribute_hides_the_class_hook_of_the_same_name() -> None:
    plugin = Provider()
    plugin.psp_provider_info = None  # type: ignore[method-assign,assignment]
    pm = create_plugin_manager(load_entrypoints=False, plugins=[("provider", plugin)])
    assert _impls(pm, "psp_provider_info") == []


def test_a_module_plugin_registers_its_marked_functions() -> None:
    module = types.ModuleType("host_plugin")

    @hookimpl
    def psp_provider_info() -> object:
        return None

    module.psp_provider_info = psp_provider_info  # type: ignore[attr-defined]
    module.psp_helper = lambda: None  # type: ignore[attr-defined]
    pm = create_plugin_manager(load_entrypoints=False, plugins=[("module", module)])
    assert _impls(pm, "psp_provider_info") == [psp_provider_info]
    assert pm.get_plugin("module") is module


def test_a_hook_added_to_a_class_after_one_registration_is_seen_by_the_next() -> None:
    # Nothing about a plugin is remembered between registrations: a class changed at run
    # time is read afresh by the next gateway's manager.
    class Changing:
        pass

    plugin = Changing()
    first = create_plugin_manager(load_entrypoints=False, plugins=[("changing", plugin)])
    Changing.psp_provider_info = hookimpl(lambda self: None)  # type: ignore[attr-defined]
    second = create_plugin_manager(load_entrypoints=False, plugins=[("changing", plugin)])
    assert _impls(first, "psp_provider_info") == []
    assert len(_impls(second, "psp_provider_info")) == 1


def test_a_misspelt_hook_on_an_object_still_fails_loudly() -> None:
    class Misspelt:
        @hookimpl
        def psp_authorise(self) -> None:
            """Not a hook psp defines."""

    with pytest.raises(pluggy.PluginValidationError, match="psp_authorise"):
        create_plugin_manager(load_entrypoints=False, plugins=[("misspelt", Misspelt())])


def test_every_manager_gets_every_hookspec() -> None:
    reference = pluggy.PluginManager("psp")
    reference.add_hookspecs(hookspecs)
    pm = create_plugin_manager(load_entrypoints=False)
    specs = {name for name in vars(reference.hook) if getattr(reference.hook, name).has_spec()}
    assert specs and {name for name in vars(pm.hook) if getattr(pm.hook, name).has_spec()} == specs


def test_a_plugin_registered_on_one_gateways_manager_is_never_seen_by_another() -> None:
    settings_ = {"api_key": "k", "base_url": "https://ppro.test", "merchant_id": "m"}
    first = Gateway("amazon_pay", options=settings_, environ={})
    second = Gateway("amazon_pay", options=settings_, environ={})
    try:
        assert first.plugin_manager is not second.plugin_manager
        first.plugin_manager.register(types.ModuleType("host_observer"), name="host_observer")
        assert first.plugin_manager.get_plugin("host_observer") is not None
        assert second.plugin_manager.get_plugin("host_observer") is None
        # The entry point's one plugin object, registered on both, answers each the same.
        assert first.plugin_manager.get_plugin("amazon_pay") is second.plugin_manager.get_plugin("amazon_pay")
    finally:
        first.close()
        second.close()


def test_a_hosts_own_plugin_manager_is_used_as_given() -> None:
    pm = create_plugin_manager()
    settings_ = {"api_key": "k", "base_url": "https://ppro.test", "merchant_id": "m"}
    with Gateway("amazon_pay", options=settings_, environ={}, plugin_manager=pm) as gateway:
        assert gateway.plugin_manager is pm


def test_the_discovery_is_not_left_over_after_a_failed_registration() -> None:
    pm = _PluginManager()
    pm.add_hookspecs(hookspecs)

    class Broken:
        @hookimpl
        def psp_provider_info(self, unexpected: object) -> None:
            """An argument the hookspec does not have."""

    with pytest.raises(pluggy.PluginValidationError):
        pm.register(Broken(), name="broken")
    assert pm._discovery is None
    assert pm.parse_hookimpl_opts(Provider(), "psp_provider_info") is not None


def test_a_hook_held_in_a_slot_is_found_and_an_empty_slot_is_no_hook() -> None:
    class Slotted:
        __slots__ = ("psp_get_payment", "psp_provider_info")

    @hookimpl
    def psp_provider_info() -> object:
        return None

    plugin = Slotted()
    plugin.psp_provider_info = psp_provider_info
    pm = create_plugin_manager(load_entrypoints=False, plugins=[("slotted", plugin)])
    assert _impls(pm, "psp_provider_info") == [psp_provider_info]
    assert _impls(pm, "psp_get_payment") == []
