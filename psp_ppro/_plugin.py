"""The provider hooks, on one plugin object per payment-method profile.

Each hook returns a sans-I/O flow over the PPRO Global API. The profile says which PPRO
method the bodies name, which provider the results are stamped with, and which events of the
one PPRO webhook URL are this provider's.

Capture, void and refund return the updated payment by folding PPRO's answer (the new
capture/void/refund, in whatever status PPRO gave it: a refund is often PENDING) into the
payment the host passed, through the core reducer: one request per operation, and the
reducer's monotonic merge protects against a stale ``request.payment``. A pending refund is
on the returned payment and reserves its amount until a webhook or a read settles it. A host
that wants PPRO's whole view reads the payment afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import attrs

from psp_core import (
    AuthorizeRequest,
    CaptureRequest,
    CommandLine,
    Flow,
    Mandate,
    MandateChargeRequest,
    MandateRequest,
    Money,
    OperationKind,
    OperationSource,
    Payment,
    ProviderConfig,
    ProviderInfo,
    ProviderResponseError,
    ProviderSandbox,
    RefundRequest,
    RevokeMandateRequest,
    VoidRequest,
    WebhookEvent,
    apply_operation,
    hookimpl,
)

from . import _bodies, _http, _mapping, _settings, _webhooks, _wire
from ._cli import add_sandbox_command
from ._profile import MethodProfile

CHARGES = "/v1/payment-charges"
_MAX_SEARCH_PAGES = 20
AGREEMENTS = "/v1/payment-agreements"


def _fold(payment: Payment, kind: OperationKind, answer: _wire.ChargeOperation, amount: Money) -> Payment:
    """The payment after one capture/void/refund answer, with the operation in its status.

    Totals grow only for a success; a PENDING refund is on the payment and reserves its
    amount; a FAILED one is kept with its decline, which is also the payment's latest.
    """
    if answer.amount != amount.minor:
        raise ProviderResponseError(
            f"payment {payment.id}: PPRO reports a {kind.value} of {answer.amount} minor units, "
            f"{amount.minor} were requested"
        )
    op = _mapping.operation(kind, answer, amount.currency, OperationSource.ANSWER)
    folded = apply_operation(payment, op)
    return attrs.evolve(folded, decline=op.decline) if op.decline is not None else folded


def _money_movement(
    config: ProviderConfig, payment: Payment, kind: OperationKind, resource: str, body: object, amount: Money
) -> Flow[Payment]:
    """POST one capture, void or refund under the charge and fold PPRO's answer into ``payment``."""
    response = yield _http.post(config, f"{CHARGES}/{_http.segment(payment.id)}/{resource}", body)
    answer = _http.parse(response, _wire.ChargeOperation, kind.value)
    with _http.answering(response):
        return _fold(payment, kind, answer, amount)


class PproPlugin:
    """The psp provider for one PPRO payment method: register one per profile, under its name.

    ``pm.register(PproPlugin(profile), name=profile.provider)``; pluggy finds the hooks below
    on the object, so two methods' plugins live side by side in one plugin manager.
    """

    def __init__(self, profile: MethodProfile) -> None:
        self.profile = profile

    def __repr__(self) -> str:
        return f"PproPlugin({self.profile.provider!r}, paymentMethod={self.profile.payment_method!r})"

    @property
    def provider(self) -> str:
        return self.profile.provider

    @hookimpl
    def psp_provider_info(self) -> ProviderInfo:
        return _settings.provider_info(self.profile)

    @hookimpl
    def psp_configure(self, options: Mapping[str, object], environ: Mapping[str, str]) -> ProviderConfig:
        return _settings.configure(self.profile, options, environ)

    @hookimpl
    def psp_cli_commands(self, cli: CommandLine) -> None:
        add_sandbox_command(cli, self.profile)

    @hookimpl
    def psp_sandbox(self, options: Mapping[str, object]) -> ProviderSandbox:
        # Imported here: a production gateway never needs the PPRO sandbox.
        from ._contract import sandbox_for

        return sandbox_for(self.profile, options)

    # -- payments -----------------------------------------------------------------------------

    @hookimpl
    def psp_authorize(self, config: ProviderConfig, request: AuthorizeRequest) -> Flow[Payment]:
        body = _bodies.charge_body(request, _settings.settings_of(config, self.profile))
        response = yield _http.post(config, CHARGES, body)
        charge = _http.parse(response, _wire.Charge, "authorize")
        with _http.answering(response):
            return _mapping.payment_from_charge(
                charge,
                provider=self.provider,
                payment_method=self.profile.payment_method,
                expected=request.amount,
                merchant_reference=request.merchant_reference,
                source=OperationSource.ANSWER,
            )

    @hookimpl
    def psp_get_payment(self, config: ProviderConfig, payment_id: str) -> Flow[Payment]:
        response = yield _http.get(config, f"{CHARGES}/{_http.segment(payment_id)}")
        charge = _http.parse(response, _wire.Charge, "get payment")
        with _http.answering(response):
            return _mapping.payment_from_charge(
                charge, provider=self.provider, payment_method=self.profile.payment_method
            )

    @hookimpl
    def psp_find_payment(self, config: ProviderConfig, merchant_reference: str) -> Flow[Payment | None]:
        query = {"merchantPaymentChargeReference": merchant_reference}
        response = yield _http.get(config, CHARGES, query)
        page = _http.parse(response, _wire.ChargePage, "find payment")
        charges = list(page.data)
        # Every page: the attempt an unknown outcome is about may be on any of them.
        for _ in range(_MAX_SEARCH_PAGES):
            if not page.next_page:
                break
            response = yield _http.get(config, CHARGES, {**query, "page": page.next_page})
            page = _http.parse(response, _wire.ChargePage, "find payment")
            charges += page.data
        else:
            raise ProviderResponseError(
                f"find payment: more than {_MAX_SEARCH_PAGES} pages of charges share the reference "
                f"{merchant_reference!r}; use one merchant reference per payment attempt"
            )
        # One PPRO account holds every method's charges; another method's is not ours to find.
        charges = [c for c in charges if c.payment_method in (None, self.profile.payment_method)]
        if not charges:
            return None
        # A reference normally names one attempt; if the host reused it, the newest one is the
        # attempt an unknown outcome is about.
        oldest = datetime.min.replace(tzinfo=UTC)
        with _http.answering(response):
            newest = max(
                enumerate(charges),
                key=lambda pair: (_mapping.timestamp(pair[1].created_at) or oldest, pair[0]),
            )[1]
            return _mapping.payment_from_charge(
                newest,
                provider=self.provider,
                merchant_reference=merchant_reference,
                payment_method=self.profile.payment_method,
            )

    @hookimpl
    def psp_capture(self, config: ProviderConfig, request: CaptureRequest, amount: Money) -> Flow[Payment]:
        body = _wire.CaptureBody(amount=amount.minor, merchant_capture_reference=request.merchant_reference)
        return _money_movement(config, request.payment, OperationKind.CAPTURE, "captures", body, amount)

    @hookimpl
    def psp_void(self, config: ProviderConfig, request: VoidRequest, amount: Money) -> Flow[Payment]:
        # PPRO requires the amount even for a full void.
        body = _wire.VoidBody(amount=amount.minor, merchant_void_reference=request.merchant_reference)
        return _money_movement(config, request.payment, OperationKind.VOID, "voids", body, amount)

    @hookimpl
    def psp_refund(self, config: ProviderConfig, request: RefundRequest, amount: Money) -> Flow[Payment]:
        body = _bodies.refund_body(amount, request.reason, request.merchant_reference)
        return _money_movement(config, request.payment, OperationKind.REFUND, "refunds", body, amount)

    # -- mandates -----------------------------------------------------------------------------

    @hookimpl
    def psp_create_mandate(self, config: ProviderConfig, request: MandateRequest) -> Flow[Mandate]:
        body = _bodies.agreement_body(request, _settings.settings_of(config, self.profile))
        response = yield _http.post(config, AGREEMENTS, body)
        agreement = _http.parse(response, _wire.Agreement, "create mandate")
        with _http.answering(response):
            return _mapping.mandate_from_agreement(
                agreement, provider=self.provider, merchant_reference=request.merchant_reference
            )

    @hookimpl
    def psp_get_mandate(self, config: ProviderConfig, mandate_id: str) -> Flow[Mandate]:
        response = yield _http.get(config, f"{AGREEMENTS}/{_http.segment(mandate_id)}")
        agreement = _http.parse(response, _wire.Agreement, "get mandate")
        with _http.answering(response):
            return _mapping.mandate_from_agreement(agreement, provider=self.provider)

    @hookimpl
    def psp_charge_mandate(self, config: ProviderConfig, request: MandateChargeRequest) -> Flow[Payment]:
        body = _bodies.agreement_charge_body(request, _settings.settings_of(config, self.profile))
        response = yield _http.post(
            config, f"{AGREEMENTS}/{_http.segment(request.mandate_id)}/payment-charges", body
        )
        charge = _http.parse(response, _wire.Charge, "charge mandate")
        with _http.answering(response):
            return _mapping.payment_from_charge(
                charge,
                provider=self.provider,
                payment_method=self.profile.payment_method,
                expected=request.amount,
                merchant_reference=request.merchant_reference,
                mandate_id=request.mandate_id,
                source=OperationSource.ANSWER,
            )

    @hookimpl
    def psp_revoke_mandate(self, config: ProviderConfig, request: RevokeMandateRequest) -> Flow[Mandate]:
        path = f"{AGREEMENTS}/{_http.segment(request.mandate_id)}"
        response = yield _http.post(config, f"{path}/revocations", None)
        result = _http.parse(response, _wire.RevocationResult, "revoke mandate")
        if result.status not in ("REVOKED", "FAILED"):
            with _http.answering(response):
                raise ProviderResponseError(
                    f"unknown PPRO revocation status {result.status!r}", provider_code=result.status
                )
        # The revocation answer is only a status; the agreement itself says what it is now.
        response = yield _http.get(config, path)
        agreement = _http.parse(response, _wire.Agreement, "revoke mandate")
        with _http.answering(response):
            mandate = _mapping.mandate_from_agreement(agreement, provider=self.provider)
        return _mapping.with_decline(mandate, result.failure) if result.status == "FAILED" else mandate

    # -- webhooks -----------------------------------------------------------------------------

    @hookimpl
    def psp_parse_webhook(
        self, config: ProviderConfig, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookEvent:
        return _webhooks.parse_webhook(config, self.profile, headers, body, now)
