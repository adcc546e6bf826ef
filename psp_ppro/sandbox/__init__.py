"""A stateful local PPRO Global API sandbox for every payment method in its rule table.

Each method's rules are the sandbox's own (:mod:`._methods`: Amazon Pay, iDEAL); it imports
none of the provider plugins.

The core (:class:`PproSimulator`) is pure Python and thread-safe; adapters expose it as an
in-process httpx transport (:meth:`Sandbox.transport`), a Starlette app (:meth:`Sandbox.asgi_app`,
needs the ``psp[sandbox]`` extra) and a loopback HTTP server (:func:`serve_in_thread`).

Sandbox rules (where PPRO's documents are silent these are the sandbox's own choices):

* **Auth**: ``Authorization: Bearer <key>`` and ``Merchant-Id`` are required on ``/v1`` routes;
  any non-empty values pass unless ``SandboxConfig.api_key``/``merchant_id`` are set. Otherwise
  401 ``{"message": "Unauthorized"}``.
* **Merchants are kept apart**: a key and a Merchant-Id together are one merchant; charges and
  agreements belong to the merchant that created them, and to any other they answer exactly
  as an id never issued (404 for reads, 400 for operations; searches show only one's own).
* **HTTP errors** use ``{status, failureMessage, timestamp}``: 400 for malformed JSON, missing or
  mistyped fields (the message names the field, e.g. ``amount.value is required``), operations the
  charge's state does not allow and amounts above what remains; 404 for a GET of an unknown id;
  **400** for a POST under an unknown charge/agreement id (PPRO: "operation attempted against an
  unknown charge id (HTTP 400)"); 415 when a POST's media type is not exactly
  ``application/json``; 405 wrong method; 413 for a body over :data:`MAX_REQUEST_BYTES`.
* **Limits** (400 naming the field): JSON nested more than 32 levels, any string over 512
  characters, labels over 50 keys / 50-character keys / 200-character values, integers over
  int64, URLs that do not parse, carry control characters or non-ASCII text, or (webhooksUrl)
  point at the served sandbox itself. A charge's JSON stays under :data:`MAX_CHARGE_BYTES`
  (an operation that could pass it is a 400); see docs/amazon_pay.md.
* **Method rules are in-band**: HTTP 200 with ``status: FAILED`` and
  ``failure{failureType: INTERNAL_DECLINE, failureCode, failureMessage, isRetryable: false}`` for
  a paymentMethod not in the rule table (INVALID_PAYMENT_METHOD), a currency or country the
  method does not take (INVALID_CURRENCY, INVALID_COUNTRY; Amazon Pay USD/US, iDEAL EUR/NL), an
  amount outside the method's limits (AMOUNT_NOT_SUPPORTED; Amazon Pay 50..2,000,000, iDEAL
  1..5,000,000 minor units), missing ``consumer.name`` (INVALID_CONSUMER_DETAILS), and a charge
  without a REDIRECT ``settings.returnUrl`` (INVALID_AUTHENTICATION_SETTINGS). iDEAL's own rules
  (bank selection, no separate captures, 365-day refunds, no chargebacks, SEPA agreements with a
  verification charge) are in docs/ideal.md.
* **webhooksUrl** must be https; plain http is accepted only to loopback (localhost, 127.0.0.0/8,
  [::1]), and never to the sandbox's own address.
* **autoCapture defaults to true** when omitted (the product page says an approved charge becomes
  CAPTURED). With ``autoCapture: false`` and ``separate_captures`` on, an approved charge waits
  in CAPTURE_PENDING; otherwise it is captured in full (CAPTURE_PROCESSING -> CAPTURED).
* **Deterministic declines** (:data:`DECLINE_CODES`): amounts 300000..400000 minor units are
  declined with a PROVIDER_DECLINE when the consumer approves (or, for agreement charges that
  need no consumer, on creation). The last two digits pick the code: 01 GENERIC_DECLINE,
  02 INSUFFICIENT_FUNDS, 03 SUS_FRAUD, 04 AUTHENTICATION_FAILED, 05 SUS_LOST, 06 SUS_STOLEN,
  07 EXPIRED_SESSION, anything else GENERIC_DECLINE.
* **Consumer outcomes**: decline -> FAILED PROVIDER_DECLINE/AUTHENTICATION_FAILED; cancel ->
  FAILED PROVIDER_DECLINE/CANCELED_BY_CONSUMER; no answer within ``authentication_timeout_s`` on
  the sandbox clock -> DISCARDED with a discard of type AUTHENTICATION_TIMEOUT (checked lazily on
  every request and by :meth:`Sandbox.expire_pending`). An agreement that times out is FAILED
  (EXPIRED_SESSION) and its initial charge DISCARDED.
* **Status after partial operations**: the charge status reflects the last completed operation
  (CAPTURED after any capture, VOIDED after any void). Whatever authorized amount is neither
  captured nor voided stays capturable and voidable until ``sum(captures)+sum(voids) ==
  authorized``. While a refund is pending the charge is REFUND_PROCESSING; once none is, CAPTURED
  until everything captured is refunded, then REFUNDED.
* **Pending refunds**: a refund is answered ``status: PENDING`` (PAYMENT_CHARGE_REFUND_PENDING) and
  settles REFUNDED (PAYMENT_CHARGE_REFUND_SUCCEEDED) ``refund_settlement_s`` sandbox seconds later,
  or when ``POST /__sandbox__/charges/{id}/refunds/{refundId}/settle`` settles it, which may also
  fail it (PAYMENT_CHARGE_REFUND_FAILED, the amount refundable again).
* **Balance rules** (refunds and chargebacks alike): refunded + pending refunds + charged back
  never exceed captured; so no chargeback after a full refund and no refund after a full
  chargeback. Anything beyond is a 400 (refund) or a 409 (admin chargeback). PPRO's refund guide
  says refunds may not exceed the captured amount; its documents state no rule for chargebacks,
  so holding them to the same balance is the sandbox's decision.
* **Chargebacks** are partial or full (everything still held). PPRO's charge has no chargeback
  field or status: reads never show them, only the CHARGEBACK_SUCCEEDED event does.
* **Refund window**: a refund more than ``refund_window_months`` (6) calendar months (or, for a
  method that states days, iDEAL's 365 days) after the first capture is an in-band 200 refund
  with ``status: FAILED`` and failureCode REFUND_PERIOD_EXPIRED.
* **Authorization expiry**: ``authorization_validity_s`` (30 days, Amazon Pay's Charge page) after
  the authorization, what was neither captured nor voided is released as a void the provider
  makes itself (PAYMENT_CHARGE_VOID_SUCCEEDED without a merchant reference). PPRO documents no
  expiry event; this is the sandbox's decision.
* **Agreements**: the product page's ``initialPaymentCharge.amount.merchantPaymentChargeReference``
  is hoisted to the initial charge's reference. The initial charge shares the agreement's hosted
  page; approving the agreement makes it ACTIVE and then authorizes the initial charge.
  Agreement charges are FAILED with AGREEMENT_REVOKED (revoked) or AGREEMENT_INACTIVE (any other
  non-ACTIVE status). Revoking a non-ACTIVE agreement is a 400. An agreement charge and the
  initial charge send their events to their own ``webhooksUrl`` or else ``default_webhooks_url``,
  never to the agreement's URL (which is for the agreement's own events).
* **Search** ``GET /v1/payment-charges`` needs exactly one of ``merchantPaymentChargeReference``
  / ``agreementId``; a page holds at most :data:`SEARCH_PAGE_SIZE` charges and
  :data:`MAX_RESPONSE_BYTES` of JSON, and ``nextPage`` (omitted on the last page: the schema has
  no null) is sent back as ``page``.
* **Idempotency**: ``Request-Idempotency-Key`` on POSTs, scoped by (merchant, i.e. API key and
  Merchant-Id, method, path, key), kept 24 h on the sandbox clock. Replays return the stored status/body with
  ``Request-Idempotency: true``; a different body is a 409; only 2xx outcomes are stored.
* **Webhooks**: CloudEvents 1.0.2 envelopes with flat ``data``, signed
  ``PPRO-Signature: t=<unix>,s=<hex HMAC-SHA256(secret, "<t>.<body>")>`` (plus the legacy
  ``Webhook-Signature: hex(sha256(body + "." + secret))`` when configured); delivered to the
  resource's ``webhooksUrl`` or ``default_webhooks_url``; non-2xx/connection errors are retried
  after ``webhook_retry_base_s * 2**k`` sandbox seconds, at most ``webhook_max_attempts`` attempts,
  then dead-lettered. Events without a URL are only recorded in :attr:`Sandbox.events`.

Admin routes (served mode and the transport alike; no auth, never subject to faults; every
setting is validated before any is applied, a bad one is a 400 naming it):

* ``GET  /__sandbox__/authenticate/{id}`` - hosted HTML page with Approve / Decline / Cancel forms
* ``POST /__sandbox__/authenticate/{id}`` - form field ``action=approve|decline|cancel``; 303 to
  the returnUrl with ``paymentChargeId`` (or ``paymentAgreementId``) and ``result`` appended
* ``GET  /__sandbox__/clock`` / ``POST /__sandbox__/clock/advance`` ``{"seconds": n}``
* ``GET  /__sandbox__/faults`` / ``POST /__sandbox__/faults`` ``{"error_rate": 0.1, ...}`` (any
  :class:`Faults` knob) / ``POST /__sandbox__/faults/inject`` ``{"kind", "count", "retryAfter"}``
  / ``POST /__sandbox__/faults/clear``. One-shot kinds (``FAULT_KINDS``): ``drop_after_store`` and
  ``timeout_after_store`` (performed and stored, then the answer is lost), ``connection_refused``,
  ``timeout``, ``500``, ``503``, ``429`` (optional Retry-After) and ``409_in_flight`` (nothing
  performed), and ``latency`` (performed after an added delay).
* ``POST /__sandbox__/consumer/{id}/{approve|decline|cancel}`` - consumer action, JSON answer
* ``GET|POST /__sandbox__/scenarios`` - knobs for the states PPRO documents (``_scenarios``):
  ``authorization_processing_s``, ``provider_confirmation``, ``provider_confirmation_delay_s``,
  ``capture_processing_s``, ``buyer_details``
* ``POST /__sandbox__/charges/{id}/provider-confirmation`` ``{"outcome": "approve|decline|timeout"}``,
  ``POST /__sandbox__/charges/{id}/release`` (run a held step now) and
  ``POST /__sandbox__/charges/{id}/discard`` ``{"merchantDiscardReference"?}`` (merchant discard)
* ``POST /__sandbox__/expire`` - discard what timed out now
* ``POST /__sandbox__/charges/{id}/chargeback`` ``{"amount"?}`` - emits CHARGEBACK_SUCCEEDED
  (partial with an amount; everything still held without)
* ``POST /__sandbox__/charges/{id}/refunds/{refundId}/settle`` ``{"outcome": "succeed"|"fail"}``
* ``GET  /__sandbox__/events`` - every emitted envelope, in order
* ``GET  /__sandbox__/webhooks`` - envelopes still awaiting delivery
* ``POST /__sandbox__/webhooks/deliver`` - deliver due webhooks now (served mode only; answers
  ``{"delivered": 0}`` at once while another delivery run is under way)
"""

from ._charges import DECLINE_CODES, DECLINE_RANGE, MAX_AMOUNT, MIN_AMOUNT
from ._clock import SandboxClock, iso_ms
from ._config import SandboxConfig
from ._errors import SandboxStateError, UnknownResourceError
from ._facade import Sandbox
from ._faults import FAULT_KINDS, Faults
from ._models import Chargeback, Effects
from ._server import LOOPBACK_HOSTS, RunningSandbox, serve_in_thread
from ._simulator import (
    MAX_CHARGE_BYTES,
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    SEARCH_PAGE_SIZE,
    PproSimulator,
    SimResponse,
)
from ._transport import SandboxTransport
from ._webhooks import (
    LEGACY_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    Event,
    WebhookDelivery,
    sign,
)

__all__ = [
    "DECLINE_CODES",
    "DECLINE_RANGE",
    "FAULT_KINDS",
    "LEGACY_SIGNATURE_HEADER",
    "LOOPBACK_HOSTS",
    "MAX_AMOUNT",
    "MAX_CHARGE_BYTES",
    "MAX_REQUEST_BYTES",
    "MAX_RESPONSE_BYTES",
    "MIN_AMOUNT",
    "SEARCH_PAGE_SIZE",
    "SIGNATURE_HEADER",
    "Chargeback",
    "Effects",
    "Event",
    "Faults",
    "PproSimulator",
    "RunningSandbox",
    "Sandbox",
    "SandboxClock",
    "SandboxConfig",
    "SandboxStateError",
    "SandboxTransport",
    "SimResponse",
    "UnknownResourceError",
    "WebhookDelivery",
    "iso_ms",
    "serve_in_thread",
    "sign",
]
