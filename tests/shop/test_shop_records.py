"""The shop's own records (orders, subscriptions, the history view) beside the store, in one file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from psp_core import EventKind, Money, Payment, PaymentStatus, WebhookEvent
from psp_demo._shop_records import OrderRecord, ShopRecords
from psp_store import Store

USD = "USD"


def authorized(amount: int = 4800) -> Payment:
    money = Money(amount, USD)
    zero = Money.zero(USD)
    return Payment(
        provider="amazon_pay",
        id="charge_1",
        status=PaymentStatus.AUTHORIZED,
        amount=money,
        authorized=money,
        captured=zero,
        refunded=zero,
        voided=zero,
        charged_back=zero,
        merchant_reference="order-1",
    )


def order(payment_id: str | None = None) -> OrderRecord:
    return OrderRecord(
        "order-1",
        datetime(2026, 1, 2, tzinfo=UTC),
        "2 x Enamel mug",
        "US",
        Money(4800, USD),
        "amazon_pay",
        payment_id,
    )


def test_an_order_survives_a_reopened_file_shared_with_the_store(tmp_path: Path) -> None:
    path = tmp_path / "shop.sqlite3"
    store = Store(path)
    records = ShopRecords(path)
    records.add_order(order())
    store.save(authorized())
    records.link_payment("order-1", "charge_1")
    records.close()
    store.close()

    reopened, store = ShopRecords(path), Store(path)
    assert reopened.order("order-1") == order("charge_1")
    assert reopened.orders() == [order("charge_1")]
    # The payment itself is the store's, found by the id the order keeps.
    assert store.get_payment("charge_1", provider="amazon_pay") == authorized()
    reopened.close()
    store.close()


def test_a_missing_order_or_subscription_is_none(tmp_path: Path) -> None:
    records = ShopRecords(tmp_path / "shop.sqlite3")
    assert records.order("order-x") is None
    assert records.subscription("sub-x") is None
    assert records.orders() == [] and records.subscriptions() == []
    records.close()


def test_an_event_is_kept_once_in_the_history_and_found_by_its_subject() -> None:
    records = ShopRecords(":memory:")
    event = WebhookEvent(
        provider="amazon_pay",
        event_id="evt_1",
        kind=EventKind.PAYMENT_AUTHORIZED,
        provider_type="PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED",
        payment_id="charge_1",
        payment_status=PaymentStatus.AUTHORIZED,
    )
    assert records.add_event(event) is True
    assert records.add_event(event) is False  # the provider's redelivery
    assert records.events_about(["charge_1"]) == [event]
    assert records.events_about(["charge_2"]) == []
    assert records.event_ids() == {"evt_1"}
