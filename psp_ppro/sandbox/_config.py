"""Immutable configuration of one sandbox instance."""

from __future__ import annotations

from datetime import datetime

from attrs import field, frozen


@frozen(kw_only=True)
class SandboxConfig:
    """Settings fixed for the lifetime of a :class:`Sandbox`.

    ``api_key`` / ``merchant_id``: when ``None`` any non-empty value is accepted, which is what
    local development wants; set them to exercise 401 handling.
    """

    api_key: str | None = None
    merchant_id: str | None = None
    # Not a credential: the local sandbox signs with this unless told otherwise.
    webhook_secret: str = "whsec_sandbox"  # noqa: S105
    # The seed product page says Amazon Pay supports separate captures; the newer PPRO page says
    # it does not. Both behaviours are needed, so it is a switch.
    separate_captures: bool = True
    authentication_timeout_s: int = 3600
    # PPRO's Amazon Pay page: "Refund validity 6 months"; where the window starts is not
    # published, so the sandbox counts calendar months from the first capture.
    refund_window_months: int = 6
    # PPRO's charges spec gives a refund the status PENDING before REFUNDED or FAILED. A refund
    # is answered PENDING and settles (REFUNDED) this many sandbox seconds later, or when an
    # admin call settles it (succeed or fail); None leaves it pending until that call, and 0
    # answers REFUNDED at once.
    refund_settlement_s: float | None = 30.0
    # Amazon Pay cancels an authorization "after 30 days in the Authorized state" (Amazon Pay
    # API v2, Charge); PPRO publishes no period. The sandbox then releases what was not captured.
    authorization_validity_s: int = 30 * 24 * 3600
    default_webhooks_url: str | None = None
    legacy_signature: bool = False
    # PPRO retries after 15 s, doubling; locally we want retries to be cheap.
    webhook_retry_base_s: float = 0.05
    webhook_max_attempts: int = 15
    base_url: str = "http://sandbox.local"
    idempotency_ttl_s: int = 24 * 3600
    # Reproducibility: one seed drives ids, fault decisions and webhook reordering.
    seed: int | None = None
    start_time: datetime | None = field(default=None)
