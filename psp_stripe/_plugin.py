"""The provider hooks: sans-I/O flows over Stripe's PaymentIntents, Refunds and SetupIntents.

authorize creates and confirms a PaymentIntent with the payment method the host's front end
obtained (one request); capture, void and refund are one request each, their answers folded
into the payment the host passed through the core reducer, so a stale ``request.payment``
never moves a payment backwards. A mandate is a SetupIntent for a customer; charging it is
an off-session PaymentIntent; revoking it detaches the payment method from the customer.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime

import attrs
import httpx

from psp_core import (
    AuthorizeRequest,
    CaptureMode,
    CaptureRequest,
    CommandLine,
    Decline,
    DeclineCode,
    Flow,
    Mandate,
    MandateChargeRequest,
    MandateRequest,
    MandateStatus,
    Money,
    OperationSource,
    Option,
    Payment,
    PaymentStatus,
    ProviderConfig,
    ProviderInfo,
    ProviderResponseError,
    ProviderSandbox,
    RefundReason,
    RefundRequest,
    RevokeMandateRequest,
    ValidationError,
    VoidRequest,
    WebhookEvent,
    apply_operation,
    apply_update,
    hookimpl,
)

from . import _http, _mapping, _settings, _webhooks, _wire
from ._amounts import to_stripe
from ._wire import FormValue


def _demo(args: argparse.Namespace) -> int:
    # The demo is a separate package, imported only when `psp demo stripe` runs.
    from psp_demo._stripe import run

    return run(args)


INTENTS = "/v1/payment_intents"
SETUPS = "/v1/setup_intents"
EXPAND_INTENT: list[FormValue] = ["latest_charge.refunds"]
"""Every PaymentIntent answer carries its charge and the charge's refunds: one request per call."""
_MAX_PAGES = 20

REFUND_REASONS: Mapping[RefundReason, str] = {
    # https://docs.stripe.com/api/refunds/create#create_refund-reason: three reasons; others none.
    RefundReason.DUPLICATE: "duplicate",
    RefundReason.FRAUD: "fraudulent",
    RefundReason.CUSTOMER_REQUEST: "requested_by_customer",
}


def _metadata(
    merchant_reference: str | None, labels: Mapping[str, str], **extra: str
) -> dict[str, FormValue]:
    reserved = {_mapping.MERCHANT_REFERENCE_KEY, _mapping.MANDATE_KEY}
    clash = sorted(reserved & set(labels))
    if clash:
        raise ValidationError(
            "labels", f"the keys {clash} are psp's own metadata on Stripe; rename those labels"
        )
    bracketed = sorted(key for key in labels if "[" in key or "]" in key)
    if bracketed:
        # "you can't use square brackets ([ and ]) in keys" (https://docs.stripe.com/api/metadata)
        raise ValidationError(
            "labels", f"Stripe refuses square brackets in metadata keys: {bracketed}; rename them"
        )
    metadata: dict[str, FormValue] = dict(labels)
    if merchant_reference is not None:
        metadata[_mapping.MERCHANT_REFERENCE_KEY] = merchant_reference
    metadata.update(extra)
    return metadata


def _intent_answer(
    config: ProviderConfig, response: httpx.Response, what: str
) -> Flow[_wire.PaymentIntent | _wire.ErrorDetail]:
    """A PaymentIntent answer; a card decline (HTTP 402) is read back as the declined intent.

    Stripe's 402 carries the intent in ``error.payment_intent``; when an answer names only the
    charge, the charge says which intent it belongs to (https://docs.stripe.com/api/errors).
    """
    if response.status_code != 402:
        return _http.parse(response, _wire.PaymentIntent, what)
    try:
        raw = _wire.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raw = None
    error = raw.get("error") if isinstance(raw, dict) else None
    intent = error.get("payment_intent") if isinstance(error, dict) else None
    charge_id = error.get("charge") if isinstance(error, dict) else None
    if not isinstance(error, dict) or not (isinstance(intent, dict) or isinstance(charge_id, str)):
        # A 402 that names no payment: an error like any other (raise_for_error raises for 402).
        _http.raise_for_error(response, what)
        return _wire.ErrorDetail(message=response.reason_phrase)
    with _http.answering(response):
        detail = _wire.structure(error, _wire.ErrorDetail, what)
        if isinstance(intent, dict):
            return _wire.structure(intent, _wire.PaymentIntent, what)
    response = yield _http.get(config, f"/v1/charges/{_http.segment(str(charge_id))}")
    charge = _http.parse(response, _wire.ChargeRef, what)
    if charge.payment_intent is None:
        return detail
    response = yield _http.get(
        config, f"{INTENTS}/{_http.segment(charge.payment_intent)}", {"expand": EXPAND_INTENT}
    )
    return _http.parse(response, _wire.PaymentIntent, what)


def _read_refunds(config: ProviderConfig, intent: _wire.PaymentIntent, what: str) -> Flow[list[_wire.Refund]]:
    """The refunds beyond the first page Stripe expanded into the charge."""
    charge = intent.latest_charge
    if charge is None or charge.refunds is None or not charge.refunds.has_more:
        return []
    refunds = list(charge.refunds.data)
    for _ in range(_MAX_PAGES):
        query: dict[str, FormValue] = {
            "payment_intent": intent.id,
            "limit": 100,
            "starting_after": refunds[-1].id,
        }
        response = yield _http.get(config, "/v1/refunds", query)
        page = _http.parse(response, _wire.RefundList, what)
        refunds += page.data
        if not page.has_more or not page.data:
            return refunds
    raise ProviderResponseError(
        f"{what}: payment {intent.id} has more refunds than psp reads ({_MAX_PAGES} pages)"
    )


def _search_literal(value: str) -> str:
    """A search-query string literal (https://docs.stripe.com/search#search-query-language)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class StripePlugin:
    """The psp provider ``stripe``; the ``psp_providers`` entry point registers :data:`plugin`."""

    provider = _settings.PROVIDER

    def __repr__(self) -> str:
        return "StripePlugin('stripe')"

    @hookimpl
    def psp_provider_info(self) -> ProviderInfo:
        return _settings.provider_info()

    @hookimpl
    def psp_cli_commands(self, cli: CommandLine) -> None:
        cli.add_demo(
            self.provider,
            _demo,
            help="run one host function against Amazon Pay (PPRO sandbox) and Stripe (localstripe)",
            description="Start localstripe on 127.0.0.1 and the PPRO sandbox, run the same host code "
            "against both (authorize, 3-D Secure, capture, refund), then a SEPA Direct Debit mandate "
            "on Stripe. Exits 1 if any step does not behave as expected. Needs no credentials.",
            options=(Option(("--json",), "print the steps as JSON", flag=True),),
            extra="psp[localstripe]",
            extra_modules=("localstripe", "psp_localstripe", "psp_demo"),
        )

    @hookimpl
    def psp_sandbox(self, options: Mapping[str, object]) -> ProviderSandbox | None:
        # The harness is a separate package, imported only when the contract suite asks.
        try:
            from psp_localstripe import available, sandbox_for
        except ImportError:
            return None
        return sandbox_for(options) if available() else None

    @hookimpl
    def psp_configure(self, options: Mapping[str, object], environ: Mapping[str, str]) -> ProviderConfig:
        return _settings.configure(options, environ)

    def _payment(
        self,
        config: ProviderConfig,
        response: httpx.Response,
        what: str,
        *,
        source: OperationSource,
        expected: Money | None = None,
        mandate_id: str | None = None,
    ) -> Flow[Payment]:
        answer = yield from _intent_answer(config, response, what)
        if isinstance(answer, _wire.ErrorDetail):
            raise ProviderResponseError(
                f"{what}: Stripe declined a charge that belongs to no payment: {answer.message}"
            )
        refunds = yield from _read_refunds(config, answer, what)
        with _http.answering(response):
            return _mapping.payment_from_intent(
                answer,
                provider=self.provider,
                source=source,
                refunds=refunds,
                expected=expected,
                mandate_id=mandate_id,
            )

    # -- payments -----------------------------------------------------------------------------

    @hookimpl
    def psp_authorize(self, config: ProviderConfig, request: AuthorizeRequest) -> Flow[Payment]:
        settings = _settings.settings_of(config)
        fields: dict[str, FormValue] = {
            "amount": to_stripe(request.amount),
            "currency": request.amount.currency.lower(),
            "payment_method": request.payment_method_token,
            "payment_method_types": list(settings.payment_method_types),
            "confirm": True,
            "capture_method": "manual" if request.capture_mode is CaptureMode.SEPARATE else "automatic",
            "return_url": request.return_url,
            "description": request.description,
            "receipt_email": None,
            "metadata": _metadata(request.merchant_reference, request.labels),
            "expand": EXPAND_INTENT,
        }
        response = yield _http.post(config, INTENTS, fields)
        return (
            yield from self._payment(
                config, response, "authorize", source=OperationSource.ANSWER, expected=request.amount
            )
        )

    @hookimpl
    def psp_get_payment(self, config: ProviderConfig, payment_id: str) -> Flow[Payment]:
        response = yield _http.get(
            config, f"{INTENTS}/{_http.segment(payment_id)}", {"expand": EXPAND_INTENT}
        )
        return (yield from self._payment(config, response, "get payment", source=OperationSource.READ))

    @hookimpl
    def psp_find_payment(self, config: ProviderConfig, merchant_reference: str) -> Flow[Payment | None]:
        # Stripe's search is eventually consistent ("data is usually searchable within a minute"),
        # so an intent created a moment ago may not be found yet: the core resolves an unknown
        # outcome by replaying the idempotency key first (https://docs.stripe.com/search).
        key = _search_literal(_mapping.MERCHANT_REFERENCE_KEY)
        query = f"metadata[{key}]:{_search_literal(merchant_reference)}"
        params: dict[str, FormValue] = {
            "query": query,
            "limit": 100,
            "expand": ["data.latest_charge.refunds"],
        }
        response = yield _http.get(config, f"{INTENTS}/search", params)
        page = _http.parse(response, _wire.SearchResult, "find payment")
        intents = list(page.data)
        for _ in range(_MAX_PAGES):
            if not page.has_more or not page.next_page:
                break
            response = yield _http.get(config, f"{INTENTS}/search", {**params, "page": page.next_page})
            page = _http.parse(response, _wire.SearchResult, "find payment")
            intents += page.data
        intents = [
            i for i in intents if i.metadata.get(_mapping.MERCHANT_REFERENCE_KEY) == merchant_reference
        ]
        if not intents:
            return None
        # A reference names one attempt; if the host reused it, the newest is the one in question.
        newest = max(enumerate(intents), key=lambda pair: (pair[1].created or 0, pair[0]))[1]
        refunds = yield from _read_refunds(config, newest, "find payment")
        with _http.answering(response):
            return _mapping.payment_from_intent(
                newest, provider=self.provider, source=OperationSource.READ, refunds=refunds
            )

    @hookimpl
    def psp_capture(self, config: ProviderConfig, request: CaptureRequest, amount: Money) -> Flow[Payment]:
        fields: dict[str, FormValue] = {"amount_to_capture": to_stripe(amount), "expand": EXPAND_INTENT}
        response = yield _http.post(config, f"{INTENTS}/{_http.segment(request.payment.id)}/capture", fields)
        read = yield from self._payment(config, response, "capture", source=OperationSource.ANSWER)
        return apply_update(request.payment, read)

    @hookimpl
    def psp_void(self, config: ProviderConfig, request: VoidRequest, amount: Money) -> Flow[Payment]:
        # Cancel releases the whole hold; the gateway refuses a partial void (partial_void=False).
        response = yield _http.post(
            config, f"{INTENTS}/{_http.segment(request.payment.id)}/cancel", {"expand": EXPAND_INTENT}
        )
        read = yield from self._payment(config, response, "void", source=OperationSource.ANSWER)
        return apply_update(request.payment, read)

    @hookimpl
    def psp_refund(self, config: ProviderConfig, request: RefundRequest, amount: Money) -> Flow[Payment]:
        fields: dict[str, FormValue] = {
            "payment_intent": request.payment.id,
            "amount": to_stripe(amount),
            "reason": REFUND_REASONS.get(request.reason) if request.reason is not None else None,
            "metadata": _metadata(request.merchant_reference, {}) or None,
        }
        response = yield _http.post(config, "/v1/refunds", fields)
        refund = _http.parse(response, _wire.Refund, "refund")
        with _http.answering(response):
            operation = _mapping.refund_operation(refund, amount.currency, OperationSource.ANSWER)
            if operation.amount != amount:
                raise ProviderResponseError(
                    f"payment {request.payment.id}: Stripe reports a refund of {operation.amount}, "
                    f"{amount} was requested"
                )
            folded = apply_operation(request.payment, operation)
        return attrs.evolve(folded, decline=operation.decline) if operation.decline is not None else folded

    # -- mandates -----------------------------------------------------------------------------

    @hookimpl
    def psp_create_mandate(self, config: ProviderConfig, request: MandateRequest) -> Flow[Mandate]:
        settings = _settings.settings_of(config)
        metadata = _metadata(request.merchant_reference, {})
        consumer = request.consumer
        response = yield _http.post(
            config,
            "/v1/customers",
            {"email": consumer.email, "name": consumer.name, "metadata": metadata},
        )
        customer = _http.parse(response, _wire.Customer, "create mandate")
        response = yield _http.post(
            config,
            SETUPS,
            {
                "customer": customer.id,
                "usage": "off_session",
                "payment_method_types": list(settings.payment_method_types),
                "description": request.description,
                "metadata": metadata,
            },
        )
        setup = _http.parse(response, _wire.SetupIntent, "create mandate")
        response = yield _http.post(
            config,
            f"{SETUPS}/{_http.segment(setup.id)}/confirm",
            {
                "payment_method": request.payment_method_token,
                "return_url": request.return_url,
                "expand": ["payment_method"],
            },
        )
        if response.status_code == 402:
            # Declined while being set up: the SetupIntent says why.
            response = yield _http.get(
                config, f"{SETUPS}/{_http.segment(setup.id)}", {"expand": ["payment_method"]}
            )
        setup = _http.parse(response, _wire.SetupIntent, "create mandate")
        with _http.answering(response):
            mandate = _mapping.mandate_from_setup(setup, provider=self.provider)
        mandate = attrs.evolve(mandate, merchant_reference=request.merchant_reference)
        initial = request.initial_charge
        method = setup.payment_method
        if initial is None or method is None or setup.status not in ("succeeded", "requires_action"):
            return mandate
        # The first charge is a PaymentIntent of its own with the consumer present (decision,
        # docs/stripe.md): where the card asks for 3-D Secure, it waits for them as well.
        fields: dict[str, FormValue] = {
            "amount": to_stripe(initial.amount, "initial_charge.amount"),
            "currency": initial.amount.currency.lower(),
            "customer": setup.customer,
            "payment_method": method.id,
            "payment_method_types": [method.type] if method.type else None,
            "confirm": True,
            "capture_method": "manual" if initial.capture_mode is CaptureMode.SEPARATE else "automatic",
            "return_url": request.return_url,
            "description": initial.description,
            "metadata": _metadata(
                initial.merchant_reference, initial.labels, **{_mapping.MANDATE_KEY: setup.id}
            ),
            "expand": EXPAND_INTENT,
        }
        response = yield _http.post(config, INTENTS, fields)
        first = yield from self._payment(
            config, response, "create mandate", source=OperationSource.ANSWER, expected=initial.amount
        )
        return attrs.evolve(mandate, initial_payment_id=first.id)

    def _setup(self, config: ProviderConfig, mandate_id: str, what: str) -> Flow[_wire.SetupIntent]:
        response = yield _http.get(
            config, f"{SETUPS}/{_http.segment(mandate_id)}", {"expand": ["payment_method"]}
        )
        return _http.parse(response, _wire.SetupIntent, what)

    @hookimpl
    def psp_get_mandate(self, config: ProviderConfig, mandate_id: str) -> Flow[Mandate]:
        setup = yield from self._setup(config, mandate_id, "get mandate")
        return _mapping.mandate_from_setup(setup, provider=self.provider)

    @hookimpl
    def psp_charge_mandate(self, config: ProviderConfig, request: MandateChargeRequest) -> Flow[Payment]:
        setup = yield from self._setup(config, request.mandate_id, "charge mandate")
        mandate = _mapping.mandate_from_setup(setup, provider=self.provider)
        method = setup.payment_method
        if mandate.status is not MandateStatus.ACTIVE or method is None:
            # Nothing is sent: Stripe would refuse a detached or unconfirmed payment method. The
            # refusal is a result, as for every provider; no Stripe object exists for it, so its
            # id is psp's own (docs/stripe.md).
            code = (
                DeclineCode.MANDATE_REVOKED
                if mandate.status is MandateStatus.REVOKED
                else DeclineCode.MANDATE_INACTIVE
            )
            return Payment.new(
                self.provider,
                f"{request.mandate_id}:refused",
                PaymentStatus.DECLINED,
                request.amount,
                provider_status=mandate.provider_status,
                merchant_reference=request.merchant_reference,
                mandate_id=request.mandate_id,
                decline=Decline(
                    code=code,
                    provider_code=mandate.provider_status,
                    message=f"the mandate is {mandate.status.value}; nothing was charged",
                ),
            )
        fields: dict[str, FormValue] = {
            "amount": to_stripe(request.amount),
            "currency": request.amount.currency.lower(),
            "customer": setup.customer,
            "payment_method": method.id,
            "payment_method_types": [method.type] if method.type else None,
            "confirm": True,
            "off_session": True,
            "capture_method": "manual" if request.capture_mode is CaptureMode.SEPARATE else "automatic",
            "description": request.description,
            "metadata": _metadata(
                request.merchant_reference, request.labels, **{_mapping.MANDATE_KEY: request.mandate_id}
            ),
            "expand": EXPAND_INTENT,
        }
        response = yield _http.post(config, INTENTS, fields)
        return (
            yield from self._payment(
                config,
                response,
                "charge mandate",
                source=OperationSource.ANSWER,
                expected=request.amount,
                mandate_id=request.mandate_id,
            )
        )

    @hookimpl
    def psp_revoke_mandate(self, config: ProviderConfig, request: RevokeMandateRequest) -> Flow[Mandate]:
        setup = yield from self._setup(config, request.mandate_id, "revoke mandate")
        method = setup.payment_method
        if method is not None and method.customer is not None:
            response = yield _http.post(config, f"/v1/payment_methods/{_http.segment(method.id)}/detach", {})
            _http.parse(response, _wire.PaymentMethodRef, "revoke mandate")
        # The mark says "revoked through psp" on the SetupIntent itself, so a read tells a revoked
        # mandate from one whose payment method was never attached (docs/stripe.md).
        response = yield _http.post(
            config,
            f"{SETUPS}/{_http.segment(setup.id)}",
            {"metadata": {_mapping.REVOKED_KEY: "true"}, "expand": ["payment_method"]},
        )
        setup = _http.parse(response, _wire.SetupIntent, "revoke mandate")
        with _http.answering(response):
            return _mapping.mandate_from_setup(setup, provider=self.provider)

    # -- webhooks -----------------------------------------------------------------------------

    @hookimpl
    def psp_parse_webhook(
        self, config: ProviderConfig, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> WebhookEvent:
        return _webhooks.parse_webhook(config, headers, body, now)


__all__ = ["StripePlugin"]
