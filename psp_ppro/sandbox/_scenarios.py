"""Scenario knobs: make the sandbox produce the PPRO charge states a happy path never shows.

Every state comes from PPRO's documents, not from what the plugin expects:

* ``AUTHORIZATION_PROCESSING`` with no authorization yet: "The initial status when a payment
  charge is created" (https://developerhub.ppro.com/global-api/docs/api-object-payment-charge).
  ``authorization_processing_s`` keeps a new charge there on the sandbox clock.
* ``AUTHORIZATION_ASYNC`` with an authorization in ``PROVIDER_CONFIRMATION_PENDING`` and the
  ``PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING`` event: the method "cannot confirm funds in real
  time" (same page; webhooks page https://developerhub.ppro.com/global-api/docs/webhooks).
  ``provider_confirmation`` turns it on; PPRO's mock processor confirms after
  ``providerConfirmationDelay`` (default 10 s, https://developerhub.ppro.com/global-api/docs/mock-processor),
  here ``provider_confirmation_delay_s`` (``None``: only the admin route settles it, with
  approve, decline or timeout, the last a discard of type PROVIDER_CONFIRMATION_TIMEOUT).
* ``CAPTURE_PROCESSING`` on an automatic capture: ``capture_processing_s`` holds the capture.
* ``DISCARDED`` by the merchant (discard type MERCHANT_INITIATED_DISCARD): PPRO's webhook page
  says a charge is discarded when "the discard endpoint was called", but no published document
  gives that endpoint's path, so the sandbox offers it as an admin route only.
* Amazon Pay buyers pay "using the shipping and payment details saved in their Amazon account"
  (the product page). With ``buyer_details`` on (the default), an approved charge reports the
  buyer's email, billing address and, unless the order is VIRTUAL, shipping address where the
  merchant sent none. That PPRO echoes them on the charge is the sandbox's decision: no PPRO
  document says which consumer fields Amazon Pay fills in.
"""

from __future__ import annotations

from typing import Any

from attrs import define, fields_dict

from ._errors import bad_request
from ._models import Json

AMAZON_BUYER: Json = {
    "email": "buyer@amazon-sandbox.example",
    "billingAddress": {
        "firstName": "Sandbox",
        "lastName": "Buyer",
        "street": "410 Terry Ave N",
        "postalCode": "98109",
        "city": "Seattle",
        "region": "WA",
        "country": "US",
    },
}
"""The simulated Amazon account every sandbox buyer pays with."""

PROVIDER_OUTCOMES = ("approve", "decline", "timeout")


@define
class Scenarios:
    """Mutable knobs, changed through ``POST /__sandbox__/scenarios`` or directly."""

    authorization_processing_s: float | None = 0
    provider_confirmation: bool = False
    provider_confirmation_delay_s: float | None = 10
    capture_processing_s: float | None = 0
    buyer_details: bool = True

    def update(self, data: dict[str, Any]) -> None:
        """Apply admin JSON; a wrong name or type is a 400 naming it, and nothing changes."""
        checked: dict[str, Any] = {}
        for name, value in data.items():
            known = fields_dict(Scenarios)
            if name not in known:
                raise bad_request(f"unknown scenario setting {name}; known: {', '.join(known)}")
            if name in ("provider_confirmation", "buyer_details"):
                if not isinstance(value, bool):
                    raise bad_request(f"{name} must be true or false")
            elif value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                raise bad_request(f"{name} must be a number of seconds >= 0, or null for 'until told'")
            checked[name] = value
        for name, value in checked.items():
            setattr(self, name, value)
