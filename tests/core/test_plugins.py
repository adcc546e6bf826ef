"""Plugin discovery, blocking, misspelt hooks, and documentation of every hookspec."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pluggy
import pytest

from psp_core import (
    BLOCK_PLUGINS_ENV,
    DISABLE_AUTOLOAD_ENV,
    ConfigurationError,
    Gateway,
    UnknownProviderError,
    create_plugin_manager,
    hookimpl,
    hookspecs,
    provider_names,
)
from psp_core._plugins import ProviderHooks, load_providers
from tests.fakepay import FakePayPlugin

ROOT = Path(__file__).resolve().parents[2]


def hookspec_names() -> list[str]:
    return [
        name for name, func in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(func, "psp_spec")
    ]


def test_every_hookspec_has_the_psp_prefix_types_and_a_docstring() -> None:
    names = hookspec_names()
    assert len(names) >= 17
    for name in names:
        func = getattr(hookspecs, name)
        assert name.startswith("psp_")
        assert (func.__doc__ or "").strip(), f"{name} has no docstring"
        assert (
            "return" in inspect.signature(func).__repr__() or func.__annotations__.get("return") is not None
        )


def test_every_hookspec_is_documented_by_name_in_the_readme_or_docs() -> None:
    texts = [(ROOT / "README.md").read_text()] + [p.read_text() for p in (ROOT / "docs").glob("*.md")]
    documented = "\n".join(texts)
    missing = [name for name in hookspec_names() if not re.search(rf"`{name}\b", documented)]
    assert missing == []


def test_the_entry_point_group_finds_both_ppro_providers_as_one_plugin_object_each() -> None:
    import psp_amazonpay
    import psp_ideal

    pm = create_plugin_manager(environ={})
    assert {"amazon_pay", "ideal"} <= set(provider_names(pm))
    # Listed from the entry point alone: a provider's module loads when a gateway needs it.
    assert pm.get_plugin("amazon_pay") is None
    ProviderHooks(pm, "amazon_pay")
    load_providers(pm)
    assert pm.get_plugin("amazon_pay") is psp_amazonpay.plugin
    assert pm.get_plugin("ideal") is psp_ideal.plugin


def test_listing_providers_imports_none_of_them() -> None:
    code = (
        "import sys, psp_core; names = psp_core.provider_names(psp_core.create_plugin_manager()); "
        "print(sorted(names), "
        "[m for m in ('psp_amazonpay', 'psp_ideal', 'psp_ppro', 'cattrs') if m in sys.modules])"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert "'amazon_pay'" in out and "'ideal'" in out
    assert out.strip().endswith("[]"), out


def test_a_provider_loaded_later_never_answers_another_providers_calls() -> None:
    pm = create_plugin_manager(environ={})
    amazon = ProviderHooks(pm, "amazon_pay")
    ideal = ProviderHooks(pm, "ideal")  # registered after amazon_pay's hooks were bound
    assert amazon.call("psp_provider_info").name == "amazon_pay"  # type: ignore[attr-defined]
    assert ideal.call("psp_provider_info").name == "ideal"  # type: ignore[attr-defined]


def test_autoload_can_be_disabled_from_the_environment() -> None:
    pm = create_plugin_manager(environ={DISABLE_AUTOLOAD_ENV: "1"})
    assert provider_names(pm) == []


def test_named_plugins_can_be_blocked_from_the_environment() -> None:
    pm = create_plugin_manager(
        [("fakepay", FakePayPlugin())], environ={BLOCK_PLUGINS_ENV: "amazon_pay, ideal, stripe, fakepay"}
    )
    assert provider_names(pm) == []
    with pytest.raises(UnknownProviderError, match="installed providers: none"):
        Gateway("amazon_pay", environ={BLOCK_PLUGINS_ENV: "amazon_pay,ideal,stripe"})


def test_a_misspelt_hook_fails_loudly_when_plugins_load() -> None:
    class Typo:
        @hookimpl
        def psp_authorise(self, config: object, request: object) -> None:  # British spelling
            raise AssertionError

    with pytest.raises(pluggy.PluginValidationError, match="psp_authorise"):
        create_plugin_manager([("typo", Typo())], load_entrypoints=False)


def test_each_gateway_has_its_own_plugin_manager() -> None:
    first = Gateway(
        "fakepay", options={"api_key": "k1"}, plugins=[("fakepay", FakePayPlugin())], load_entrypoints=False
    )
    second = Gateway(
        "fakepay", options={"api_key": "k2"}, plugins=[("fakepay", FakePayPlugin())], load_entrypoints=False
    )
    assert first.plugin_manager is not second.plugin_manager
    first.close()
    second.close()


def test_a_provider_whose_info_names_another_provider_is_a_configuration_error() -> None:
    class Liar(FakePayPlugin):
        pass

    with pytest.raises(ConfigurationError, match="ProviderInfo named 'liar'"):
        Gateway("liar", options={"api_key": "k"}, plugins=[("liar", Liar())], load_entrypoints=False)


def test_missing_configuration_names_the_option_and_the_environment_variable() -> None:
    with pytest.raises(ConfigurationError, match="FAKEPAY_API_KEY"):
        Gateway("fakepay", environ={}, plugins=[("fakepay", FakePayPlugin())], load_entrypoints=False)
