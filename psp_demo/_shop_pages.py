"""The demo shop's pages: plain server-rendered HTML, every value escaped, a little CSS.

Each page has one ``h1``, a label for every form control and only links the shop serves
(tests/shop checks all three). Amounts are shown with :meth:`Money.format`; statuses in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape

import attrs

from psp_core import (
    Decline,
    Mandate,
    MandateStatus,
    Money,
    Operation,
    OperationStatus,
    Payment,
    PaymentStatus,
    WebhookEvent,
)

from ._shop_records import OrderRecord, SubscriptionRecord

MAX_QUANTITY = 99
"""The most of one product a cart holds: the form's limit and the cart's rule are this one number."""

PAYMENT_WORDS: Mapping[PaymentStatus, str] = {
    PaymentStatus.PENDING: "Created, waiting for the payment provider",
    PaymentStatus.REQUIRES_ACTION: "Waiting for the buyer to approve the payment",
    PaymentStatus.PROCESSING: "Approved, the payment provider is still processing it",
    PaymentStatus.AUTHORIZED: "Authorized: the money is reserved and waits to be captured",
    PaymentStatus.PARTIALLY_CAPTURED: "Partly captured: some of the reserved money was taken",
    PaymentStatus.CAPTURED: "Paid",
    PaymentStatus.PARTIALLY_REFUNDED: "Paid, partly refunded",
    PaymentStatus.REFUNDED: "Refunded in full",
    PaymentStatus.VOIDED: "Cancelled by the shop: the reserved money was released",
    PaymentStatus.DECLINED: "Declined",
    PaymentStatus.FAILED: "Not paid: the payment failed or the buyer cancelled it",
    PaymentStatus.EXPIRED: "Expired: the buyer did not approve in time",
    PaymentStatus.CHARGED_BACK: "Charged back by the buyer's bank",
}
"""What each payment status means to a shop keeper."""

MANDATE_WORDS: Mapping[MandateStatus, str] = {
    MandateStatus.PENDING: "Created, waiting for the payment provider",
    MandateStatus.REQUIRES_ACTION: "Waiting for the buyer to approve the subscription",
    MandateStatus.ACTIVE: "Active: the shop may charge it",
    MandateStatus.FAILED: "Not set up: the buyer declined or cancelled, or it expired",
    MandateStatus.REVOKED: "Revoked: no further charges",
}

OPERATION_WORDS: Mapping[OperationStatus, str] = {
    OperationStatus.PENDING: "pending",
    OperationStatus.SUCCEEDED: "done",
    OperationStatus.FAILED: "failed",
}

_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:0 1rem 3rem;color:#1d1d1f}
header{display:flex;gap:1.5rem;align-items:baseline;border-bottom:1px solid #ddd;margin-bottom:1rem}
header a{color:#0b57d0}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .8rem .3rem 0;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
form.inline{display:inline-block;margin:0 1rem .5rem 0;padding:.6rem;border:1px solid #ddd;border-radius:6px}
.status{font-size:1.2rem;font-weight:600}
.error{background:#fde8e8;border:1px solid #d93025;padding:.5rem;border-radius:4px}
.notice{background:#e6f4ea;border:1px solid #188038;padding:.5rem;border-radius:4px}
button{padding:.3rem .8rem}
label{margin-right:.5rem}
"""


@attrs.frozen
class Product:
    sku: str
    name: str
    blurb: str
    prices: Mapping[str, str]
    """Currency -> decimal price; the buyer's market picks the currency."""

    def price(self, currency: str) -> Money:
        return Money.parse(self.prices[currency], currency)


@attrs.frozen
class Market:
    country: str
    name: str
    currency: str


@attrs.frozen
class CartLine:
    product: Product
    quantity: int
    total: Money


@attrs.frozen
class Offer:
    """A provider at checkout: offered, or not and why."""

    provider: str
    display_name: str
    refusal: str | None = None
    payment_methods: tuple[tuple[str, str], ...] = ()
    """(token, label) of each test payment method a token-based provider is offered with."""


def _payment_method_choices(offered: Sequence[Offer], prefix: str) -> str:
    """A test-card choice for each offered token-based provider (sent as its payment method token)."""
    choices = ""
    for offer in offered:
        if not offer.payment_methods:
            continue
        field = f"{prefix}payment-method-{escape(offer.provider)}"
        options = "".join(
            f'<option value="{escape(token)}">{escape(label)}</option>'
            for token, label in offer.payment_methods
        )
        choices += (
            f'<p><label for="{field}">Test card for {escape(offer.display_name)}</label>'
            f'<select id="{field}" name="payment_method_{escape(offer.provider)}">{options}</select></p>'
        )
    return choices


def page(title: str, body: str, *, status_line: str = "") -> str:
    """A whole page: ``title`` is the one h1, ``body`` HTML built by the functions below."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - psp demo shop</title><style>{_CSS}</style></head>\n<body>"
        '<header><p><strong>psp demo shop</strong></p><nav aria-label="Shop">'
        '<a href="/">Products</a> · <a href="/cart">Cart</a> · <a href="/orders">Orders</a> · '
        '<a href="/subscriptions">Subscriptions</a></nav></header>\n'
        f"<main><h1>{escape(title)}</h1>{status_line}\n{body}</main></body></html>\n"
    )


def error_box(message: str | None) -> str:
    return "" if not message else f'<p class="error" role="alert">{escape(message)}</p>'


def notice_box(message: str | None) -> str:
    return "" if not message else f'<p class="notice" role="status">{escape(message)}</p>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, label: str) -> str:
    """A table whose cells are already HTML (escape values before passing them)."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table aria-label="{escape(label)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _when(moment: datetime | None) -> str:
    return "" if moment is None else escape(moment.strftime("%Y-%m-%d %H:%M:%S UTC"))


def _decline(decline: Decline | None) -> str:
    if decline is None:
        return ""
    reason = decline.code.value.replace("_", " ")
    message = f": {decline.message}" if decline.message else ""
    return (
        f"<p>Reason: <strong>{escape(reason)}</strong>{escape(message)} ({escape(decline.provider_code)})</p>"
    )


# -- products and cart ---------------------------------------------------------------------


def products_page(products: Sequence[Product], market: Market, notice: str | None = None) -> str:
    cards = []
    for product in products:
        price = product.price(market.currency).format()
        field = f"qty-{escape(product.sku)}"
        cards.append(
            f'<section aria-labelledby="p-{escape(product.sku)}"><h2 id="p-{escape(product.sku)}">'
            f"{escape(product.name)}</h2><p>{escape(product.blurb)}</p><p>Price: <strong>{escape(price)}"
            f'</strong></p><form method="post" action="/cart">'
            f'<input type="hidden" name="sku" value="{escape(product.sku)}">'
            f'<label for="{field}">Quantity</label>'
            f'<input id="{field}" name="quantity" type="number" min="1" max="{MAX_QUANTITY}" value="1">'
            f'<button type="submit">Add {escape(product.name)} to cart</button></form></section>'
        )
    return page(
        "Products",
        notice_box(notice)
        + f"<p>Prices for {escape(market.name)} in {escape(market.currency)}.</p>"
        + "".join(cards),
    )


def _market_form(markets: Sequence[Market], chosen: Market) -> str:
    options = "".join(
        f'<option value="{escape(m.country)}"{" selected" if m == chosen else ""}>'
        f"{escape(m.name)} ({escape(m.currency)})</option>"
        for m in markets
    )
    return (
        '<form method="post" action="/cart/market"><label for="country">Ship to</label>'
        f'<select id="country" name="country">{options}</select>'
        '<button type="submit">Change country</button></form>'
    )


def cart_page(
    lines: Sequence[CartLine],
    total: Money,
    markets: Sequence[Market],
    market: Market,
    error: str | None = None,
) -> str:
    if not lines:
        body = '<p>Your cart is empty. <a href="/">Browse the products</a>.</p>'
    else:
        rows = [
            (
                escape(line.product.name),
                str(line.quantity),
                f'<span class="num">{escape(line.total.format())}</span>',
            )
            for line in lines
        ]
        body = (
            _table(("Product", "Quantity", "Price"), rows, label="Cart")
            + f'<p>Total: <strong id="cart-total">{escape(total.format())}</strong></p>'
            + '<p><a href="/checkout">Go to checkout</a></p>'
            + '<form method="post" action="/cart/clear"><button type="submit">Empty the cart</button></form>'
        )
    return page("Your cart", error_box(error) + _market_form(markets, market) + body)


def checkout_page(
    lines: Sequence[CartLine],
    total: Money,
    market: Market,
    offers: Sequence[Offer],
    *,
    error: str | None = None,
    name: str = "",
    email: str = "",
) -> str:
    if not lines:
        return page("Checkout", '<p>Your cart is empty. <a href="/">Browse the products</a>.</p>')
    offered = [offer for offer in offers if offer.refusal is None]
    refused = [offer for offer in offers if offer.refusal is not None]
    summary = (
        f"<p>{escape(', '.join(f'{line.quantity} x {line.product.name}' for line in lines))}, "
        f"shipped to {escape(market.name)}. Total: <strong>{escape(total.format())}</strong></p>"
    )
    if not offered:
        choices = "<p>No installed payment provider can take this basket.</p>"
    else:
        radios = "".join(
            f'<p><input type="radio" id="provider-{escape(o.provider)}" name="provider" '
            f'value="{escape(o.provider)}"{" checked" if i == 0 else ""}>'
            f'<label for="provider-{escape(o.provider)}">{escape(o.display_name)}</label></p>'
            for i, o in enumerate(offered)
        )
        choices = (
            '<form method="post" action="/checkout"><fieldset><legend>Pay with</legend>'
            f"{radios}</fieldset>{_payment_method_choices(offered, '')}"
            '<p><label for="name">Your name</label>'
            f'<input id="name" name="name" required value="{escape(name)}"></p>'
            '<p><label for="email">Email</label>'
            f'<input id="email" name="email" type="email" value="{escape(email)}"></p>'
            '<p><input type="checkbox" id="capture-later" name="capture" value="separate">'
            '<label for="capture-later">Reserve now, capture when shipped (separate capture)</label></p>'
            '<button type="submit">Pay now</button></form>'
        )
    not_offered = ""
    if refused:
        items = "".join(f"<li>{escape(o.display_name)}: {escape(o.refusal or '')}</li>" for o in refused)
        not_offered = f"<h2>Not offered for this basket</h2><ul>{items}</ul>"
    return page("Checkout", error_box(error) + summary + choices + not_offered)


# -- orders --------------------------------------------------------------------------------


def return_page(order: OrderRecord, payment: Payment) -> str:
    paid = payment.status in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED, PaymentStatus.PROCESSING)
    title = "Thank you for your order" if paid else "Your payment did not go through"
    body = (
        f'<p class="status" id="outcome">{escape(PAYMENT_WORDS[payment.status])}</p>'
        f"{_decline(payment.decline)}"
        f"<p>Order {escape(order.id)}: {escape(order.description)}, {escape(order.total.format())}.</p>"
        f'<p><a href="/orders/{escape(order.id)}">See the order</a></p>'
    )
    return page(title, body)


def orders_page(orders: Sequence[tuple[OrderRecord, Payment | None]]) -> str:
    if not orders:
        return page("Orders", '<p>No orders yet. <a href="/">Browse the products</a>.</p>')
    rows = [
        (
            f'<a href="/orders/{escape(order.id)}">{escape(order.id)}</a>',
            escape(order.description),
            escape(order.total.format()),
            escape(PAYMENT_WORDS[payment.status] if payment else "No payment yet"),
        )
        for order, payment in orders
    ]
    return page("Orders", _table(("Order", "What", "Total", "Status"), rows, label="Orders"))


def _amount_form(order_id: str, action: str, label: str, hint: Money) -> str:
    field = f"{action}-amount"
    return (
        f'<form class="inline" method="post" action="/orders/{escape(order_id)}/{action}">'
        f'<label for="{field}">Amount to {action} ({escape(hint.currency)})</label>'
        f'<input id="{field}" name="amount" inputmode="decimal" size="10" '
        f'placeholder="{escape(str(hint.amount))}">'
        f'<button type="submit">{escape(label)}</button></form>'
    )


def _operation_row(op: Operation) -> tuple[str, ...]:
    return (
        _when(op.at),
        escape(op.kind.value),
        escape(op.amount.format()),
        escape(OPERATION_WORDS[op.status]),
        escape(op.id),
    )


def _event_row(event: WebhookEvent) -> tuple[str, ...]:
    return (
        _when(event.occurred_at),
        escape(event.kind.value),
        escape(event.provider_type),
        escape(event.amount.format() if event.amount else ""),
        escape(event.event_id),
    )


def order_page(
    order: OrderRecord,
    payment: Payment | None,
    events: Sequence[WebhookEvent],
    provider_name: str,
    *,
    error: str | None = None,
    notice: str | None = None,
) -> str:
    if payment is None:
        return page(f"Order {order.id}", error_box(error) + "<p>No payment was made for this order.</p>")
    status_line = f'<p class="status" id="status">{escape(PAYMENT_WORDS[payment.status])}</p>' + _decline(
        payment.decline
    )
    balances = [
        ("total", "Order total", payment.amount),
        ("authorized", "Authorized", payment.authorized),
        ("captured", "Captured", payment.captured),
        ("refunded", "Refunded", payment.refunded),
        ("refund-pending", "Refund pending", payment.refund_pending),
        ("voided", "Voided (released)", payment.voided),
        ("charged-back", "Charged back", payment.charged_back),
        ("capturable", "Still capturable", payment.capturable),
        ("refundable", "Still refundable", payment.refundable),
    ]
    balance_table = (
        '<table aria-label="Balances"><tbody>'
        + "".join(
            f'<tr><th scope="row">{escape(name)}</th>'
            f'<td class="num" id="balance-{key}">{escape(amount.format())}</td></tr>'
            for key, name, amount in balances
        )
        + "</tbody></table>"
    )
    details = (
        f"<p>{escape(order.description)}, shipped to {escape(order.country)}. Paid with "
        f"{escape(provider_name)}; payment <code>{escape(payment.id)}</code>"
        f" (provider status {escape(payment.provider_status or 'not read yet')}).</p>"
    )
    forms = (
        "<h2>Manage the payment</h2>"
        + _amount_form(order.id, "capture", "Capture", payment.capturable)
        + _amount_form(order.id, "void", "Void", payment.capturable)
        + _amount_form(order.id, "refund", "Refund", payment.refundable)
        + f'<form class="inline" method="post" action="/orders/{escape(order.id)}/refresh">'
        '<button type="submit">Read the status from the provider</button></form>'
        "<p>Leave an amount empty to capture, void or refund all that remains.</p>"
    )
    operations = list(payment.operations)
    history = "<h2>History</h2><h3>Operations</h3>" + (
        _table(
            ("When", "Kind", "Amount", "Status", "Id"), map(_operation_row, operations), label="Operations"
        )
        if operations
        else "<p>No captures, voids or refunds yet.</p>"
    )
    history += "<h3>Webhooks received</h3>" + (
        _table(
            ("When", "Event", "Provider's type", "Amount", "Event id"),
            map(_event_row, events),
            label="Webhooks",
        )
        if events
        else "<p>None yet.</p>"
    )
    body = (
        error_box(error)
        + notice_box(notice)
        + details
        + "<h2>Balances</h2>"
        + balance_table
        + forms
        + history
    )
    return page(f"Order {order.id}", body, status_line=status_line)


# -- subscriptions -------------------------------------------------------------------------


def subscriptions_page(
    plan: Product,
    market: Market,
    offers: Sequence[Offer],
    subscriptions: Sequence[tuple[SubscriptionRecord, Mandate | None]],
    *,
    error: str | None = None,
) -> str:
    offered = [offer for offer in offers if offer.refusal is None]
    price = plan.price(market.currency)
    if offered:
        radios = "".join(
            f'<p><input type="radio" id="sub-provider-{escape(o.provider)}" name="provider" '
            f'value="{escape(o.provider)}"{" checked" if i == 0 else ""}>'
            f'<label for="sub-provider-{escape(o.provider)}">{escape(o.display_name)}</label></p>'
            for i, o in enumerate(offered)
        )
        form = (
            f"<p>{escape(plan.name)}: {escape(plan.blurb)} "
            f"Up to <strong>{escape(price.format())}</strong> a month, "
            f"for buyers in {escape(market.name)}.</p>"
            '<form method="post" action="/subscriptions"><fieldset><legend>Pay with</legend>'
            f"{radios}</fieldset>{_payment_method_choices(offered, 'sub-')}"
            '<p><label for="sub-name">Your name</label><input id="sub-name" name="name" required></p>'
            '<p><label for="sub-email">Email</label><input id="sub-email" name="email" type="email"></p>'
            '<button type="submit">Subscribe</button></form>'
        )
    else:
        form = "<p>No installed payment provider takes subscriptions for this market.</p>"
    refused = "".join(
        f"<li>{escape(o.display_name)}: {escape(o.refusal or '')}</li>" for o in offers if o.refusal
    )
    if refused:
        form += f"<h2>Not offered</h2><ul>{refused}</ul>"
    rows = [
        (
            f'<a href="/subscriptions/{escape(sub.id)}">{escape(sub.id)}</a>',
            escape(sub.description),
            escape(MANDATE_WORDS[mandate.status] if mandate else "Not created"),
        )
        for sub, mandate in subscriptions
    ]
    listing = (
        "<h2>Your subscriptions</h2>"
        + _table(("Subscription", "What", "Status"), rows, label="Subscriptions")
        if rows
        else ""
    )
    return page("Subscriptions", error_box(error) + form + listing)


def subscription_page(
    subscription: SubscriptionRecord,
    mandate: Mandate | None,
    charges: Sequence[tuple[OrderRecord, Payment | None]],
    events: Sequence[WebhookEvent],
    provider_name: str,
    *,
    error: str | None = None,
    notice: str | None = None,
) -> str:
    title = f"Subscription {subscription.id}"
    if mandate is None:
        return page(title, error_box(error) + "<p>The mandate was never created.</p>")
    status_line = f'<p class="status" id="status">{escape(MANDATE_WORDS[mandate.status])}</p>' + _decline(
        mandate.decline
    )
    details = (
        f"<p>{escape(subscription.description)}: up to {escape(subscription.monthly.format())} a month, "
        f"with {escape(provider_name)}; mandate <code>{escape(mandate.id)}</code>"
        f" (provider status {escape(mandate.provider_status or 'not read yet')}).</p>"
    )
    sid = escape(subscription.id)
    forms = (
        "<h2>Manage the subscription</h2>"
        f'<form class="inline" method="post" action="/subscriptions/{sid}/charge">'
        f'<label for="charge-amount">Amount to charge ({escape(subscription.monthly.currency)})</label>'
        f'<input id="charge-amount" name="amount" inputmode="decimal" size="10" '
        f'value="{escape(str(subscription.monthly.amount))}">'
        '<button type="submit">Charge</button></form>'
        f'<form class="inline" method="post" action="/subscriptions/{sid}/revoke">'
        '<button type="submit">Revoke the subscription</button></form>'
        f'<form class="inline" method="post" action="/subscriptions/{sid}/refresh">'
        '<button type="submit">Read the status from the provider</button></form>'
    )
    rows = [
        (
            f'<a href="/orders/{escape(order.id)}">{escape(order.id)}</a>',
            escape(order.total.format()),
            escape(PAYMENT_WORDS[payment.status] if payment else "No payment"),
        )
        for order, payment in charges
    ]
    charge_table = "<h2>Charges</h2>" + (
        _table(("Order", "Amount", "Status"), rows, label="Charges") if rows else "<p>No charges yet.</p>"
    )
    webhooks = "<h2>Webhooks received</h2>" + (
        _table(
            ("When", "Event", "Provider's type", "Amount", "Event id"),
            map(_event_row, events),
            label="Webhooks",
        )
        if events
        else "<p>None yet.</p>"
    )
    body = error_box(error) + notice_box(notice) + details + forms + charge_table + webhooks
    return page(title, body, status_line=status_line)


def not_found_page(what: str) -> str:
    return page("Not found", f'<p>{escape(what)}</p><p><a href="/">Back to the products</a></p>')
