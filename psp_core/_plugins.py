"""One plugin manager per gateway: hookspecs, entry-point discovery, and blocking.

Providers are found through the ``psp_providers`` entry-point group and registered under
the entry point's name, which is the provider name; observer plugins (audit, metrics, risk)
through the ``psp_plugins`` group, under theirs. Each plugin's distribution and version is
recorded as it loads. Like pytest and tox, the environment can switch discovery off
(``PSP_DISABLE_PLUGIN_AUTOLOAD=1``) or block named plugins of either kind
(``PSP_BLOCK_PLUGINS=name1,name2``).

Start-up and gateway construction stay cheap: observers load with the manager (they must see
every call), but a provider's module is imported only when a gateway for it is created, or
when ``psp`` needs every provider (``load_providers``): its entry point is enough to list it.
The scan of the installed distributions is done once per process and ``sys.path``; a
distribution installed into an already-scanned path while the process runs is found by the
next process (as pytest finds new plugins).
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import sys
import types
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import pluggy

from . import hookspecs
from ._errors import ConfigurationError, UnknownProviderError

if TYPE_CHECKING:
    from ._config import ProviderInfo

ENTRY_POINT_GROUP = "psp_providers"
PLUGINS_ENTRY_POINT_GROUP = "psp_plugins"
"""Observer plugins: they implement observer hooks (and may add commands), never provider hooks."""
DISABLE_AUTOLOAD_ENV = "PSP_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_PLUGINS_ENV = "PSP_BLOCK_PLUGINS"

PROVIDER_HOOKS = (
    "psp_configure",
    "psp_authorize",
    "psp_get_payment",
    "psp_find_payment",
    "psp_capture",
    "psp_void",
    "psp_refund",
    "psp_create_mandate",
    "psp_get_mandate",
    "psp_charge_mandate",
    "psp_revoke_mandate",
    "psp_parse_webhook",
)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


_DELEGATE: Any = object()
"""Sentinel of the fast hook discovery: this attribute is pluggy's own to look up."""
_ABSENT: Any = object()
_MODULE_TYPE_ATTRIBUTES = frozenset(dir(types.ModuleType))
"""Names a module's type defines: for them a static lookup may answer from the type, not the module."""
_DICT_DESCRIPTOR: Any = type.__dict__["__dict__"]
_MRO_DESCRIPTOR: Any = type.__dict__["__mro__"]


@functools.cache
def _pluggy_discovers_statically() -> bool:
    """Whether this pluggy finds hooks with ``inspect.getattr_static`` (properties not run).

    The fast discovery below reproduces that lookup; a pluggy that still discovers with
    ``getattr`` keeps its own (slower) path. Asked once per process, on first registration.
    """
    evaluated: list[bool] = []

    class Probe:
        @property
        def probe(self) -> None:
            evaluated.append(True)

    pluggy.PluginManager("psp_probe").parse_hookimpl_opts(Probe(), "probe")
    return not evaluated


def _class_attributes(cls: type) -> dict[str, object] | None:
    """Each attribute of ``cls`` as ``inspect.getattr_static`` finds it on an instance (the
    first class of the MRO defining it), or None when a class shadows ``__dict__`` and
    ``getattr_static``'s own rules must decide."""
    attributes: dict[str, object] = {}
    for entry in _MRO_DESCRIPTOR.__get__(cls):
        namespace = _DICT_DESCRIPTOR.__get__(entry)
        own_dict = namespace.get("__dict__", _ABSENT)
        if own_dict is not _ABSENT and not (
            type(own_dict) is types.GetSetDescriptorType
            and own_dict.__name__ == "__dict__"
            and own_dict.__objclass__ is entry
        ):
            return None
        for name, value in namespace.items():
            attributes.setdefault(name, value)
    return attributes


def _marker_opts(holder: object, marker: str) -> dict[str, Any] | None:
    # pluggy's reading of a marker: on the holder, else on the function it wraps.
    opts = getattr(holder, marker, None)
    if opts is None:
        function = getattr(holder, "__func__", None)
        opts = None if function is None else getattr(function, marker, None)
    return opts if isinstance(opts, dict) else None


def _hookable_opts(static: object, marker: str) -> dict[str, Any] | None:
    """The marker options of an attribute found statically, as pluggy reads them: only
    functions, static and class methods and bound methods are hookable."""
    if isinstance(static, staticmethod | classmethod):
        return _marker_opts(static, marker)
    if isinstance(static, types.MethodType):
        return _marker_opts(static.__func__, marker)
    if isinstance(static, types.FunctionType):
        return _marker_opts(static, marker)
    return None


class _HookDiscovery:
    """One plugin's attributes read once, so that pluggy's per-name discovery is a dict lookup.

    pluggy asks ``parse_hookimpl_opts`` for every name in ``dir(plugin)`` (~70 for a plugin
    object, most inherited from ``object``) and answers each with ``inspect.getattr_static``:
    that was two thirds of a gateway's construction. Reading the class's MRO once per
    registration gives the same answers for a fraction (nothing is kept between
    registrations, so a class or module changed later is read afresh). Whatever this does not
    model exactly (names on the instance itself, slots, shadowed ``__dict__``, module
    subclasses, classes as plugins) is left to pluggy.
    """

    __slots__ = ("attributes", "module", "own", "plugin")

    def __init__(self, plugin: object) -> None:
        self.plugin = plugin
        self.module = type(plugin) is types.ModuleType
        self.attributes: dict[str, object] | None = None
        self.own: dict[str, object] = {}
        if self.module:
            self.attributes = cast(dict[str, object], vars(plugin))
        elif not isinstance(plugin, type) and not isinstance(plugin, types.ModuleType):
            try:
                own = object.__getattribute__(plugin, "__dict__")
            except AttributeError:
                own = {}
            if type(own) is dict:
                self.own = own
                self.attributes = _class_attributes(type(plugin))

    def opts(self, name: str, marker: str) -> dict[str, Any] | None:
        """The marker options of ``name``, None when it is no hook, or ``_DELEGATE``."""
        attributes = self.attributes
        if attributes is None:
            return cast(dict[str, Any], _DELEGATE)
        if self.module:
            if name in _MODULE_TYPE_ATTRIBUTES:
                return cast(dict[str, Any], _DELEGATE)
            return _hookable_opts(attributes.get(name), marker)
        if name in self.own:
            return cast(dict[str, Any], _DELEGATE)
        static = attributes.get(name)
        if isinstance(static, types.MemberDescriptorType):  # a slot: read from the instance
            return cast(dict[str, Any], _DELEGATE)
        return _hookable_opts(static, marker)


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, plus the providers listed by entry point and not imported yet."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.deferred_providers: dict[str, importlib.metadata.EntryPoint] = {}
        self.loaded: dict[str, importlib.metadata.EntryPoint] = {}
        """The entry point of each plugin loaded from one: its distribution is read on demand."""
        self._discovery: _HookDiscovery | None = None
        """The plugin being registered, read once (see _HookDiscovery); None between calls."""

    def register(self, plugin: object, name: str | None = None) -> str | None:
        previous = self._discovery
        if _pluggy_discovers_statically():
            self._discovery = _HookDiscovery(plugin)
        try:
            return super().register(plugin, name)
        finally:
            self._discovery = previous

    def add_hookspecs(self, module_or_class: types.ModuleType | type) -> None:
        previous = self._discovery
        if _pluggy_discovers_statically():
            self._discovery = _HookDiscovery(module_or_class)
        try:
            super().add_hookspecs(module_or_class)
        finally:
            self._discovery = previous

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        discovery = self._discovery
        if discovery is not None and discovery.plugin is plugin:
            opts = discovery.opts(name, self.project_name + "_impl")
            if opts is not _DELEGATE:
                return cast(pluggy.HookimplOpts | None, opts)
        return super().parse_hookimpl_opts(plugin, name)

    def parse_hookspec_opts(
        self, module_or_class: types.ModuleType | type, name: str
    ) -> pluggy.HookspecOpts | None:
        discovery = self._discovery
        if discovery is not None and discovery.plugin is module_or_class:
            opts = discovery.opts(name, self.project_name + "_spec")
            if opts is not _DELEGATE:
                return cast(pluggy.HookspecOpts | None, opts)
        return super().parse_hookspec_opts(module_or_class, name)

    def load_entry_point(self, entry_point: importlib.metadata.EntryPoint) -> None:
        """Import and register one plugin under its entry point's name."""
        plugin = entry_point.load()
        self.register(plugin, name=entry_point.name)
        self.loaded[entry_point.name] = entry_point


def _distribution(entry_point: importlib.metadata.EntryPoint) -> tuple[str, str] | None:
    # Parsing a distribution's METADATA costs more than creating a gateway: only on demand.
    dist = entry_point.dist
    return None if dist is None else (str(dist.metadata["Name"]), str(dist.version))


@functools.lru_cache(maxsize=8)
def _entry_points(group: str, path: tuple[str, ...]) -> tuple[importlib.metadata.EntryPoint, ...]:
    # Reading every installed distribution's metadata costs milliseconds: once per process and
    # sys.path (``path`` is only the cache key), not once per gateway.
    seen: dict[str, importlib.metadata.EntryPoint] = {}
    for entry_point in importlib.metadata.entry_points(group=group):
        seen.setdefault(entry_point.name, entry_point)  # the first distribution on the path wins
    return tuple(seen.values())


def create_plugin_manager(
    plugins: Iterable[tuple[str, object]] = (),
    *,
    load_entrypoints: bool = True,
    environ: Mapping[str, str] | None = None,
) -> pluggy.PluginManager:
    """A fresh plugin manager with the hookspecs, discovered plugins and ``plugins``.

    ``plugins`` are ``(name, plugin)`` pairs registered explicitly (tests, hosts that wire
    providers by hand); they win over an entry point of the same name. Observer plugins are
    loaded now; installed providers are listed and imported on first use (a gateway for them,
    or :func:`load_providers`). Raises ``PluginValidationError`` after loading if any plugin
    implements a hook that does not exist, so a misspelt hook fails loudly.
    """
    env = os.environ if environ is None else environ
    pm = _PluginManager()
    pm.add_hookspecs(hookspecs)
    for name in (env.get(BLOCK_PLUGINS_ENV) or "").split(","):
        if name.strip():
            pm.set_blocked(name.strip())
    for name, plugin in plugins:
        if not pm.is_blocked(name):
            pm.register(plugin, name=name)
    if load_entrypoints and not _truthy(env.get(DISABLE_AUTOLOAD_ENV)):
        path = tuple(sys.path)
        for entry_point in _entry_points(ENTRY_POINT_GROUP, path):
            if not pm.is_blocked(entry_point.name) and pm.get_plugin(entry_point.name) is None:
                pm.deferred_providers[entry_point.name] = entry_point
        for entry_point in _entry_points(PLUGINS_ENTRY_POINT_GROUP, path):
            name = entry_point.name
            if not pm.is_blocked(name) and pm.get_plugin(name) is None and name not in pm.deferred_providers:
                pm.load_entry_point(entry_point)
    pm.check_pending()
    return pm


def load_provider(pm: pluggy.PluginManager, name: str) -> None:
    """Import and register the installed provider ``name`` if it is only listed so far."""
    if isinstance(pm, _PluginManager) and name in pm.deferred_providers:
        pm.load_entry_point(pm.deferred_providers.pop(name))
        pm.check_pending()


def load_providers(pm: pluggy.PluginManager) -> None:
    """Import and register every installed provider: for ``psp`` itself, whose commands come
    from every plugin's ``psp_cli_commands``."""
    if isinstance(pm, _PluginManager):
        for name in list(pm.deferred_providers):
            load_provider(pm, name)


def plugin_distributions(pm: pluggy.PluginManager) -> dict[str, tuple[str, str]]:
    """Plugin name -> (distribution name, version), for every plugin from an entry point,
    providers not imported yet included."""
    found: dict[str, tuple[str, str]] = {}
    for plugin, facade in pm.list_plugin_distinfo():  # plugins loaded by pluggy itself
        name = pm.get_name(plugin)
        if name is not None:
            found[name] = (str(facade.project_name), str(facade.version))
    if isinstance(pm, _PluginManager):
        for name, entry_point in [*pm.loaded.items(), *pm.deferred_providers.items()]:
            dist = _distribution(entry_point)
            if dist is not None:
                found[name] = dist
    return found


def observer_names(pm: pluggy.PluginManager) -> list[str]:
    """Names of the registered plugins that are not providers (audit, metrics, risk...)."""
    providers = set(provider_names(pm))
    return sorted(
        name
        for name, plugin in pm.list_name_plugin()
        # A blocked name is listed with None in place of a plugin.
        if name is not None and plugin is not None and name not in providers and not _is_internal(name)
    )


def _is_internal(name: str) -> bool:
    # pluggy names plugins registered without a name by their id() (a digit string).
    return name.isdigit()


def provider_names(pm: pluggy.PluginManager) -> list[str]:
    """Names of the providers: registered plugins that implement ``psp_provider_info``, and
    installed ones listed by entry point and not imported yet."""
    registered = {
        name
        for name, plugin in pm.list_name_plugin()
        if name is not None and hasattr(plugin, "psp_provider_info")
    }
    deferred = pm.deferred_providers if isinstance(pm, _PluginManager) else {}
    return sorted(registered.union(deferred))


class ProviderHooks:
    """The hooks of one provider plugin only: other plugins never see its calls."""

    def __init__(self, pm: pluggy.PluginManager, provider: str) -> None:
        load_provider(pm, provider)
        names = provider_names(pm)
        if provider not in names:
            raise UnknownProviderError(provider, names)
        self.name = provider
        plugin = pm.get_plugin(provider)
        # This plugin's own implementation of each hook, called directly: a subset caller would
        # also reach a provider registered later (pluggy subtracts the plugins it was told
        # of), and a plain call costs a fraction of pluggy's dispatch on every operation.
        self._impls: dict[str, pluggy.HookImpl | None] = {}
        for hook in (*PROVIDER_HOOKS, "psp_provider_info"):
            own = [
                impl
                for impl in getattr(pm.hook, hook).get_hookimpls()
                if impl.plugin is plugin and not (impl.hookwrapper or impl.wrapper)
            ]
            self._impls[hook] = own[-1] if own else None
        from ._config import ProviderInfo  # with the provider: listing names needs no models

        info = self.call("psp_provider_info")
        if not isinstance(info, ProviderInfo) or info.name != provider:
            raise ConfigurationError(
                f"plugin {provider!r} must return a ProviderInfo named {provider!r} "
                f"from psp_provider_info, got {info!r}"
            )
        self.info = info

    def call(self, hook: str, **kwargs: object) -> object:
        """Call the provider's implementation of ``hook``; None when it has none (as pluggy)."""
        impl = self._impls[hook]
        if impl is None:
            return None
        return impl.function(*[kwargs[name] for name in impl.argnames])


def provider_infos(pm: pluggy.PluginManager) -> list[ProviderInfo]:
    return [ProviderHooks(pm, name).info for name in provider_names(pm)]
