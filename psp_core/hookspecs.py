"""The provider interface and the observer hooks, as pluggy hook specifications.

A provider plugin is registered under its provider name and implements the provider hooks
below; the gateway calls *only that plugin's* implementation. Provider operation hooks do no
I/O: they return a :data:`~psp_core.Flow`, a generator that yields ``httpx.Request`` objects,
receives the ``httpx.Response`` for each, and returns the normalized result (the shape of
``httpx.Auth.auth_flow``). The core sends the requests: it adds the base URL, the auth
headers and the idempotency key, retries, times out and redacts. One implementation thus
serves the sync and the async gateway.

Requests a flow yields may carry a relative URL (``/v1/payment-charges``); the core joins
it to ``ProviderConfig.base_url``. A flow sees only final responses: connection errors,
5xx, 429 and in-flight 409 are retried by the core and, once the retry budget is spent,
raised as :class:`~psp_core.TransportError` or :class:`~psp_core.RateLimitedError` without
returning to the flow.

Observer hooks are called on every registered plugin, in pluggy's order. They let audit,
metrics, tracing and risk plugins (found through the ``psp_plugins`` entry-point group)
watch operations; a risk plugin vetoes one by raising
:class:`~psp_core.OperationBlockedError` from :func:`psp_operation_started`. That veto is
the only way an observer changes an outcome: any other exception an observer raises is
logged on ``psp.gateway`` and the call goes on as if the observer had returned, and the
other observers are still called.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import httpx

    from ._capabilities import Capabilities  # noqa: F401
    from ._commands import CommandLine
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
    from ._sandbox import ProviderSandbox

PROJECT_NAME = "psp"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -- provider description and configuration ---------------------------------------------


@hookspec(firstresult=True)
def psp_provider_info() -> ProviderInfo:
    """Describe the provider: its name, display name and default capability profile.

    Called once when the plugin manager loads a provider, and by ``psp providers``. The
    returned ``ProviderInfo.name`` must equal the name the plugin is registered under (its
    entry-point name). Return a ``ProviderInfo``; never None from a provider plugin.
    """


@hookspec(firstresult=True)
def psp_configure(options: Mapping[str, object], environ: Mapping[str, str]) -> ProviderConfig:
    """Build the provider's configuration when a gateway is created for it.

    :param options: the host's explicit settings (they win over the environment).
    :param environ: the process environment, to read documented variables from.

    Return a ``ProviderConfig`` (base URL, secret and plain headers, idempotency header
    name, request-id header, extra loggers to redact, timeouts, capability profile with its
    text and label limits, webhook secret, provider settings). Raise
    ``ConfigurationError`` naming the missing or invalid setting and how to provide it.
    """


# -- payments -----------------------------------------------------------------------------


@hookspec(firstresult=True)
def psp_authorize(config: ProviderConfig, request: AuthorizeRequest) -> Flow[Payment]:
    """Start a one-time payment.

    Called after the gateway has validated ``request`` against the capabilities.
    Return a flow whose result is the new ``Payment``: usually ``REQUIRES_ACTION`` with a
    ``next_action`` redirect, or ``DECLINED``/``FAILED`` with a ``decline`` (declines are
    results). Raise ``ProviderError`` for error answers and ``ProviderResponseError`` for
    answers that cannot be understood or contradict the request (amount, currency).
    """


@hookspec(firstresult=True)
def psp_get_payment(config: ProviderConfig, payment_id: str) -> Flow[Payment]:
    """Read a payment by the provider's id. Return a flow whose result is the ``Payment``."""


@hookspec(firstresult=True)
def psp_find_payment(config: ProviderConfig, merchant_reference: str) -> Flow[Payment | None]:
    """Find a payment by the host's merchant reference; the flow returns None if there is none.

    This is how the gateway resolves an unknown outcome without creating a second payment.
    """


@hookspec(firstresult=True)
def psp_capture(config: ProviderConfig, request: CaptureRequest, amount: Money) -> Flow[Payment]:
    """Capture ``amount`` of ``request.payment``.

    ``amount`` is already resolved and checked by the gateway: positive, in the payment's
    currency, not above what remains capturable. Return a flow whose result is the updated
    ``Payment``.
    """


@hookspec(firstresult=True)
def psp_void(config: ProviderConfig, request: VoidRequest, amount: Money) -> Flow[Payment]:
    """Release ``amount`` of the authorization of ``request.payment`` (checked by the gateway).

    Return a flow whose result is the updated ``Payment``.
    """


@hookspec(firstresult=True)
def psp_refund(config: ProviderConfig, request: RefundRequest, amount: Money) -> Flow[Payment]:
    """Refund ``amount`` of ``request.payment`` (checked by the gateway against what was captured).

    Return a flow whose result is the updated ``Payment``. A refund the provider refuses
    in-band (for example after its refund window) is a ``Payment`` with a ``decline``,
    the totals unchanged.
    """


# -- mandates (recurring) ---------------------------------------------------------------


@hookspec(firstresult=True)
def psp_create_mandate(config: ProviderConfig, request: MandateRequest) -> Flow[Mandate]:
    """Create a mandate; its result is usually ``REQUIRES_ACTION`` with a ``next_action``.

    When ``request.initial_charge`` is set, ``Mandate.initial_payment_id`` names the charge.
    """


@hookspec(firstresult=True)
def psp_get_mandate(config: ProviderConfig, mandate_id: str) -> Flow[Mandate]:
    """Read a mandate by the provider's id."""


@hookspec(firstresult=True)
def psp_charge_mandate(config: ProviderConfig, request: MandateChargeRequest) -> Flow[Payment]:
    """Charge an active mandate without the consumer.

    A charge the provider refuses because the mandate is not active is a ``Payment`` with a
    ``decline`` (``MANDATE_INACTIVE`` or ``MANDATE_REVOKED``), not an exception.
    """


@hookspec(firstresult=True)
def psp_revoke_mandate(config: ProviderConfig, request: RevokeMandateRequest) -> Flow[Mandate]:
    """Revoke a mandate; the result is the ``REVOKED`` mandate."""


# -- webhooks -----------------------------------------------------------------------------


@hookspec(firstresult=True)
def psp_parse_webhook(
    config: ProviderConfig, headers: Mapping[str, str], body: bytes, now: datetime
) -> WebhookEvent:
    """Verify and normalize one incoming webhook. Pure: no I/O.

    :param headers: the request headers as received (case-insensitive lookup is the
        plugin's job).
    :param body: the raw request body, exactly as received; the signature covers these bytes.
    :param now: the current time, for the timestamp tolerance.

    Verify the signature on ``body`` *before* parsing it, in constant time. Raise
    ``WebhookVerificationError`` for a missing or bad signature, a timestamp outside the
    tolerance or a malformed envelope. An event type the plugin does not map is returned as
    ``EventKind.UNHANDLED``, never guessed at.
    """


# -- observers ----------------------------------------------------------------------------


@hookspec
def psp_operation_started(provider: str, operation: str, request: object) -> None:
    """Called before an operation's first request is sent, after validation.

    :param operation: ``authorize``, ``get_payment``, ``find_payment``, ``capture``,
        ``void``, ``refund``, ``create_mandate``, ``get_mandate``, ``charge_mandate`` or
        ``revoke_mandate``.
    :param request: the typed request (or the id read).

    Raise ``OperationBlockedError`` to veto the operation: nothing is sent, and the error
    reaches the host (the observers after the vetoing one are not called). Any other
    exception is logged on ``psp.gateway`` and the operation goes on.
    """


@hookspec
def psp_operation_completed(provider: str, operation: str, request: object, result: object) -> None:
    """Called with the normalized result (a ``Payment`` or ``Mandate``) after an operation."""


@hookspec
def psp_operation_failed(provider: str, operation: str, request: object, error: BaseException) -> None:
    """Called when an operation ends in an exception, before the exception reaches the host.

    ``error`` is the scrubbed psp error the host gets. For a cancellation (``CancelledError``,
    ``KeyboardInterrupt``), which propagates as it is, ``error`` is the ``TransportError``
    saying whether a write may have been sent, with the idempotency key to resume with.
    """


@hookspec
def psp_webhook_received(provider: str, event: WebhookEvent) -> None:
    """Called with every webhook event that verified and parsed, before it reaches the host."""


@hookspec
def psp_operation_context(
    provider: str, operation: str, request: object, amount: Money | None, key_hash: str | None
) -> AbstractContextManager[object] | None:
    """Return a context manager to enclose one call, or None; tracing plugins open a span here.

    Called once per call, after validation and before :func:`psp_operation_started`; the
    gateway enters every returned context manager (in pluggy's order, exited in reverse) around
    the whole call: the started notification, every HTTP attempt, and the completed or failed
    notification. The async gateway enters it the same way around its awaited calls, in the
    caller's task, so a context manager that sets a ``contextvars`` value (OpenTelemetry's
    current span) sees its value in every hook of the call and in httpx's own instrumentation.
    Webhook verification is enclosed too, with ``operation`` ``"parse_webhook"``.

    :param operation: as for :func:`psp_operation_started`, or ``parse_webhook``.
    :param request: the typed request (or the id read); None for a webhook.
    :param amount: the amount the call moves, resolved by the gateway (the full remainder for
        a capture without an amount); None for reads, mandates without a charge, and webhooks.
    :param key_hash: :func:`~psp_core.idempotency_key_hash` of the idempotency key the call's
        writes are sent with (the host's, or the one the gateway made); None for reads and
        webhooks. Never the key itself.

    ``__exit__`` receives the exception the host gets (already scrubbed of secrets), or
    None. Its return value is ignored: an observer can never swallow an error. A context
    manager that raises on entering or exiting is logged on ``psp.gateway`` and skipped;
    it never changes the call's outcome.
    """


@hookspec
def psp_http_attempt(
    provider: str,
    operation: str,
    attempt: int,
    request: httpx.Request,
    response: httpx.Response | None,
    error: BaseException | None,
    retry_wait_s: float | None,
) -> None:
    """Called after each HTTP attempt of a call, inside :func:`psp_operation_context`.

    :param attempt: 1 for the call's first attempt, counting every request and retry.
    :param request: the request as sent. Its headers carry the provider's credentials:
        never record them.
    :param response: the answer, including one the core will retry (5xx, 429, 409 in
        flight); None when the attempt failed without one.
    :param error: the transport's exception (a timeout, a refused connection) when there is
        no response; None otherwise.
    :param retry_wait_s: the seconds the core waits before resending the same request, or
        None when this attempt is not retried (it succeeded, or the retry budget is spent).

    An exception raised here is logged on ``psp.gateway`` and never changes the outcome.
    """


# -- command line -------------------------------------------------------------------------


@hookspec
def psp_cli_commands(cli: CommandLine) -> None:
    """Add commands to the ``psp`` command line, each under its owner's name.

    Called once when ``psp`` starts, on every plugin (providers and observers alike).

    :param cli: a :class:`~psp_core.CommandLine`. ``cli.add_sandbox(provider, run, ...)``
        offers ``psp sandbox PROVIDER``, ``cli.add_demo(provider, run, ...)`` offers ``psp demo
        PROVIDER`` (and a part in ``psp demo``), ``cli.add_command(owner, name, run, ...)``
        offers ``psp OWNER NAME``. Describe options with :class:`~psp_core.Option`; ``run``
        takes the parsed options and returns the exit code. Name the extra the command needs
        (``extra="psp[sandbox]", extra_modules=("starlette",)``) and psp says which to install
        when one of those modules is missing.

    Use your plugin's registered name as the owner: adding under another plugin's name, a
    name no plugin has, or the same command twice raises ``ConfigurationError``. Import what
    a command needs inside ``run``, so ``psp`` starts quickly and without optional extras.
    """


# -- contract suite -----------------------------------------------------------------------


@hookspec(firstresult=True)
def psp_sandbox(options: Mapping[str, object]) -> ProviderSandbox | None:
    """Start a fresh, empty sandbox of the provider's PSP for the contract suite.

    Called by the contract suite (``psp contract <provider>``), through this provider's
    plugin only, once per test that needs a PSP; never by the gateway.

    :param options: settings for the sandbox itself (for example ``{"seed": 1234}`` for a
        reproducible run); ignore what you do not understand.

    Return a :class:`~psp_core.ProviderSandbox`: the gateway options that reach it, its
    transports, clock, consumer driver, webhooks, faults and stored effects. Return None
    when the provider ships no sandbox; the suite then reports every check as skipped.
    """
