"""One PPRO webhook URL for every method: hand each event to the provider of its ``paymentMethod``.

PPRO sends the events of all a merchant's methods to the account's webhook URL. Each PPRO
provider verifies the signature and accepts only its own method's events; a signed event of
another method is refused with the reason :data:`OTHER_METHOD`. :func:`route_webhook` asks the
host's PPRO gateways in turn, so the event comes back named after the provider it belongs to.
Events that carry no ``paymentMethod`` (a chargeback) go to the first gateway: the payment id
they name is how the host finds the payment, whichever provider made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from psp_core import WebhookEvent, WebhookVerificationError

from ._webhooks import OTHER_METHOD


class WebhookParser(Protocol):
    """What :func:`route_webhook` needs of a gateway: ``Gateway`` has it."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent: ...


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
            return gateway.parse_webhook(headers, body)
        except WebhookVerificationError as error:
            if error.reason != OTHER_METHOD:
                raise
            refusal = error
    assert refusal is not None
    raise WebhookVerificationError(
        OTHER_METHOD,
        f"no gateway given is for this event's payment method ({refusal}); add a gateway for "
        "that method's provider",
    )
