"""Provider configuration as the core needs it, and the secret wrapper that keeps keys out of logs."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

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


# A path httpx's parser would leave exactly as it is: segments of unreserved characters,
# sub-delimiters, ':' and '@', and whole %XX escapes (what ``quote(id, safe="")`` and the
# providers' constant paths produce), with no '.' or '..' segment to remove and no query or
# fragment. Only such a path takes the fast join in ``ProviderConfig.url``.
_CANONICAL_PATH = re.compile(
    r"(?:/(?!\.\.?(?:/|\Z))(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)*"
)


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

    def url(self, path: str) -> httpx.URL:
        """``base_url + path`` as a parsed URL: what ``httpx.URL(config.base_url + path)`` gives.

        Parsing a URL is httpx's dearest step in building a request (~15 µs, the most of it
        a per-character scan); the base URL is parsed once per config, and a path that parsing
        would leave as it is (a canonical path, see ``_CANONICAL_PATH``) is put into a copy of
        its components. Any other path, or a base URL with a query or fragment, is parsed whole.
        """
        base = self._parsed_base_url
        if base is not None and _CANONICAL_PATH.fullmatch(path):
            joined = httpx.URL.__new__(httpx.URL)
            joined._uri_reference = base._replace(path=base.path + path)
            return joined
        return httpx.URL(self.base_url + path)

    @functools.cached_property
    def _parsed_base_url(self) -> Any:  # httpx's private ParseResult, or None
        """The base URL's components when a path can be appended to them as they are."""
        try:
            parsed = httpx.URL(self.base_url)._uri_reference
        except (httpx.InvalidURL, TypeError, AttributeError):
            return None  # parsed whole by url(), which raises httpx's own error
        # The fast join needs httpx's NamedTuple of components (0.24 on); decided here, once
        # per config, rather than at import. Any other layout: every URL is parsed whole.
        if not (isinstance(parsed, tuple) and hasattr(parsed, "_replace") and "path" in parsed._fields):
            return None
        if parsed.query is not None or parsed.fragment is not None or not parsed.scheme or not parsed.host:
            return None
        return parsed

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
