"""A test harness: the stripe provider's contract-suite sandbox over localstripe.

Not part of the runtime plugin (``psp_stripe`` holds no harness): the stripe plugin's
``psp_sandbox`` hook imports this package only when the contract suite asks for a sandbox.
It needs the ``localstripe`` package (``pip install 'psp[localstripe]'``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ._process import INSTALL_HINT, LocalStripe, available
from ._sandbox import GAPS, SECRET_KEY, WEBHOOK_SECRET, LocalStripeSandbox, shared_server, signed_webhook


def sandbox_for(options: Mapping[str, object]) -> LocalStripeSandbox:
    """A sandbox for the contract suite; ``options`` (a seed) do not apply to localstripe."""
    return LocalStripeSandbox()


__all__ = [
    "GAPS",
    "INSTALL_HINT",
    "SECRET_KEY",
    "WEBHOOK_SECRET",
    "LocalStripe",
    "LocalStripeSandbox",
    "available",
    "sandbox_for",
    "shared_server",
    "signed_webhook",
]
