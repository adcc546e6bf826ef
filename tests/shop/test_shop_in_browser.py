"""The demo shop as a buyer and a shop keeper use it: headless Chromium clicking real pages.

Each scenario asserts what the page shows, what the payment store holds (the same payment,
and no journal entry left open), and what the PSP holds (the PPRO sandbox or localstripe,
read through the PSP's own API); it screenshots every step and checks every page it lands on
for accessibility (tests/shop/accessibility.py).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from psp_core import MandateStatus, Payment, PaymentStatus
from psp_demo import PproReach, RunningShop
from psp_demo._shop_pages import PAYMENT_WORDS
from psp_store import JournalOutcome
from tests.shop.accessibility import problems_on
from tests.shop.conftest import Steps

pytestmark = pytest.mark.loopback


def charge(sandbox_api: httpx.Client, charge_id: str) -> dict[str, object]:
    response = sandbox_api.get(f"/v1/payment-charges/{charge_id}")
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


def requested(held: dict[str, object]) -> object:
    """The amount the charge asked for, in minor units (PPRO shows it on the authorization)."""
    authorizations = held["authorizations"]
    assert isinstance(authorizations, list) and len(authorizations) == 1, authorizations
    return authorizations[0]["amount"]


def order_id_of(page: Page) -> str:
    match = re.search(r"/orders/(order-[0-9a-f]+)", page.url)
    assert match, f"not on an order page: {page.url}"
    return match.group(1)


def payment_id_of(shop: RunningShop, order_id: str) -> str:
    order = shop.shop.records.order(order_id)
    assert order is not None and order.payment_id is not None
    return order.payment_id


@pytest.fixture(autouse=True)
def no_journal_entry_left_open(shop: RunningShop) -> Iterator[None]:
    """Every write a scenario made was settled by its own call: nothing for a reconciler."""
    yield
    assert shop.shop.store.journal(open_only=True) == []


def stored_payment(shop: RunningShop, order_id: str) -> Payment:
    order = shop.shop.records.order(order_id)
    assert order is not None and order.payment_id is not None
    payment = shop.shop.store.get_payment(order.payment_id, provider=order.provider)
    assert payment is not None, f"the store holds no payment {order.payment_id} for {order_id}"
    return payment


BALANCES = ("authorized", "captured", "refunded", "refund_pending", "voided", "capturable", "refundable")


def assert_the_store_holds_what_the_page_shows(page: Page, shop: RunningShop) -> Payment:
    """The order page (read afresh) shows the payment exactly as the store holds it."""
    order_id = order_id_of(page)
    # A webhook may land between reading the store and rendering the page: read both again
    # until they agree (expect() times out and fails the scenario when they never do).
    payment = stored_payment(shop, order_id)
    page.reload()
    while page.locator("#status").text_content() != PAYMENT_WORDS[payment.status] or any(
        page.locator(f"#balance-{name.replace('_', '-')}").text_content() != getattr(payment, name).format()
        for name in BALANCES
    ):
        fresh = stored_payment(shop, order_id)
        if fresh == payment:
            break  # nothing changed: the check below fails with what differs
        payment = fresh
        page.reload()
    expect(page.locator("#status")).to_have_text(PAYMENT_WORDS[payment.status])
    for name in BALANCES:
        shown = page.locator(f"#balance-{name.replace('_', '-')}")
        expect(shown).to_have_text(getattr(payment, name).format())
    return payment


def buy(steps: Steps, shop: RunningShop, *, quantity: str = "2", capture_later: bool = False) -> None:
    """Put mugs in the cart and pay with Amazon Pay, up to the sandbox's hosted page."""
    page = steps.page
    page.goto(shop.base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Products")
    page.get_by_label("Quantity").first.fill(quantity)
    steps.shot("products")
    page.get_by_role("button", name="Add Enamel mug to cart").click()
    expect(page.locator("#cart-total")).to_have_text(f"{int(quantity) * 24}.00 USD")
    steps.shot("cart")
    page.get_by_role("link", name="Go to checkout").click()
    # Amazon Pay first; iDEAL is installed but cannot take a USD basket, and the page says why.
    expect(page.get_by_role("radio").first).to_have_attribute("value", "amazon_pay")
    expect(page.get_by_text("iDEAL (PPRO): takes EUR only, not USD")).to_be_visible()
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    if capture_later:
        page.get_by_label("Reserve now, capture when shipped (separate capture)").check()
    steps.shot("checkout")
    page.get_by_role("button", name="Pay now").click()
    expect(page).to_have_url(re.compile(r"/__sandbox__/authenticate/charge_"))
    expect(page.get_by_text(f"{int(quantity) * 24}.00 USD")).to_be_visible()
    steps.shot("hosted-page")


def test_buy_and_approve_shows_the_order_paid(
    steps: Steps, shop: RunningShop, sandbox_api: httpx.Client
) -> None:
    buy(steps, shop)
    page = steps.page
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order")
    expect(page.locator("#outcome")).to_have_text("Paid")
    steps.shot("return")
    page.get_by_role("link", name="See the order").click()
    expect(page.locator("#status")).to_have_text("Paid")
    expect(page.locator("#balance-captured")).to_have_text("48.00 USD")
    expect(page.locator("#balance-refundable")).to_have_text("48.00 USD")
    expect(page.get_by_role("table", name="Webhooks")).to_contain_text("payment.authorized")
    steps.shot("order-paid")
    stored = assert_the_store_holds_what_the_page_shows(page, shop)
    held = charge(sandbox_api, payment_id_of(shop, order_id_of(page)))
    assert held["status"] == "CAPTURED" and stored.id == held["id"]
    assert requested(held) == 4800 and held["currency"] == "USD"


def test_declining_on_the_hosted_page_shows_the_payment_declined(
    steps: Steps, shop: RunningShop, sandbox_api: httpx.Client
) -> None:
    buy(steps, shop, quantity="1")
    page = steps.page
    page.get_by_role("button", name="Decline").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your payment did not go through")
    expect(page.locator("#outcome")).to_have_text("Declined")
    expect(page.get_by_text("Reason: authentication failed")).to_be_visible()
    steps.shot("return-declined")
    page.get_by_role("link", name="See the order").click()
    expect(page.locator("#status")).to_have_text("Declined")
    expect(page.locator("#balance-captured")).to_have_text("0.00 USD")
    steps.shot("order-declined")
    assert_the_store_holds_what_the_page_shows(page, shop)
    held = charge(sandbox_api, payment_id_of(shop, order_id_of(page)))
    assert held["status"] == "FAILED"


def test_cancelling_on_the_hosted_page_shows_the_payment_cancelled(
    steps: Steps, shop: RunningShop, sandbox_api: httpx.Client
) -> None:
    buy(steps, shop, quantity="1")
    page = steps.page
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your payment did not go through")
    expect(page.get_by_text("Reason: cancelled by consumer")).to_be_visible()
    steps.shot("return-cancelled")
    page.get_by_role("link", name="See the order").click()
    expect(page.locator("#balance-authorized")).to_have_text("0.00 USD")
    steps.shot("order-cancelled")
    assert_the_store_holds_what_the_page_shows(page, shop)
    held = charge(sandbox_api, payment_id_of(shop, order_id_of(page)))
    assert held["status"] == "FAILED"


def test_a_checkout_left_alone_expires_on_the_sandbox_clock(
    steps: Steps, shop: RunningShop, ppro: PproReach, sandbox_api: httpx.Client
) -> None:
    buy(steps, shop, quantity="3")
    page = steps.page
    hosted = page.url
    timeout_s = ppro.sandbox.config.authentication_timeout_s
    sandbox_api.post("/__sandbox__/clock/advance", json={"seconds": timeout_s + 1}).raise_for_status()
    sandbox_api.post("/__sandbox__/expire").raise_for_status()
    page.goto(hosted)
    expect(page.get_by_text("This request is DISCARDED; nothing left to do.")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    steps.shot("hosted-page-expired")
    page.goto(shop.base_url + "/orders")
    steps.shot("orders")
    page.get_by_role("link", name=re.compile(r"^order-")).first.click()
    page.get_by_role("button", name="Read the status from the provider").click()
    expect(page.locator("#status")).to_have_text("Expired: the buyer did not approve in time")
    steps.shot("order-expired")
    assert_the_store_holds_what_the_page_shows(page, shop)
    held = charge(sandbox_api, payment_id_of(shop, order_id_of(page)))
    assert held["status"] == "DISCARDED"
    assert requested(held) == 7200


def test_partial_capture_refund_and_void_from_the_order_page(
    steps: Steps, shop: RunningShop, sandbox_api: httpx.Client, readme_screenshot: Path | None
) -> None:
    buy(steps, shop, capture_later=True)
    page = steps.page
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#outcome")).to_have_text(
        "Authorized: the money is reserved and waits to be captured"
    )
    page.get_by_role("link", name="See the order").click()
    expect(page.locator("#balance-capturable")).to_have_text("48.00 USD")
    steps.shot("order-authorized")

    # Bad amounts are refused with the gateway's own message, and nothing is captured.
    page.get_by_label("Amount to capture (USD)").fill("100.00")
    page.get_by_role("button", name="Capture", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(
        "amount: 100.00 USD is more than the 48.00 USD left to capture"
    )
    steps.shot("capture-too-much")
    page.get_by_label("Amount to capture (USD)").fill("ten")
    page.get_by_role("button", name="Capture", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("'ten' is not a decimal amount")
    expect(page.locator("#balance-captured")).to_have_text("0.00 USD")

    page.get_by_label("Amount to capture (USD)").fill("20.00")
    page.get_by_role("button", name="Capture", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The capture was sent to the payment provider.")
    expect(page.locator("#status")).to_have_text("Partly captured: some of the reserved money was taken")
    expect(page.locator("#balance-captured")).to_have_text("20.00 USD")
    expect(page.locator("#balance-capturable")).to_have_text("28.00 USD")
    steps.shot("captured-part")

    page.get_by_label("Amount to refund (USD)").fill("25.00")
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("25.00 USD")
    page.get_by_label("Amount to refund (USD)").fill("5.00")
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.locator("#balance-refund-pending")).to_have_text("5.00 USD")
    expect(page.locator("#balance-refundable")).to_have_text("15.00 USD")
    expect(page.get_by_role("table", name="Operations")).to_contain_text("pending")
    steps.shot("refund-pending")

    page.get_by_role("button", name="Void", exact=True).click()  # empty amount: all that remains
    expect(page.locator("#balance-voided")).to_have_text("28.00 USD")
    expect(page.locator("#balance-capturable")).to_have_text("0.00 USD")
    expect(page.get_by_role("table", name="Webhooks")).to_contain_text("payment.refund_pending")
    path = steps.shot("order-page")
    if readme_screenshot is not None:
        shutil.copyfile(path, readme_screenshot)
    assert_the_store_holds_what_the_page_shows(page, shop)
    # Every call was journalled before it was sent, the refused ones settled as failed.
    order_id = order_id_of(page)
    calls = [
        (entry.call, entry.outcome)
        for entry in shop.shop.store.journal(provider="amazon_pay")
        if entry.merchant_reference == order_id
    ]
    assert calls == [
        ("authorize", JournalOutcome.SUCCEEDED),
        ("capture", JournalOutcome.FAILED),  # 100.00 USD: more than is left to capture
        ("capture", JournalOutcome.SUCCEEDED),
        ("refund", JournalOutcome.FAILED),  # 25.00 USD: more than was captured
        ("refund", JournalOutcome.SUCCEEDED),
        ("void", JournalOutcome.SUCCEEDED),
    ]

    held = charge(sandbox_api, payment_id_of(shop, order_id_of(page)))
    assert [capture["amount"] for capture in held["captures"]] == [2000]  # type: ignore[index, union-attr]
    assert [(r["amount"], r["status"]) for r in held["refunds"]] == [(500, "PENDING")]  # type: ignore[index, union-attr]
    assert [void["amount"] for void in held["voids"]] == [2800]  # type: ignore[index, union-attr]


def test_subscribe_approve_charge_and_revoke(
    steps: Steps, shop: RunningShop, sandbox_api: httpx.Client
) -> None:
    page = steps.page
    page.goto(shop.base_url + "/subscriptions")
    expect(page.get_by_role("radio").first).to_have_attribute("value", "amazon_pay")
    page.get_by_label("Your name").fill("Grace Hopper")
    steps.shot("subscriptions")
    page.get_by_role("button", name="Subscribe").click()
    expect(page).to_have_url(re.compile(r"/__sandbox__/authenticate/agr_"))
    steps.shot("hosted-page-mandate")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#status")).to_have_text("Active: the shop may charge it")
    steps.shot("subscription-active")

    page.get_by_label("Amount to charge (USD)").fill("12.00")
    page.get_by_role("button", name="Charge").click()
    expect(page.get_by_role("status")).to_have_text("The charge was sent to the payment provider.")
    charges = page.get_by_role("table", name="Charges")
    expect(charges).to_contain_text("12.00 USD")
    expect(charges).to_contain_text("Paid")
    steps.shot("subscription-charged")

    page.get_by_role("button", name="Revoke the subscription").click()
    expect(page.locator("#status")).to_have_text("Revoked: no further charges")
    page.get_by_role("button", name="Charge").click()
    expect(charges.get_by_role("row")).to_have_count(3)  # header, the paid charge, the refused one
    expect(charges).to_contain_text("Declined")  # a charge under a revoked mandate is refused
    steps.shot("subscription-revoked")

    subscription_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    record = shop.shop.records.subscription(subscription_id)
    assert record is not None and record.mandate_id is not None
    agreement = sandbox_api.get(f"/v1/payment-agreements/{record.mandate_id}")
    agreement.raise_for_status()
    assert agreement.json()["status"] == "REVOKED_BY_MERCHANT"
    statuses = sorted(
        charge(sandbox_api, payment_id_of(shop, order.id))["status"]  # type: ignore[type-var]
        for order in shop.shop.records.orders(subscription_id=subscription_id)
    )
    assert statuses == ["CAPTURED", "FAILED"]
    mandate = shop.shop.store.get_mandate(record.mandate_id, provider="amazon_pay")
    assert mandate is not None and mandate.status is MandateStatus.REVOKED
    stored = {
        stored_payment(shop, order.id).status
        for order in shop.shop.records.orders(subscription_id=subscription_id)
    }
    assert stored == {PaymentStatus.CAPTURED, PaymentStatus.DECLINED}


def test_the_smoke_check_finds_a_missing_label_a_second_heading_and_a_broken_link(
    steps: Steps, shop: RunningShop
) -> None:
    bad = (
        "<!doctype html><html lang='en'><title>bad</title><h1>One</h1><h1>Two</h1>"
        "<form method='post' action='/no-such-form'><input name='q'><button></button></form>"
        "<a href='/no-such-page'>gone</a><a href='/'>home</a></html>"
    )
    steps.page.route(
        shop.base_url + "/bad-page", lambda route: route.fulfill(body=bad, content_type="text/html")
    )
    steps.page.goto(shop.base_url + "/bad-page")
    problems = problems_on(steps.page, steps.links)
    assert problems == sorted(
        [
            "2 h1 headings, expected exactly one",
            """form control without a label: <input name="q">""",
            "form control without a label: <button></button>",
            f"broken link {shop.base_url}/no-such-page: HTTP 404",
            f"broken form action {shop.base_url}/no-such-form: HTTP 404",
        ]
    )


def test_a_dutch_basket_is_offered_ideal_and_pays_after_choosing_a_bank(
    steps: Steps, shop: RunningShop, sandbox_api: httpx.Client
) -> None:
    """The checkout follows capabilities, not names: in euros only iDEAL can take the basket."""
    page = steps.page
    page.goto(shop.base_url + "/cart")
    page.get_by_label("Ship to").select_option("NL")
    page.get_by_role("button", name="Change country").click()
    page.goto(shop.base_url + "/")
    page.get_by_role("button", name="Add Hand grinder to cart").click()
    expect(page.locator("#cart-total")).to_have_text("82.00 EUR")
    page.get_by_role("link", name="Go to checkout").click()
    # iDEAL and Stripe (cards, SEPA) take euros; iDEAL comes first (alphabetical after Amazon Pay).
    expect(page.get_by_role("radio")).to_have_count(2)
    expect(page.get_by_role("radio").first).to_have_attribute("value", "ideal")
    expect(page.get_by_role("radio").last).to_have_attribute("value", "stripe")
    expect(page.get_by_text("Amazon Pay (PPRO): takes USD only, not EUR")).to_be_visible()
    page.get_by_label("Your name").fill("Jan de Vries")
    steps.shot("checkout-ideal")
    # iDEAL captures at once: asking for a separate capture is refused before anything is sent.
    charges_before = len(sandbox_api.get("/__sandbox__/events").json()["data"])
    page.get_by_label("Reserve now, capture when shipped (separate capture)").check()
    page.get_by_role("button", name="Pay now").click()
    expect(page.get_by_role("alert")).to_contain_text("capture_mode")
    assert len(sandbox_api.get("/__sandbox__/events").json()["data"]) == charges_before
    steps.shot("checkout-ideal-refused")
    page.get_by_label("Reserve now, capture when shipped (separate capture)").uncheck()
    page.get_by_role("button", name="Pay now").click()
    page.get_by_label("Your bank").select_option("INGBNL2A")
    steps.shot("hosted-page-bank")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#outcome")).to_have_text(re.compile("Paid|Approved"))
    page.get_by_role("link", name="See the order").click()
    expect(page.locator("#balance-total")).to_have_text("82.00 EUR")
    steps.shot("order-ideal")
    assert_the_store_holds_what_the_page_shows(page, shop)
    held = charge(sandbox_api, payment_id_of(shop, order_id_of(page)))
    assert held["paymentMethod"] == "IDEAL" and held["currency"] == "EUR"
    assert requested(held) == 8200


def test_the_webhook_endpoint_refuses_what_it_cannot_verify(shop: RunningShop) -> None:
    kept_before = shop.shop.records.event_ids()
    inbox_before = shop.shop.store.inbox_outcomes()
    forged = httpx.post(
        f"{shop.base_url}/webhooks/amazon_pay",
        content=b'{"id": "evt_forged", "type": "PAYMENT_CHARGE_CAPTURE_SUCCEEDED"}',
        headers={"Content-Type": "application/json", "PPRO-Signature": "t=1,s=00"},
        timeout=5,
    )
    assert forged.status_code == 400 and forged.text.startswith("refused: ")
    assert shop.shop.records.event_ids() == kept_before
    assert shop.shop.store.inbox_outcomes() == inbox_before
    unknown = httpx.post(f"{shop.base_url}/webhooks/no_such_provider", content=b"{}", timeout=5)
    assert unknown.status_code == 404


def test_what_the_buyer_types_is_shown_escaped(shop: RunningShop) -> None:
    with httpx.Client(base_url=shop.base_url, timeout=5) as client:
        client.post("/cart", data={"sku": "mug", "quantity": "1"})
        refused = client.post(
            "/checkout", data={"provider": "<script>alert(1)</script>", "name": '"><script>x()</script>'}
        )
    assert refused.status_code == 422
    assert "Choose one of the payment methods offered below." in refused.text
    assert "<script>" not in refused.text
    assert 'value="&quot;&gt;&lt;script&gt;x()&lt;/script&gt;"' in refused.text


def test_the_pages_of_an_empty_shop_and_a_missing_order_pass_the_smoke_check(
    steps: Steps, shop: RunningShop
) -> None:
    page = steps.page
    for path, heading in [
        ("/cart", "Your cart"),
        ("/checkout", "Checkout"),
        ("/subscriptions", "Subscriptions"),
        ("/orders/order-00000000", "Not found"),
        ("/subscriptions/sub-00000000", "Not found"),
    ]:
        page.goto(shop.base_url + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        steps.shot(path.strip("/").replace("/", "-"))


def checkout_with_stripe(steps: Steps, shop: RunningShop, card: str, *, capture_later: bool) -> None:
    """Put a mug in the cart and pay with Stripe, the test card chosen on the checkout."""
    page = steps.page
    page.goto(shop.base_url + "/")
    page.get_by_role("button", name="Add Enamel mug to cart").click()
    page.get_by_role("link", name="Go to checkout").click()
    page.get_by_label("Stripe (cards, SEPA Direct Debit)", exact=True).check()
    page.get_by_label("Test card for Stripe (cards, SEPA Direct Debit)").select_option(card)
    page.get_by_label("Your name").fill("Katherine Johnson")
    if capture_later:
        page.get_by_label("Reserve now, capture when shipped (separate capture)").check()
    steps.shot("checkout-stripe")
    page.get_by_role("button", name="Pay now").click()
    # A card token needs no hosted page: the shop shows the order at once.
    expect(page).to_have_url(re.compile(r"/orders/order-[0-9a-f]+$"))


def intent(stripe_api: httpx.Client, payment_id: str) -> dict[str, object]:
    response = stripe_api.get(f"/v1/payment_intents/{payment_id}")
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


def test_buy_with_stripe_then_capture_and_refund_from_the_order_page(
    steps: Steps, shop: RunningShop, stripe_api: httpx.Client
) -> None:
    checkout_with_stripe(steps, shop, "pm_card_visa", capture_later=True)
    page = steps.page
    expect(page.locator("#status")).to_have_text("Authorized: the money is reserved and waits to be captured")
    expect(page.locator("#balance-capturable")).to_have_text("24.00 USD")
    steps.shot("order-stripe-authorized")

    page.get_by_role("button", name="Capture", exact=True).click()  # empty amount: all of it
    expect(page.get_by_role("status")).to_have_text("The capture was sent to the payment provider.")
    expect(page.locator("#status")).to_have_text("Paid")
    expect(page.locator("#balance-captured")).to_have_text("24.00 USD")
    steps.shot("order-stripe-captured")

    page.get_by_label("Amount to refund (USD)").fill("10.00")
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The refund was sent to the payment provider.")
    expect(page.locator("#balance-refundable")).to_have_text("14.00 USD")
    steps.shot("order-stripe-refunded")
    stored = assert_the_store_holds_what_the_page_shows(page, shop)
    assert stored.provider == "stripe"
    assert stored.refunded + stored.refund_pending == stored.captured - stored.refundable

    held = intent(stripe_api, payment_id_of(shop, order_id_of(page)))
    assert held["status"] == "succeeded" and held["amount"] == 2400
    assert held["metadata"] == {"merchant_reference": order_id_of(page)}
    latest = held["latest_charge"]
    assert isinstance(latest, dict) and latest["captured"] is True
    assert [(r["amount"], r["status"]) for r in latest["refunds"]["data"]] == [(1000, "succeeded")]


def test_a_declined_stripe_card_shows_the_decline_in_words(
    steps: Steps, shop: RunningShop, stripe_api: httpx.Client
) -> None:
    checkout_with_stripe(steps, shop, "pm_card_chargeCustomerFail", capture_later=False)
    page = steps.page
    expect(page.locator("#status")).to_have_text("Declined")
    # The normalized reason, Stripe's message, and Stripe's own code.
    expect(page.get_by_text("Reason: generic: Your card was declined. (card_declined)")).to_be_visible()
    expect(page.locator("#balance-captured")).to_have_text("0.00 USD")
    steps.shot("order-stripe-declined")
    assert_the_store_holds_what_the_page_shows(page, shop)
    held = intent(stripe_api, payment_id_of(shop, order_id_of(page)))
    assert held["status"] == "requires_payment_method"


def test_subscribe_with_a_stripe_test_card_charge_and_revoke(
    steps: Steps, shop: RunningShop, stripe_api: httpx.Client
) -> None:
    page = steps.page
    page.goto(shop.base_url + "/subscriptions")
    page.get_by_label("Stripe (cards, SEPA Direct Debit)", exact=True).check()
    page.get_by_label("Test card for Stripe (cards, SEPA Direct Debit)").select_option("pm_card_visa")
    page.get_by_label("Your name").fill("Dorothy Vaughan")
    page.get_by_role("button", name="Subscribe").click()
    # A card token needs no hosted page: the subscription is active at once.
    expect(page.locator("#status")).to_have_text("Active: the shop may charge it")
    steps.shot("subscription-stripe-active")
    page.get_by_label("Amount to charge (USD)").fill("12.00")
    page.get_by_role("button", name="Charge").click()
    charges = page.get_by_role("table", name="Charges")
    expect(charges).to_contain_text("12.00 USD")
    expect(charges).to_contain_text("Paid")
    page.get_by_role("button", name="Revoke the subscription").click()
    expect(page.locator("#status")).to_have_text("Revoked: no further charges")
    steps.shot("subscription-stripe-revoked")

    subscription_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    record = shop.shop.records.subscription(subscription_id)
    assert record is not None and record.mandate_id is not None
    mandate = shop.shop.store.get_mandate(record.mandate_id, provider="stripe")
    assert mandate is not None and mandate.status is MandateStatus.REVOKED
    (order,) = shop.shop.records.orders(subscription_id=subscription_id)
    payment = stored_payment(shop, order.id)
    assert payment.status is PaymentStatus.CAPTURED and payment.captured.format() == "12.00 USD"
    held = intent(stripe_api, payment.id)
    assert held["status"] == "succeeded" and held["amount"] == 1200


def test_a_card_the_checkout_did_not_offer_is_refused_and_nothing_is_sent(shop: RunningShop) -> None:
    journal_before = shop.shop.store.journal()
    with httpx.Client(base_url=shop.base_url, timeout=5) as client:
        client.post("/cart", data={"sku": "mug", "quantity": "1"})
        refused = client.post(
            "/checkout",
            data={"provider": "stripe", "name": "Mallory", "payment_method_stripe": "pm_card_amex"},
        )
    assert refused.status_code == 422
    assert "Choose one of the test cards offered for Stripe (cards, SEPA Direct Debit)." in refused.text
    assert shop.shop.store.journal() == journal_before
