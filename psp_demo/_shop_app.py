"""``psp demo --shop``: a small web shop over psp's public API, served on 127.0.0.1.

The shop is what a host platform is: it authorizes through a journalled gateway
(:class:`psp_store.StoredGateway` over a :class:`~psp_core.Gateway`), sends the buyer to the
provider's hosted page (or, for a token-based provider, takes the test card chosen at
checkout), reads the outcome when the buyer returns, hands every webhook to the store
(``ingest``: verified, de-duplicated, folded), and captures, voids and refunds from its order
page. The store holds the payments and mandates; the shop's own tables hold only its orders,
subscriptions and webhook history (:mod:`._shop_records`), in the same SQLite file. It names no
provider: the checkout offers every installed provider that a reach (:mod:`._shop_reach`)
can get to and whose capabilities take the basket, Amazon Pay first.

Handlers are ``async`` (Starlette reads forms asynchronously); gateway calls and every write to
the SQLite file, which block on HTTP or on the file's write lock, run on Starlette's thread pool
so the event loop keeps serving the webhooks that the PSPs send while a call is in flight (reads
never wait: the file is in WAL mode).
"""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar
from urllib.parse import parse_qs

import attrs

from psp_core import (
    AmountType,
    AuthorizeRequest,
    Capabilities,
    CaptureMode,
    CaptureRequest,
    Consumer,
    Frequency,
    FrequencyUnit,
    Gateway,
    Mandate,
    MandateChargeRequest,
    MandateRequest,
    Money,
    Payment,
    PspError,
    RefundReason,
    RefundRequest,
    RevokeMandateRequest,
    VoidRequest,
    create_plugin_manager,
    load_providers,
    provider_names,
)

from . import _shop_pages as pages
from ._shop_pages import MAX_QUANTITY, CartLine, Market, Offer, Product
from ._shop_reach import Reach, TestPaymentMethod, open_reaches
from ._shop_records import OrderRecord, ShopRecords, SubscriptionRecord

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from psp_store import Store, StoredGateway

T = TypeVar("T")

FIRST_PROVIDER = "amazon_pay"
"""Offered first at checkout when installed (the seed's provider)."""

PRODUCTS: tuple[Product, ...] = (
    Product("mug", "Enamel mug", "A blue enamel camping mug, 350 ml.", {"USD": "24.00", "EUR": "22.00"}),
    Product(
        "beans",
        "Coffee beans, 1 kg",
        "Washed Ethiopian beans, roasted this week.",
        {"USD": "32.50", "EUR": "29.90"},
    ),
    Product(
        "grinder",
        "Hand grinder",
        "A steel burr grinder for one cup at a time.",
        {"USD": "89.00", "EUR": "82.00"},
    ),
)
PLAN = Product(
    "beans-monthly",
    "Coffee beans every month",
    "1 kg of this month's beans.",
    {"USD": "32.50", "EUR": "29.90"},
)
MARKETS: tuple[Market, ...] = (
    Market("US", "the United States", "USD"),
    Market("NL", "the Netherlands", "EUR"),
)
CART_COOKIE = "psp_shop_cart"
MARKET_COOKIE = "psp_shop_market"

DONE_NOTICES: Mapping[str, str] = {
    "capture": "The capture was sent to the payment provider.",
    "void": "The void was sent to the payment provider.",
    "refund": "The refund was sent to the payment provider.",
    "refresh": "The status was read from the payment provider.",
    "charge": "The charge was sent to the payment provider.",
    "revoke": "The subscription was revoked at the payment provider.",
}
"""Fixed notices picked by a ``done`` query value, so no text from a URL is ever shown."""


def basket_refusal(
    capabilities: Capabilities, country: str, total: Money, *, recurring: bool = False
) -> str | None:
    """Why a provider with ``capabilities`` cannot take this basket, or None when it can."""
    if recurring and not capabilities.recurring:
        return "takes no subscriptions"
    if total.currency not in capabilities.currencies:
        return f"takes {', '.join(sorted(capabilities.currencies))} only, not {total.currency}"
    if country not in capabilities.countries:
        return f"takes buyers in {', '.join(sorted(capabilities.countries))} only, not {country}"
    limits = capabilities.amount_limits.get(total.currency)
    if limits is not None and not limits.minimum <= total <= limits.maximum:
        return f"takes {limits.minimum.format()} to {limits.maximum.format()}, not {total.format()}"
    return None


def _quantity_of(text: str) -> int | None:
    """A quantity the cart allows (a whole number, 1 to MAX_QUANTITY, ASCII digits), or None.

    Not ``str.isdigit``: it accepts digits ``int`` refuses ("²") and any length ("9" * 5000).
    """
    if not (0 < len(text) <= len(str(MAX_QUANTITY)) and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_QUANTITY else None


def _parse_cart(text: str | None) -> dict[str, int]:
    """The cart cookie (``mug:2|beans:1``); anything unreadable in it is dropped, not trusted."""
    skus = {product.sku for product in PRODUCTS}
    cart: dict[str, int] = {}
    for part in (text or "").split("|"):
        sku, _, count = part.partition(":")
        quantity = _quantity_of(count)
        if sku in skus and quantity is not None:
            cart[sku] = quantity
    return cart


def _shown(text: str, limit: int = 20) -> str:
    """What the buyer sent, quoted and cut short, for an error message (the page escapes it)."""
    return f"'{text}'" if len(text) <= limit else f"'{text[:limit]}...'"


def cart_addition(form: Mapping[str, str], cart: Mapping[str, int]) -> tuple[Product, int]:
    """The product and quantity a cart form adds, checked as the form's own fields are.

    Raises ValueError naming the field and what to enter: a hand-made POST is told what is
    wrong instead of being ignored, and the cart is left as it was.
    """
    sku = _form_text(form, "sku")
    product = next((product for product in PRODUCTS if product.sku == sku), None)
    choices = ", ".join(product.sku for product in PRODUCTS)
    if not sku:
        raise ValueError(f"The product (sku) is missing. Add a product from the product page ({choices}).")
    if product is None:
        raise ValueError(f"The product (sku) {_shown(sku)} is not sold here. Choose one of: {choices}.")
    text = _form_text(form, "quantity")
    wanted = f"Enter a whole number from 1 to {MAX_QUANTITY}."
    if not text:
        raise ValueError(f"The quantity is missing. {wanted}")
    quantity = _quantity_of(text)
    if quantity is None:
        whole = text.isascii() and text.isdigit()
        problem = "is out of range" if whole else "is not a whole number"
        raise ValueError(f"The quantity {_shown(text)} {problem}. {wanted}")
    held = cart.get(product.sku, 0)
    if held + quantity > MAX_QUANTITY:
        room = MAX_QUANTITY - held
        advice = f"Enter a quantity from 1 to {room}." if room else "No more can be added."
        raise ValueError(
            f"The quantity: the cart holds at most {MAX_QUANTITY} of {product.name} and has {held} "
            f"already. {advice}"
        )
    return product, quantity


def _cart_cookie(cart: Mapping[str, int]) -> str:
    return "|".join(f"{sku}:{count}" for sku, count in cart.items())


def _market(request: Request) -> Market:
    country = request.cookies.get(MARKET_COOKIE)
    return next((market for market in MARKETS if market.country == country), MARKETS[0])


def _lines(request: Request, market: Market) -> tuple[list[CartLine], Money]:
    cart = _parse_cart(request.cookies.get(CART_COOKIE))
    lines = []
    total = Money.zero(market.currency)
    for product in PRODUCTS:
        count = cart.get(product.sku)
        if count:
            line_total = Money(product.price(market.currency).minor * count, market.currency)
            lines.append(CartLine(product, count, line_total))
            total = total + line_total
    return lines, total


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def _read_form(request: Request) -> dict[str, str]:
    """The urlencoded form the shop's pages post (the last value of each field).

    Parsed with the standard library: every form here is plain urlencoded, so the
    multipart parser Starlette's ``request.form()`` would need is not worth a dependency.
    """
    body = (await request.body()).decode("utf-8", "replace")
    return {key: values[-1] for key, values in parse_qs(body).items()}


def _form_text(form: Mapping[str, str], name: str) -> str:
    return form.get(name, "").strip()


class Shop:
    """The shop's pages and actions over one journalled gateway per reachable provider.

    ``store`` holds the payments and mandates (every write journalled, every webhook folded
    there); ``records`` holds what only the shop knows: orders, subscriptions, the history view.
    """

    def __init__(
        self,
        records: ShopRecords,
        store: Store,
        gateways: Mapping[str, StoredGateway],
        base_url: str,
        payment_methods: Mapping[str, Sequence[TestPaymentMethod]] | None = None,
    ) -> None:
        self.records = records
        self.store = store
        self.gateways = dict(gateways)
        self.base_url = base_url
        self.payment_methods = dict(payment_methods or {})
        """Per token-based provider: the test payment methods the checkout offers as its token."""

    # -- providers -------------------------------------------------------------------------

    def provider_order(self) -> list[str]:
        return sorted(self.gateways, key=lambda name: (name != FIRST_PROVIDER, name))

    def offers(self, market: Market, total: Money, *, recurring: bool = False) -> list[Offer]:
        return [
            Offer(
                name,
                self.gateways[name].gateway.info.display_name,
                basket_refusal(
                    self.gateways[name].gateway.capabilities, market.country, total, recurring=recurring
                ),
                tuple((method.token, method.label) for method in self.payment_methods.get(name, ())),
            )
            for name in self.provider_order()
        ]

    def display_name(self, provider: str) -> str:
        gateway = self.gateways.get(provider)
        return gateway.gateway.info.display_name if gateway else provider

    def webhook_url(self, provider: str) -> str:
        return f"{self.base_url}/webhooks/{provider}"

    def payment_method_token(self, provider: str, form: Mapping[str, str]) -> str | None:
        """The test payment method chosen for a token-based provider (None: it takes no token).

        Raises ValueError when the form names none of the offered ones.
        """
        methods = self.payment_methods.get(provider)
        if not methods:
            return None
        chosen = _form_text(form, f"payment_method_{provider}")
        if chosen not in {method.token for method in methods}:
            raise ValueError(f"Choose one of the test cards offered for {self.display_name(provider)}.")
        return chosen

    def payment(self, order: OrderRecord) -> Payment | None:
        """The order's payment, as the store holds it."""
        if order.payment_id is None:
            return None
        return self.store.get_payment(order.payment_id, provider=order.provider)

    def mandate(self, subscription: SubscriptionRecord) -> Mandate | None:
        if subscription.mandate_id is None:
            return None
        return self.store.get_mandate(subscription.mandate_id, provider=subscription.provider)

    # -- the web application ---------------------------------------------------------------

    def app(self) -> Starlette:
        from starlette.applications import Starlette
        from starlette.routing import Route

        return Starlette(
            routes=[
                Route("/", self._products),
                Route("/cart", self._cart, methods=["GET"]),
                Route("/cart", self._add_to_cart, methods=["POST"]),
                Route("/cart/market", self._change_market, methods=["POST"]),
                Route("/cart/clear", self._clear_cart, methods=["POST"]),
                Route("/checkout", self._checkout, methods=["GET", "POST"]),
                Route("/return/{order_id}", self._return),
                Route("/orders", self._orders),
                Route("/orders/{order_id}", self._order),
                Route("/orders/{order_id}/{action}", self._order_action, methods=["POST"]),
                Route("/subscriptions", self._subscriptions, methods=["GET", "POST"]),
                Route("/subscriptions/{subscription_id}", self._subscription),
                Route("/subscriptions/{subscription_id}/return", self._subscription_return),
                Route(
                    "/subscriptions/{subscription_id}/{action}", self._subscription_action, methods=["POST"]
                ),
                Route("/webhooks/{provider}", self._webhook, methods=["POST"]),
            ]
        )

    @staticmethod
    def _html(body: str, status_code: int = 200) -> Response:
        from starlette.responses import HTMLResponse

        return HTMLResponse(body, status_code=status_code)

    @staticmethod
    def _see(url: str) -> Response:
        from starlette.responses import RedirectResponse

        return RedirectResponse(url, status_code=303)

    @staticmethod
    async def _call(function: Callable[..., T], *args: object) -> T:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(function, *args)

    def _not_found(self, what: str) -> Response:
        return self._html(pages.not_found_page(what), 404)

    # products and cart

    async def _products(self, request: Request) -> Response:
        return self._html(pages.products_page(PRODUCTS, _market(request)))

    async def _cart(self, request: Request) -> Response:
        return self._cart_page(request)

    def _cart_page(self, request: Request, error: str | None = None) -> Response:
        """The cart as its cookies hold it; with ``error``, the refusal of a form (422), as the
        checkout and order pages refuse theirs."""
        market = _market(request)
        lines, total = _lines(request, market)
        return self._html(pages.cart_page(lines, total, MARKETS, market, error=error), 422 if error else 200)

    async def _add_to_cart(self, request: Request) -> Response:
        form = await _read_form(request)
        cart = _parse_cart(request.cookies.get(CART_COOKIE))
        try:
            product, quantity = cart_addition(form, cart)
        except ValueError as error:
            return self._cart_page(request, str(error))  # no cookie is set: the cart stays as it was
        cart[product.sku] = cart.get(product.sku, 0) + quantity
        response = self._see("/cart")
        response.set_cookie(CART_COOKIE, _cart_cookie(cart), samesite="lax", httponly=True)
        return response

    async def _change_market(self, request: Request) -> Response:
        form = await _read_form(request)
        country = _form_text(form, "country")
        if not any(market.country == country for market in MARKETS):
            choices = ", ".join(f"{market.country} ({market.name})" for market in MARKETS)
            given = (
                f"The country (country) {_shown(country)} is not" if country else "No country (country) is"
            )
            return self._cart_page(request, f"{given} one the shop ships to. Choose one of: {choices}.")
        response = self._see("/cart")
        response.set_cookie(MARKET_COOKIE, country, samesite="lax", httponly=True)
        return response

    async def _clear_cart(self, request: Request) -> Response:
        response = self._see("/cart")
        response.delete_cookie(CART_COOKIE)
        return response

    # checkout and return

    async def _checkout(self, request: Request) -> Response:
        market = _market(request)
        lines, total = _lines(request, market)
        offers = self.offers(market, total)
        if request.method == "GET" or not lines:
            return self._html(pages.checkout_page(lines, total, market, offers))
        form = await _read_form(request)
        provider, name, email = (
            _form_text(form, "provider"),
            _form_text(form, "name"),
            _form_text(form, "email"),
        )

        def refuse(message: str) -> Response:
            page = pages.checkout_page(lines, total, market, offers, error=message, name=name, email=email)
            return self._html(page, 422)

        if provider not in {offer.provider for offer in offers if offer.refusal is None}:
            return refuse("Choose one of the payment methods offered below.")
        try:
            token = self.payment_method_token(provider, form)
        except ValueError as error:
            return refuse(str(error))
        order_id = _new_id("order")
        description = ", ".join(f"{line.quantity} x {line.product.name}" for line in lines)
        gateway = self.gateways[provider]
        separate = _form_text(form, "capture") == "separate"
        try:
            payment = await self._call(
                gateway.authorize,
                AuthorizeRequest(
                    amount=total,
                    consumer=Consumer(country=market.country, name=name or None, email=email or None),
                    return_url=f"{self.base_url}/return/{order_id}",
                    merchant_reference=order_id,
                    capture_mode=CaptureMode.SEPARATE if separate else CaptureMode.AUTOMATIC,
                    webhook_url=self.webhook_url(provider),
                    description=f"psp demo shop {order_id}",
                    payment_method_token=token,
                ),
            )
        except PspError as error:
            return refuse(str(error))
        now = datetime.now(UTC)
        await self._call(
            self.records.add_order,
            OrderRecord(order_id, now, description, market.country, total, provider, payment.id),
        )
        response = self._see(
            payment.next_action.url if payment.next_action is not None else f"/orders/{order_id}"
        )
        response.delete_cookie(CART_COOKIE)
        return response

    async def _return(self, request: Request) -> Response:
        """The buyer is back from the hosted page: read the outcome from the provider, not the URL."""
        order = self.records.order(request.path_params["order_id"])
        if order is None or order.payment_id is None:
            return self._not_found("There is no such order.")
        gateway = self.gateways[order.provider]
        try:
            fresh = await self._call(gateway.get_payment, order.payment_id)
        except PspError as error:
            stored = self.payment(order)
            events = self.records.events_about([order.payment_id])
            page = pages.order_page(
                order, stored, events, self.display_name(order.provider), error=str(error)
            )
            return self._html(page, 502)
        return self._html(pages.return_page(order, fresh))

    # orders

    async def _orders(self, request: Request) -> Response:
        listing = [(order, self.payment(order)) for order in self.records.orders()]
        return self._html(pages.orders_page(listing))

    def _order_page(
        self,
        order: OrderRecord,
        *,
        error: str | None = None,
        notice: str | None = None,
        status_code: int = 200,
    ) -> Response:
        payment = self.payment(order)
        events = self.records.events_about([order.payment_id]) if order.payment_id else []
        page = pages.order_page(
            order, payment, events, self.display_name(order.provider), error=error, notice=notice
        )
        return self._html(page, status_code)

    async def _order(self, request: Request) -> Response:
        order = self.records.order(request.path_params["order_id"])
        if order is None:
            return self._not_found("There is no such order.")
        return self._order_page(order, notice=DONE_NOTICES.get(request.query_params.get("done", "")))

    async def _order_action(self, request: Request) -> Response:
        order = self.records.order(request.path_params["order_id"])
        action = request.path_params["action"]
        if order is None or order.payment_id is None:
            return self._not_found("There is no such order.")
        payment = self.payment(order)
        if payment is None or action not in ("capture", "void", "refund", "refresh"):
            return self._not_found("There is no such action on this order.")
        gateway = self.gateways[order.provider]
        form = await _read_form(request)
        text = _form_text(form, "amount")
        try:
            amount = Money.parse(text, payment.amount.currency) if text else None
        except ValueError as error:
            return self._order_page(
                order,
                error=f"The amount to {action}: {error}. Enter an amount such as 10.00.",
                status_code=422,
            )
        reference = f"{order.id}-{action}-{len(payment.operations) + 1}"
        call: Callable[[], Payment]
        if action == "capture":
            call = lambda: gateway.capture(CaptureRequest(payment, amount, merchant_reference=reference))  # noqa: E731
        elif action == "void":
            call = lambda: gateway.void(VoidRequest(payment, amount, merchant_reference=reference))  # noqa: E731
        elif action == "refund":
            call = lambda: gateway.refund(  # noqa: E731
                RefundRequest(
                    payment, amount, reason=RefundReason.CUSTOMER_REQUEST, merchant_reference=reference
                )
            )
        else:
            call = lambda: gateway.get_payment(payment.id)  # noqa: E731
        try:
            await self._call(call)
        except PspError as error:
            return self._order_page(order, error=str(error), status_code=422)
        return self._see(f"/orders/{order.id}?done={action}")

    # subscriptions

    async def _subscriptions(self, request: Request) -> Response:
        market = _market(request)
        price = PLAN.price(market.currency)
        offers = self.offers(market, price, recurring=True)
        listing = [(sub, self.mandate(sub)) for sub in self.records.subscriptions()]
        if request.method == "GET":
            return self._html(pages.subscriptions_page(PLAN, market, offers, listing))
        form = await _read_form(request)
        provider, name, email = (
            _form_text(form, "provider"),
            _form_text(form, "name"),
            _form_text(form, "email"),
        )

        def refuse(message: str) -> Response:
            return self._html(pages.subscriptions_page(PLAN, market, offers, listing, error=message), 422)

        if provider not in {offer.provider for offer in offers if offer.refusal is None}:
            return refuse("Choose one of the payment methods offered.")
        try:
            token = self.payment_method_token(provider, form)
        except ValueError as error:
            return refuse(str(error))
        gateway = self.gateways[provider]
        subscription_id = _new_id("sub")
        now = gateway.gateway.clock()
        try:
            mandate = await self._call(
                gateway.create_mandate,
                MandateRequest(
                    consumer=Consumer(country=market.country, name=name or None, email=email or None),
                    return_url=f"{self.base_url}/subscriptions/{subscription_id}/return",
                    start=now,
                    merchant_reference=subscription_id,
                    frequency=Frequency(FrequencyUnit.MONTHLY),
                    amount=price,
                    amount_type=AmountType.MAX,
                    description=PLAN.name,
                    webhook_url=self.webhook_url(provider),
                    payment_method_token=token,
                ),
            )
        except PspError as error:
            return refuse(str(error))
        record = SubscriptionRecord(
            subscription_id, datetime.now(UTC), PLAN.name, price, provider, mandate.id
        )
        await self._call(self.records.add_subscription, record)
        if mandate.next_action is not None:
            return self._see(mandate.next_action.url)
        return self._see(f"/subscriptions/{subscription_id}")

    def _subscription_page(
        self,
        subscription: SubscriptionRecord,
        *,
        error: str | None = None,
        notice: str | None = None,
        status_code: int = 200,
    ) -> Response:
        mandate = self.mandate(subscription)
        charges = [
            (order, self.payment(order)) for order in self.records.orders(subscription_id=subscription.id)
        ]
        events = self.records.events_about([subscription.mandate_id]) if subscription.mandate_id else []
        page = pages.subscription_page(
            subscription,
            mandate,
            charges,
            events,
            self.display_name(subscription.provider),
            error=error,
            notice=notice,
        )
        return self._html(page, status_code)

    async def _subscription(self, request: Request) -> Response:
        subscription = self.records.subscription(request.path_params["subscription_id"])
        if subscription is None:
            return self._not_found("There is no such subscription.")
        return self._subscription_page(
            subscription, notice=DONE_NOTICES.get(request.query_params.get("done", ""))
        )

    async def _subscription_return(self, request: Request) -> Response:
        subscription = self.records.subscription(request.path_params["subscription_id"])
        if subscription is None or subscription.mandate_id is None:
            return self._not_found("There is no such subscription.")
        gateway = self.gateways[subscription.provider]
        try:
            await self._call(gateway.get_mandate, subscription.mandate_id)
        except PspError as error:
            return self._subscription_page(subscription, error=str(error), status_code=502)
        return self._see(f"/subscriptions/{subscription.id}?done=refresh")

    async def _subscription_action(self, request: Request) -> Response:
        subscription = self.records.subscription(request.path_params["subscription_id"])
        action = request.path_params["action"]
        if (
            subscription is None
            or subscription.mandate_id is None
            or action not in ("charge", "revoke", "refresh")
        ):
            return self._not_found("There is no such subscription or action.")
        mandate_id = subscription.mandate_id
        gateway = self.gateways[subscription.provider]
        try:
            if action == "charge":
                form = await _read_form(request)
                text = _form_text(form, "amount")
                try:
                    amount = Money.parse(text, subscription.monthly.currency)
                except ValueError as error:
                    return self._subscription_page(
                        subscription,
                        error=f"The amount to charge: {error}. Enter an amount such as 10.00.",
                        status_code=422,
                    )
                order_id = _new_id("order")
                payment = await self._call(
                    gateway.charge_mandate,
                    MandateChargeRequest(
                        mandate_id=mandate_id,
                        amount=amount,
                        merchant_reference=order_id,
                        webhook_url=self.webhook_url(subscription.provider),
                        description=f"psp demo shop {subscription.description}",
                    ),
                )
                # The buyer's market is the one whose currency the subscription is priced in.
                country = next(m.country for m in MARKETS if m.currency == subscription.monthly.currency)
                await self._call(
                    self.records.add_order,
                    OrderRecord(
                        order_id,
                        datetime.now(UTC),
                        f"{subscription.description} (subscription {subscription.id})",
                        country,
                        amount,
                        subscription.provider,
                        payment.id,
                        subscription.id,
                    ),
                )
            elif action == "revoke":
                await self._call(gateway.revoke_mandate, RevokeMandateRequest(mandate_id))
            else:
                await self._call(gateway.get_mandate, mandate_id)
        except PspError as error:
            return self._subscription_page(subscription, error=str(error), status_code=422)
        return self._see(f"/subscriptions/{subscription.id}?done={action}")

    # webhooks

    async def _webhook(self, request: Request) -> Response:
        """The endpoint the provider calls: the store verifies and folds it; 200, or 400 if forged."""
        from starlette.responses import PlainTextResponse

        stored = self.gateways.get(request.path_params["provider"])
        if stored is None:
            return PlainTextResponse("no such provider in this shop\n", status_code=404)
        headers, body = dict(request.headers), await request.body()

        def ingest() -> None:
            stored.ingest(headers, body)
            # The store's inbox de-duplicates and folds; the history view keeps its own list of
            # what arrived (the store answers with the payment, not the event), from the same bytes.
            self.records.add_event(stored.gateway.parse_webhook(headers, body))

        try:
            await self._call(ingest)
        except PspError as error:
            return PlainTextResponse(f"refused: {error}\n", status_code=400)
        return PlainTextResponse("ok\n")


@attrs.frozen
class RunningShop:
    """A shop on loopback: its URL, the shop itself, the reaches it started, and why not others."""

    base_url: str
    shop: Shop
    reaches: Sequence[Reach]
    not_reached: Sequence[str] = ()
    """One line per PSP stand-in that could not start (its providers are not offered)."""


def _gateways(reaches: Sequence[Reach], stack: ExitStack) -> tuple[dict[str, Gateway], dict[str, Reach]]:
    plugin_manager = create_plugin_manager()
    # Providers are imported on first use; the shop offers every installed one, so load them all.
    load_providers(plugin_manager)
    gateways: dict[str, Gateway] = {}
    reached_by: dict[str, Reach] = {}
    for name in provider_names(plugin_manager):
        plugin = plugin_manager.get_plugin(name)
        for reach in reaches:
            gateway = reach.gateway(name, plugin, plugin_manager)
            if gateway is None:
                continue
            stack.callback(gateway.close)
            gateways[name], reached_by[name] = gateway, reach
            break
    return gateways, reached_by


@contextmanager
def running_shop(
    database: str | Path | None = None, startup_timeout_s: float = 120.0
) -> Iterator[RunningShop]:
    """Start the PSP stand-ins and the shop on 127.0.0.1; stop all of them on exit.

    ``startup_timeout_s`` only guards against a shop that never starts: on a busy machine a
    start takes far longer than usual, and that must not fail the shop (or a test using it).

    ``database`` is the SQLite file the store (payments, mandates, journal, inbox) and the shop's
    own tables share; None: a file in a temporary folder, deleted on exit.
    """
    import uvicorn

    from psp_store import Store, StoredGateway

    with ExitStack() as stack:
        if database is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="psp-shop-"))
            database = Path(folder) / "shop.sqlite3"
        # The shop's port is taken first: the requests it sends name its return and webhook URLs.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stack.callback(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        reaches, not_reached = open_reaches(stack, base_url)
        store = Store(database)
        stack.callback(store.close)
        records = ShopRecords(database)
        stack.callback(records.close)
        gateways, reached_by = _gateways(reaches, stack)
        shop = Shop(
            records,
            store,
            {name: StoredGateway(gateway, store) for name, gateway in gateways.items()},
            base_url,
            {name: reach.test_payment_methods(name) for name, reach in reached_by.items()},
        )
        config = uvicorn.Config(shop.app(), log_level="warning", lifespan="off", access_log=False)
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="shop-uvicorn", daemon=True
        )
        thread.start()

        def stop() -> None:
            server.should_exit = True
            thread.join(timeout=10)

        stack.callback(stop)
        started = threading.Event()
        deadline = threading.Timer(startup_timeout_s, started.set)
        deadline.start()
        while not server.started and not started.is_set() and thread.is_alive():
            started.wait(0.02)
        deadline.cancel()
        if not server.started:
            raise RuntimeError(f"the shop did not start within {startup_timeout_s} s on {base_url}")
        yield RunningShop(base_url, shop, reaches, not_reached)


def main(args: argparse.Namespace, out: TextIO | None = None, stop: threading.Event | None = None) -> int:
    """``psp demo --shop``: serve the shop until Ctrl-C (or until ``stop`` is set)."""
    stream = out or sys.stdout
    stop = stop or threading.Event()
    with tempfile.TemporaryDirectory(prefix="psp-shop-") as folder:
        database = Path(folder) / "shop.sqlite3"
        with running_shop(database) as running:
            for reach in running.reaches:
                print(f"Started {reach.describe()}", file=stream)
            for reason in running.not_reached:
                print(reason, file=stream)
            print(f"Providers in the shop: {', '.join(running.shop.provider_order()) or 'none'}", file=stream)
            print(f"Payments and orders are kept in {database} (deleted on exit)", file=stream)
            print(f"psp demo shop: open {running.base_url}/ in your browser; Ctrl-C stops it", file=stream)
            stream.flush()
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
        print("psp demo shop stopped", file=stream)
        stream.flush()
    return 0
