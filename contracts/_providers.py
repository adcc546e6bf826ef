"""Finding the providers to check, their sandboxes, and whether a live run is possible."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence

import attrs
import pluggy

from psp_core import (
    ConfigurationError,
    ProviderConfig,
    ProviderSandbox,
    create_plugin_manager,
    load_providers,
    provider_names,
)


def load_plugin(spec: str) -> tuple[str, object]:
    """``name=package.module:attribute`` -> ``(name, object)``: a provider not installed as an entry point.

    Lets a plugin author check a provider before packaging it, and lets this repository check
    its test-only providers.
    """
    name, sep, target = spec.partition("=")
    module_name, colon, attribute = target.partition(":")
    if not sep or not colon or not name or not module_name or not attribute:
        raise ValueError(f"--psp-plugin wants NAME=module:attribute, got {spec!r}")
    return name.strip(), getattr(importlib.import_module(module_name.strip()), attribute.strip())


def plugin_manager(extra: Sequence[str] = ()) -> pluggy.PluginManager:
    """The installed providers plus those named by ``--psp-plugin``, all loaded: the suite
    calls each provider's own ``psp_sandbox``."""
    pm = create_plugin_manager([load_plugin(spec) for spec in extra], environ={})
    load_providers(pm)
    return pm


@attrs.frozen
class Target:
    """One run of the suite: a provider, against its sandbox or its live PSP sandbox."""

    provider: str
    live: bool = False

    @property
    def key(self) -> str:
        return f"{self.provider}[live]" if self.live else self.provider


def select(pm: pluggy.PluginManager, wanted: Sequence[str]) -> list[str]:
    names = provider_names(pm)
    if not wanted:
        return names
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise pytest_usage_error(
            f"unknown provider(s) {unknown}; installed: {names}: name an installed one (`psp providers` "
            "lists them), or register yours with --plugin NAME=MODULE:ATTR (pytest: --psp-plugin)"
        )
    return list(dict.fromkeys(wanted))


def pytest_usage_error(message: str) -> Exception:
    import pytest

    return pytest.UsageError(message)


def hook_of(pm: pluggy.PluginManager, provider: str, hook: str) -> pluggy.HookCaller:
    """``hook`` of ``provider``'s plugin only, as the gateway calls provider hooks."""
    plugin = pm.get_plugin(provider)
    others = [p for _, p in pm.list_name_plugin() if p is not plugin]
    return pm.subset_hook_caller(hook, remove_plugins=others)


def start_sandbox(pm: pluggy.PluginManager, provider: str, seed: int | None) -> ProviderSandbox | None:
    """A fresh sandbox from the provider's ``psp_sandbox`` hook, or None if it ships none."""
    result = hook_of(pm, provider, "psp_sandbox")(options={"seed": seed} if seed is not None else {})
    if result is None:
        return None
    if not isinstance(result, ProviderSandbox):
        raise TypeError(
            f"provider {provider!r} returned {type(result).__name__} from psp_sandbox; "
            "it must return a psp_core.ProviderSandbox"
        )
    return result


def live_config(
    pm: pluggy.PluginManager, provider: str, environ: Mapping[str, str] | None = None
) -> ProviderConfig | str:
    """The provider's configuration from the environment, or why a live run is not possible."""
    env = os.environ if environ is None else environ
    try:
        config = hook_of(pm, provider, "psp_configure")(options={}, environ=env)
    except ConfigurationError as error:
        return f"no live credentials for {provider}: {error}"
    if not isinstance(config, ProviderConfig):
        return f"{provider}'s psp_configure returned {type(config).__name__}"
    return config


def has_live_credentials(pm: pluggy.PluginManager, provider: str) -> bool:
    """True when a documented setting of the provider is in the environment and configuration works.

    Only variables the provider documents in ``ProviderInfo.settings`` count, so an unrelated
    environment never triggers network traffic.
    """
    info = hook_of(pm, provider, "psp_provider_info")()
    documented = getattr(info, "settings", {}) or {}
    if not any(os.environ.get(variable) for variable in documented.values()):
        return False
    return isinstance(live_config(pm, provider), ProviderConfig)
