"""Driving sans-I/O provider flows over httpx, synchronously or asynchronously.

A flow is a generator that yields ``httpx.Request`` objects and receives the
``httpx.Response`` for each. The drivers here own everything between: joining the base
URL, adding auth and idempotency headers, retrying, classifying failures and deciding
whether an outcome is unknown. The sync and async drivers share all of it except the
``send`` call itself.

The one rule for writes lives here, not in the plugins: once a write may have reached the
provider (its send started, or it got a 2xx answer), every later failure (an answer the
flow cannot parse or check, a foreign exception from a custom transport, a cancellation)
is an unknown outcome carrying the idempotency key, never an error that reads as "nothing
happened". docs/errors.md has the table of what each exception means.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
from collections.abc import Callable, Generator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import attrs
import httpx

from ._config import ProviderConfig, Secret
from ._errors import (
    ConfigurationError,
    IdempotencyConflictError,
    ProviderError,
    ProviderResponseError,
    PspError,
    RateLimitedError,
    TransportError,
)
from ._redact import log_fields
from ._retry import (
    MAYBE_SENT_ERRORS,
    NOT_SENT_ERRORS,
    RetryableResponse,
    RetryPolicy,
    parse_retry_after,
)

T = TypeVar("T")

Flow = Generator[httpx.Request, httpx.Response, T]
"""What a provider hook returns: yields requests, receives responses, returns the result."""

AttemptObserver = Callable[
    [int, httpx.Request, "httpx.Response | None", "BaseException | None", "float | None"], None
]
"""Told of each HTTP attempt: its number, request, response or error, and the retry wait (or None)."""

log = logging.getLogger("psp.transport")


class _StaminaEcho(logging.Filter):
    """Drops stamina's bare ``stamina.retry_scheduled`` record for a retry psp has just logged
    itself (with the operation, attempt and wait), and nothing else: a host's own stamina
    retries, and any other record, pass untouched. stamina's hooks are process-wide, so psp
    does not replace them; it attaches this filter to the ``stamina`` logger on its first retry.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        logged = _RETRY_LOGGED.get()
        if logged is None or record.getMessage() != "stamina.retry_scheduled":
            return True
        if getattr(record, "stamina.caused_by", None) != logged:
            return True
        _RETRY_LOGGED.set(None)
        return False


# The repr of the failure psp logged a retry for, in the context stamina's hook then runs in.
_RETRY_LOGGED: contextvars.ContextVar[str | None] = contextvars.ContextVar("psp_retry_logged", default=None)
_STAMINA_ECHO = _StaminaEcho()

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


_RESOURCE_IN_KEY = 64
"""Longest resource id put into a key as it is; a longer one goes in as a digest."""


def scoped_idempotency_key(operation: str, resource: str | None, key: str) -> str:
    """The key the provider sees for the host's ``key``: scoped by operation and resource.

    ``"capture:<payment id>:<key>"``: a host that reuses one key for captures of two
    payments, or for an authorize and a refund, never has the provider replay the first
    answer as the second's (a provider need not document the scope of its keys). The same
    operation on the same resource with the same key gives the same header, so a retry or
    a resume is recognized. The resource id is percent-encoded, so no id can make two
    scopes collide, and a long one is hashed to keep the header short.
    """
    if resource is None:
        return f"{operation}:{key}"
    scope = quote(resource, safe="-_.~")
    if len(scope) > _RESOURCE_IN_KEY:
        scope = "sha256-" + hashlib.sha256(resource.encode()).hexdigest()[:40]
    return f"{operation}:{scope}:{key}"


def idempotency_key_for(base_key: str, index: int) -> str:
    """The key of the ``index``-th POST of one logical operation.

    The first POST carries ``base_key`` unchanged (the core passes the host's key scoped by
    operation and resource, see :func:`scoped_idempotency_key`), so resuming with the host's
    key sends the same header;
    later POSTs of the same flow get distinct keys derived from it, so two different requests
    never share a key and a retried flow derives the same ones again.
    """
    if index == 0:
        return base_key
    digest = hashlib.sha256(f"{base_key}:{index}".encode()).hexdigest()[:32]
    return f"{base_key[:60]}-{digest}"


@attrs.frozen
class Endpoint:
    """What every request to one provider gets, computed once per gateway, not per request."""

    base_url: httpx.URL
    headers: tuple[tuple[str, str], ...]
    secret_headers: tuple[tuple[str, Secret], ...] = attrs.field(repr=False)
    timeout: Mapping[str, float | None]
    default_raw: tuple[tuple[bytes, bytes, bytes], ...] = ()
    """``headers`` encoded once: (lower-case name, name, value)."""
    replaced: frozenset[bytes] = frozenset()
    """Lower-case names the core always sets itself: the credentials and the idempotency key."""
    secret_raw: tuple[tuple[bytes, bytes], ...] = attrs.field(default=(), repr=False)
    """``secret_headers`` revealed and encoded once per gateway (encoding them costs ~1 µs a
    request): never logged or shown, like the secrets themselves (no repr)."""
    replaced_relative: frozenset[bytes] = frozenset()
    """``replaced`` and ``host``: a relative request's Host comes from the base URL."""
    idempotency_name: bytes = b"Idempotency-Key"
    """The provider's idempotency header, encoded once."""

    @classmethod
    def of(cls, config: ProviderConfig, client: httpx.Client | httpx.AsyncClient) -> Endpoint:
        headers = httpx.Headers(client.headers)
        headers.update(config.headers)
        secret_headers = tuple(config.secret_headers.items())
        replaced = frozenset(
            name.lower().encode("ascii") for name in (*config.secret_headers, config.idempotency_header)
        )
        return cls(
            base_url=httpx.URL(config.base_url),
            headers=tuple(headers.items()),
            secret_headers=secret_headers,
            timeout=httpx.Timeout(config.timeout_s).as_dict(),
            default_raw=tuple(
                (name.lower().encode("ascii"), name.encode("ascii"), value.encode("ascii"))
                for name, value in headers.items()
            ),
            replaced=replaced,
            secret_raw=tuple(
                (name.encode("ascii"), secret.reveal().encode("ascii")) for name, secret in secret_headers
            ),
            replaced_relative=replaced | {b"host"},
            idempotency_name=config.idempotency_header.encode("ascii"),
        )

    def join(self, url: httpx.URL) -> httpx.URL:
        """The absolute URL of a flow's request; credentials never go to another origin."""
        if url.is_absolute_url:
            base = self.base_url
            if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
                raise ConfigurationError(
                    f"a provider flow sent a request to {url.scheme}://{url.host}, outside its base "
                    f"URL {base.scheme}://{base.host}; refusing to send credentials there"
                )
            return url
        path = url.raw_path if url.raw_path.startswith(b"/") else b"/" + url.raw_path
        return self.base_url.copy_with(raw_path=self.base_url.raw_path.rstrip(b"/") + path)


@attrs.define
class _Exchange:
    """The state of one operation's exchanges, shared by both drivers."""

    config: ProviderConfig
    endpoint: Endpoint
    policy: RetryPolicy
    idempotency_key: str
    operation: str
    resource: str | None = None
    posts: int = 0
    may_have_reached: bool = False
    """An attempt of a write may have reached the provider (5xx, lost answer, 409 in flight)."""
    committed: bool = False
    """A write got a 2xx answer: the provider performed it, whatever the flow makes of it."""
    write_in_flight: bool = False
    """A write's send started and no answer is back yet: cancelling now may leave it done."""
    last_response: httpx.Response | None = None
    """The answer the flow saw last: a later failure is attributed to its request."""
    retries: int = 0
    """Failed attempts of the request being retried; each request starts again at zero."""
    key_hash: str | None = None
    """The idempotency key's hash for log records (None for reads): never the key itself."""
    on_attempt: AttemptObserver | None = None
    attempts: int = 0
    """Attempts of the whole call so far, every request and retry counted."""
    sending: httpx.Request | None = None
    """The request of the attempt under way: the retry hook sees only the failure."""

    def log_extra(self) -> dict[str, object]:
        return log_fields(self.config.provider, self.operation, self.key_hash)

    def observe(
        self,
        response: httpx.Response | None,
        error: BaseException | None,
        retry_wait_s: float | None,
    ) -> None:
        if self.on_attempt is not None and self.sending is not None:
            self.on_attempt(self.attempts, self.sending, response, error, retry_wait_s)

    def prepare(self, request: httpx.Request) -> httpx.Request:
        """Complete the flow's own request in place: a second Request would cost as much again."""
        endpoint = self.endpoint
        relative = not request.url.is_absolute_url
        request.url = endpoint.join(request.url)
        # The flow's headers, then the defaults it did not set, then the credentials and the
        # key (last, so a flow can never replace them), built as one list: setting them one
        # by one costs a scan of the headers each.
        replaced = endpoint.replaced_relative if relative else endpoint.replaced
        merged = [(name, value) for name, value in request.headers.raw if name.lower() not in replaced]
        present = {name.lower() for name, _ in merged}
        # Only the flow's own headers can hold a non-ASCII byte: the defaults, the credentials
        # and the key are ASCII (encoded so, once, or checked before any I/O).
        ascii_only = all(name.isascii() and value.isascii() for name, value in merged)
        if relative:
            merged.insert(0, (b"Host", request.url.netloc))
        merged += [(name, value) for lower, name, value in endpoint.default_raw if lower not in present]
        merged += endpoint.secret_raw
        if request.method not in _IDEMPOTENT_METHODS:
            # Scoped by operation and resource, so a host that reuses one key for an authorize
            # and a refund, or for captures of two payments, never has the provider treat the
            # second as a replay of the first.
            scoped = scoped_idempotency_key(self.operation, self.resource, self.idempotency_key)
            key = idempotency_key_for(scoped, self.posts)
            limit = self.config.idempotency_key_limit
            if limit is not None and len(key) > limit:
                # Too long for the provider: its digest is as stable across retries and resumes.
                key = "sha256-" + hashlib.sha256(key.encode()).hexdigest()[: max(limit - 7, 16)]
            merged.append((endpoint.idempotency_name, key.encode("ascii")))
            self.posts += 1
        # The encoding said up front when every byte is ASCII (what httpx would find itself):
        # httpx otherwise works it out again, decoding every header, on each header lookup
        # (the client's cookie handling looks each one up).
        request.headers = httpx.Headers(merged, encoding="ascii" if ascii_only else None)
        request.extensions["timeout"] = endpoint.timeout
        return request

    def is_write(self, request: httpx.Request) -> bool:
        return request.method not in _IDEMPOTENT_METHODS

    def classify(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """Return a final response, or raise RetryableResponse for the retry loop."""
        status = response.status_code
        if status == 429:
            raise RetryableResponse(response, parse_retry_after(response))
        if status >= 500:
            if self.is_write(request):
                self.may_have_reached = True
            raise RetryableResponse(response, parse_retry_after(response))
        if status == 409 and (
            self.config.conflict_in_flight(response) or (self.is_write(request) and self.may_have_reached)
        ):
            # The first request with this key is still running: it may yet take effect. A 409
            # to a byte-identical resend of a write that may have landed means the same,
            # whatever the provider's wording.
            self.may_have_reached = True
            raise RetryableResponse(response, parse_retry_after(response))
        return response

    def backoff(self, error: Exception) -> bool | float:
        """stamina's hook: False to stop, or the number of seconds to wait before the next attempt.

        Logs one line per retry on ``psp.transport``: the operation, the attempt that failed and
        why, and the wait.
        """
        wait = self._retry_wait(error)
        if wait is None:
            self.observe_failure(error, None)
            return False
        self.observe_failure(error, wait)
        reason = (
            f"HTTP {error.response.status_code}"
            if isinstance(error, RetryableResponse)
            else type(error).__name__
        )
        log.info(
            "%s: attempt %d of %d failed (%s); retrying in %.2f s",
            self.operation,
            self.retries,
            self.policy.attempts,
            reason,
            wait,
            extra=self.log_extra(),
        )
        logging.getLogger("stamina").addFilter(_STAMINA_ECHO)  # once: a filter is added only once
        _RETRY_LOGGED.set(repr(error))
        return wait

    def _retry_wait(self, error: Exception) -> float | None:
        """The wait before resending after ``error``, or None when it is not retried."""
        wait: float | None = None
        if isinstance(error, RetryableResponse):
            if error.retry_after is not None:
                if error.retry_after > self.policy.max_retry_after_s:
                    return None
                wait = error.retry_after
        elif not isinstance(error, NOT_SENT_ERRORS + MAYBE_SENT_ERRORS):
            return None
        self.retries += 1
        if self.retries >= self.policy.attempts:
            return None  # that was the last attempt: give up now rather than announce a retry
        return self.policy.backoff_s(self.retries) if wait is None else wait

    def observe_failure(self, error: Exception, retry_wait_s: float | None) -> None:
        if self.on_attempt is None:
            return
        if isinstance(error, RetryableResponse):
            self.observe(error.response, None, retry_wait_s)
        else:
            self.observe(None, error, retry_wait_s)

    def note_failure(self, request: httpx.Request, error: Exception) -> None:
        self.write_in_flight = False
        # Only a failure before the connection was made proves a write did not land.
        if self.is_write(request) and not isinstance(error, NOT_SENT_ERRORS):
            self.may_have_reached = True
        log.info(
            "%s: %s %s failed: %s",
            self.operation,
            request.method,
            request.url.path,
            type(error).__name__,
            extra=self.log_extra(),
        )

    def give_up(self, request: httpx.Request, error: Exception) -> Exception:
        """The error to raise once retries are spent."""
        # may_have_reached and committed are only ever set by writes; a read failing after
        # one (revoking reads the agreement after the POST) leaves that write's outcome open.
        unknown = self.may_have_reached or self.committed
        key = self.idempotency_key if unknown or self.is_write(request) else None
        if unknown:
            # Whatever the last attempt met (429, 5xx, 409, a broken answer), an earlier one may
            # have landed: only the key, resumed, can tell without a second effect.
            reason = (
                f"the provider answered HTTP {error.response.status_code}"
                if isinstance(error, RetryableResponse)
                else type(error).__name__
            )
            return TransportError(
                f"{self.operation}: {reason} after a request that may have taken effect",
                outcome_unknown=True,
                idempotency_key=key,
                operation=self.operation,
            )
        if isinstance(error, PspError):
            return error
        if isinstance(error, RetryableResponse):
            response = error.response
            request_id = _request_id(response, self.config.request_id_header)
            if response.status_code == 429:
                return RateLimitedError(
                    "the provider is rate limiting requests; wait and retry with the same idempotency key",
                    retry_after=error.retry_after,
                    request_id=request_id,
                )
            if response.status_code == 409:
                return IdempotencyConflictError(
                    "the first request with this idempotency key is still in flight",
                    http_status=409,
                    request_id=request_id,
                )
            return ProviderError(
                f"{self.operation}: the provider failed with HTTP {response.status_code}; try again later",
                http_status=response.status_code,
                request_id=request_id,
            )
        return TransportError(
            f"{self.operation}: {_describe(error)} talking to {self.config.provider}",
            outcome_unknown=False,
            idempotency_key=key,
            operation=self.operation,
        )

    # -- the flow's side: what the flow makes of an answer --------------------------------

    def start(self, flow: Flow[T]) -> httpx.Request:
        """The flow's first request; a flow failing before any I/O is a plugin bug, nothing sent."""
        try:
            return next(flow)
        except (StopIteration, PspError):
            raise
        except Exception as error:
            raise ConfigurationError(
                f"{self.operation}: the {self.config.provider!r} provider plugin failed before sending "
                f"anything ({_describe(error)}); nothing was sent: report this to the plugin's authors"
            ) from None

    def answer(self, flow: Flow[T], request: httpx.Request, response: httpx.Response) -> httpx.Request:
        """Hand ``response`` to the flow; its next request, or StopIteration with the result."""
        self.write_in_flight = False
        self.last_response = response
        if self.is_write(request) and response.is_success:
            self.committed = True
        try:
            return flow.send(response)
        except StopIteration:
            raise
        except Exception as error:
            raise self.verdict(error, response) from None

    def ready(self, request: httpx.Request) -> httpx.Request:
        """``request`` prepared for sending; refusing it after a write committed leaves that
        write's outcome open, so the refusal is then an unknown outcome too."""
        try:
            return self.prepare(request)
        except PspError as error:
            if self.last_response is not None and (self.committed or self.may_have_reached):
                raise self.verdict(error, self.last_response) from None
            raise

    def verdict(self, error: Exception, response: httpx.Response) -> Exception:
        """The error the host gets when a flow raises on an answer.

        After a write the provider performed (a 2xx) or may have performed (an earlier attempt
        was lost), nothing the flow failed to understand or check proves it did not happen:
        an unknown outcome with the key to resume with. Otherwise the flow's own psp error
        stands, and anything else it raised is an answer that could not be understood.
        """
        request_id = _request_id(response, self.config.request_id_header)
        if self.committed or self.may_have_reached:
            return TransportError(
                f"{self.operation}: the answer (HTTP {response.status_code}) to a request that may have "
                f"taken effect could not be understood or checked ({_describe(error)})",
                outcome_unknown=True,
                idempotency_key=self.idempotency_key,
                operation=self.operation,
                request_id=request_id,
            )
        if isinstance(error, PspError):
            return error
        return ProviderResponseError(
            f"{self.operation}: the provider's answer could not be understood ({_describe(error)}); "
            "read the payment again, and report the answer to the plugin's authors if it persists",
            http_status=response.status_code,
            request_id=request_id,
        )

    def interrupted(self, stop: BaseException) -> None:
        """Attach the outcome to a cancellation or interrupt, which must itself propagate.

        ``asyncio.wait_for`` turns the CancelledError into a TimeoutError whose cause is it, so
        the host reaches this TransportError (and its key) through the exception chain; the
        gateway also passes it to ``psp_operation_failed``.
        """
        if isinstance(stop, Exception) or isinstance(stop.__cause__, TransportError):
            return
        unknown = self.may_have_reached or self.committed or self.write_in_flight
        if unknown:
            outcome = TransportError(
                f"{self.operation}: cancelled after a request that may have taken effect was sent",
                outcome_unknown=True,
                idempotency_key=self.idempotency_key,
                operation=self.operation,
            )
        else:
            outcome = TransportError(
                f"{self.operation}: cancelled before any write was sent",
                outcome_unknown=False,
                operation=self.operation,
            )
        stop.__cause__ = outcome

    def retry_context(self) -> Any:  # stamina does not export the iterator's type
        # Imported on the first retry: stamina and tenacity are a third of psp's import time,
        # and most processes never retry.
        import stamina

        self.retries = 0
        return stamina.retry_context(
            on=self.backoff,
            attempts=self.policy.attempts,
            timeout=self.policy.timeout_s,
            wait_initial=self.policy.wait_initial_s,
            wait_max=self.policy.wait_max_s,
            wait_jitter=self.policy.wait_jitter_s,
        )


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _request_id(response: httpx.Response, header: str | None) -> str | None:
    """The id the provider's support asks for, from the header the provider declared, if any."""
    if header is None:
        return None
    try:
        sent: str | None = response.request.headers.get(header)
    except RuntimeError:  # a response built without its request (a test double)
        sent = None
    answered: str | None = response.headers.get(header)
    return answered or sent


_RETRYABLE = (RetryableResponse, httpx.TransportError)


def drive(
    flow: Flow[T],
    client: httpx.Client,
    config: ProviderConfig,
    endpoint: Endpoint,
    policy: RetryPolicy,
    idempotency_key: str,
    operation: str,
    resource: str | None = None,
    *,
    key_hash: str | None = None,
    on_attempt: AttemptObserver | None = None,
) -> T:
    """Run ``flow`` to its result over a sync client."""
    exchange = _Exchange(
        config, endpoint, policy, idempotency_key, operation, resource, key_hash=key_hash,
        on_attempt=on_attempt,
    )
    try:
        request = exchange.start(flow)
        while True:
            response = _send(exchange, client, exchange.ready(request))
            request = exchange.answer(flow, request, response)
    except StopIteration as done:
        result: T = done.value
        return result
    except BaseException as stop:
        exchange.interrupted(stop)
        raise


def _attempt(exchange: _Exchange, client: httpx.Client, request: httpx.Request) -> httpx.Response:
    exchange.write_in_flight = exchange.is_write(request)
    exchange.attempts += 1
    exchange.sending = request
    try:
        # Never follow a redirect: it would re-send the body, Merchant-Id and key elsewhere.
        response = client.send(request, follow_redirects=False)
        response.read()
    except Exception as error:
        exchange.note_failure(request, error)
        raise
    exchange.write_in_flight = False
    final = exchange.classify(request, response)
    if exchange.on_attempt is not None:
        exchange.observe(final, None, None)
    return final


def _send(exchange: _Exchange, client: httpx.Client, request: httpx.Request) -> httpx.Response:
    # The first attempt runs outside stamina: setting up a retry context for every request
    # costs more than the rest of the core's work, and most requests succeed at once.
    try:
        return _attempt(exchange, client, request)
    except _RETRYABLE as error:
        first_failure: Exception | None = error
    except Exception as error:
        # Not worth retrying (a broken answer, or a custom transport's own exception such as
        # OSError): no retry, but a verdict in the error tree.
        exchange.observe_failure(error, None)
        raise exchange.give_up(request, error) from None
    try:
        for attempt in exchange.retry_context():
            with attempt:
                if first_failure is not None:
                    # Replayed inside stamina so it counts as attempt one and backs off.
                    failure, first_failure = first_failure, None
                    raise failure
                return _attempt(exchange, client, request)
    except Exception as error:
        raise exchange.give_up(request, error) from None
    raise AssertionError("stamina ended without an attempt")  # pragma: no cover


async def drive_async(
    flow: Flow[T],
    client: httpx.AsyncClient,
    config: ProviderConfig,
    endpoint: Endpoint,
    policy: RetryPolicy,
    idempotency_key: str,
    operation: str,
    resource: str | None = None,
    *,
    key_hash: str | None = None,
    on_attempt: AttemptObserver | None = None,
) -> T:
    """Run ``flow`` to its result over an async client; the same flow as :func:`drive`."""
    exchange = _Exchange(
        config, endpoint, policy, idempotency_key, operation, resource, key_hash=key_hash,
        on_attempt=on_attempt,
    )
    try:
        request = exchange.start(flow)
        while True:
            response = await _send_async(exchange, client, exchange.ready(request))
            request = exchange.answer(flow, request, response)
    except StopIteration as done:
        result: T = done.value
        return result
    except BaseException as stop:  # CancelledError above all
        exchange.interrupted(stop)
        raise


async def _attempt_async(
    exchange: _Exchange, client: httpx.AsyncClient, request: httpx.Request
) -> httpx.Response:
    exchange.write_in_flight = exchange.is_write(request)
    exchange.attempts += 1
    exchange.sending = request
    try:
        response = await client.send(request, follow_redirects=False)
        await response.aread()
    except Exception as error:
        exchange.note_failure(request, error)
        raise
    exchange.write_in_flight = False
    final = exchange.classify(request, response)
    if exchange.on_attempt is not None:
        exchange.observe(final, None, None)
    return final


async def _send_async(
    exchange: _Exchange, client: httpx.AsyncClient, request: httpx.Request
) -> httpx.Response:
    try:
        return await _attempt_async(exchange, client, request)
    except _RETRYABLE as error:
        first_failure: Exception | None = error
    except Exception as error:
        exchange.observe_failure(error, None)
        raise exchange.give_up(request, error) from None
    try:
        async for attempt in exchange.retry_context():
            with attempt:
                if first_failure is not None:
                    failure, first_failure = first_failure, None
                    raise failure
                return await _attempt_async(exchange, client, request)
    except Exception as error:
        raise exchange.give_up(request, error) from None
    raise AssertionError("stamina ended without an attempt")  # pragma: no cover
