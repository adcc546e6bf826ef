"""Configuration: host options and environment variables into a ``ProviderConfig``.

Explicit options win over the environment, so a host can run several merchants in one
process while a developer configures a single one through ``PPRO_*`` variables.
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
    Money,
    ProviderConfig,
    ProviderInfo,
    Secret,
)

from ._http import REQUEST_REFERENCE
from ._wire import ErrorBody, structure

PROVIDER = "amazon_pay"
PAYMENT_METHOD = "AMAZON_PAY"

BASE_URL_PRESETS: Mapping[str, str] = {
    "sandbox": "https://api.sandbox.eu.ppro.com",
    "live": "https://api.eu.ppro.com",
}

SETTINGS: Mapping[str, str] = {
    "api_key": "PPRO_API_KEY",
    "merchant_id": "PPRO_MERCHANT_ID",
    "base_url": "PPRO_BASE_URL",
    "webhook_secret": "PPRO_WEBHOOK_SECRET",
    "timeout_s": "PPRO_TIMEOUT_S",
    "separate_captures": "PPRO_SEPARATE_CAPTURES",
    "legacy_webhook_signature": "PPRO_LEGACY_WEBHOOK_SIGNATURE",
    "webhook_tolerance_s": "PPRO_WEBHOOK_TOLERANCE_S",
    "refund_window_days": "PPRO_REFUND_WINDOW_DAYS",
    "min_amount": "PPRO_MIN_AMOUNT",
    "max_amount": "PPRO_MAX_AMOUNT",
}
"""Option name -> environment variable; both documented in docs/amazon_pay.md."""

IDEMPOTENCY_HEADER = "Request-Idempotency-Key"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_WEBHOOK_TOLERANCE_S = 300

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@attrs.frozen
class AmazonPaySettings:
    """The plugin's own settings, carried in ``ProviderConfig.settings`` to every hook."""

    separate_captures: bool = True
    legacy_webhook_signature: bool = False
    webhook_tolerance: timedelta = timedelta(seconds=DEFAULT_WEBHOOK_TOLERANCE_S)


PPRO_AMAZON_PAY_PAGE = "https://developerhub.ppro.com/global-api/docs/amazon-pay"
AMAZON_PAY_CHARGE_PAGE = "https://developer.amazon.com/docs/amazon-pay-api-v2/charge.html"
METHOD_LIMITS = AmountLimits(Money(50, "USD"), Money(2_000_000, "USD"))
"""0.50 to 20,000.00 USD, PPRO's Amazon Pay page; the maximum "can vary by consumer"."""


def capabilities(
    separate_captures: bool = True,
    *,
    limits: AmountLimits = METHOD_LIMITS,
    refund_window: timedelta | None = None,
) -> Capabilities:
    """The Amazon Pay method profile from PPRO's product page.

    PPRO's newer page says separate captures are off for Amazon Pay; with
    ``separate_captures=False`` capture and void are not offered at all. ``limits`` and
    ``refund_window`` are a merchant's own, narrower than the method's.

    - Refund validity: "6 months" (PPRO's Amazon Pay page). PPRO does not say where the
      window starts; psp decides it runs from the first capture, in calendar months.
    - Authorization validity: Amazon Pay cancels a charge "after 30 days in the Authorized
      state" (Amazon Pay API v2, Charge); PPRO publishes no period of its own.
    """
    return Capabilities(
        currencies=frozenset({"USD"}),
        countries=frozenset({"US"}),
        amount_limits={"USD": limits},
        capture_modes=frozenset({CaptureMode.AUTOMATIC, CaptureMode.SEPARATE})
        if separate_captures
        else frozenset({CaptureMode.AUTOMATIC}),
        partial_capture=separate_captures,
        multiple_captures=separate_captures,
        void=separate_captures,
        partial_void=separate_captures,
        refunds=True,
        partial_refund=True,
        multiple_refunds=True,
        refund_window=refund_window,
        refund_window_months=6,
        authorization_validity=timedelta(days=30) if separate_captures else None,
        recurring=True,
        chargebacks=True,
        requires_consumer_name=True,
        requires_return_url=True,
        turned_off_by=None if separate_captures else "separate_captures (PPRO_SEPARATE_CAPTURES)",
        pending_refunds=True,
        partial_chargebacks=True,
        # PPRO's data standards: "any string value may be at most 512 characters"; labels and
        # the agreement description have their own limits in PPRO's OpenAPI documents.
        max_text=512,
        max_mandate_description=100,
        max_labels=50,
        max_label_key=50,
        max_label_value=200,
        # PPRO's order item quantity is an int32 in its OpenAPI documents.
        max_quantity=2**31 - 1,
        sources={
            "max_text": "https://developerhub.ppro.com/global-api/reference/data-standards",
            "amount_limits": PPRO_AMAZON_PAY_PAGE,
            "refund_window_months": PPRO_AMAZON_PAY_PAGE,
            "authorization_validity": AMAZON_PAY_CHARGE_PAGE,
            "pending_refunds": "https://developerhub.ppro.com/global-api/docs/refund",
        },
    )


def provider_info() -> ProviderInfo:
    return ProviderInfo(
        name=PROVIDER,
        display_name="Amazon Pay (PPRO)",
        capabilities=capabilities(),
        description="Amazon Pay through the PPRO Global API: charges, captures, refunds, voids, "
        "recurring agreements and signed webhooks.",
        version="0.1.0",
        settings=dict(SETTINGS),
    )


def _raw(name: str, options: Mapping[str, object], environ: Mapping[str, str]) -> object:
    value = options.get(name)
    if value is None:
        value = environ.get(SETTINGS[name]) or None
    return value


def _describe(name: str) -> str:
    return f"option {name!r} or environment variable {SETTINGS[name]}"


def _secret(
    name: str, options: Mapping[str, object], environ: Mapping[str, str], *, required: bool
) -> Secret | None:
    value = _raw(name, options, environ)
    if value is None:
        if required:
            raise ConfigurationError(f"amazon_pay: {name} is not set; set the {_describe(name)}")
        return None
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"amazon_pay: {name} must be a non-empty string ({_describe(name)})")
    _header_safe(name, value.strip(), shown=False)
    return Secret(value.strip())


def _header_safe(name: str, value: str, *, shown: bool) -> None:
    """Refuse what cannot go into an HTTP header (CR, LF, NUL, non-ASCII), without showing a secret."""
    bad = next((char for char in value if not " " <= char <= "~"), None)
    if bad is not None:
        what = f"{value!r}" if shown else "the value (not shown)"
        raise ConfigurationError(
            f"amazon_pay: {name} contains {bad!r}, which cannot be sent in an HTTP header; check "
            f"{what} for a pasted line break or a non-ASCII character ({_describe(name)})"
        )


def _flag(name: str, options: Mapping[str, object], environ: Mapping[str, str], default: bool) -> bool:
    value = _raw(name, options, environ)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"amazon_pay: {name} must be true or false, got {value!r} ({_describe(name)})")


MAX_SECONDS: Mapping[str, float] = {"timeout_s": 600.0, "webhook_tolerance_s": 86_400.0}
"""Upper bounds (decisions, documented in docs/amazon_pay.md): a longer timeout would hold a
worker for no gain, and a tolerance beyond a day makes a captured webhook replayable for days."""


def _seconds(name: str, options: Mapping[str, object], environ: Mapping[str, str], default: float) -> float:
    value = _raw(name, options, environ)
    if value is None:
        return default
    try:
        seconds = (
            float(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else -1.0
        )
    except ValueError:
        seconds = -1.0
    maximum = MAX_SECONDS[name]
    # "not <=" also refuses NaN; inf would overflow timedelta (OverflowError) further on.
    if not 0 < seconds <= maximum:
        raise ConfigurationError(
            f"amazon_pay: {name} must be a number of seconds above 0 and at most {maximum:g}, "
            f"got {value!r} ({_describe(name)})"
        )
    return seconds


def _amount(name: str, options: Mapping[str, object], environ: Mapping[str, str]) -> Money | None:
    value = _raw(name, options, environ)
    if value is None or isinstance(value, Money):
        return value
    if isinstance(value, str):
        try:
            return Money.parse(value.strip(), "USD")
        except (ValueError, ArithmeticError):
            pass
    raise ConfigurationError(
        f"amazon_pay: {name} must be a USD amount such as '250.00' or a Money, got {value!r} "
        f"({_describe(name)})"
    )


def _limits(options: Mapping[str, object], environ: Mapping[str, str]) -> AmountLimits:
    try:
        return METHOD_LIMITS.narrowed(
            _amount("min_amount", options, environ), _amount("max_amount", options, environ)
        )
    except ValueError as error:
        raise ConfigurationError(
            f"amazon_pay: min_amount/max_amount: {error} "
            f"({_describe('min_amount')}, {_describe('max_amount')})"
        ) from None


def _refund_window(options: Mapping[str, object], environ: Mapping[str, str]) -> timedelta | None:
    value = _raw("refund_window_days", options, environ)
    if value is None:
        return None
    days = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        days = int(value.strip())
    if days is None or not 1 <= days <= 366:
        raise ConfigurationError(
            f"amazon_pay: refund_window_days must be a whole number of days from 1 to 366, got {value!r}; "
            f"it can only shorten PPRO's six months ({_describe('refund_window_days')})"
        )
    return timedelta(days=days)


def _base_url(options: Mapping[str, object], environ: Mapping[str, str]) -> str:
    value = _raw("base_url", options, environ)
    if value is None:
        return BASE_URL_PRESETS["sandbox"]
    if not isinstance(value, str):
        raise ConfigurationError(f"amazon_pay: base_url must be a string ({_describe('base_url')})")
    url = BASE_URL_PRESETS.get(value.strip().lower(), value.strip())
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(
            f"amazon_pay: base_url must be 'sandbox', 'live' or an http(s) URL, got {value!r} "
            f"({_describe('base_url')})"
        )
    if parsed.scheme == "http" and parsed.host not in _LOOPBACK:
        # The API key travels in every request: plain http only to this machine (the local sandbox).
        raise ConfigurationError(
            f"amazon_pay: base_url {url!r} is plain http to another machine; use https, or "
            f"http://127.0.0.1:<port> for the local sandbox ({_describe('base_url')})"
        )
    return url.rstrip("/")


def is_in_flight_conflict(response: httpx.Response) -> bool:
    """PPRO's 409 for "the first request with this key is still running", which is retryable.

    A 409 for a reused key with a different body is final; only the in-progress wording is
    retried, so a genuine conflict reaches the host at once.
    """
    if response.status_code != 409:
        return False
    try:
        body = structure(response.json(), ErrorBody, "conflict")
    except Exception:
        return False
    text = (body.failure_message or body.message or "").lower()
    return "in progress" in text or "in flight" in text or "in-flight" in text


def configure(options: Mapping[str, object], environ: Mapping[str, str]) -> ProviderConfig:
    api_key = _secret("api_key", options, environ, required=True)
    merchant_id = _raw("merchant_id", options, environ)
    if not isinstance(merchant_id, str) or not merchant_id.strip():
        raise ConfigurationError(f"amazon_pay: merchant_id is not set; set the {_describe('merchant_id')}")
    _header_safe("merchant_id", merchant_id.strip(), shown=True)
    separate = _flag("separate_captures", options, environ, True)
    tolerance = _seconds("webhook_tolerance_s", options, environ, DEFAULT_WEBHOOK_TOLERANCE_S)
    assert api_key is not None
    return ProviderConfig(
        provider=PROVIDER,
        base_url=_base_url(options, environ),
        capabilities=capabilities(
            separate, limits=_limits(options, environ), refund_window=_refund_window(options, environ)
        ),
        secret_headers={"Authorization": Secret(f"Bearer {api_key.reveal()}")},
        headers={"Merchant-Id": merchant_id.strip(), "Accept": "application/json"},
        idempotency_header=IDEMPOTENCY_HEADER,
        timeout_s=_seconds("timeout_s", options, environ, DEFAULT_TIMEOUT_S),
        webhook_secret=_secret("webhook_secret", options, environ, required=False),
        settings=AmazonPaySettings(
            separate_captures=separate,
            legacy_webhook_signature=_flag("legacy_webhook_signature", options, environ, False),
            webhook_tolerance=timedelta(seconds=tolerance),
        ),
        conflict_in_flight=is_in_flight_conflict,
        request_id_header=REQUEST_REFERENCE,
        # The PPRO sandbox's server, when it runs in the host's process (psp sandbox, tests).
        loggers=("uvicorn", "uvicorn.error", "uvicorn.access"),
    )


def settings_of(config: ProviderConfig) -> AmazonPaySettings:
    if isinstance(config.settings, AmazonPaySettings):
        return config.settings
    return AmazonPaySettings()
