"""A controllable clock: sandbox time only moves when told to (or, opt-in, with real time)."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta

#: Sandbox time never passes this: the refund window, idempotency retention and timeouts are
#: added to "now", and ``datetime`` ends at year 9999 (a clock advance of 3e11 s used to raise
#: OverflowError inside a request, a 500).
LATEST_TIME = datetime(9000, 1, 1, tzinfo=UTC)


def iso_ms(moment: datetime) -> str:
    """PPRO's timestamp format: ISO 8601 UTC with milliseconds and a ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class SandboxClock:
    """Thread-safe clock. Tests call :meth:`advance` instead of sleeping.

    In real-time mode (used when served over HTTP so webhook retries come due by themselves)
    wall-clock time elapsed since the mode was switched on is added to the manual offset.
    """

    def __init__(self, start: datetime | None = None) -> None:
        base = start if start is not None else datetime.now(UTC)
        # Truncate to milliseconds so timestamps round-trip through the wire format exactly.
        self._base = base.astimezone(UTC).replace(microsecond=(base.microsecond // 1000) * 1000)
        self._offset = timedelta()
        self._realtime_since: float | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> datetime:
        extra = timedelta()
        if self._realtime_since is not None:
            extra = timedelta(seconds=time.monotonic() - self._realtime_since)
        return self._base + self._offset + extra

    def advance(self, seconds: float) -> datetime:
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("seconds must be a finite number of at least 0: the clock never goes back")
        with self._lock:
            room = (LATEST_TIME - self._now_locked()).total_seconds()
            if seconds > room:
                raise ValueError(
                    f"seconds must be at most {room:.0f}: sandbox time stops at {LATEST_TIME.year}-01-01"
                )
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set_realtime(self, enabled: bool) -> None:
        with self._lock:
            if enabled and self._realtime_since is None:
                self._realtime_since = time.monotonic()
            elif not enabled and self._realtime_since is not None:
                # Fold elapsed real time into the offset so time never jumps back.
                self._offset += timedelta(seconds=time.monotonic() - self._realtime_since)
                self._realtime_since = None
