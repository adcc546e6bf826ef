"""How the demo shop reaches each installed provider's PSP: the only provider-aware part of it.

The shop itself is generic: it offers every installed provider it can reach whose capabilities
take the basket. A *reach* starts what stands in for a PSP on loopback and answers, for each
installed provider, the gateway options that talk to it (or None: not this reach's provider).
A provider added later appears in the shop once a reach knows how to get to its sandbox.

The PPRO reach serves one PPRO sandbox, which serves every PPRO method (Amazon Pay, iDEAL);
each PPRO provider's gateway gets the same base URL and credentials.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from datetime import datetime
from typing import Protocol

from psp_ppro import PproPlugin
from psp_ppro.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_in_thread

Clock = Callable[[], datetime]


class Reach(Protocol):
    """A way to a PSP (its sandbox on loopback), for the providers that use it."""

    def options_for(self, provider: str, plugin: object) -> Mapping[str, object] | None:
        """Gateway options for ``provider`` (its registered ``plugin``), or None if not ours."""
        ...

    @property
    def clock(self) -> Clock:
        """The PSP's clock: gateways check refund windows on it, so both agree on "now"."""
        ...

    def describe(self) -> str:
        """One line for the console: what was started, and where."""
        ...


class PproReach:
    """One PPRO sandbox on loopback, with random credentials (nothing real to leak)."""

    def __init__(self, stack: ExitStack) -> None:
        self.api_key = f"key_sandbox_{secrets.token_urlsafe(16)}"
        self.merchant_id = f"merch_shop{secrets.token_hex(6)}"
        self.webhook_secret = f"whsec_{secrets.token_urlsafe(24)}"
        self.sandbox = Sandbox(
            SandboxConfig(
                api_key=self.api_key,
                merchant_id=self.merchant_id,
                webhook_secret=self.webhook_secret,
                separate_captures=True,
            )
        )
        self.running: RunningSandbox = stack.enter_context(serve_in_thread(self.sandbox, "127.0.0.1", 0))

    @property
    def base_url(self) -> str:
        return self.running.base_url

    @property
    def clock(self) -> Clock:
        return self.sandbox.clock.now

    def options_for(self, provider: str, plugin: object) -> Mapping[str, object] | None:
        if not isinstance(plugin, PproPlugin):
            return None
        options: dict[str, object] = {
            "api_key": self.api_key,
            "merchant_id": self.merchant_id,
            "base_url": self.base_url,
            "webhook_secret": self.webhook_secret,
        }
        # Only a method with separate captures takes the setting (iDEAL refuses it).
        if plugin.profile.separate_captures:
            options["separate_captures"] = True
        return options

    def describe(self) -> str:
        return f"PPRO sandbox (every PPRO method) at {self.base_url}"


def open_reaches(stack: ExitStack) -> list[Reach]:
    """Start every PSP stand-in the shop knows; each stops when ``stack`` closes."""
    return [PproReach(stack)]
