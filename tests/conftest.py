"""Shared test set-up: hypothesis profiles and the fakepay provider fixtures.

Profiles: ``ci`` (the default; bounded examples, no deadline, so a loaded 2-core machine
does not flake) and ``thorough`` (deep runs: ``HYPOTHESIS_PROFILE=thorough``). Failing
examples print a reproduction blob and the seed (``--hypothesis-seed``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import settings

from contracts.hypothesis_profiles import register as register_hypothesis_profiles
from psp_core import AsyncGateway, Gateway, RetryPolicy
from tests.fakepay import NAME, FakePayPlugin, FakePsp

register_hypothesis_profiles()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
