"""Provider configuration as the core needs it, and the secret wrapper that keeps keys out of logs."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs
import httpx

from ._capabilities import Capabilities


@attrs.frozen(repr=False)
class Secret:
    """A credential. Its repr and str never show the value; ``reveal()`` does, on purpose."""

    _value: str = attrs.field(alias="value")

    def __attrs_post_init__(self) -> None:
        if not isinstance(self._value, str) or not self._value:
            raise ValueError("a secret must be a non-empty string")

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


def _never_in_flight(response: httpx.Response) -> bool:
    return False


@attrs.frozen
class ProviderInfo:
    """What ``psp providers`` shows about an installed provider."""

    name: str
    display_name: str
    capabilities: Capabilities
    description: str = ""
    version: str = ""
    settings: Mapping[str, str] = attrs.field(factory=dict)
    """Setting name -> environment variable, documented for hosts."""


@attrs.frozen
class ProviderConfig:
    """Everything the core needs to drive a provider's flows; built by ``psp_configure``.

    ``secret_headers`` are added to every request and registered with the redactor;
    ``headers`` are added too but are not secret. ``settings`` is the provider's own
    configuration object, handed back to its hooks untouched.
    """

    provider: str
    base_url: str
    capabilities: Capabilities
    secret_headers: Mapping[str, Secret] = attrs.field(factory=dict)
    headers: Mapping[str, str] = attrs.field(factory=dict)
    idempotency_header: str = "Idempotency-Key"
    idempotency_key_limit: int | None = None
    """The longest idempotency key the provider takes; a longer scoped key is sent as its digest.
    None: the provider publishes no limit."""
    timeout_s: float = 30.0
    webhook_secret: Secret | None = None
    settings: object = None
    conflict_in_flight: Callable[[httpx.Response], bool] = attrs.field(default=_never_in_flight, repr=False)
    """True when a 409 means "the first request with this key is still running" (retryable)."""
    request_id_header: str | None = None
    """The header that carries a request's id for the provider's support (sent or answered);
    errors quote it as ``request_id``. None: the provider has no such header."""
    loggers: tuple[str, ...] = ()
    """Loggers, beyond psp's, httpx's, httpcore's and stamina's, that may carry this
    provider's requests (a sandbox's server, say); the gateway's redactor filters them too."""

    def secrets(self) -> list[str]:
        values = []
        for secret in self.secret_headers.values():
            value = secret.reveal()
            values.append(value)
            # "Bearer <key>": the bare key must be masked too, wherever it shows up alone.
            scheme, _, token = value.partition(" ")
            if token and scheme.isalpha():
                values.append(token)
        if self.webhook_secret is not None:
            values.append(self.webhook_secret.reveal())
        return values
