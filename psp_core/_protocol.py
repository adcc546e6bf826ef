"""The provider hooks as a typing Protocol, so mypy checks a provider plugin's signatures.

pluggy checks a hook implementation's parameter names when it is registered, not its types.
Assigning the plugin to this Protocol lets mypy check both, and the return types, wherever
the plugin author runs it::

    from psp_core import ProviderPlugin
    from . import _hooks                # the module holding the @hookimpl functions
    _provider: ProviderPlugin = _hooks  # a module works as well as an object

Only the hooks every provider implements are members; ``psp_sandbox`` and
``psp_cli_commands`` are optional and checked by pluggy alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from ._config import ProviderConfig, ProviderInfo
from ._flow import Flow
from ._models import (
    AuthorizeRequest,
    CaptureRequest,
    Mandate,
    MandateChargeRequest,
    MandateRequest,
    Payment,
    RefundRequest,
    RevokeMandateRequest,
    VoidRequest,
    WebhookEvent,
)
from ._money import Money


class ProviderPlugin(Protocol):
    """Every provider hook of :mod:`psp_core.hookspecs`, with its spec's signature."""

    def psp_provider_info(self) -> ProviderInfo: ...

    def psp_configure(self, options: Mapping[str, object], environ: Mapping[str, str]) -> ProviderConfig: ...

    def psp_authorize(self, config: ProviderConfig, request: AuthorizeRequest) -> Flow[Payment]: ...

    def psp_get_payment(self, config: ProviderConfig, payment_id: str) -> Flow[Payment]: ...

    def psp_find_payment(self, config: ProviderConfig, merchant_reference: str) -> Flow[Payment | None]: ...

    def psp_capture(
        self, config: ProviderConfig, request: CaptureRequest, amount: Money
    ) -> Flow[Payment]: ...

    def psp_void(self, config: ProviderConfig, request: VoidRequest, amount: Money) -> Flow[Payment]: ...

    def psp_refund(self, config: ProviderConfig, request: RefundRequest, amount: Money) -> Flow[Payment]: ...

    def psp_create_mandate(self, config: ProviderConfig, request: MandateRequest) -> Flow[Mandate]: ...

    def psp_get_mandate(self, config: ProviderConfig, mandate_id: str) -> Flow[Mandate]: ...

    def psp_charge_mandate(self, config: ProviderConfig, request: MandateChargeRequest) -> Flow[Payment]: ...

    def psp_revoke_mandate(self, config: ProviderConfig, request: RevokeMandateRequest) -> Flow[Mandate]: ...

    def psp_parse_webhook(
        self, config: ProviderConfig, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookEvent: ...
