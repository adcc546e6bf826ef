"""How the core retries: which failures, how often, how long, with what backoff.

Retries use ``stamina`` (exponential backoff with jitter, bounded in attempts and total
time). A retry always resends the *same* request with the *same* idempotency key, so a
request that did reach the provider cannot take effect twice.
"""

from __future__ import annotations

import random

import attrs
import httpx


@attrs.frozen
class RetryPolicy:
    """Bounds and backoff of the core's retries. ``attempts`` counts the first try."""

    attempts: int = 4
    timeout_s: float = 30.0
    wait_initial_s: float = 0.2
    wait_max_s: float = 5.0
    wait_jitter_s: float = 0.5
    max_retry_after_s: float = 10.0
    """A provider's Retry-After longer than this is not waited for; the error reaches the host."""

    def backoff_s(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1 = the second attempt): exponential with jitter.

        stamina's own formula; the core computes it so that its log line can say the wait.
        """
        jitter = random.uniform(0, self.wait_jitter_s) if self.wait_jitter_s else 0.0
        try:
            return min(self.wait_max_s, self.wait_initial_s * 2.0 ** (retry - 1) + jitter)
        except OverflowError:
            return self.wait_max_s

    @classmethod
    def no_wait(cls, attempts: int = 4) -> RetryPolicy:
        """The same retries without sleeping: for tests and sandboxes."""
        return cls(
            attempts=attempts, wait_initial_s=0.0, wait_max_s=0.0, wait_jitter_s=0.0, max_retry_after_s=0.0
        )


class RetryableResponse(Exception):
    """A response the core retries: 5xx, 429, or a 409 saying the first request is in flight."""

    def __init__(self, response: httpx.Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


def parse_retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # An HTTP date is allowed by RFC 9110 but no PSP we know sends one.
    return seconds if seconds >= 0 else None


# Errors raised before the request can have left this machine: resending cannot duplicate.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Errors after which the request may have reached the provider and taken effect.
MAYBE_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
