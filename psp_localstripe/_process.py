"""A localstripe server process: started on a free loopback port, stopped on close."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import httpx

from psp_core import ConfigurationError

INSTALL_HINT = "localstripe is not installed: pip install 'psp[localstripe]' (or pip install localstripe)"
START_TIMEOUT_S = 30.0


def available() -> bool:
    try:
        import localstripe  # noqa: F401
    except ImportError:
        return False
    return True


class LocalStripe:
    """One localstripe process; ``url`` is its base URL (http://127.0.0.1:PORT)."""

    def __init__(self) -> None:
        if not available():
            raise ConfigurationError(INSTALL_HINT)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "psp_localstripe._server"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        port = self._read_port()
        self.url = f"http://127.0.0.1:{port}"
        self._wait_ready()

    def _read_port(self) -> int:
        assert self._process.stdout is not None
        found: list[str] = []
        stdout = self._process.stdout
        reader = threading.Thread(target=lambda: found.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        line = found[0] if found else ""
        if not line.startswith("PORT "):
            self.close()
            raise ConfigurationError(
                f"localstripe did not start (it printed {line!r}); "
                "run python -m psp_localstripe._server to see why"
            )
        return int(line.split()[1])

    def _wait_ready(self) -> None:
        # The port is bound before the event loop serves it; the first request waits for it.
        with httpx.Client(timeout=START_TIMEOUT_S) as client:
            client.get(f"{self.url}/v1/customers", headers={"Authorization": "Bearer sk_test_ready"})

    def flush(self) -> None:
        """Empty localstripe's store (its ``DELETE /_config/data``)."""
        httpx.delete(f"{self.url}/_config/data", timeout=10)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
