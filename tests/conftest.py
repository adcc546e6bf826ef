"""Shared test set-up: this repository's hypothesis profiles and the fakepay provider fixtures.

Profiles, chosen with hypothesis's own option ``--hypothesis-profile``: ``psp-ci`` (the
default: bounded examples and no deadline, so no test depends on the machine's speed, with or
without a ``CI`` variable) and ``psp-thorough`` (deep runs). Failing examples print a
reproduction blob and the seed (``--hypothesis-seed``). The contract suite's checks use the
suite's own settings (``--psp-profile``), whatever profile is loaded here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import settings
from psp_contracts.hypothesis_profiles import PROFILES

from psp_core import AsyncGateway, Gateway, RetryPolicy
from tests.fakepay import NAME, FakePayPlugin, FakePsp

DEFAULT_PROFILE = "psp-ci"
settings.register_profile("psp-ci", **PROFILES["ci"])
settings.register_profile("psp-thorough", **PROFILES["thorough"])


def pytest_configure(config: pytest.Config) -> None:
    # hypothesis's plugin loads a profile named with --hypothesis-profile; without one, this
    # project's default applies (never hypothesis's own default and its 200 ms deadline).
    if config.getoption("hypothesis_profile", None) is None:
        settings.load_profile(DEFAULT_PROFILE)


@pytest.fixture
def psp() -> FakePsp:
    return FakePsp()


def make_gateway(psp: FakePsp, **kwargs: object) -> Gateway:
    kwargs.setdefault("retry", RetryPolicy.no_wait())
    return Gateway(
        NAME,
        options={"api_key": psp.api_key},
        transport=psp.transport(),
        plugins=[(NAME, FakePayPlugin())],
        load_entrypoints=False,
        clock=lambda: psp.now,
        **kwargs,  # type: ignore[arg-type]
    )


def make_async_gateway(psp: FakePsp, **kwargs: object) -> AsyncGateway:
    kwargs.setdefault("retry", RetryPolicy.no_wait())
    return AsyncGateway(
        NAME,
        options={"api_key": psp.api_key},
        transport=psp.transport(),
        plugins=[(NAME, FakePayPlugin())],
        load_entrypoints=False,
        clock=lambda: psp.now,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def gateway(psp: FakePsp) -> Iterator[Gateway]:
    with make_gateway(psp) as gw:
        yield gw


@pytest.fixture
async def async_gateway(psp: FakePsp) -> AsyncIterator[AsyncGateway]:
    async with make_async_gateway(psp) as gw:
        yield gw


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
