"""Keep secrets out of logs, reprs and exception text.

A :class:`Redactor` knows the secret values of one gateway. It scrubs text, and as a
``logging.Filter`` it scrubs every record that passes through the loggers it is attached to
(psp's own, httpx's and httpcore's), whatever the level.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable

MASK = "********"
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
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
)


class Redactor(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Short values would mask innocent text everywhere; keys and secrets are long.
        self._secrets.update(s for s in secrets if len(s) >= 4)

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text

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

    def attach(self, owner: object) -> None:
        """Filter the watched loggers for as long as ``owner`` lives."""
        loggers = [logging.getLogger(name) for name in WATCHED_LOGGERS]
        for logger in loggers:
            logger.addFilter(self)
        weakref.finalize(owner, _detach, self, loggers)


def _detach(redactor: Redactor, loggers: list[logging.Logger]) -> None:
    for logger in loggers:
        logger.removeFilter(redactor)


def scrub_exception(error: BaseException, redactor: Redactor) -> BaseException:
    """Scrub an exception's message and text attributes in place, so no secret escapes."""
    error.args = tuple(redactor.scrub(a) if isinstance(a, str) else a for a in error.args)
    for name, value in vars(error).items():
        if isinstance(value, str):
            setattr(error, name, redactor.scrub(value))
    return error
