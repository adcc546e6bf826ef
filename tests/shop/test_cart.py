"""The cart's forms refuse what the shop's own forms could not send, and say what to enter.

A hand-made POST to ``/cart`` (or ``/cart/market``) with a bad quantity, product or country is
answered with the cart page, its error naming the field and what to enter, and status 422, as
the checkout and order pages refuse their forms; no cookie is set, so the cart stays as it was.
The shop runs in-process (Starlette's TestClient): no provider is needed to fill a cart.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st

from psp_demo._shop_app import CART_COOKIE, MARKET_COOKIE, MAX_QUANTITY, PRODUCTS, Shop
from psp_demo._shop_records import ShopRecords
from psp_store import Store

pytestmark = pytest.mark.loopback

SKUS = [product.sku for product in PRODUCTS]
MUG = PRODUCTS[0]
ASK_FOR_A_QUANTITY = f"Enter a whole number from 1 to {MAX_QUANTITY}."
HANG_GUARD_S = 120.0
"""Only against a hang: the server is waited on until it says it started, however long that takes."""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The shop alone (no PSP stand-ins: a cart needs none) on 127.0.0.1, and a client for it."""
    database = tmp_path_factory.mktemp("cart") / "shop.sqlite3"
    with Store(database) as store:
        records = ShopRecords(database)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        shop = Shop(records, store, {}, base_url)
        server = uvicorn.Server(uvicorn.Config(shop.app(), log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + HANG_GUARD_S
            while not server.started and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert server.started, "the shop's server did not start"
            with httpx.Client(base_url=base_url, timeout=HANG_GUARD_S) as http:
                yield http
        finally:
            server.should_exit = True
            thread.join(HANG_GUARD_S)
            listener.close()
            records.close()


def cart_of(client: httpx.Client, cart: str | None = None) -> None:
    """Start from a cart cookie (``mug:2``), or from an empty cart."""
    client.cookies.clear()
    if cart is not None:
        client.cookies.set(CART_COOKIE, cart, domain="127.0.0.1")


def refused(client: httpx.Client, path: str, data: dict[str, str]) -> str:
    """POST ``data``; assert the cart page refused it and set no cookie; return the page."""
    answer = client.post(path, data=data, follow_redirects=False)
    assert answer.status_code == 422, answer.text
    assert "set-cookie" not in answer.headers
    assert "<h1>Your cart</h1>" in answer.text and 'role="alert"' in answer.text
    return answer.text


def added(client: httpx.Client, data: dict[str, str]) -> str:
    """POST ``data``; assert it was added (303 to the cart); return the new cart cookie."""
    answer = client.post("/cart", data=data, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/cart"
    return answer.cookies[CART_COOKIE].strip('"')


@pytest.mark.parametrize(
    ("quantity", "says"),
    [
        ("1.5", "The quantity '1.5' is not a whole number."),
        ("-1", "The quantity '-1' is not a whole number."),
        ("1e3", "The quantity '1e3' is not a whole number."),
        ("²", "The quantity '²' is not a whole number."),  # isdigit() says yes; int() says no
        ("0", "The quantity '0' is out of range."),
        ("100", "The quantity '100' is out of range."),
        ("9" * 5000, f"The quantity '{'9' * 20}...' is out of range."),  # longer than int() reads
        ("", "The quantity is missing."),
    ],
)
def test_a_quantity_the_form_could_not_send_is_refused_naming_the_field(
    client: httpx.Client, quantity: str, says: str
) -> None:
    cart_of(client, "mug:2")
    page = refused(client, "/cart", {"sku": "mug", "quantity": quantity})
    assert f"{says} {ASK_FOR_A_QUANTITY}".replace("'", "&#x27;") in page
    assert ">2<" in page  # the cart shown is the one the buyer had


def test_a_missing_quantity_is_refused(client: httpx.Client) -> None:
    cart_of(client)
    page = refused(client, "/cart", {"sku": "mug"})
    assert f"The quantity is missing. {ASK_FOR_A_QUANTITY}" in page
    assert "Your cart is empty." in page


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"quantity": "1"}, "The product (sku) is missing."),
        ({"sku": "", "quantity": "1"}, "The product (sku) is missing."),
        ({"sku": "teapot", "quantity": "1"}, "The product (sku) &#x27;teapot&#x27; is not sold here."),
        ({"sku": "beans-monthly", "quantity": "1"}, "is not sold here"),  # the plan is not a product
        ({"sku": "<b>x</b>", "quantity": "1"}, "&#x27;&lt;b&gt;x&lt;/b&gt;&#x27; is not sold here"),
    ],
)
def test_a_product_the_shop_does_not_sell_is_refused_naming_the_field(
    client: httpx.Client, data: dict[str, str], says: str
) -> None:
    cart_of(client)
    page = refused(client, "/cart", data)
    assert says in page
    assert f"{', '.join(SKUS)}" in page  # what to choose instead
    assert "<b>x</b>" not in page


def test_a_quantity_past_the_carts_limit_is_refused_saying_how_many_fit(client: httpx.Client) -> None:
    cart_of(client, "mug:60")
    page = refused(client, "/cart", {"sku": "mug", "quantity": "40"})
    assert (
        f"The quantity: the cart holds at most {MAX_QUANTITY} of {MUG.name} and has 60 already. "
        "Enter a quantity from 1 to 39."
    ) in page
    cart_of(client, f"mug:{MAX_QUANTITY}")
    assert "No more can be added." in refused(client, "/cart", {"sku": "mug", "quantity": "1"})
    cart_of(client, "mug:60")
    assert added(client, {"sku": "mug", "quantity": "39"}) == f"mug:{MAX_QUANTITY}"


@given(
    quantity=st.text(max_size=8).filter(
        lambda text: not (text.strip().isascii() and text.strip().isdigit() and 0 < int(text.strip()) <= 99)
    )
)
def test_any_quantity_but_a_whole_number_in_range_changes_nothing(
    client: httpx.Client, quantity: str
) -> None:
    cart_of(client, "beans:1")
    page = refused(client, "/cart", {"sku": "beans", "quantity": quantity})
    assert ASK_FOR_A_QUANTITY in page


@given(sku=st.sampled_from(SKUS), quantity=st.integers(1, MAX_QUANTITY), held=st.integers(0, MAX_QUANTITY))
def test_a_whole_number_that_fits_is_added_and_one_that_does_not_is_refused(
    client: httpx.Client, sku: str, quantity: int, held: int
) -> None:
    cart_of(client, f"{sku}:{held}" if held else None)
    if held + quantity <= MAX_QUANTITY:
        assert added(client, {"sku": sku, "quantity": str(quantity)}) == f"{sku}:{held + quantity}"
    else:
        assert f"has {held} already" in refused(client, "/cart", {"sku": sku, "quantity": str(quantity)})


@pytest.mark.parametrize(
    ("country", "says"),
    [
        ("XX", "The country (country) &#x27;XX&#x27; is not one the shop ships to."),
        ("", "No country (country) is one the shop ships to."),
    ],
)
def test_a_country_the_shop_does_not_ship_to_is_refused_naming_the_field(
    client: httpx.Client, country: str, says: str
) -> None:
    cart_of(client)
    page = refused(client, "/cart/market", {"country": country})
    assert says in page and "Choose one of: US (the United States), NL (the Netherlands)." in page


def test_the_shops_own_forms_still_fill_the_cart_and_change_the_country(client: httpx.Client) -> None:
    cart_of(client)
    assert added(client, {"sku": "mug", "quantity": "2"}) == "mug:2"
    client.cookies.set(CART_COOKIE, "mug:2")
    changed = client.post("/cart/market", data={"country": "NL"}, follow_redirects=False)
    assert changed.status_code == 303 and changed.cookies[MARKET_COOKIE] == "NL"
    page = client.get("/cart")
    assert page.status_code == 200 and 'role="alert"' not in page.text
    assert "44.00 EUR" in page.text  # two mugs at 22.00 EUR


@pytest.mark.parametrize(
    "cookie",
    # b"\xb2" is "²" to Starlette (it reads cookies as latin-1): isdigit() says yes, int() says no.
    [b"mug:\xb2", b"mug:" + b"9" * 5000, b"mug:0", b"mug:-1", b"mug:1.5", b"teapot:1"],
)
def test_an_unreadable_cart_cookie_is_an_empty_cart_not_an_error(client: httpx.Client, cookie: bytes) -> None:
    cart_of(client)
    page = client.get("/cart", headers=[(b"cookie", CART_COOKIE.encode() + b"=" + cookie)])
    assert page.status_code == 200 and "Your cart is empty." in page.text
