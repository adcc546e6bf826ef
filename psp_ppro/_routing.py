"""One PPRO webhook URL for every method: hand each event to the provider of its ``paymentMethod``.

PPRO sends the events of all a merchant's methods to the account's webhook URL. Each PPRO
provider verifies the signature and accepts only its own method's events; a signed event of
another method is refused with the reason :data:`OTHER_METHOD`. :func:`route_webhook` asks the
host's PPRO gateways in turn, so the event comes back named after the provider it belongs to.
Events that carry no ``paymentMethod`` (a chargeback) name a payment: the payment is read
through the gateways in turn, and the event goes to the provider whose method's charge it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from psp_core import Payment, ProviderResponseError, WebhookEvent, WebhookVerificationError

from ._webhooks import OTHER_METHOD
from ._wire import loads


class WebhookParser(Protocol):
    """What :func:`route_webhook` needs of a gateway: ``Gateway`` has it."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent: ...

    def get_payment(self, payment_id: str) -> Payment: ...


def route_webhook(gateways: Sequence[WebhookParser], headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """The event in ``body``, parsed by the gateway of its payment method's provider.

    Raises ``WebhookVerificationError`` as ``parse_webhook`` does (answer HTTP 400), and
    with the reason ``other_payment_method`` when no gateway is for the event's method.
    """
    if not gateways:
        raise ValueError("route_webhook needs at least one PPRO gateway; pass one per PPRO provider")
    refusal: WebhookVerificationError | None = None
    for gateway in gateways:
        try:
            event = gateway.parse_webhook(headers, body)
        except WebhookVerificationError as error:
            if error.reason != OTHER_METHOD:
                raise
            refusal = error
            continue
        if event.payment_id is None or len(gateways) == 1 or _names_its_method(body):
            return event
        return _by_payment(gateways, headers, body, event)
    assert refusal is not None
    raise WebhookVerificationError(
        OTHER_METHOD,
        f"no gateway given is for this event's payment method ({refusal}); add a gateway for "
        "that method's provider",
    )


def _names_its_method(body: bytes) -> bool:
    # parse_webhook accepted the body, so it is a signed, well-formed envelope.
    envelope = loads(body)
    data = envelope.get("data") if isinstance(envelope, dict) else None
    return isinstance(data, dict) and data.get("paymentMethod") is not None


def _by_payment(
    gateways: Sequence[WebhookParser], headers: Mapping[str, str], body: bytes, event: WebhookEvent
) -> WebhookEvent:
    """The event, parsed by the gateway whose provider the payment it names belongs to."""
    assert event.payment_id is not None
    for gateway in gateways:
        try:
            gateway.get_payment(event.payment_id)
        except ProviderResponseError:
            continue  # another method's charge
        return gateway.parse_webhook(headers, body)
    raise WebhookVerificationError(
        OTHER_METHOD,
        f"payment {event.payment_id} of this event is no given gateway's method's; add a gateway for "
        "that method's provider",
    )
