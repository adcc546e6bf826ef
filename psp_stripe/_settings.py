"""Configuration: host options and ``STRIPE_*`` environment variables into a ``ProviderConfig``.

Explicit options win over the environment. Every Stripe fact used here is cited in
docs/stripe.md; where Stripe publishes nothing, the value is a decision said so there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import attrs
import httpx

from psp_core import (
    AmountLimits,
    Capabilities,
    CaptureMode,
    ConfigurationError,
    ProviderConfig,
    ProviderInfo,
    Requirement,
    Secret,
)

from ._amounts import from_stripe
from ._http import REQUEST_ID, in_flight

PROVIDER = "stripe"
BASE_URL = "https://api.stripe.com"
API_VERSION = "2024-06-20"
"""The Stripe API version psp is written against, sent as ``Stripe-Version`` on every request
(https://docs.stripe.com/api/versioning), so an account's default version cannot change the
shape of the answers the plugin reads."""
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_WEBHOOK_TOLERANCE_S = 300
"""Stripe's libraries' default tolerance: five minutes (https://docs.stripe.com/webhooks#verify-manually)."""

SETTINGS: Mapping[str, str] = {
    "secret_key": "STRIPE_SECRET_KEY",
    "webhook_secret": "STRIPE_WEBHOOK_SECRET",
    "base_url": "STRIPE_BASE_URL",
    "payment_method_types": "STRIPE_PAYMENT_METHOD_TYPES",
    "timeout_s": "STRIPE_TIMEOUT_S",
    "webhook_tolerance_s": "STRIPE_WEBHOOK_TOLERANCE_S",
}

PAYMENT_METHOD_TYPES = ("card", "sepa_debit")

STRIPE_MAXIMUM = 99_999_999
"""The amount supports up to eight digits (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts)."""

MINIMUMS: Mapping[str, int] = {
    # https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts (Stripe's amounts)
    "USD": 50,
    "EUR": 50,
    "GBP": 30,
    "CHF": 50,
    "AUD": 50,
    "CAD": 50,
    "DKK": 250,
    "NOK": 300,
    "SEK": 300,
    "PLN": 200,
    "JPY": 50,
}

COUNTRIES = frozenset(
    {
        "AT", "AU", "BE", "BG", "CA", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR",
        "HR", "HU", "IE", "IT", "JP", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE",
        "SI", "SK", "US",
    }
)  # fmt: skip
"""Consumers' countries psp offers Stripe to: a decision (cards are global; these are the
countries of Stripe's SEPA Direct Debit area and the card currencies declared above)."""

SOURCES: Mapping[str, str] = {
    "amount_limits": "https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts",
    "partial_capture": "https://docs.stripe.com/payments/place-a-hold-on-a-payment-method",
    "authorization_validity": "https://docs.stripe.com/payments/place-a-hold-on-a-payment-method",
    "void": "https://docs.stripe.com/api/payment_intents/cancel",
    "pending_refunds": "https://docs.stripe.com/refunds",
    "recurring": "https://docs.stripe.com/payments/save-and-reuse",
    "max_labels": "https://docs.stripe.com/metadata",
}

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@attrs.frozen
class StripeSettings:
    """The plugin's own settings, carried in ``ProviderConfig.settings`` to every hook."""

    payment_method_types: tuple[str, ...] = PAYMENT_METHOD_TYPES
    webhook_tolerance: timedelta = timedelta(seconds=DEFAULT_WEBHOOK_TOLERANCE_S)


def capabilities() -> Capabilities:
    limits = {
        currency: AmountLimits(from_stripe(minimum, currency), from_stripe(STRIPE_MAXIMUM, currency))
        for currency, minimum in MINIMUMS.items()
    }
    return Capabilities(
        currencies=frozenset(MINIMUMS),
        countries=COUNTRIES,
        amount_limits=limits,
        capture_modes=frozenset({CaptureMode.AUTOMATIC, CaptureMode.SEPARATE}),
        # One capture per PaymentIntent, of all or part of the hold; the rest is released.
        partial_capture=True,
        multiple_captures=False,
        void=True,
        partial_void=False,
        refunds=True,
        partial_refund=True,
        multiple_refunds=True,
        authorization_validity=timedelta(days=7),
        recurring=True,
        chargebacks=False,
        pending_refunds=True,
        requires_consumer_name=False,
        requires_return_url=True,
        payment_method_token=Requirement.REQUIRED,
        # Metadata: 50 keys of at most 40 characters, values of at most 500; psp keeps two keys
        # for itself (the merchant reference and a mandate charge's mandate).
        max_text=500,
        max_labels=48,
        max_label_key=40,
        max_label_value=500,
        sources=dict(SOURCES),
    )


def provider_info() -> ProviderInfo:
    return ProviderInfo(
        name=PROVIDER,
        display_name="Stripe (cards, SEPA Direct Debit)",
        capabilities=capabilities(),
        description="Stripe PaymentIntents and SetupIntents with payment methods from Stripe.js",
        version="0.1.0",
        settings=dict(SETTINGS),
    )


def _error(message: str) -> ConfigurationError:
    return ConfigurationError(f"{PROVIDER}: {message}")


def _describe(name: str) -> str:
    return f"option {name!r} or environment variable {SETTINGS[name]}"


def _raw(options: Mapping[str, object], environ: Mapping[str, str], name: str) -> object:
    value = options.get(name)
    if value is None:
        value = environ.get(SETTINGS[name]) or None
    return value


def _secret(
    options: Mapping[str, object], environ: Mapping[str, str], name: str, prefix: str, *, required: bool
) -> Secret | None:
    value = _raw(options, environ, name)
    if value is None:
        if required:
            raise _error(f"{name} is not set; set the {_describe(name)} (it starts with {prefix!r})")
        return None
    if isinstance(value, Secret):
        value = value.reveal()
    if not isinstance(value, str) or not value.strip():
        raise _error(f"{name} must be a non-empty string ({_describe(name)})")
    value = value.strip()
    if any(not "!" <= char <= "~" for char in value):
        raise _error(
            f"{name} contains a character that cannot be sent in a header; check the value (not shown)"
        )
    if not value.startswith(prefix):
        raise _error(
            f"{name} must start with {prefix!r} (the value is not shown); check the {_describe(name)}"
        )
    return Secret(value)


def _seconds(options: Mapping[str, object], environ: Mapping[str, str], name: str, default: float) -> float:
    value = _raw(options, environ, name)
    if value is None:
        return default
    try:
        seconds = (
            float(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else -1.0
        )
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise _error(
            f"{name} must be a number of seconds above 0 and at most 3600, got {value!r} ({_describe(name)})"
        )
    return seconds


def _base_url(options: Mapping[str, object], environ: Mapping[str, str]) -> str:
    value = _raw(options, environ, "base_url") or BASE_URL
    if not isinstance(value, str):
        raise _error(f"base_url must be a string ({_describe('base_url')})")
    try:
        url = httpx.URL(value.strip())
    except httpx.InvalidURL as error:
        raise _error(
            f"base_url {value!r} is not a URL ({error}); check the {_describe('base_url')}"
        ) from None
    loopback = url.scheme == "http" and url.host in _LOOPBACK
    if url.scheme != "https" and not loopback:
        raise _error(f"base_url must be https:// (http only on 127.0.0.1), got {value!r}")
    if not url.host or url.query or url.fragment:
        raise _error(f"base_url must be a plain origin such as {BASE_URL}, got {value!r}")
    return str(url).rstrip("/")


def _method_types(options: Mapping[str, object], environ: Mapping[str, str]) -> tuple[str, ...]:
    value = _raw(options, environ, "payment_method_types")
    if value is None:
        return PAYMENT_METHOD_TYPES
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise _error(
            "payment_method_types must be a list such as card,sepa_debit "
            f"({_describe('payment_method_types')})"
        )
    types = tuple(str(item).strip() for item in items)
    unknown = sorted(set(types) - set(PAYMENT_METHOD_TYPES))
    if unknown:
        raise _error(
            f"payment_method_types {unknown} are not mapped by psp; use any of {list(PAYMENT_METHOD_TYPES)}"
        )
    return types


def configure(options: Mapping[str, object], environ: Mapping[str, str]) -> ProviderConfig:
    unknown = sorted(set(options) - set(SETTINGS))
    if unknown:
        # A misspelt option would otherwise be ignored in silence (a webhook secret never set).
        raise _error(f"unknown option(s) {unknown}; check the spelling: stripe takes {sorted(SETTINGS)}")
    secret_key = _secret(options, environ, "secret_key", "sk_", required=True)
    assert secret_key is not None
    webhook_secret = _secret(options, environ, "webhook_secret", "whsec_", required=False)
    tolerance = _seconds(options, environ, "webhook_tolerance_s", DEFAULT_WEBHOOK_TOLERANCE_S)
    settings = StripeSettings(
        payment_method_types=_method_types(options, environ), webhook_tolerance=timedelta(seconds=tolerance)
    )
    return ProviderConfig(
        provider=PROVIDER,
        base_url=_base_url(options, environ),
        capabilities=capabilities(),
        secret_headers={"Authorization": Secret(f"Bearer {secret_key.reveal()}")},
        headers={"Stripe-Version": API_VERSION},
        idempotency_header=IDEMPOTENCY_HEADER,
        # "Idempotency keys are up to 255 characters long" (https://docs.stripe.com/api/idempotent_requests)
        idempotency_key_limit=255,
        timeout_s=_seconds(options, environ, "timeout_s", DEFAULT_TIMEOUT_S),
        webhook_secret=webhook_secret,
        settings=settings,
        conflict_in_flight=in_flight,
        request_id_header=REQUEST_ID,
    )


def settings_of(config: ProviderConfig) -> StripeSettings:
    settings = config.settings
    if not isinstance(settings, StripeSettings):
        raise _error("the configuration was not built by the stripe plugin's psp_configure")
    return settings
