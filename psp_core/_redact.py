"""Keep secrets out of logs, reprs and exception text.

A :class:`Redactor` knows the secret values of one gateway. It scrubs text, and as a
``logging.Filter`` it scrubs every record that passes through the loggers it is attached to
(psp's own, httpx's, httpcore's and stamina's, plus any a provider names in
``ProviderConfig.loggers``), whatever the level.

Scrubbing cannot be cut around: it masks every run of :data:`FRAGMENT` or more characters
of a secret, not only the whole value (an upstream that echoes a header and a message that
quotes part of it leave fragments), and text is bounded only after it was scrubbed. Plugins
therefore quote values whole and leave the bounding to the core.
"""

from __future__ import annotations

import hashlib
import logging
import re
import weakref
from collections.abc import Iterable
from typing import TypeVar

MASK = "********"
FRAGMENT = 8
"""Any run of this many characters of a secret is masked, wherever it appears."""
MAX_MESSAGE = 2_000
"""Exception texts are cut to this many characters, after scrubbing."""
# A logger's filters see only records logged on that very logger, not its children's, so
# every logger that may carry a request's details is named.
WATCHED_LOGGERS = (
    "psp",
    "psp.gateway",
    "psp.transport",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "stamina",
)


def idempotency_key_hash(key: str) -> str:
    """A short, stable stand-in for an idempotency key in logs, spans and metrics.

    The key itself lets anyone holding the API credentials replay or probe an operation, so
    it never leaves the gateway in telemetry; its hash still lets an operator match the
    records of one call, its retries and a later resume, by hashing the key they hold
    (``sha256:`` + the first 16 hex digits of SHA-256 over the host's key as UTF-8).
    """
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def log_fields(provider: str, operation: str, key_hash: str | None) -> dict[str, object]:
    """The structured ``extra`` of every psp log record about a call.

    A JSON log handler shows them as ``psp_provider``, ``psp_operation`` and
    ``psp_key_hash`` (None for reads and webhooks), the same values as the span attributes.
    """
    return {"psp_provider": provider, "psp_operation": operation, "psp_key_hash": key_hash}


class Redactor(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._fragments: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Short values would mask innocent text everywhere; keys and secrets are long.
        self._secrets.update(secret for secret in secrets if len(secret) >= 4)
        fragments = {
            secret[i : i + FRAGMENT] for secret in self._secrets for i in range(len(secret) - FRAGMENT + 1)
        }
        # A lookahead finds every start of a fragment, overlapping ones included, in C.
        alternation = "|".join(re.escape(fragment) for fragment in sorted(fragments))
        self._fragments = re.compile(f"(?=({alternation}))") if fragments else None

    def scrub(self, text: str) -> str:
        """``text`` with every secret, and every run of FRAGMENT+ characters of one, masked."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        if self._fragments is None:
            return text
        # Every run of FRAGMENT or more secret characters is covered, end to end, by windows
        # that are each a piece of a secret; merge the windows and mask each merged span once.
        spans: list[list[int]] = []
        for found in self._fragments.finditer(text):
            start = found.start()
            end = start + FRAGMENT
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        if not spans:
            return text
        pieces: list[str] = []
        position = 0
        for start, end in spans:
            pieces += [text[position:start], MASK]
            position = end
        pieces.append(text[position:])
        return "".join(pieces)

    def bounded(self, text: str, limit: int = MAX_MESSAGE) -> str:
        """Scrubbed first, then cut: a cut can never leave the start of a secret unmasked."""
        text = self.scrub(text)
        return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message or record.args:
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[1] is not None:
            scrub_exception(record.exc_info[1], self)
            record.exc_text = None
        return True

    def attach(self, owner: object, extra_loggers: Iterable[str] = ()) -> None:
        """Filter the watched loggers, and ``extra_loggers``, for as long as ``owner`` lives."""
        names = dict.fromkeys([*WATCHED_LOGGERS, *extra_loggers])
        loggers = [logging.getLogger(name) for name in names]
        for logger in loggers:
            logger.addFilter(self)
        weakref.finalize(owner, _detach, self, loggers)


def _detach(redactor: Redactor, loggers: list[logging.Logger]) -> None:
    for logger in loggers:
        logger.removeFilter(redactor)


E = TypeVar("E", bound=BaseException)


def scrub_exception(error: E, redactor: Redactor) -> E:
    """Scrub and bound an exception's message and text attributes in place, so no secret escapes."""
    error.args = tuple(redactor.bounded(a) if isinstance(a, str) else a for a in error.args)
    for name, value in vars(error).items():
        if isinstance(value, str):
            setattr(error, name, redactor.bounded(value))
    return error


def detach(error: E) -> E:
    """Cut ``error`` loose from the exceptions it was raised from or while handling.

    Those are the raw originals (an httpx error holding the request and its Authorization
    header, a parse error quoting the body): the host must not reach them through
    ``__cause__`` or ``__context__``. What they said is in the scrubbed message already.
    """
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    return error
