"""The one error tree of psp.

Every exception psp raises on purpose derives from :class:`PspError`. Declines are *not*
exceptions: a declined payment is a :class:`~psp_core.Payment` whose ``decline`` says why.
An exception means the request was bad, the set-up is wrong, a plugin vetoed the operation,
or the provider gave no definitive answer.

::

    PspError
    ├── ConfigurationError            settings missing or invalid; fix the configuration
    │   └── UnknownProviderError      no installed provider has that name (lists the installed ones)
    ├── ValidationError               the request is invalid; names the field; nothing was sent
    │   └── UnsupportedOperationError the provider does not offer this operation or mode
    ├── OperationBlockedError         an observer plugin (risk, compliance) vetoed the operation
    ├── ProviderError                 the provider answered with an error (HTTP status, code, request id)
    │   ├── RateLimitedError          HTTP 429; ``retry_after`` seconds when the provider said
    │   ├── IdempotencyConflictError  the key was reused with other parameters, or is in flight
    │   └── ProviderResponseError     the answer could not be understood or contradicts the request
    ├── TransportError                no definitive answer; ``outcome_unknown`` says if it may have happened
    │                                 (every write that may have reached the provider and was not
    │                                 fully understood ends here, with the key to resume with)
    └── WebhookVerificationError      a webhook's signature, timestamp or envelope is not acceptable

Messages never contain secrets: everything that reaches an exception passes through the
redactor first.
"""

from __future__ import annotations

from collections.abc import Iterable


class PspError(Exception):
    """Base class of every error psp raises on purpose."""


class ConfigurationError(PspError):
    """The gateway or a provider is not configured correctly."""


class UnknownProviderError(ConfigurationError):
    """No installed provider has the requested name."""

    def __init__(self, name: str, installed: Iterable[str]) -> None:
        self.name = name
        self.installed = tuple(sorted(installed))
        listing = ", ".join(self.installed) or "none"
        super().__init__(
            f"unknown provider {name!r}; installed providers: {listing}. "
            "Install the provider's package or check the spelling "
            "(see `psp providers`)."
        )


class ValidationError(PspError, ValueError):
    """The request is invalid; ``field`` names the offending field. Nothing was sent."""

    def __init__(self, field: str, message: str, *, allowed: object = None) -> None:
        self.field = field
        self.allowed = allowed
        text = f"{field}: {message}"
        if allowed is not None:
            text += f" (allowed: {allowed})"
        super().__init__(text)


class UnsupportedOperationError(ValidationError):
    """The provider does not support this operation or mode, as its capabilities declare."""


class OperationBlockedError(PspError):
    """Raised by an observer plugin from ``psp_operation_started`` to veto an operation."""

    def __init__(self, reason: str, *, blocked_by: str | None = None) -> None:
        self.reason = reason
        self.blocked_by = blocked_by
        who = f" by {blocked_by}" if blocked_by else ""
        super().__init__(f"operation blocked{who}: {reason}")


class ProviderError(PspError):
    """The provider answered, and the answer is an error (not a decline)."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        provider_code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.http_status = http_status
        self.provider_code = provider_code
        self.request_id = request_id
        parts = [message]
        if http_status is not None:
            parts.append(f"HTTP {http_status}")
        if provider_code:
            parts.append(f"code {provider_code}")
        if request_id:
            parts.append(f"request {request_id}")
        super().__init__(" | ".join(parts))


class RateLimitedError(ProviderError):
    """HTTP 429 after the retry budget was spent; ``retry_after`` is in seconds when known."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        http_status: int | None = 429,
        provider_code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, http_status=http_status, provider_code=provider_code, request_id=request_id)


class IdempotencyConflictError(ProviderError):
    """The idempotency key was used with different parameters, or its first use is in flight."""


class ProviderResponseError(ProviderError):
    """The provider's answer is malformed, of an unknown shape or status, or contradicts the request."""


class TransportError(PspError):
    """No definitive answer from the provider.

    ``outcome_unknown`` is True when the request may have reached the provider and taken
    effect. Resume with the same ``idempotency_key`` (pass it again) or read the payment by
    its merchant reference; never retry with a new key.
    """

    def __init__(
        self,
        message: str,
        *,
        outcome_unknown: bool,
        idempotency_key: str | None = None,
        operation: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.outcome_unknown = outcome_unknown
        self.idempotency_key = idempotency_key
        self.operation = operation
        self.request_id = request_id
        hint = (
            f"; the outcome is unknown: retry with idempotency key {idempotency_key!r} "
            "or read the payment by its merchant reference"
            if outcome_unknown
            else "; nothing reached the provider, it is safe to retry"
        )
        if request_id:
            hint += f" | request {request_id}"
        super().__init__(message + hint)


def unknown_outcome_of(error: BaseException | None) -> TransportError | None:
    """The unknown outcome behind ``error``, looking through its causes, or None.

    A cancelled write (``asyncio.wait_for`` timing out, a cancelled task, Ctrl-C) propagates
    as the cancellation itself, with the :class:`TransportError` as its cause; this finds it
    however the cancellation was wrapped, so the host can resume with its key.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, TransportError) and error.outcome_unknown:
            return error
        error = error.__cause__ or error.__context__
    return None


class WebhookVerificationError(PspError):
    """A webhook was rejected: bad or missing signature, stale timestamp, or bad envelope."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {message}")


__all__ = [
    "ConfigurationError",
    "IdempotencyConflictError",
    "OperationBlockedError",
    "ProviderError",
    "ProviderResponseError",
    "PspError",
    "RateLimitedError",
    "TransportError",
    "UnknownProviderError",
    "UnsupportedOperationError",
    "ValidationError",
    "WebhookVerificationError",
    "unknown_outcome_of",
]
