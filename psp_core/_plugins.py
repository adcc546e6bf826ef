"""One plugin manager per gateway: hookspecs, entry-point discovery, and blocking.

Providers are found through the ``psp_providers`` entry-point group and registered under
the entry point's name, which is the provider name; observer plugins (audit, metrics, risk)
through the ``psp_plugins`` group, under theirs. Both are loaded by pluggy's own
``load_setuptools_entrypoints``, which records each plugin's distribution and version. Like
pytest and tox, the environment can switch discovery off (``PSP_DISABLE_PLUGIN_AUTOLOAD=1``)
or block named plugins of either kind (``PSP_BLOCK_PLUGINS=name1,name2``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import pluggy

from . import hookspecs
from ._config import ProviderInfo
from ._errors import ConfigurationError, UnknownProviderError

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


def create_plugin_manager(
    plugins: Iterable[tuple[str, object]] = (),
    *,
    load_entrypoints: bool = True,
    environ: Mapping[str, str] | None = None,
) -> pluggy.PluginManager:
    """A fresh plugin manager with the hookspecs, discovered providers and ``plugins``.

    ``plugins`` are ``(name, plugin)`` pairs registered explicitly (tests, hosts that wire
    providers by hand). Raises ``PluginValidationError`` after loading if any plugin
    implements a hook that does not exist, so a misspelt hook fails loudly.
    """
    env = os.environ if environ is None else environ
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in (env.get(BLOCK_PLUGINS_ENV) or "").split(","):
        if name.strip():
            pm.set_blocked(name.strip())
    for name, plugin in plugins:
        if not pm.is_blocked(name):
            pm.register(plugin, name=name)
    if load_entrypoints and not _truthy(env.get(DISABLE_AUTOLOAD_ENV)):
        # pluggy skips blocked names and names already registered (the explicit plugins win).
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        pm.load_setuptools_entrypoints(PLUGINS_ENTRY_POINT_GROUP)
    pm.check_pending()
    return pm


def plugin_distributions(pm: pluggy.PluginManager) -> dict[str, tuple[str, str]]:
    """Plugin name -> (distribution name, version), for every plugin loaded from an entry point."""
    found: dict[str, tuple[str, str]] = {}
    for plugin, dist in pm.list_plugin_distinfo():
        name = pm.get_name(plugin)
        if name is not None:
            found[name] = (str(dist.project_name), str(dist.version))
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
    """Names of the registered plugins that are providers (implement ``psp_provider_info``)."""
    return sorted(
        name
        for name, plugin in pm.list_name_plugin()
        if name is not None and hasattr(plugin, "psp_provider_info")
    )


class ProviderHooks:
    """The hooks of one provider plugin only: other plugins never see its calls."""

    def __init__(self, pm: pluggy.PluginManager, provider: str) -> None:
        names = provider_names(pm)
        if provider not in names:
            raise UnknownProviderError(provider, names)
        self.name = provider
        plugin = pm.get_plugin(provider)
        others = [p for _, p in pm.list_name_plugin() if p is not plugin]
        self._callers = {
            hook: pm.subset_hook_caller(hook, remove_plugins=others)
            for hook in (*PROVIDER_HOOKS, "psp_provider_info")
        }
        info = self.call("psp_provider_info")
        if not isinstance(info, ProviderInfo) or info.name != provider:
            raise ConfigurationError(
                f"plugin {provider!r} must return a ProviderInfo named {provider!r} "
                f"from psp_provider_info, got {info!r}"
            )
        self.info = info

    def call(self, hook: str, **kwargs: object) -> object:
        return self._callers[hook](**kwargs)


def provider_infos(pm: pluggy.PluginManager) -> list[ProviderInfo]:
    return [ProviderHooks(pm, name).info for name in provider_names(pm)]
