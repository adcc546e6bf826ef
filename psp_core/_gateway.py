"""The host's entry points: :class:`Gateway` (sync) and :class:`AsyncGateway` (async).

Both validate every request against the provider's capabilities before any I/O, tell the
observer plugins, obtain the provider's sans-I/O flow and drive it over httpx. They differ
only in how a flow's requests are sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, TypeVar, cast

import attrs
import httpx
import pluggy

from ._capabilities import (
    Capabilities,
    check_authorize,
    check_capture,
    check_id,
    check_idempotency_key,
    check_mandate,
    check_mandate_charge,
    check_reference,
    check_refund,
    check_void,
)
from ._config import ProviderConfig, ProviderInfo
from ._errors import (
    ConfigurationError,
    OperationBlockedError,
    PspError,
    TransportError,
    ValidationError,
    WebhookVerificationError,
)
from ._flow import AttemptObserver, Endpoint, Flow, drive, drive_async
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
from ._plugins import ProviderHooks, create_plugin_manager
from ._redact import Redactor, detach, idempotency_key_hash, log_fields, scrub_exception
from ._retry import RetryPolicy

T = TypeVar("T")
log = logging.getLogger("psp.gateway")
_READS = frozenset({"get_payment", "find_payment", "get_mandate"})
_WEBHOOK = "parse_webhook"
"""What observers see as the operation of a webhook's verification."""
Clock = Callable[[], datetime]

# Each observer hook's arguments in its hookspec's order: the gateway passes them as one tuple
# and each implementation gets the ones it names picked out of it, rather than a keyword dict
# built per notification and a list built per implementation (~0.5 µs a hook, issue 18).
_STARTED_ARGS = ("provider", "operation", "request")
_COMPLETED_ARGS = ("provider", "operation", "request", "result")
_FAILED_ARGS = ("provider", "operation", "request", "error")
_WEBHOOK_ARGS = ("provider", "event")
_CONTEXT_ARGS = ("provider", "operation", "request", "amount", "key_hash")
_ATTEMPT_ARGS = ("provider", "operation", "attempt", "request", "response", "error", "retry_wait_s")
_NO_RESULTS: tuple[Any, ...] = ()


def _missing_argument(name: str) -> Callable[..., Any]:
    """An implementation naming an argument the gateway does not pass: it fails when called
    (logged as that observer's failure), as looking the name up in the arguments would."""

    def fail(*_: object) -> None:
        raise KeyError(name)

    return fail


class _ObserverPlan:
    """One observer hook's implementations as last seen, and how to call each.

    ``calls`` holds, in pluggy's calling order, each implementation's function and what picks
    its arguments out of the hookspec-ordered tuple: None when it takes all of them in order,
    else an ``itemgetter`` that returns a tuple.
    """

    __slots__ = ("caller", "calls", "impls", "names", "wrapped")

    def __init__(self, caller: Any, impls: list[Any], names: tuple[str, ...]) -> None:
        self.caller = caller
        self.impls = impls
        self.names = names
        # A hook wrapper gets pluggy's own call, so its semantics hold.
        self.wrapped = any(impl.hookwrapper or impl.wrapper for impl in impls)
        calls: list[tuple[Callable[..., Any], Callable[[tuple[Any, ...]], tuple[Any, ...]] | None]] = []
        for impl in reversed(impls):
            function, argnames = impl.function, tuple(impl.argnames)
            missing = next((name for name in argnames if name not in names), None)
            if missing is not None:
                calls.append((_missing_argument(missing), None))
            elif argnames == names:
                calls.append((function, None))
            else:
                picks = [names.index(name) for name in argnames]
                # itemgetter of one index returns the item, of a slice a tuple: always a tuple.
                pick = (
                    itemgetter(*picks)
                    if len(picks) > 1
                    else itemgetter(slice(picks[0], picks[0] + 1) if picks else slice(0, 0))
                )
                calls.append((function, pick))
        self.calls = tuple(calls)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _check_headers(config: ProviderConfig) -> None:
    """Refuse headers that cannot be sent, before any I/O and without showing a secret's value.

    CR, LF or NUL in a credential would split the request's headers; non-ASCII cannot be
    encoded at all and would surface mid-request as an encoding error.
    """
    values = [(name, value, False) for name, value in config.headers.items()]
    values += [(name, secret.reveal(), True) for name, secret in config.secret_headers.items()]
    for name, value, secret in values:
        bad = next((char for char in value if not " " <= char <= "~"), None)
        if bad is None:
            continue
        shown = "its value is a credential and is not shown" if secret else f"value {value!r}"
        raise ConfigurationError(
            f"{config.provider}: the {name} header contains {bad!r}, which cannot be sent in an HTTP "
            f"header ({shown}); check the configured credentials and ids for pasted line breaks or "
            "non-ASCII characters"
        )


@attrs.define
class _Call:
    """One prepared operation: everything but the sending.

    Never changed once built; ``attrs.define`` rather than ``frozen`` because a frozen init
    costs four times as much (~1 µs a call), and nothing outside the gateway sees it.
    """

    operation: str
    request: object
    hook: str
    kwargs: Mapping[str, object]
    idempotency_key: str
    resource: str | None = None
    """The payment or mandate the operation acts on: it scopes the idempotency key."""
    key_hash: str | None = None
    """The key's hash for logs and telemetry; None for reads, whose generated key is never sent."""

    @property
    def amount(self) -> Money | None:
        """The amount the call moves, as the gateway resolved it (what observers are shown)."""
        amount = self.kwargs.get("amount")
        if isinstance(amount, Money):
            return amount
        request_amount = getattr(self.request, "amount", None)
        return request_amount if isinstance(request_amount, Money) else None


class _Enclosure:
    """The observers' context managers around one call, each entered and exited on its own.

    One that fails on entering is skipped, one that fails on exiting is logged: neither
    changes the call's outcome, and what one returns from ``__exit__`` is ignored, so none
    can swallow the host's error.
    """

    __slots__ = ("entered", "gateway", "key_hash", "operation")

    def __init__(
        self, gateway: _GatewayBase, operation: str, key_hash: str | None, contexts: Sequence[Any]
    ) -> None:
        self.gateway = gateway
        self.operation = operation
        self.key_hash = key_hash
        self.entered: list[Any] = []
        for context in contexts:
            if context is None:
                continue
            try:
                context.__enter__()
            except Exception as error:
                gateway._log_observer_failure("psp_operation_context", error, operation, key_hash)
            else:
                self.entered.append(context)

    def close(self, error: BaseException | None) -> None:
        exc_info = (None, None, None) if error is None else (type(error), error, error.__traceback__)
        for context in reversed(self.entered):
            try:
                context.__exit__(*exc_info)
            except Exception as failure:
                self.gateway._log_observer_failure(
                    "psp_operation_context", failure, self.operation, self.key_hash
                )


class _GatewayBase:
    def __init__(
        self,
        provider: str,
        *,
        options: Mapping[str, object] | None = None,
        environ: Mapping[str, str] | None = None,
        plugins: Iterable[tuple[str, object]] = (),
        load_entrypoints: bool = True,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        plugin_manager: pluggy.PluginManager | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.plugin_manager = plugin_manager or create_plugin_manager(
            plugins, load_entrypoints=load_entrypoints, environ=env
        )
        self._hooks = ProviderHooks(self.plugin_manager, provider)
        config = self._hooks.call("psp_configure", options=dict(options or {}), environ=env)
        if not isinstance(config, ProviderConfig):
            raise ConfigurationError(
                f"provider {provider!r} returned {type(config).__name__} from psp_configure; "
                "it must return a ProviderConfig"
            )
        _check_headers(config)
        self.config = config
        self.retry = retry or RetryPolicy()
        self.clock = clock or _utcnow
        self.redactor = Redactor(config.secrets())
        self.redactor.attach(self, config.loggers)
        # Per observer hook, rebuilt when its implementations change (see _notify).
        self._observer_plans: dict[str, _ObserverPlan] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.provider!r} base_url={self.config.base_url!r}>"

    @property
    def provider(self) -> str:
        return self._hooks.name

    @property
    def info(self) -> ProviderInfo:
        return self._hooks.info

    @property
    def capabilities(self) -> Capabilities:
        """The effective profile: the provider's configuration may narrow its defaults."""
        return self.config.capabilities

    # -- preparing calls: validation before any I/O --------------------------------------

    def _key(self, given: str | None) -> str:
        # 32 random hex digits, as uuid4().hex gave them, for a fifth of the cost (~2 µs a call).
        return given if given is not None else os.urandom(16).hex()

    def _prepare(
        self,
        operation: str,
        subject: object,
        hook: str,
        key: str | None,
        resource: str | None = None,
        **hook_kwargs: object,
    ) -> _Call:
        kwargs = {"config": self.config, **hook_kwargs}
        key = self._key(key)
        key_hash = None if operation in _READS else idempotency_key_hash(key)
        return _Call(operation, subject, hook, kwargs, key, resource, key_hash)

    def _check_own(self, payment: Payment) -> None:
        # Another provider's payment id could name something else here, or the same money
        # under another provider's rules: never sent.
        if payment.provider != self.provider:
            raise ValidationError(
                "payment.provider",
                f"is {payment.provider!r}, but this gateway is for {self.provider!r}; pass the payment "
                f"to a gateway for {payment.provider!r}",
            )

    def _prepare_authorize(self, request: AuthorizeRequest) -> _Call:
        check_authorize(request, self.capabilities)
        return self._prepare("authorize", request, "psp_authorize", request.idempotency_key, request=request)

    def _prepare_get(self, payment_id: str) -> _Call:
        check_id("payment_id", payment_id, self.capabilities)
        return self._prepare("get_payment", payment_id, "psp_get_payment", None, payment_id=payment_id)

    def _prepare_find(self, merchant_reference: str) -> _Call:
        # The same rule authorize applies: every reference a payment was made with is findable.
        check_reference("merchant_reference", merchant_reference, self.capabilities)
        return self._prepare(
            "find_payment",
            merchant_reference,
            "psp_find_payment",
            None,
            merchant_reference=merchant_reference,
        )

    def _prepare_capture(self, request: CaptureRequest) -> _Call:
        amount = check_capture(request, self.capabilities, self.clock())
        self._check_own(request.payment)
        return self._prepare(
            "capture",
            request,
            "psp_capture",
            request.idempotency_key,
            request.payment.id,
            request=request,
            amount=amount,
        )

    def _prepare_void(self, request: VoidRequest) -> _Call:
        amount = check_void(request, self.capabilities)
        self._check_own(request.payment)
        return self._prepare(
            "void",
            request,
            "psp_void",
            request.idempotency_key,
            request.payment.id,
            request=request,
            amount=amount,
        )

    def _prepare_refund(self, request: RefundRequest) -> _Call:
        amount = check_refund(request, self.capabilities, self.clock())
        self._check_own(request.payment)
        return self._prepare(
            "refund",
            request,
            "psp_refund",
            request.idempotency_key,
            request.payment.id,
            request=request,
            amount=amount,
        )

    def _prepare_create_mandate(self, request: MandateRequest) -> _Call:
        check_mandate(request, self.capabilities)
        return self._prepare(
            "create_mandate", request, "psp_create_mandate", request.idempotency_key, request=request
        )

    def _prepare_get_mandate(self, mandate_id: str) -> _Call:
        check_id("mandate_id", mandate_id, self.capabilities)
        return self._prepare("get_mandate", mandate_id, "psp_get_mandate", None, mandate_id=mandate_id)

    def _prepare_charge_mandate(self, request: MandateChargeRequest) -> _Call:
        check_mandate_charge(request, self.capabilities)
        return self._prepare(
            "charge_mandate",
            request,
            "psp_charge_mandate",
            request.idempotency_key,
            request.mandate_id,
            request=request,
        )

    def _prepare_revoke_mandate(self, request: RevokeMandateRequest) -> _Call:
        if not isinstance(request, RevokeMandateRequest):
            raise ValidationError("request", f"must be a RevokeMandateRequest, got {type(request).__name__}")
        check_id("mandate_id", request.mandate_id, self.capabilities)
        check_idempotency_key(request.idempotency_key)
        return self._prepare(
            "revoke_mandate",
            request,
            "psp_revoke_mandate",
            request.idempotency_key,
            request.mandate_id,
            request=request,
        )

    # -- running calls ----------------------------------------------------------------------

    def _validated(self, prepare: Callable[..., _Call], subject: object) -> _Call:
        # Validation messages quote the host's values, which may carry a secret by mistake.
        try:
            return prepare(subject)
        except PspError as error:
            refused = detach(scrub_exception(error, self.redactor))
        raise refused

    def _interrupted(self, call: _Call, stop: BaseException) -> None:
        """A cancellation or interrupt propagates as it is; observers learn the outcome."""
        outcome = stop.__cause__
        if not isinstance(outcome, TransportError):
            outcome = TransportError(
                f"{call.operation}: cancelled before any request was sent",
                outcome_unknown=False,
                operation=call.operation,
            )
            stop.__cause__ = outcome
        self._failed(call, outcome)

    def _enclose(
        self, operation: str, request: object, amount: Money | None, key_hash: str | None
    ) -> _Enclosure | None:
        """The observers' context managers for one call, entered; None when no observer has one."""
        contexts = self._notify(
            "psp_operation_context",
            _CONTEXT_ARGS,
            (self._hooks.name, operation, request, amount, key_hash),
            operation,
            key_hash,
        )
        return _Enclosure(self, operation, key_hash, contexts) if contexts else None

    def _enclose_call(self, call: _Call) -> _Enclosure | None:
        # The provider's name read from the hooks rather than through the ``provider`` property
        # here and in each notification below: these run several times a call.
        plan = self._plan("psp_operation_context", _CONTEXT_ARGS)
        if not plan.calls:
            return None  # the common case, decided before computing what observers are shown
        operation, key_hash = call.operation, call.key_hash
        contexts = self._dispatch(
            plan,
            "psp_operation_context",
            (self._hooks.name, operation, call.request, call.amount, key_hash),
            operation,
            key_hash,
        )
        return _Enclosure(self, operation, key_hash, contexts) if contexts else None

    def _attempt_observer(self, call: _Call) -> AttemptObserver | None:
        if not self._plan("psp_http_attempt", _ATTEMPT_ARGS).calls:
            return None
        provider, operation, key_hash = self._hooks.name, call.operation, call.key_hash
        notify = self._notify

        def observe(
            attempt: int,
            request: httpx.Request,
            response: httpx.Response | None,
            error: BaseException | None,
            retry_wait_s: float | None,
        ) -> None:
            notify(
                "psp_http_attempt",
                _ATTEMPT_ARGS,
                (provider, operation, attempt, request, response, error, retry_wait_s),
                operation,
                key_hash,
            )

        return observe

    def _start(self, call: _Call) -> Flow[Any]:
        operation = call.operation
        self._notify(
            "psp_operation_started",
            _STARTED_ARGS,
            (self._hooks.name, operation, call.request),
            operation,
            call.key_hash,
            veto=True,
        )
        flow = self._hooks.call(call.hook, **call.kwargs)
        if flow is None or not hasattr(flow, "send"):
            raise ConfigurationError(
                f"provider {self.provider!r} returned {type(flow).__name__} from {call.hook}; "
                "provider hooks must return a flow (a generator of httpx.Request)"
            )
        return cast("Flow[Any]", flow)

    def _completed(self, call: _Call, result: T) -> T:
        operation = call.operation
        self._notify(
            "psp_operation_completed",
            _COMPLETED_ARGS,
            (self._hooks.name, operation, call.request, result),
            operation,
            call.key_hash,
        )
        return result

    def _failed(self, call: _Call, error: Exception) -> Exception:
        scrub_exception(error, self.redactor)
        detach(error)
        operation = call.operation
        self._notify(
            "psp_operation_failed",
            _FAILED_ARGS,
            (self._hooks.name, operation, call.request, error),
            operation,
            call.key_hash,
        )
        return error

    def _plan(self, hook: str, names: tuple[str, ...]) -> _ObserverPlan:
        """What to call for ``hook`` as pluggy's registry is now (see :meth:`_notify`)."""
        plan = self._observer_plans.get(hook)
        if plan is None:
            # pluggy keeps one caller per hook name for the manager's life (registering
            # and adding specs update it in place), so it is looked up once.
            caller = getattr(self.plugin_manager.hook, hook)
            plan = self._observer_plans[hook] = _ObserverPlan(caller, caller.get_hookimpls(), names)
            return plan
        impls = plan.caller.get_hookimpls()
        if impls != plan.impls:
            # Built again whenever a plugin is registered or unregistered (the list differs).
            plan = self._observer_plans[hook] = _ObserverPlan(plan.caller, impls, names)
        return plan

    def _notify(
        self,
        hook: str,
        names: tuple[str, ...],
        args: tuple[Any, ...],
        operation: str,
        key_hash: str | None,
        *,
        veto: bool = False,
    ) -> Sequence[Any]:
        """Call each observer's implementation of ``hook`` on its own, in pluggy's order, and
        return what they returned (None left out).

        ``args`` are the hook's arguments in the order of ``names``, the hookspec's. One
        implementation that raises is logged and the others are still called: a broken audit
        plugin does not blind the tracing one, and once the operation happened (or failed) a
        broken metrics or audit plugin cannot turn a charge into an exception, nor hide an
        unknown outcome from the host. With ``veto`` (``psp_operation_started``), the documented
        ``OperationBlockedError`` propagates. The implementations are called directly rather
        than through pluggy's dispatch, which costs more than most observers do; a hook
        wrapper among them gets pluggy's own call, so its semantics hold.
        """
        plan = self._plan(hook, names)
        if not plan.calls:
            return _NO_RESULTS
        return self._dispatch(plan, hook, args, operation, key_hash, veto=veto)

    def _dispatch(
        self,
        plan: _ObserverPlan,
        hook: str,
        args: tuple[Any, ...],
        operation: str,
        key_hash: str | None,
        *,
        veto: bool = False,
    ) -> Sequence[Any]:
        if plan.wrapped:
            try:
                return [
                    result
                    for result in plan.caller(**dict(zip(plan.names, args, strict=True)))
                    if result is not None
                ]
            except OperationBlockedError:
                if veto:
                    raise
                return _NO_RESULTS
            except Exception as error:
                self._log_observer_failure(hook, error, operation, key_hash)
                return _NO_RESULTS
        # No list unless an implementation returns something: only psp_operation_context's
        # do, and an observer that is not watching returns None there too.
        results: list[Any] | None = None
        for function, pick in plan.calls:
            try:
                result = function(*args) if pick is None else function(*pick(args))
            except OperationBlockedError as error:
                if veto:
                    raise  # the documented veto: nothing is sent
                self._log_observer_failure(hook, error, operation, key_hash)
            except Exception as error:
                self._log_observer_failure(hook, error, operation, key_hash)
            else:
                if result is not None:
                    if results is None:
                        results = [result]
                    else:
                        results.append(result)
        return _NO_RESULTS if results is None else results

    def _log_observer_failure(
        self, hook: str, error: Exception, operation: str, key_hash: str | None
    ) -> None:
        log.warning(
            "%s: an observer plugin failed in %s: %s",
            self.provider,
            hook,
            self.redactor.scrub(repr(error)),
            extra=log_fields(self.provider, operation, key_hash),
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify and normalize an incoming webhook from the raw body, exactly as received.

        Raises ``WebhookVerificationError`` when the signature, timestamp or envelope is
        not acceptable: answer such a request with HTTP 400 and do not act on it.
        """
        if not isinstance(body, bytes | bytearray):
            raise ValidationError("body", "must be the raw request body as bytes, not parsed text")
        enclosure = self._enclose(_WEBHOOK, None, None, None)
        if enclosure is None:
            return self._verify_webhook(headers, body)
        try:
            event = self._verify_webhook(headers, body)
        except BaseException as rejected:
            enclosure.close(rejected)
            raise
        enclosure.close(None)
        return event

    def _verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        try:
            event = self._hooks.call(
                "psp_parse_webhook",
                config=self.config,
                headers=dict(headers),
                body=bytes(body),
                now=self.clock(),
            )
        except PspError as error:
            rejected = detach(scrub_exception(error, self.redactor))
        except Exception as error:  # a plugin's own exception: still the documented rejection
            rejected = scrub_exception(
                WebhookVerificationError(
                    "malformed_envelope",
                    f"the provider plugin could not read this webhook ({type(error).__name__}: {error}); "
                    "answer HTTP 400 and report it to the plugin's authors",
                ),
                self.redactor,
            )
        else:
            assert isinstance(event, WebhookEvent)
            try:
                # The ids a host reads the payment or mandate by, so the rule get_payment applies.
                for field, value in (("payment_id", event.payment_id), ("mandate_id", event.mandate_id)):
                    if value is not None:
                        check_id(field, value, self.capabilities)
            except ValidationError as invalid:
                rejected = scrub_exception(
                    WebhookVerificationError(
                        "malformed_envelope",
                        f"the event names an id no {self.provider} payment or mandate can have ({invalid}); "
                        "answer HTTP 400 and act on nothing",
                    ),
                    self.redactor,
                )
            else:
                self._notify("psp_webhook_received", _WEBHOOK_ARGS, (self.provider, event), _WEBHOOK, None)
                return event
        raise rejected


class Gateway(_GatewayBase):
    """The synchronous gateway to one provider.

    >>> gateway = Gateway("acme", options={"api_key": "..."})  # doctest: +SKIP
    >>> payment = gateway.authorize(request)  # doctest: +SKIP

    ``transport`` is an optional ``httpx.BaseTransport`` (a local sandbox, a mock); ``client``
    an optional ``httpx.Client`` to reuse. Close the gateway, or use it as a context manager.
    """

    def __init__(
        self,
        provider: str,
        *,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(provider, **kwargs)
        self._owns_client = client is None
        self.client = client or httpx.Client(transport=transport, timeout=self.config.timeout_s)
        self._endpoint = Endpoint.of(self.config, self.client)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, prepare: Callable[..., _Call], subject: object) -> Any:
        call = self._validated(prepare, subject)
        enclosure = self._enclose_call(call)
        try:
            flow = self._start(call)
            result = drive(
                flow,
                self.client,
                self.config,
                self._endpoint,
                self.retry,
                call.idempotency_key,
                call.operation,
                call.resource,
                key_hash=call.key_hash,
                on_attempt=self._attempt_observer(call),
            )
        except Exception as error:
            failure = self._failed(call, error)
        except BaseException as stop:  # KeyboardInterrupt: propagates, with the outcome as its cause
            self._interrupted(call, stop)
            if enclosure is not None:
                enclosure.close(stop)
            raise
        else:
            completed = self._completed(call, result)
            if enclosure is not None:
                enclosure.close(None)
            return completed
        if enclosure is not None:
            enclosure.close(failure)
        # Raised outside the handler, so nothing unscrubbed rides along as __context__.
        raise failure

    def authorize(self, request: AuthorizeRequest) -> Payment:
        """Start a one-time payment; usually ``REQUIRES_ACTION`` with a redirect to follow."""
        return cast(Payment, self._run(self._prepare_authorize, request))

    def get_payment(self, payment_id: str) -> Payment:
        return cast(Payment, self._run(self._prepare_get, payment_id))

    def find_payment(self, merchant_reference: str) -> Payment | None:
        """The payment made with this merchant reference, or None: resolves unknown outcomes."""
        return cast("Payment | None", self._run(self._prepare_find, merchant_reference))

    def capture(self, request: CaptureRequest) -> Payment:
        return cast(Payment, self._run(self._prepare_capture, request))

    def void(self, request: VoidRequest) -> Payment:
        return cast(Payment, self._run(self._prepare_void, request))

    def refund(self, request: RefundRequest) -> Payment:
        return cast(Payment, self._run(self._prepare_refund, request))

    def create_mandate(self, request: MandateRequest) -> Mandate:
        return cast(Mandate, self._run(self._prepare_create_mandate, request))

    def get_mandate(self, mandate_id: str) -> Mandate:
        return cast(Mandate, self._run(self._prepare_get_mandate, mandate_id))

    def charge_mandate(self, request: MandateChargeRequest) -> Payment:
        return cast(Payment, self._run(self._prepare_charge_mandate, request))

    def revoke_mandate(self, request: RevokeMandateRequest) -> Mandate:
        return cast(Mandate, self._run(self._prepare_revoke_mandate, request))


class AsyncGateway(_GatewayBase):
    """The asynchronous gateway: the same methods as :class:`Gateway`, awaited."""

    def __init__(
        self,
        provider: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(provider, **kwargs)
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(transport=transport, timeout=self.config.timeout_s)
        self._endpoint = Endpoint.of(self.config, self.client)

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    async def __aenter__(self) -> AsyncGateway:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run(self, prepare: Callable[..., _Call], subject: object) -> Any:
        call = self._validated(prepare, subject)
        # Entered and exited in this task, so a context variable an observer sets (the
        # current span) is seen by every hook of the call and by httpx's own instrumentation.
        enclosure = self._enclose_call(call)
        try:
            flow = self._start(call)
            result = await drive_async(
                flow,
                self.client,
                self.config,
                self._endpoint,
                self.retry,
                call.idempotency_key,
                call.operation,
                call.resource,
                key_hash=call.key_hash,
                on_attempt=self._attempt_observer(call),
            )
        except Exception as error:
            failure = self._failed(call, error)
        except BaseException as stop:  # CancelledError: propagates, with the outcome as its cause
            self._interrupted(call, stop)
            if enclosure is not None:
                enclosure.close(stop)
            raise
        else:
            completed = self._completed(call, result)
            if enclosure is not None:
                enclosure.close(None)
            return completed
        if enclosure is not None:
            enclosure.close(failure)
        # Raised outside the handler, so nothing unscrubbed rides along as __context__.
        raise failure

    async def authorize(self, request: AuthorizeRequest) -> Payment:
        return cast(Payment, await self._run(self._prepare_authorize, request))

    async def get_payment(self, payment_id: str) -> Payment:
        return cast(Payment, await self._run(self._prepare_get, payment_id))

    async def find_payment(self, merchant_reference: str) -> Payment | None:
        return cast("Payment | None", await self._run(self._prepare_find, merchant_reference))

    async def capture(self, request: CaptureRequest) -> Payment:
        return cast(Payment, await self._run(self._prepare_capture, request))

    async def void(self, request: VoidRequest) -> Payment:
        return cast(Payment, await self._run(self._prepare_void, request))

    async def refund(self, request: RefundRequest) -> Payment:
        return cast(Payment, await self._run(self._prepare_refund, request))

    async def create_mandate(self, request: MandateRequest) -> Mandate:
        return cast(Mandate, await self._run(self._prepare_create_mandate, request))

    async def get_mandate(self, mandate_id: str) -> Mandate:
        return cast(Mandate, await self._run(self._prepare_get_mandate, mandate_id))

    async def charge_mandate(self, request: MandateChargeRequest) -> Payment:
        return cast(Payment, await self._run(self._prepare_charge_mandate, request))

    async def revoke_mandate(self, request: RevokeMandateRequest) -> Mandate:
        return cast(Mandate, await self._run(self._prepare_revoke_mandate, request))
