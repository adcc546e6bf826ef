"""Errors raised inside the simulator and their wire representation."""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error answered with PPRO's envelope ``{status, failureMessage, timestamp}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


class SandboxStateError(Exception):
    """A controller action (approve, chargeback, ...) that the resource's state does not allow."""


class UnknownResourceError(KeyError):
    """A controller action named an id the sandbox never issued."""
