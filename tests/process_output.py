"""Waiting on a process's own output, never on the clock: a check must not depend on the machine's speed.

A test that starts a server waits for the line that says it is ready, however long a saturated
machine takes to print it; :data:`HANG_GUARD_S` only ends a wait that would never end.
"""

from __future__ import annotations

import threading
from typing import IO

HANG_GUARD_S = 120.0
"""Only against a hang: far longer than any start, request or stop takes, however busy the machine."""


class Lines:
    """A process's output stream, read line by line on a thread, so a wait can end on a marker
    or at the end of the stream without blocking on a ``readline`` that never returns."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lines: list[str] = []
        self._ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._stream:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def until(self, marker: str) -> list[str]:
        """Every line up to and including the first that holds ``marker``."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._ended or any(marker in line for line in self._lines), timeout=HANG_GUARD_S
            )
            for index, line in enumerate(self._lines):
                if marker in line:
                    return self._lines[: index + 1]
            raise AssertionError(f"{marker!r} never printed; got {self._lines}")

    def all(self) -> str:
        """The whole output, once the stream has ended."""
        self._reader.join(HANG_GUARD_S)
        assert not self._reader.is_alive(), "the output stream never ended"
        return "".join(line + "\n" for line in self._lines)
