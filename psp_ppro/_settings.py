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
from ._profile import MethodProfile
from ._wire import ErrorBody, loads, structure

BASE_URL_PRESETS: Mapping[str, str] = {
    "sandbox": "https://api.sandbox.eu.ppro.com",
    "live": "https://api.eu.ppro.com",
}

IDEMPOTENCY_HEADER = "Request-Idempotency-Key"
PPRO_DATA_STANDARDS = "https://developerhub.ppro.com/global-api/reference/data-standards"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_WEBHOOK_TOLERANCE_S = 300

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@attrs.frozen
class PproSettings:
    """The plugin's own settings, carried in ``ProviderConfig.settings`` to every hook."""

    profile: MethodProfile
    separate_captures: bool = True
    legacy_webhook_signature: bool = False
    webhook_tolerance: timedelta = timedelta(seconds=DEFAULT_WEBHOOK_TOLERANCE_S)


def capabilities(
    profile: MethodProfile,
    separate_captures: bool = True,
    *,
    limits: AmountLimits | None = None,
    refund_window: timedelta | None = None,
) -> Capabilities:
    """The capabilities of ``profile``'s method, as a merchant configured them.

    Without separate captures (the method has none, or the merchant turned them off) capture
    and void are not offered at all. ``limits`` and ``refund_window`` are a merchant's own,
    narrower than the method's; a window the method publishes in days is the upper bound.
    """
    separate = separate_captures and profile.separate_captures
    method_window = timedelta(days=profile.refund_window_days) if profile.refund_window_days else None
    if refund_window is None or (method_window is not None and method_window < refund_window):
        refund_window = method_window
    return Capabilities(
        currencies=frozenset({profile.currency}),
        countries=profile.countries,
        amount_limits={profile.currency: limits or profile.limits},
        capture_modes=frozenset({CaptureMode.AUTOMATIC, CaptureMode.SEPARATE})
        if separate
        else frozenset({CaptureMode.AUTOMATIC}),
        partial_capture=separate,
        multiple_captures=separate,
        void=separate,
        partial_void=separate,
        refunds=True,
        partial_refund=True,
        multiple_refunds=True,
        refund_window=refund_window,
        refund_window_months=profile.refund_window_months,
        authorization_validity=profile.authorization_validity if separate else None,
        recurring=profile.recurring,
        chargebacks=profile.chargebacks,
        requires_consumer_name=profile.requires_consumer_name,
        requires_return_url=True,
        turned_off_by=f"separate_captures ({profile.settings['separate_captures']})"
        if profile.separate_captures and not separate
        else None,
        pending_refunds=profile.pending_refunds,
        partial_chargebacks=profile.partial_chargebacks,
        # PPRO's data standards: "any string value may be at most 512 characters"; labels, the
        # agreement description and item quantities have their own limits in PPRO's OpenAPI
        # documents. They hold for every method PPRO serves.
        max_text=512,
        max_mandate_description=100,
        max_labels=50,
        max_label_key=50,
        max_label_value=200,
        max_quantity=2**31 - 1,
        sources={"max_text": PPRO_DATA_STANDARDS, **profile.sources},
    )


def provider_info(profile: MethodProfile) -> ProviderInfo:
    return ProviderInfo(
        name=profile.provider,
        display_name=profile.display_name,
        capabilities=capabilities(profile),
        description=profile.description,
        version="0.1.0",
        settings=dict(profile.settings),
    )


@attrs.frozen
class _Options:
    """A host's options and the environment, read for one method's provider."""

    profile: MethodProfile
    options: Mapping[str, object]
    environ: Mapping[str, str]

    def error(self, message: str) -> ConfigurationError:
        return ConfigurationError(f"{self.profile.provider}: {message}")

    def raw(self, name: str) -> object:
        value = self.options.get(name)
        if value is None:
            value = self.environ.get(self.profile.settings[name]) or None
        return value

    def describe(self, name: str) -> str:
        return f"option {name!r} or environment variable {self.profile.settings[name]}"

    def secret(self, name: str, *, required: bool) -> Secret | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise self.error(f"{name} is not set; set the {self.describe(name)}")
            return None
        if isinstance(value, Secret):
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{name} must be a non-empty string ({self.describe(name)})")
        self.header_safe(name, value.strip(), shown=False)
        return Secret(value.strip())

    def header_safe(self, name: str, value: str, *, shown: bool) -> None:
        """Refuse what cannot go into an HTTP header (CR, LF, NUL, non-ASCII), without showing a secret."""
        bad = next((char for char in value if not " " <= char <= "~"), None)
        if bad is not None:
            what = f"{value!r}" if shown else "the value (not shown)"
            raise self.error(
                f"{name} contains {bad!r}, which cannot be sent in an HTTP header; check "
                f"{what} for a pasted line break or a non-ASCII character ({self.describe(name)})"
            )

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name) if name in self.profile.settings else None
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.error(f"{name} must be true or false, got {value!r} ({self.describe(name)})")

    def seconds(self, name: str, default: float) -> float:
        value = self.raw(name)
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
            raise self.error(
                f"{name} must be a number of seconds above 0 and at most {maximum:g}, "
                f"got {value!r} ({self.describe(name)})"
            )
        return seconds

    def amount(self, name: str) -> Money | None:
        value = self.raw(name)
        if value is None or isinstance(value, Money):
            return value
        currency = self.profile.currency
        if isinstance(value, str):
            try:
                return Money.parse(value.strip(), currency)
            except (ValueError, ArithmeticError):
                pass
        raise self.error(
            f"{name} must be a {currency} amount such as '250.00' or a Money, got {value!r} "
            f"({self.describe(name)})"
        )

    def limits(self) -> AmountLimits:
        try:
            return self.profile.limits.narrowed(self.amount("min_amount"), self.amount("max_amount"))
        except ValueError as error:
            raise self.error(
                f"min_amount/max_amount: {error} "
                f"({self.describe('min_amount')}, {self.describe('max_amount')})"
            ) from None

    def refund_window(self) -> timedelta | None:
        value = self.raw("refund_window_days")
        if value is None:
            return None
        days = value if isinstance(value, int) and not isinstance(value, bool) else None
        if isinstance(value, str) and value.strip().isdigit():
            days = int(value.strip())
        longest = self.profile.refund_window_days or 366
        if days is None or not 1 <= days <= longest:
            raise self.error(
                f"refund_window_days must be a whole number of days from 1 to {longest}, got {value!r}; "
                f"it can only shorten PPRO's {self.profile.refund_validity()} "
                f"({self.describe('refund_window_days')})"
            )
        return timedelta(days=days)

    def base_url(self) -> str:
        value = self.raw("base_url")
        if value is None:
            return BASE_URL_PRESETS["sandbox"]
        if not isinstance(value, str):
            raise self.error(f"base_url must be a string ({self.describe('base_url')})")
        url = BASE_URL_PRESETS.get(value.strip().lower(), value.strip())
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise self.error(
                f"base_url must be 'sandbox', 'live' or an http(s) URL, got {value!r} "
                f"({self.describe('base_url')})"
            )
        if parsed.scheme == "http" and parsed.host not in _LOOPBACK:
            # The API key travels in every request: plain http only to this machine (the local sandbox).
            raise self.error(
                f"base_url {url!r} is plain http to another machine; use https, or "
                f"http://127.0.0.1:<port> for the local sandbox ({self.describe('base_url')})"
            )
        return url.rstrip("/")


MAX_SECONDS: Mapping[str, float] = {"timeout_s": 600.0, "webhook_tolerance_s": 86_400.0}
"""Upper bounds (decisions, documented in docs/amazon_pay.md): a longer timeout would hold a
worker for no gain, and a tolerance beyond a day makes a captured webhook replayable for days."""


def is_in_flight_conflict(response: httpx.Response) -> bool:
    """PPRO's 409 for "the first request with this key is still running", which is retryable.

    A 409 for a reused key with a different body is final; only the in-progress wording is
    retried, so a genuine conflict reaches the host at once.
    """
    if response.status_code != 409:
        return False
    try:
        body = structure(loads(response.content), ErrorBody, "conflict")
    except Exception:
        return False
    text = (body.failure_message or body.message or "").lower()
    return "in progress" in text or "in flight" in text or "in-flight" in text


def configure(
    profile: MethodProfile, options: Mapping[str, object], environ: Mapping[str, str]
) -> ProviderConfig:
    read = _Options(profile, options, environ)
    unknown = sorted(name for name in options if name not in profile.settings)
    if unknown:
        # A setting of another method (iDEAL has no separate_captures) would otherwise be ignored.
        raise read.error(f"unknown option(s) {unknown}; {profile.provider} takes {sorted(profile.settings)}")
    api_key = read.secret("api_key", required=True)
    merchant_id = read.raw("merchant_id")
    if not isinstance(merchant_id, str) or not merchant_id.strip():
        raise read.error(f"merchant_id is not set; set the {read.describe('merchant_id')}")
    read.header_safe("merchant_id", merchant_id.strip(), shown=True)
    separate = read.flag("separate_captures", profile.separate_captures)
    tolerance = read.seconds("webhook_tolerance_s", DEFAULT_WEBHOOK_TOLERANCE_S)
    assert api_key is not None
    return ProviderConfig(
        provider=profile.provider,
        base_url=read.base_url(),
        capabilities=capabilities(
            profile, separate, limits=read.limits(), refund_window=read.refund_window()
        ),
        secret_headers={"Authorization": Secret(f"Bearer {api_key.reveal()}")},
        headers={"Merchant-Id": merchant_id.strip(), "Accept": "application/json"},
        idempotency_header=IDEMPOTENCY_HEADER,
        timeout_s=read.seconds("timeout_s", DEFAULT_TIMEOUT_S),
        webhook_secret=read.secret("webhook_secret", required=False),
        settings=PproSettings(
            profile=profile,
            separate_captures=separate and profile.separate_captures,
            legacy_webhook_signature=read.flag("legacy_webhook_signature", False),
            webhook_tolerance=timedelta(seconds=tolerance),
        ),
        conflict_in_flight=is_in_flight_conflict,
        request_id_header=REQUEST_REFERENCE,
        # The PPRO sandbox's server, when it runs in the host's process (psp sandbox, tests).
        loggers=("uvicorn", "uvicorn.error", "uvicorn.access"),
    )


def settings_of(config: ProviderConfig, profile: MethodProfile) -> PproSettings:
    """The settings ``configure`` put on ``config``; the method's defaults for a hand-made config."""
    if isinstance(config.settings, PproSettings):
        return config.settings
    return PproSettings(profile=profile, separate_captures=profile.separate_captures)
