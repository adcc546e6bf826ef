"""Everything the demo runs against: a served sandbox, the shop's receiver, and the host's tools.

The sandbox listens on a free loopback port and the receiver on another; both are daemon
threads stopped explicitly on exit, so the demo leaves nothing behind. The credentials are
random for each run: nothing real exists to leak, and the gateway's redactor is shown
hiding them. The gateways are pointed at the served sandbox through their ordinary options
(``base_url``), exactly as a host developer would, and share the sandbox clock so the
gateway's own refund-window check and the sandbox agree on what "now" is.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import httpx

from psp_core import AsyncGateway, Gateway, Payment, WebhookEvent, apply_event
from psp_ppro.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_in_thread

from ._receiver import Receiver

PROVIDER = "amazon_pay"
HTTP_TIMEOUT_S = 10.0


@attrs.frozen
class Credentials:
    api_key: str
    merchant_id: str
    webhook_secret: str

    @classmethod
    def random(cls) -> Credentials:
        return cls(
            api_key=f"key_sandbox_{secrets.token_urlsafe(16)}",
            merchant_id=f"merch_demo{secrets.token_hex(6)}",
            webhook_secret=f"whsec_{secrets.token_urlsafe(24)}",
        )


def sandbox_config(credentials: Credentials, webhooks_url: str) -> SandboxConfig:
    """The sandbox as the demo configures it: the product page's profile, separate captures on.

    ``default_webhooks_url`` plays the part of the endpoint PPRO's account manager configures,
    so charges made under an agreement (which carry no URL of their own) are delivered too.
    """
    return SandboxConfig(
        api_key=credentials.api_key,
        merchant_id=credentials.merchant_id,
        webhook_secret=credentials.webhook_secret,
        separate_captures=True,
        default_webhooks_url=webhooks_url,
    )


class Host:
    """The host platform's record of payments, folded from reads and verified webhooks.

    A host de-duplicates events by id, because PPRO may deliver one more than once.
    """

    def __init__(self) -> None:
        self.payments: dict[str, Payment] = {}
        self.seen: set[str] = set()

    def store(self, payment: Payment) -> Payment:
        self.payments[payment.id] = payment
        return payment

    def fold(self, events: list[WebhookEvent]) -> list[WebhookEvent]:
        """Apply the events not seen before to the stored payments; returns the new ones."""
        fresh = []
        for event in events:
            if event.event_id in self.seen:
                continue
            self.seen.add(event.event_id)
            fresh.append(event)
            stored = self.payments.get(event.payment_id or "")
            if stored is not None:
                self.payments[stored.id] = apply_event(stored, event)
        return fresh


class DemoEnv:
    """The running sandbox, the receiver, and factories for the host's gateways and clients."""

    def __init__(
        self, sandbox: Sandbox, running: RunningSandbox, receiver: Receiver, credentials: Credentials
    ) -> None:
        self.sandbox = sandbox
        self.running = running
        self.receiver = receiver
        self.credentials = credentials
        self.host = Host()
        # One gateway verifies every incoming webhook, as a host's web endpoint would.
        self._verifier = Gateway(PROVIDER, **self._gateway_kwargs())
        receiver.set_verifier(self._verifier.parse_webhook)

    @property
    def base_url(self) -> str:
        return self.running.base_url

    @property
    def options(self) -> dict[str, object]:
        return {
            "api_key": self.credentials.api_key,
            "merchant_id": self.credentials.merchant_id,
            "base_url": self.running.base_url,
            "webhook_secret": self.credentials.webhook_secret,
            "separate_captures": True,
        }

    def _gateway_kwargs(self) -> dict[str, Any]:
        # environ={} keeps a developer's own PPRO_* variables out of the demo.
        return {"options": self.options, "environ": {}, "clock": self.sandbox.clock.now}

    def gateway(self, log: list[str]) -> Gateway:
        client = httpx.Client(timeout=HTTP_TIMEOUT_S, event_hooks={"response": [_logger(log, "host")]})
        return _SyncGatewayOwningClient(PROVIDER, client=client, **self._gateway_kwargs())

    def async_gateway(self, log: list[str]) -> AsyncGateway:
        hook = _logger(log, "host")

        async def record(response: httpx.Response) -> None:
            hook(response)

        client = httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, event_hooks={"response": [record]})
        return _AsyncGatewayOwningClient(PROVIDER, client=client, **self._gateway_kwargs())

    def browser(self, log: list[str]) -> httpx.Client:
        return httpx.Client(timeout=HTTP_TIMEOUT_S, event_hooks={"response": [_logger(log, "browser")]})

    def async_browser(self, log: list[str]) -> httpx.AsyncClient:
        hook = _logger(log, "browser")

        async def record(response: httpx.Response) -> None:
            hook(response)

        return httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, event_hooks={"response": [record]})

    def operator(self, log: list[str]) -> httpx.Client:
        """The sandbox's admin routes: what a developer would curl to move time or file a dispute."""
        return httpx.Client(
            base_url=self.running.base_url,
            timeout=HTTP_TIMEOUT_S,
            event_hooks={"response": [_logger(log, "sandbox admin")]},
        )

    def settle_webhooks(self, operator: httpx.Client, timeout_s: float = 5.0) -> set[str]:
        """Wait until every event the sandbox emitted so far arrived verified; returns the missing."""
        emitted = operator.get("/__sandbox__/events")
        emitted.raise_for_status()
        ids = {str(envelope["id"]) for envelope in emitted.json()["data"]}
        return self.receiver.wait_for_event_ids(ids, timeout_s)

    def advance_clock(self, operator: httpx.Client, seconds: int) -> httpx.Response:
        """Move sandbox time through its admin route, once every webhook sent so far has landed.

        A delivery signed before the jump and verified after it would carry a timestamp far
        outside the tolerance and be refused (PPRO would then retry it, re-signed). That is
        correct, but noise in a demo, so the clock only moves while nothing is in flight.
        """
        missing = self.settle_webhooks(operator)
        if missing:
            raise RuntimeError(
                f"{len(missing)} webhook(s) never arrived before the clock jump: {sorted(missing)[:3]}"
            )
        return operator.post("/__sandbox__/clock/advance", json={"seconds": seconds})

    def close(self) -> None:
        self._verifier.close()


def _logger(log: list[str], who: str) -> Callable[[httpx.Response], None]:
    def record(response: httpx.Response) -> None:
        request = response.request
        target = request.url.path + (f"?{request.url.query.decode()}" if request.url.query else "")
        log.append(f"{who}: {request.method} {target} -> {response.status_code}")

    return record


class _SyncGatewayOwningClient(Gateway):
    """A gateway over a client built for it (to log exchanges) that it also closes."""

    def close(self) -> None:
        self.client.close()


class _AsyncGatewayOwningClient(AsyncGateway):
    async def aclose(self) -> None:
        await self.client.aclose()


@contextmanager
def running_env(credentials: Credentials | None = None) -> Iterator[DemoEnv]:
    """Start receiver and sandbox on loopback; stop both on exit, whatever happened."""
    credentials = credentials or Credentials.random()
    with Receiver() as receiver:
        sandbox = Sandbox(sandbox_config(credentials, receiver.webhook_url))
        with serve_in_thread(sandbox, "127.0.0.1", 0) as running:
            env = DemoEnv(sandbox, running, receiver, credentials)
            try:
                yield env
            finally:
                env.close()
